"""The run page: ``RUN/index.html``, rebuilt at each sample step and by ``zoo runs show RUN``.

One static page (no scripts, files beside it): the run's status and best checkpoint, the loss and
validation curves (matplotlib PNGs in ``RUN/curves/``), the captioned sample grids newest first, the
validation set-up (and which metrics were unavailable, and why), the history of starts and resumes, and
the resolved options. Open it in any browser: ``file://RUN/index.html``.
"""

from __future__ import annotations

import csv
import html
import json
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from zoo.files import atomic_path, write_text_atomic
from zoo.training.runlog import CONFIG_FILE, read_run_json

PAGE_FILE = "index.html"
#: ``samples/index.json``: the grids written so far (step, file, row captions)
SAMPLES_INDEX = "index.json"
CURVES = "curves"
#: train_log.csv columns that are not losses
NOT_LOSSES = {"step", "epoch", "lr", "seconds", "diversity", "diversity_ratio"}

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1100px;color:#222}
h1{font-size:1.4em} h2{font-size:1.15em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.9em} td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left;
vertical-align:top} figure{margin:1em 0} figcaption{font-size:.9em;color:#444} img{max-width:100%;
image-rendering:pixelated} .muted{color:#777} code{background:#f4f4f4;padding:0 .2em}
"""


def read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as f:
        return [r for r in csv.DictReader(f) if r.get("step")]


def _numbers(rows: Sequence[Mapping[str, str]], key: str) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for row in rows:
        try:
            x, y = float(row["step"]), float(row.get(key) or "nan")
        except ValueError:
            continue
        if y == y:  # not NaN
            xs.append(x)
            ys.append(y)
    return xs, ys


def plot_panels(rows: Sequence[Mapping[str, str]], keys: Sequence[str], path: Path, title: str) -> Path | None:
    """One small line plot per column of ``rows`` (x: step), in one PNG; None without matplotlib or data."""
    keys = [k for k in keys if _numbers(rows, k)[0]]
    if not keys:
        return None
    try:
        import matplotlib  # heavy

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # heavy
    except ImportError:
        return None
    cols = min(3, len(keys))
    nrows = (len(keys) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 2.8 * nrows), dpi=90, squeeze=False)
    for ax, key in zip(axes.flat, keys):
        xs, ys = _numbers(rows, key)
        ax.plot(xs, ys, marker="o" if len(xs) < 30 else None, markersize=3)
        ax.set_title(key, fontsize=10)
        ax.set_xlabel("step", fontsize=8)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path


def png_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from a PNG's header, without an image library."""
    try:
        with path.open("rb") as f:
            head = f.read(24)
    except OSError:
        return None
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">II", head[16:24])


