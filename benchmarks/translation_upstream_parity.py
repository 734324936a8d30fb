"""Parity of zoo_translation's networks with junyanz/pytorch-CycleGAN-and-pix2pix's own ``models/networks.py``.

For every official configuration (full size: resnet_9blocks / resnet_6blocks + instance norm, unet_256 /
unet_128 + batch norm with dropout, the PatchGAN and PixelGAN discriminators) this script

1. builds upstream's network with upstream's ``init_weights`` (and, for BatchNorm, random running stats),
2. writes its state_dict the way an old official checkpoint looks: InstanceNorm layers replaced by
   ``track_running_stats=True`` ones (pre-0.4 PyTorch), so the file carries their running_mean /
   running_var / num_batches_tracked, plus ``_metadata``,
3. reads the file with the zoo's safe loader, adapts it with the ``junyanz`` adapter and loads it
   strictly into our network,
4. compares outputs on the same random input: eval mode, and upstream's default test mode (train mode,
   dropout on, same RNG seed) against ``zoo_translation.modes.paper_test_mode(..., update_running_stats=True)``.

Upstream code is read at run time from a checkout or a bare git mirror; nothing of it is stored here.

Reproduce (bare mirror of zenml-io/pytorch-CycleGAN-and-pix2pix, the fork identical to upstream at 00d5574):

    python benchmarks/translation_upstream_parity.py \
        --git-dir /work/.mirror/zenml-io+pytorch-CycleGAN-and-pix2pix/repo --commit 00d5574

or ``--networks path/to/models/networks.py`` for a normal checkout.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "plugins"))

from zoo.weights.formats import load_state_dict_strict  # noqa: E402
from zoo.weights.serialization import load_checkpoint  # noqa: E402
from zoo_translation import networks as ours  # noqa: E402
from zoo_translation.adapters import adapt_junyanz_state_dict  # noqa: E402
from zoo_translation.modes import paper_test_mode  # noqa: E402


def load_upstream(networks: Path | None, git_dir: Path | None, commit: str) -> object:
    """Import upstream's models/networks.py as a module named ``junyanz_networks``."""
    if networks is None:
        assert git_dir is not None, "give --networks or --git-dir"
        source = subprocess.run(["git", f"--git-dir={git_dir}", "show", f"{commit}:models/networks.py"],
                                check=True, capture_output=True, text=True).stdout
        networks = Path(tempfile.mkdtemp()) / "junyanz_networks.py"
        networks.write_text(source)
    spec = importlib.util.spec_from_file_location("junyanz_networks", networks)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def legacy_instance_norm_copy(net: nn.Module) -> nn.Module:
    """A copy whose InstanceNorms track running stats, like PyTorch < 0.4 saved them."""
    legacy = copy.deepcopy(net)
    for name, module in list(legacy.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, nn.InstanceNorm2d):
                replacement = nn.InstanceNorm2d(child.num_features, affine=False, track_running_stats=True)
                replacement.running_mean.uniform_(-1, 1)
                replacement.running_var.uniform_(0.5, 2)
                setattr(module, child_name, replacement)
    return legacy


def configs(up: object) -> list[tuple[str, nn.Module, nn.Module, tuple[int, ...]]]:
    """(name, upstream net, our net, input shape); names marked 'eval only' skip the train-mode comparison."""
    norm = up.get_norm_layer
    return [
        ("resnet_9blocks dropout ckpt -> no-dropout model (eval only)",
         up.ResnetGenerator(3, 3, 64, norm("instance"), True, 9),
         ours.ResnetGenerator(3, 3, 64, "instance", False, 9), (1, 3, 64, 64)),
        ("resnet_9blocks instance", up.ResnetGenerator(3, 3, 64, norm("instance"), False, 9),
         ours.ResnetGenerator(3, 3, 64, "instance", False, 9), (1, 3, 64, 80)),
        ("resnet_6blocks instance", up.ResnetGenerator(3, 3, 64, norm("instance"), False, 6),
         ours.ResnetGenerator(3, 3, 64, "instance", False, 6), (1, 3, 62, 50)),
        ("resnet_9blocks batch dropout", up.ResnetGenerator(3, 3, 64, norm("batch"), True, 9),
         ours.ResnetGenerator(3, 3, 64, "batch", True, 9), (2, 3, 32, 32)),
        ("resnet_6blocks none zero-pad", up.ResnetGenerator(3, 3, 16, norm("none"), False, 6, "zero"),
         ours.ResnetGenerator(3, 3, 16, "none", False, 6, "zero"), (1, 3, 32, 32)),
        ("unet_256 batch dropout", up.UnetGenerator(3, 3, 8, 64, norm("batch"), True),
         ours.UnetGenerator(3, 3, 8, 64, "batch", True), (1, 3, 256, 256)),
        ("unet_128 batch dropout", up.UnetGenerator(3, 3, 7, 64, norm("batch"), True),
         ours.UnetGenerator(3, 3, 7, 64, "batch", True), (1, 3, 128, 128)),
        ("unet_256 instance", up.UnetGenerator(3, 3, 8, 64, norm("instance"), False),
         ours.UnetGenerator(3, 3, 8, 64, "instance", False), (1, 3, 256, 256)),
        ("NLayerD basic instance", up.NLayerDiscriminator(3, 64, 3, norm("instance")),
         ours.NLayerDiscriminator(3, 64, 3, "instance"), (1, 3, 256, 256)),
        ("NLayerD basic batch in=6", up.NLayerDiscriminator(6, 64, 3, norm("batch")),
         ours.NLayerDiscriminator(6, 64, 3, "batch"), (2, 6, 64, 64)),
        ("NLayerD n_layers=5 batch", up.NLayerDiscriminator(3, 64, 5, norm("batch")),
         ours.NLayerDiscriminator(3, 64, 5, "batch"), (2, 3, 128, 128)),
        ("PixelD batch in=6", up.PixelDiscriminator(6, 64, norm("batch")),
         ours.PixelDiscriminator(6, 64, "batch"), (2, 6, 32, 32)),
    ]


