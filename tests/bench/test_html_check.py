"""The report page and docs/models.md open in headless Chromium without console messages or missing images."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHECK = REPO / "benchmarks" / "html_check.py"

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not any(shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")),
    reason="no Chromium (apt-get install -y chromium)")]


def check(*pages: Path, shots: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CHECK), *map(str, pages), "--shots", str(shots)],
                          capture_output=True, text=True, timeout=300)


def test_a_report_and_the_models_page_open_cleanly(bench, tmp_path):
    pytest.importorskip("markdown_it")
    out = tmp_path / "r"
    assert bench("tiny-bench-same", "tiny-bench-x2", "--size", "16", "--iters", "1", "--rounds", "2", "--quality",
                 "--max-images", "1", "--no-isolate", "--out", str(out))[0] == 0
    proc = check(out / "report.html", REPO / "docs" / "models.md", shots=tmp_path / "shots")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count(": OK, screenshot") == 2
    assert (tmp_path / "shots" / "report.png").stat().st_size > 10_000


def test_a_missing_image_or_a_console_message_fails(tmp_path):
    page = tmp_path / "bad.md"
    page.write_text("# x\n\n![gone](models/gone.png)\n")
    html = tmp_path / "bad.html"
    html.write_text("<html><body><script>console.log('noise')</script></body></html>")
    proc = check(page, html, shots=tmp_path / "shots")
    assert proc.returncode == 1 and "models/gone.png: no such file" in proc.stdout and '"noise"' in proc.stdout
