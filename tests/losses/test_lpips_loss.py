"""LPIPS as a loss: equal to the lpips package (value and input gradient) with the same seeded trunk and heads."""

from __future__ import annotations

import pytest
import torch

from zoo.errors import WeightsUnavailableError
from zoo.losses.lpips_loss import LPIPSLoss
from zoo.metrics.random_weights import random_trunk_state_dict
from zoo.metrics.weights import BACKBONES

lpips_ref = pytest.importorskip("lpips")


@pytest.fixture(scope="module")
def squeeze_trunk(tmp_path_factory):
    """Seeded SqueezeNet 1.1 weights as a file: our explicit backbone file and lpips' TORCH_HOME copy."""
    home = tmp_path_factory.mktemp("torch_home")
    (home / "hub" / "checkpoints").mkdir(parents=True)
    path = home / "hub" / "checkpoints" / BACKBONES["squeeze"].file_name
    torch.save(random_trunk_state_dict("squeezenet1_1", seed=5), path)
    return home, path


def test_value_and_gradient_equal_lpips(squeeze_trunk, monkeypatch):
    home, path = squeeze_trunk
    monkeypatch.setenv("TORCH_HOME", str(home))
    reference = lpips_ref.LPIPS(net="squeeze", version="0.1", verbose=False)  # packaged heads, trunk from TORCH_HOME
    loss = LPIPSLoss("squeeze", backbone_weights=path, loss_weight=2.0)  # packaged heads, trunk through the hub API
    g = torch.Generator().manual_seed(0)
    pred = (torch.rand(2, 3, 32, 32, generator=g) * 2 - 1).requires_grad_(True)
    target = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    pred_ref = pred.detach().clone().requires_grad_(True)
    expected = 2.0 * reference(pred_ref, target).mean()
    expected.backward()
    value = loss(pred, target)
    value.backward()
    assert value.shape == () and value.item() == pytest.approx(expected.item(), rel=1e-5)
    torch.testing.assert_close(pred.grad, pred_ref.grad, rtol=1e-4, atol=1e-7)
    assert all(p.grad is None for p in loss.parameters())


def test_unit_range_option_and_random_network():
    signed = LPIPSLoss("squeeze", pretrained=False)
    unit = LPIPSLoss("squeeze", pretrained=False, input_range=(0, 1), reduction="sum")
    x, y = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    assert unit(x, y).item() == pytest.approx(2 * signed(2 * x - 1, 2 * y - 1).item(), rel=1e-5)
    assert signed(x, x).item() == 0.0 and signed(x, y).item() > 0  # uniform heads: a non-negative distance
    signed.train()
    assert not any(m.training for m in signed.backbone.modules())


def test_missing_backbone_weights_give_the_hub_error(monkeypatch):
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    pattern = r"(?s)squeezenet1_1-b8a52dc0\.pth.*LPIPSLoss\(backbone_weights=PATH\)"
    with pytest.raises(WeightsUnavailableError, match=pattern):
        LPIPSLoss("squeeze")
