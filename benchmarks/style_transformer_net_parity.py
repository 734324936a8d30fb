"""Parity of zoo_style's TransformerNet with upstream pytorch/examples code, on random weights.

    git clone https://github.com/pytorch/examples /tmp/examples
    python benchmarks/style_transformer_net_parity.py /tmp/examples/fast_neural_style/neural_style/transformer_net.py

Imports the upstream module from the given file (nothing is copied into the zoo), perturbs all its
parameters (instance-norm affine ones included), loads the upstream state_dict strictly into ours,
and prints the largest output difference for a few input sizes, odd ones included.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import torch

from zoo_style.transformer_net import TransformerNet


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("upstream", type=Path, help="path to upstream fast_neural_style/neural_style/transformer_net.py")
    args = parser.parse_args(argv)
    spec = importlib.util.spec_from_file_location("upstream_transformer_net", args.upstream)
    upstream = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(upstream)

    torch.manual_seed(0)
    reference = upstream.TransformerNet().eval()
    with torch.no_grad():
        for p in reference.parameters():
            p.add_(0.1 * torch.randn_like(p))
    ours = TransformerNet().eval()
    state = reference.state_dict()
    ours.load_state_dict(state, strict=True)
    print(f"{len(state)} keys, {sum(v.numel() for v in state.values()):,} parameters, strict load ok")
    worst = 0.0
    for shape in [(1, 3, 64, 64), (1, 3, 50, 67), (2, 3, 33, 41), (1, 3, 256, 256)]:
        x = torch.rand(*shape) * 255
        with torch.no_grad():
            a, b = reference(x), ours(x)
        diff = (a - b).abs().max().item()
        worst = max(worst, diff)
        print(f"input {tuple(shape)} -> output {tuple(a.shape)}: max |upstream - zoo| = {diff:.3g}")
    return 0 if worst == 0.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
