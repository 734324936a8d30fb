"""Writing a report: pandas tables as CSV, the JSON document, Markdown and the HTML page, each atomically.

``report.json`` is the source of truth; ``zoo bench --report-only DIR`` rebuilds the rest from it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

from zoo.bench.html import to_html
from zoo.bench.quality import QUALITY_COLUMNS
from zoo.bench.speed import ROW_COLUMNS
from zoo.bench.suite import SuiteError
from zoo.bench.tables import TABLES, to_markdown
from zoo.files import atomic_path, write_text_atomic


#: the first columns of each table's CSV, in this order (stable across runs); other columns follow, sorted
CSV_COLUMNS = {"speed": ROW_COLUMNS, "quality": QUALITY_COLUMNS}


def dataframe(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] = ()):
    import pandas as pd  # heavy

    rows = list(rows)
    present = {k for r in rows for k in r}
    order = [c for c in columns if c in present] + sorted(present - set(columns))
    frame = pd.DataFrame(rows, columns=order if columns else None)
    for column in frame.columns:  # integer columns with gaps stay integers (2, not 2.0) in the CSV
        values = [r.get(column) for r in rows if r.get(column) is not None]
        if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            frame[column] = frame[column].astype("Int64")
    return frame


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


#: the files a report folder holds (a table's CSV only when the table has rows)
REPORT_FILES = ("report.json", "report.md", "report.html", *(f"{table}.csv" for table in TABLES))


def is_bench_report(folder: Path) -> bool:
    """Whether ``folder`` holds a report written by ``zoo bench`` (its ``report.json`` says so)."""
    try:
        return json.loads((folder / "report.json").read_text(encoding="utf-8")).get("kind") == "zoo-bench-report"
    except (OSError, ValueError, AttributeError):
        return False


def check_out_folder(out: Path, *, overwrite: bool = False, names: tuple[str, ...] = REPORT_FILES) -> None:
    """The report folder must be a folder or not exist; files of the report's names in it may be replaced only
    when they are an earlier zoo bench report, or with ``overwrite`` (as ``zoo run --overwrite``)."""
    if out.exists() and not out.is_dir():
        raise SuiteError(f"--out {out}: exists and is not a folder (give a folder for the report)")
    if not out.is_dir() or overwrite or is_bench_report(out):
        return
    clash = [name for name in names if (out / name).exists()]
    if clash:
        raise SuiteError(f"--out {out}: holds {', '.join(clash)}, and the folder is not a zoo bench report (no "
                         "report.json of kind zoo-bench-report); pass --overwrite to replace them, or give another folder")


def write_report(report: dict[str, Any], out_dir: str | Path, *, json_too: bool = True) -> list[Path]:
    """Write ``report.json``, one CSV per non-empty table, ``report.md`` and ``report.html`` into ``out_dir``."""

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if json_too:
        write_text_atomic(out / "report.json", json.dumps(_json_safe(report), indent=1, default=str) + "\n")
        written.append(out / "report.json")
    for table in TABLES:
        rows = report.get(table) or []
        target = out / f"{table}.csv"
        if rows:
            with atomic_path(target) as tmp:
                dataframe(rows, CSV_COLUMNS.get(table, ())).to_csv(tmp, index=False)
            written.append(target)
        elif target.exists():
            target.unlink()  # a stale table from an earlier run would contradict report.json
    write_text_atomic(out / "report.md", to_markdown(report))
    write_text_atomic(out / "report.html", to_html(report))
    return written + [out / "report.md", out / "report.html"]
