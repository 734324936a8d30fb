"""Every loss the core and the built-in plugins register builds from its example_kwargs (no weights needed, offline)
and, called on its example inputs, gives a finite scalar that gradients flow through; docs/losses.md lists them all."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from zoo.registry.manager import ZooPluginManager

BUILT_IN = {"zoo", "translation", "sr", "style"}
DOCS = Path(__file__).resolve().parents[2] / "docs" / "losses.md"
REQUIRED = {"gan", "l1", "l2", "charbonnier", "tv", "vgg_perceptual", "gram_style", "lpips", "timm_feature",
            "cycle_consistency", "cycle_identity", "junyanz_gan"}


def built_in_losses():
    table = ZooPluginManager().components("loss")
    return [(name, registered) for name, registered in table.items() if registered.provider in BUILT_IN]


def test_the_stable_names_are_registered():
    assert REQUIRED <= {name for name, _ in built_in_losses()}


@pytest.mark.parametrize("name,registered", built_in_losses(), ids=lambda v: v if isinstance(v, str) else "")
def test_builds_and_backpropagates_from_its_examples(name, registered, monkeypatch):
    monkeypatch.setenv("ZOO_OFFLINE", "1")  # example kwargs must never need downloaded weights
    record = registered.record
    factory = registered.load("factory")
    if record.example_inputs is not None:
        args, kwargs = registered.load("example_inputs")()
    else:
        g = torch.Generator().manual_seed(0)
        args, kwargs = (torch.rand(2, 3, 32, 32, generator=g).requires_grad_(True),
                        torch.rand(2, 3, 32, 32, generator=g)), {}
    if isinstance(factory, type):
        loss = factory(**record.example_kwargs)
    else:  # a function loss takes its options per call
        loss, kwargs = factory, {**record.example_kwargs, **kwargs}
    value = loss(*args, **kwargs)
    assert isinstance(value, torch.Tensor) and value.shape == (), f"{name}: not a scalar: {type(value)}"
    assert torch.isfinite(value), f"{name}: {value}"
    value.backward()
    leaves = [a for a in args if isinstance(a, torch.Tensor) and a.requires_grad]
    leaves += [p for a in args if isinstance(a, nn.Module) for p in a.parameters()]
    assert leaves, f"{name}: its example inputs have nothing to differentiate"
    assert any(t.grad is not None and torch.isfinite(t.grad).all() and t.grad.abs().sum() > 0 for t in leaves), \
        f"{name}: no gradient reached the inputs"
    if isinstance(loss, nn.Module):
        assert not any(p.requires_grad for p in loss.parameters()), f"{name}: a loss must not train its own weights"


def test_docs_list_every_loss():
    text = DOCS.read_text(encoding="utf-8")
    missing = [name for name, _ in built_in_losses() if f"| `{name}` |" not in text]
    assert not missing, f"docs/losses.md lacks rows for {missing}"
