"""Open report pages in headless Chromium: no console messages, every image resolves, and a screenshot.

    python benchmarks/html_check.py benchmarks/results/cpu/report.html docs/models.md [--shots DIR]

A ``.md`` page is rendered to HTML first (markdown-it-py, with tables), its relative images resolved against
its own folder, as a Markdown viewer would. Exit 1 when a page logs a console message, an image is missing or
Chromium fails; each page's screenshot and its size are printed.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import html
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def markdown_page(path: Path, out: Path) -> Path:
    """``path`` (Markdown) as a standalone HTML file in ``out``, images resolved against ``path``'s folder."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark").enable("table").render(path.read_text(encoding="utf-8"))
    page = out / f"{path.stem}.html"
    page.write_text(f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">'
                    f'<base href="{path.parent.resolve().as_uri()}/"><title>{html.escape(path.name)}</title>'
                    "<style>body{font:14px system-ui;margin:24px}table{border-collapse:collapse}"
                    "td,th{border:1px solid #ccc;padding:3px 6px;font-size:12px}</style></head>"
                    f"<body>{body}</body></html>", encoding="utf-8")
    return page


def broken_images(page: Path, base: Path) -> list[str]:
    """``src`` of every image that does not resolve: a bad data URI or a missing local file."""
    problems = []
    for src in re.findall(r'<img[^>]*\ssrc="([^"]+)"', page.read_text(encoding="utf-8")):
        if src.startswith("data:"):
            try:
                base64.b64decode(src.split(",", 1)[1], validate=True)
            except (binascii.Error, IndexError):
                problems.append(f"{src[:40]}...: not valid base64")
        elif "://" not in src and not (base / src).is_file():
            problems.append(f"{src}: no such file beside {base}")
        elif src.startswith(("http://", "https://")):
            problems.append(f"{src}: an external resource (pages must open offline)")
    return problems


def open_in_chromium(browser: str, page: Path, shot: Path) -> tuple[list[str], int]:
    """(console lines, screenshot bytes) of ``page`` in headless Chromium."""
    proc = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
                           "--window-size=1400,2000", f"--screenshot={shot}", page.resolve().as_uri()],
                          capture_output=True, text=True, timeout=120, check=False)
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    if proc.returncode != 0 or not shot.is_file():
        console.append(f"chromium exited with {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]}")
    return console, shot.stat().st_size if shot.is_file() else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="+", type=Path)
    parser.add_argument("--shots", type=Path, help="folder for the screenshots (default: a temporary folder)")
    args = parser.parse_args(argv)
    browser = next((b for b in BROWSERS if shutil.which(b)), None)
    if browser is None:
        print("html_check: no Chromium found (apt-get install -y chromium)", file=sys.stderr)
        return 2
    failed = False
    with tempfile.TemporaryDirectory(prefix="html-check-") as tmp:
        shots = args.shots or Path(tmp)
        shots.mkdir(parents=True, exist_ok=True)
        for path in args.pages:
            page = markdown_page(path, Path(tmp)) if path.suffix == ".md" else path
            problems = broken_images(page, path.parent)
            console, size = open_in_chromium(browser, page, shots / f"{path.stem}.png")
            problems += console
            failed |= bool(problems)
            print(f"{path}: {'OK' if not problems else 'FAILED'}, screenshot {shots / (path.stem + '.png')} ({size} bytes)"
                  + "".join(f"\n  {p}" for p in problems))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