def _table(rows: Sequence[Sequence[Any]], head: Sequence[str] | None = None) -> str:
    out = ["<table>"]
    if head:
        out.append("<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in head) + "</tr>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{html.escape(_text(c))}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _text(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return "" if value is None else str(value)


def summary(run: Path) -> dict[str, Any]:
    """What ``zoo runs ls`` shows of a run: name, task, status, last step, best metric."""
    record = read_run_json(run)
    config = _config(run)
    history = record.get("history", [])
    best = _best(record, run)
    rows = read_csv(run / "train_log.csv")
    steps = [int(float(rows[-1]["step"]))] if rows else []
    steps += [int(e["step"]) for e in history if isinstance(e.get("step"), int)]
    return {"run": str(run), "name": (record.get("options") or config.get("options") or {}).get("name") or run.name,
            "task": record.get("task") or config.get("task", "?"), "status": record.get("status", "unknown"),
            "step": max(steps) if steps else None, "best": best,
            "error": history[-1].get("error") if history and record.get("status") == "failed" else None}


def _config(run: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load((run / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def _best(record: Mapping[str, Any], run: Path) -> dict[str, Any] | None:
    for event in reversed(record.get("history", [])):
        if event.get("best"):
            return event["best"]
    best = record.get("best")
    if best:
        return best
    validation = record.get("validation") or {}
    metric = validation.get("best_metric")
    if not metric:
        return None
    rows = read_csv(run / "val_log.csv")
    xs, ys = _numbers(rows, metric)
    if not ys:
        return None
    pick = max if validation.get("best_mode") == "max" else min
    value = pick(ys)
    return {"metric": metric, "value": value, "step": int(xs[ys.index(value)])}


def build_page(run: str | Path) -> Path:
    """Write ``RUN/index.html`` (and its curves); returns its path."""
    run = Path(run)
    record, config = read_run_json(run), _config(run)
    train_rows, val_rows = read_csv(run / "train_log.csv"), read_csv(run / "val_log.csv")
    losses = [k for k in (train_rows[0] if train_rows else {}) if k not in NOT_LOSSES]
    extra = [k for k in ("diversity_ratio", "lr") if train_rows and k in train_rows[0]]
    loss_png = plot_panels(train_rows, losses + extra, run / CURVES / "train.png",
                           "training (mean over log_every steps)")
    val_keys = [k for k in (val_rows[0] if val_rows else {}) if k != "step"]
    val_png = plot_panels(val_rows, val_keys, run / CURVES / "validation.png", "validation")
    info = summary(run)
    title = f"{info['name']} ({info['task']})"
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_STYLE}</style></head><body>", f"<h1>zoo train run: {html.escape(title)}</h1>"]
    best = info["best"]
    parts.append(_table([("run folder", str(run.resolve())), ("target", record.get("target") or config.get("target")),
                         ("data", record.get("data") or config.get("data")),
                         ("status", info["status"] + (f" ({info['error']})" if info["error"] else "")),
                         ("step", info["step"]), ("device", record.get("device")),
                         ("best", f"{best['metric']} {best['value']:.5g} at step {best['step']} (best.safetensors)"
                          if best and best.get("value") is not None else "none (no validation with a best_metric)")]))
    parts.append("<h2>Curves</h2>")
    for png, what in ((loss_png, "losses, learning rate and output diversity"), (val_png, "validation metrics")):
        if png is not None:
            parts.append(f"<figure><img src='{CURVES}/{png.name}' alt='{what}'>"
                         f"<figcaption>{what}</figcaption></figure>")
        else:
            parts.append(f"<p class='muted'>No {what} yet (or matplotlib is not installed).</p>")
    validation = record.get("validation")
    if validation:
        parts.append("<h2>Validation</h2>")
        rows = [("data", validation.get("data")), ("metrics", ", ".join(validation.get("metrics") or []) or "none"),
                ("best.pt follows", f"{validation.get('best_metric')} ({validation.get('best_mode')})"
                 if validation.get("best_metric") else "nothing")]
        rows += [(f"{k}: unavailable", v) for k, v in (validation.get("unavailable") or {}).items()]
        parts.append(_table(rows))
    parts.append("<h2>Samples</h2>")
    index_path = run / "samples" / SAMPLES_INDEX
    grids = json.loads(index_path.read_text(encoding="utf-8")).get("grids", []) if index_path.is_file() else []
    grids = [g for g in grids if (run / "samples" / g["file"]).is_file()]
    if not grids:
        parts.append("<p class='muted'>No sample grid yet.</p>")
    for grid in sorted(grids, key=lambda g: -g["step"]):
        rows_text = "; ".join(f"row {i + 1}: {c}" for i, c in enumerate(grid.get("captions", [])))
        size = png_size(run / "samples" / grid["file"])
        width = f" width='{min(1000, size[0] * max(1, min(4, 512 // max(1, size[0]))))}'" if size else ""
        parts.append(f"<figure><img src='samples/{html.escape(grid['file'])}'{width} "
                     f"alt='samples at step {grid['step']}'>"
                     f"<figcaption>step {grid['step']}: {html.escape(rows_text)}</figcaption></figure>")
    history = record.get("history", [])
    if history:
        parts.append("<h2>History</h2>")
        parts.append(_table([(e.get("time"), e.get("event"), e.get("step"),
                              {k: v for k, v in e.items() if k not in ("time", "event", "step")})
                             for e in history], ("time", "event", "step", "details")))
    parts.append("<h2>Options</h2>")
    options = record.get("options") or config.get("options") or {}
    parts.append(_table(sorted(options.items()), ("option", "value")))
    versions = record.get("versions")
    if versions:
        parts.append("<h2>Environment</h2>")
        parts.append(_table(list(versions.items()) + [("git", record.get("git")), ("command", " ".join(
            record.get("command") or []))]))
    parts.append("</body></html>\n")
    return write_text_atomic(run / PAGE_FILE, "\n".join(parts))
