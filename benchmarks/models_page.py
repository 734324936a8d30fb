"""Write docs/models.md (one row per catalog entry) from the catalog and the CPU leaderboard's CSVs.

    python benchmarks/models_page.py                   # rewrite docs/models.md and docs/models/*.png
    python benchmarks/models_page.py --check           # exit 1 when the committed page is stale (CI does this)
    python benchmarks/models_page.py --results benchmarks/results/<device> --page docs/models-<device>.md

The leaderboard comes from `zoo bench --suite leaderboard --out benchmarks/results/cpu` (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "plugins")]

from zoo.bench.models_page import sync_page  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=str(REPO / "benchmarks" / "results" / "cpu"), help="leaderboard folder")
    parser.add_argument("--page", default=str(REPO / "docs" / "models.md"))
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when the page is stale")
    args = parser.parse_args(argv)
    results, page = Path(args.results), Path(args.page)
    if not (results / "report.json").is_file():
        print(f"models_page: no leaderboard at {results} (run `zoo bench --suite leaderboard --out {results}`)",
              file=sys.stderr)
        return 2
    problems = sync_page(results, page, repo=REPO, check=args.check)
    for problem in problems:
        print(f"models_page: stale: {problem}; run python benchmarks/models_page.py", file=sys.stderr)
    if not args.check:
        print(f"wrote {page} and {page.parent / 'models'}/ from {results}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
