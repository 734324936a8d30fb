"""``docs/models.md``: one row per catalog entry, made from the catalog and a leaderboard's CSVs.

``python benchmarks/models_page.py`` writes it (and a small output image per entry with weights, from the
leaderboard's ``report.json``); ``--check`` (and ``tests/bench/test_models_page.py``) fails when the committed
page is stale. Rows: task, architecture, parameters, GFLOPs, fp32 eager speed and the best fast setting within
the output budget at each measured size, published quality (with sources) and quality measured here, the
weights' licence and whether the run had them (random weights: speed only).
"""

from __future__ import annotations

import base64
import csv
import io
import json
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from zoo.bench.cells import fmt
from zoo.bench.noise import describe_state
from zoo.bench.summary import best_fast, size_label
from zoo.bench.suite import BASELINE
from zoo.evaluation.protocol import metric_kind
from zoo.files import atomic_path, write_text_atomic
from zoo.registry.catalog import Entry
from zoo.registry.manager import ZooPluginManager

#: side of the output thumbnails in docs/models/
THUMB = 96
IMAGES = "models"  # folder beside the page


def _number(text: str) -> Any:
    if text in ("", "nan", "None"):
        return None
    try:
        value = float(text)
    except ValueError:
        return {"True": True, "False": False}.get(text, text)
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value


def read_csv(path: Path) -> list[dict[str, Any]]:
    """A report table's rows, numbers as numbers (empty: [])."""
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(handle)]


def thumbnails(report: Mapping[str, Any]) -> dict[str, bytes]:
    """Entry -> PNG bytes: the centre of its output on the bundled image (the leaderboard's speed sample)."""
    from PIL import Image  # heavy

    out = {}
    for sample in report.get("samples") or []:
        if sample.get("model") in out or not sample.get("output"):
            continue
        image = Image.open(io.BytesIO(base64.b64decode(sample["output"]))).convert("RGB")
        image.thumbnail((THUMB, THUMB), Image.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=True)
        out[sample["model"]] = buffer.getvalue()
    return out


