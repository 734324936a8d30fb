"""zoo.load on the real catalog entries with locally written official-layout checkpoints.

The official files are not reachable from here, so each test writes a checkpoint in the official
layout (pre-0.4 InstanceNorm buffers, ``_metadata``; BatchNorm without counters for pix2pix) from a
randomly initialised network and checks the pipeline computes what upstream's test.py computes:
``(x - 0.5) / 0.5`` input, the generator, ``(y + 1) / 2 * 255`` truncated to uint8.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from junyanz_helpers import legacy_checkpoint, randomize
from PIL import Image

import zoo
from zoo.errors import WeightsError
from zoo_translation.modes import paper_test_mode
from zoo_translation.networks import ResnetGenerator, UnetGenerator


def upstream_output(net: torch.nn.Module, image: Image.Image, multiple: int) -> np.ndarray:
    """Upstream's normalisation and tensor2im around ``net`` (inputs padded like the zoo pads them)."""
    x = torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float() / 255
    x = (x - 0.5) / 0.5
    h, w = x.shape[-2:]
    x = F.pad(x, (0, (-w) % multiple, 0, (-h) % multiple), mode="reflect")
    with torch.no_grad():
        y = net(x)[0, :, :h, :w]
    return ((y.permute(1, 2, 0).numpy() + 1) / 2 * 255).astype(np.uint8)


def random_image(h: int, w: int, seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8))


def test_cyclegan_entry_end_to_end(tmp_path):
    net = randomize(ResnetGenerator(3, 3, ngf=64, norm="instance", n_blocks=9), seed=4).eval()
    path = legacy_checkpoint(net, tmp_path / "latest_net_G.pth", module_prefix=True)
    pipe = zoo.load("cyclegan-horse2zebra", weights=path, device="cpu")
    image = random_image(30, 42)  # not a multiple of 4: padded, then cropped back
    out = pipe(image)
    assert isinstance(out, Image.Image) and out.size == image.size
    expected = upstream_output(net, image, 4)
    diff = np.abs(np.asarray(out).astype(int) - expected.astype(int))
    assert diff.max() == 0  # bit-exact: same float ops as upstream, same truncation


def test_cyclegan_block_mismatch_is_a_clear_error(tmp_path):
    path = legacy_checkpoint(ResnetGenerator(3, 3, ngf=64, norm="instance", n_blocks=6), tmp_path / "six.pth")
    with pytest.raises(WeightsError, match="six.pth.*expected 9 residual blocks, checkpoint has 6"):
        zoo.load("cyclegan-cityscapes-label2photo", weights=path, device="cpu")


def test_wrong_family_checkpoint_lists_the_mismatching_keys(tmp_path):
    path = legacy_checkpoint(ResnetGenerator(3, 3, ngf=64, norm="batch", n_blocks=9), tmp_path / "bn.pth")
    with pytest.raises(WeightsError) as info:
        zoo.load("cyclegan-horse2zebra", weights=path, device="cpu")
    assert "bn.pth" in str(info.value) and "missing" in str(info.value) and "model.1.bias" in str(info.value)


def test_pix2pix_entry_end_to_end_eval_and_paper_mode(tmp_path):
    net = randomize(UnetGenerator(3, 3, num_downs=8, ngf=64, norm="batch", use_dropout=True), seed=6).eval()
    path = legacy_checkpoint(net, tmp_path / "facades_label2photo.pth", drop_batch_counters=True)
    pipe = zoo.load("pix2pix-facades-label2photo", weights=path, device="cpu")
    image = random_image(256, 256, seed=1)
    out = np.asarray(pipe(image))
    expected = upstream_output(net, image, 256)
    diff = np.abs(out.astype(int) - expected.astype(int))
    assert diff.max() == 0

    with paper_test_mode(pipe, seed=0):
        paper = np.asarray(pipe(image))
    train_net = net.train()  # upstream's default test mode, same dropout masks
    torch.manual_seed(0)
    expected_paper = upstream_output(train_net, image, 256)
    diff = np.abs(paper.astype(int) - expected_paper.astype(int))
    assert diff.max() == 0
    assert np.abs(paper.astype(int) - out.astype(int)).mean() > 1  # the two modes really differ
    assert not pipe.model.training and not any(m.training for m in pipe.model.modules())


def test_paper_mode_from_zoo_load(tmp_path):
    net = randomize(UnetGenerator(3, 3, num_downs=8, ngf=64, norm="batch", use_dropout=True), seed=6).eval()
    path = legacy_checkpoint(net, tmp_path / "facades_label2photo.pth", drop_batch_counters=True)
    image = random_image(256, 256, seed=1)
    eval_out = np.asarray(zoo.load("pix2pix-facades-label2photo", weights=path, device="cpu")(image))
    paper = zoo.load("pix2pix-facades-label2photo", weights=path, device="cpu", mode="paper")
    torch.manual_seed(0)
    paper_out = np.asarray(paper(image))
    torch.manual_seed(0)
    expected = upstream_output(net.train(), image, 256)
    assert np.abs(paper_out.astype(int) - expected.astype(int)).max() == 0
    assert np.abs(paper_out.astype(int) - eval_out.astype(int)).mean() > 1
    assert not any(m.training for m in paper.model.modules())  # restored after the call
    with pytest.raises(ValueError, match="normalises over the whole"):
        paper(image, tile=128)
    with pytest.raises(ValueError, match="no inference mode 'paperr'.*eval, paper"):
        zoo.load("pix2pix-facades-label2photo", weights=path, device="cpu", mode="paperr")


def test_zoo_run_keeps_non_square_non_multiple_of_4_size(tmp_path, capsys):
    from zoo.cli import main

    net = randomize(ResnetGenerator(3, 3, ngf=64, norm="instance", n_blocks=9), seed=4).eval()
    weights = legacy_checkpoint(net, tmp_path / "horse2zebra.pth")
    image = tmp_path / "horse.png"
    random_image(37, 53, seed=3).save(image)
    assert main(["run", "cyclegan-horse2zebra", str(image), "-o", str(tmp_path / "out"), "--weights", str(weights),
                 "--device", "cpu"]) == 0
    out = Image.open(tmp_path / "out" / "horse_out.png")  # default suffix _out
    assert out.size == (53, 37)
    np.testing.assert_array_equal(np.asarray(out), upstream_output(net, Image.open(image).convert("RGB"), 4))


def test_instance_norm_entries_refuse_tiling():
    pipe = zoo.load("cyclegan-horse2zebra", pretrained=False, device="cpu")
    with pytest.raises(ValueError, match="normalises over the whole image"):
        pipe(random_image(64, 64), tile=32)