def compare(up: object, name: str, theirs: nn.Module, mine: nn.Module, shape: tuple[int, ...], tmp: Path) -> dict:
    up.init_weights(theirs, "normal", 0.02)
    for module in theirs.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.num_batches_tracked.fill_(7)
    legacy = legacy_instance_norm_copy(theirs)
    path = tmp / (name.replace(" ", "_") + ".pth")
    torch.save(legacy.state_dict(), path)  # an OrderedDict with _metadata, like upstream's torch.save
    raw = load_checkpoint(path)
    adapted = adapt_junyanz_state_dict(raw, mine, origin=str(path))
    load_state_dict_strict(mine, adapted, str(path))
    extra = len(raw) - len(adapted)

    x = torch.rand(*shape, generator=torch.Generator().manual_seed(0)) * 2 - 1
    theirs.eval(), mine.eval()
    with torch.no_grad():
        eval_diff = (theirs(x) - mine(x)).abs().max().item()
    # upstream test.py default: never eval() -> train mode (BN batch stats + running-stat updates, dropout on)
    if "eval only" in name:
        return {"config": name, "keys": len(adapted), "dropped": extra, "shape": tuple(shape),
                "eval_max_abs_diff": eval_diff, "train_max_abs_diff": float("nan"),
                "state_after_train_max_diff": float("nan")}
    theirs.train()
    with torch.no_grad():
        torch.manual_seed(123)
        out_theirs = theirs(x)
        with paper_test_mode(mine, update_running_stats=True):
            torch.manual_seed(123)
            out_mine = mine(x)
    train_diff = (out_theirs - out_mine).abs().max().item()
    buffers_diff = max(((a.float() - b.float()).abs().max().item()
                        for (ka, a), (kb, b) in zip(theirs.state_dict().items(), mine.state_dict().items())), default=0.0)
    return {"config": name, "keys": len(adapted), "dropped": extra, "shape": tuple(shape),
            "eval_max_abs_diff": eval_diff, "train_max_abs_diff": train_diff, "state_after_train_max_diff": buffers_diff}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--networks", type=Path, help="path to upstream models/networks.py")
    parser.add_argument("--git-dir", type=Path, help="bare git mirror of pytorch-CycleGAN-and-pix2pix")
    parser.add_argument("--commit", default="HEAD")
    args = parser.parse_args(argv)
    up = load_upstream(args.networks, args.git_dir, args.commit)
    torch.manual_seed(0)
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for name, theirs, mine, shape in configs(up):
            start = time.perf_counter()
            row = compare(up, name, theirs, mine, shape, Path(tmp))
            worst = max([worst] + [v for k, v in row.items() if k.endswith("diff") and v == v])  # skip NaN
            print(f"{row['config']:<58} keys={row['keys']:<3} dropped={row['dropped']:<3} input={row['shape']}  "
                  f"eval |diff|max={row['eval_max_abs_diff']:.3g}  train |diff|max={row['train_max_abs_diff']:.3g}  "
                  f"buffers after train |diff|max={row['state_after_train_max_diff']:.3g}  "
                  f"({time.perf_counter() - start:.1f}s)")
    print(f"worst max abs difference: {worst:.3g}")
    return 0 if worst == 0.0 else 1


if __name__ == "__main__":
    sys.exit(main())