def _first_per_size(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """One row per size, batch and setting: reports before sizes were deduplicated timed a size that rounds to
    an earlier one (pix2pix's 128 px is its 256 px) again under the same label."""
    kept: dict[tuple, Mapping[str, Any]] = {}
    for row in rows:
        kept.setdefault((row.get("size"), row.get("batch"), row.get("setting")), row)
    return list(kept.values())


def _speed_cell(rows: Sequence[Mapping[str, Any]]) -> str:
    eager = [r for r in rows if r.get("setting") == BASELINE.name and r.get("status") == "ok"]
    if not eager:
        failed = next((r for r in rows if r.get("status") not in (None, "ok")), None)
        return f"failed: {failed['status']}" if failed else "–"
    return "; ".join(f"{fmt(r['images_per_s'])} img/s ({fmt(r.get('ips_min'))}-{fmt(r.get('ips_max'))}), "
                     f"{fmt(r.get('mpix_per_s'))} MP/s at {size_label(r)}" for r in eager)


def _fast_cell(rows: Sequence[Mapping[str, Any]], thresholds: Mapping[str, float]) -> str:
    parts = []
    for size in dict.fromkeys(r.get("size") for r in rows):
        best = best_fast([r for r in rows if r.get("size") == size], thresholds)
        if best is not None:
            parts.append(f"{best['setting']} {fmt(best['speedup_vs_eager'])}x ({fmt(best.get('speedup_min'))}-"
                         f"{fmt(best.get('speedup_max'))}x, max diff {fmt(best.get('max_abs_diff_grey'))}) at {size} px")
    return "; ".join(parts) or ("none within budget" if rows else "–")


def _published_cell(entry: Entry | None, sources: list[str]) -> str:
    if entry is None:
        return "–"
    parts = []
    for item in entry.metrics:
        if metric_kind(item) != "published":
            continue
        source = str(item.get("source"))
        if source not in sources:
            sources.append(source)
        parts.append(f"{item['metric']} {fmt(item['value'])} ({item.get('dataset', '?')}) [{sources.index(source) + 1}]")
    return "; ".join(parts) or "–"


def _measured_cell(rows: Sequence[Mapping[str, Any]]) -> str:
    done = [r for r in rows if isinstance(r.get("value"), (int, float))]
    if not done:
        status = next((str(r["status"]) for r in rows if r.get("status")), "")
        return "–" if not status else ("no data or weights here" if status.startswith("unavailable") else status)
    return "; ".join(f"{r['metric']} {fmt(r['value'])} on {r.get('dataset')} ({r.get('n_images')} images)" for r in done)


def _weights_cell(entry: Entry | None, rows: Sequence[Mapping[str, Any]]) -> str:
    licence = None
    if entry is not None:
        licence = entry.license or next((w.license for w in entry.weights if w.license), None)
    used = next((str(r["weights"]) for r in rows if r.get("weights")), "")
    here = "random weights here: speed only" if used.startswith("random") else ("real weights" if used else "not run")
    return f"{licence or 'licence not stated'}; {here}"


def render(entries: Iterable[Entry], speed: Sequence[Mapping[str, Any]], quality: Sequence[Mapping[str, Any]],
           report: Mapping[str, Any], *, results: str, images: Mapping[str, bytes] = ()) -> str:
    """The Markdown page (deterministic: the same catalog and results give the same text)."""
    catalog = {e.name: e for e in entries}
    names = sorted(set(catalog) | {str(r["model"]) for r in speed})
    thresholds = (report.get("suite") or {}).get("thresholds") or {}
    machine, noise = report.get("machine") or {}, report.get("noise") or {}
    lines = ["# Models", "",
             f"<!-- generated by `python benchmarks/models_page.py` from the catalog and {results}/*.csv: do not edit -->",
             "", f"{len(names)} entries. Speed and quality from `{' '.join(report.get('command') or [])}` at git "
             f"{machine.get('git_commit') or 'unknown'} on {machine.get('cpu') or machine.get('gpu')} "
             f"({machine.get('torch_threads')} threads, torch {machine.get('torch')}); machine at start: "
             f"{describe_state(noise.get('start'))}; at end: {describe_state(noise.get('end'))}.", ""]
    if noise.get("noisy"):
        lines += [f"> **Noisy run: {'; '.join(noise.get('reasons') or [])}. Treat the speed columns as rough: each "
                  "cell's min-max says how rough (docs/benchmarks.md, 'How much to believe the speed numbers').**", ""]
    lines += ["Speed: images/s of fp32 eager at the stated input size (median of interleaved rounds, min-max in "
              "brackets) and output megapixels/s, which compares models of one task at one size. Best fast setting: "
              f"the fastest of the measured settings whose output stays within {fmt(thresholds.get('fast_max_grey', 8.0))} "
              f"grey levels and {fmt(thresholds.get('fast_min_psnr_db', 45.0))} dB PSNR of fp32 eager. Published: "
              "papers and official repositories (sources below); measured here: this run, with the weights it had.", ""]
    sources: list[str] = []
    tasks: dict[str, list[str]] = {}
    for name in names:
        task = catalog[name].task if name in catalog else next(str(r.get("task")) for r in speed if r["model"] == name)
        tasks.setdefault(task, []).append(name)
    header = ("| entry | architecture | params M | GFLOPs | fp32 eager | best fast setting | published | measured here "
              "| weights | output |")
    for task in sorted(tasks):
        lines += [f"## {task} ({len(tasks[task])})", "", header, "|" + "---|" * 10]
        for name in tasks[task]:
            entry = catalog.get(name)
            mine = _first_per_size(r for r in speed if r["model"] == name)
            first = next((r for r in mine if r.get("params_m") is not None), {})
            gflops = "; ".join(f"{fmt(r['gflops_per_image'])} at {size_label(r)}" for r in mine
                               if r.get("setting") == BASELINE.name and r.get("gflops_per_image") is not None)
            image = f"![{name}]({IMAGES}/{name}.png)" if name in images else "–"
            cells = [f"`{name}`", entry.architecture if entry else "– (a plugin's entry)",
                     fmt(first.get("params_m")), gflops or "–",
                     _speed_cell(mine) if mine else f"not in {results}", _fast_cell(mine, thresholds),
                     _published_cell(entry, sources), _measured_cell([r for r in quality if r["model"] == name]),
                     _weights_cell(entry, mine), image]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    if sources:
        lines += ["## Sources of published numbers", ""] + [f"{i}. {s}" for i, s in enumerate(sources, 1)] + [""]
    return "\n".join(lines)


def build(results: Path, entries: Iterable[Entry], *, repo: Path) -> tuple[str, dict[str, bytes]]:
    """(page text, thumbnails by entry) for the leaderboard folder ``results``."""
    report = json.loads((results / "report.json").read_text(encoding="utf-8"))
    images = thumbnails(report)
    where = results.resolve()
    label = where.relative_to(repo.resolve()).as_posix() if where.is_relative_to(repo.resolve()) else str(where)
    text = render(entries, read_csv(results / "speed.csv"), read_csv(results / "quality.csv"), report,
                  results=label, images=images)
    return text, images


def builtin_entries() -> list[Entry]:
    """The catalog of the zoo and its built-in plugins only, so the page does not depend on what else is
    installed where it is checked (entries of other plugins come in through the leaderboard's rows)."""
    manager = ZooPluginManager()
    return [entry for entry in manager.catalog if manager.is_builtin(entry.provider)]


def _pixels(data: bytes) -> tuple:
    from PIL import Image  # heavy

    with Image.open(io.BytesIO(data)) as image:
        return image.size, image.convert("RGB").tobytes()


def sync_page(results: Path, page: Path, *, repo: Path, check: bool = False) -> list[str]:
    """Write ``page`` and its images from ``results`` (or, with ``check``, list how the committed ones differ)."""
    text, images = build(results, builtin_entries(), repo=repo)
    folder = page.parent / IMAGES
    if not check:
        write_text_atomic(page, text)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.png"):
            if stale.stem not in images:
                stale.unlink()
        for name, data in images.items():
            with atomic_path(folder / f"{name}.png") as tmp:
                tmp.write_bytes(data)
        return []
    problems = []
    if not page.is_file() or page.read_text(encoding="utf-8") != text:
        problems.append(f"{page} differs from what the catalog and {results} give")
    have = {p.stem for p in folder.glob("*.png")} if folder.is_dir() else set()
    for name in sorted(have ^ set(images)):
        problems.append(f"{folder}/{name}.png is " + ("missing" if name in images else "not an entry's output"))
    for name in sorted(have & set(images)):
        if _pixels((folder / f"{name}.png").read_bytes()) != _pixels(images[name]):
            problems.append(f"{folder}/{name}.png differs from the output in {results}/report.json")
    return problems
