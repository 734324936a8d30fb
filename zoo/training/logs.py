"""Run logs: CSV files (always), TensorBoard (when installed), captioned sample grids and curves as PNG."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
from PIL import Image

from zoo.files import atomic_path
from zoo.training.page import SAMPLES_INDEX


class CSVLog:
    """A CSV of rows keyed by ``step``; the header grows when new columns appear.

    Opening an existing log keeps only rows up to ``keep_until`` (the resumed step), so a run killed
    after its last checkpoint does not leave rows that the resumed run writes again.
    """

    def __init__(self, path: Path, keep_until: int | None = None) -> None:
        self.path = path
        self.rows: list[dict[str, Any]] = []
        self.columns: list[str] = []
        if keep_until is not None and path.is_file():
            with path.open(newline="", encoding="utf-8") as f:
                reader = csv.DictReader(f)
                self.columns = list(reader.fieldnames or [])
                self.rows = [r for r in reader if r.get("step") and int(float(r["step"])) <= keep_until]
        self._rewrite()

    def _rewrite(self) -> None:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=self.columns, restval="")
        writer.writeheader()
        writer.writerows(self.rows)
        with atomic_path(self.path) as tmp:
            tmp.write_text(buf.getvalue() if self.columns else "", encoding="utf-8")

    def write(self, row: Mapping[str, Any]) -> None:
        row = {k: _fmt(v) for k, v in row.items()}
        self.rows.append(row)
        new = [k for k in row if k not in self.columns]
        if new or not self.path.is_file():
            self.columns += new
            self._rewrite()
            return
        with self.path.open("a", newline="", encoding="utf-8") as f:
            csv.DictWriter(f, fieldnames=self.columns, restval="").writerow(row)


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.8g}"
    return value


class TensorBoardLog:
    """``torch.utils.tensorboard`` when the ``tensorboard`` package is installed, else nothing."""

    def __init__(self, folder: Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter  # heavy: optional
        except ImportError:
            self.writer = None
        else:
            self.writer = SummaryWriter(str(folder))

    def scalars(self, step: int, values: Mapping[str, float], prefix: str) -> None:
        if self.writer is not None:
            for key, value in values.items():
                if isinstance(value, (int, float)) and key not in ("step", "epoch"):
                    self.writer.add_scalar(f"{prefix}/{key}", value, step)

    def image(self, step: int, grid: torch.Tensor) -> None:
        if self.writer is not None:
            self.writer.add_image("samples", grid, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def save_png(grid: torch.Tensor, path: Path) -> Path:
    """A (3, H, W) float tensor in [0, 1] -> an 8-bit PNG, written atomically."""
    arr = (grid.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255.0 + 0.5).astype(np.uint8)
    with atomic_path(path) as tmp:
        Image.fromarray(arr).save(tmp, format="PNG")
    return path


def save_grid(grid: torch.Tensor, path: Path, captions: list[str], *, step: int) -> Path:
    """A sample grid with its row captions written in a column on the left, and the grid recorded (step,
    file, captions) in ``samples/index.json`` for the run page."""
    from PIL import ImageDraw  # heavy

    arr = (grid.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255.0 + 0.5).astype(np.uint8)
    rows = max(1, len(captions))
    row_h = arr.shape[0] // rows
    draw_probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    width = max((int(draw_probe.textlength(c)) for c in captions), default=0) + 12 if captions else 0
    canvas = Image.new("RGB", (arr.shape[1] + width, arr.shape[0]), (255, 255, 255))
    canvas.paste(Image.fromarray(arr), (width, 0))
    draw = ImageDraw.Draw(canvas)
    for i, caption in enumerate(captions):
        draw.text((6, i * row_h + max(0, row_h // 2 - 6)), caption, fill=(0, 0, 0))
    with atomic_path(path) as tmp:
        canvas.save(tmp, format="PNG")
    index_path = path.parent / SAMPLES_INDEX
    index = json.loads(index_path.read_text(encoding="utf-8")) if index_path.is_file() else {"grids": []}
    index["grids"] = [g for g in index["grids"] if g["file"] != path.name] + [
        {"step": step, "file": path.name, "captions": list(captions)}]
    with atomic_path(index_path) as tmp:
        tmp.write_text(json.dumps(index, indent=1), encoding="utf-8")
    return path


def plot_curve(steps: list[float], values: list[float], path: Path, *, ylabel: str, title: str,
               hlines: Mapping[str, float] | None = None) -> Path | None:
    """A line plot PNG (matplotlib, if installed); reference values as dashed lines."""
    try:
        import matplotlib  # heavy

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # heavy
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.plot(steps, values, marker="o", markersize=3, label=ylabel)
    for label, value in (hlines or {}).items():
        if math.isfinite(value):
            ax.axhline(value, linestyle="--", linewidth=1, color="gray")
            ax.text(steps[0] if steps else 0, value, f" {label}", va="bottom", fontsize=8, color="gray")
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path
