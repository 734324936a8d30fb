"""What several subcommands share: the one-line-error parser, tables, and the options of commands that load a model."""

from __future__ import annotations

import argparse
import textwrap
from typing import Any, Sequence


class Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line (``zoo run: error: ...``) and exit 2, like the zoo's own errors."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def print_table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())


def wrapped(label: str, names: Sequence[str]) -> str:
    """``  label: a, b, c`` folded at 100 columns (the ``zoo plugins -v`` style)."""
    return textwrap.fill(", ".join(names), width=100, initial_indent=f"  {label}: ", subsequent_indent=" " * 6)


def add_model_options(p: argparse.ArgumentParser) -> None:
    """Options of every command that builds a model, mirroring ``zoo.load``'s arguments."""
    p.add_argument("--weights", help="weights file, URL or plugin URI (like zoo.load(name, weights=...))")
    p.add_argument("--weights-format", help="checkpoint format of --weights, if not the entry's")
    p.add_argument("--no-pretrained", action="store_true", help="random initialisation (for smoke tests)")
    p.add_argument("--device", help="cpu, cuda, cuda:1, ... (default: cuda if available)")
    p.add_argument("--dtype", help="fp32 (default), fp16 or bf16")
    p.add_argument("--infer-architecture", action="store_true",
                   help="read block counts / widths off --weights instead of the entry's kwargs")
    p.add_argument("--backend", default="eager", choices=["eager", "compile", "onnxruntime"],
                   help="what runs the network: PyTorch eager (default), torch.compile, or onnxruntime (an ONNX export "
                        "cached in $ZOO_HOME/exports)")
