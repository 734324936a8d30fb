"""Child process that measures one model alone, so its peak memory is its own.

``python -m zoo.bench.worker JOB.pkl RESULT.pkl``: reads a pickled :class:`~zoo.bench.speed.ModelJob`,
writes the pickled result of :func:`~zoo.bench.speed.measure_model`. Only the parent starts it.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from zoo.bench.speed import ModelJob, _row, measure_model, one_line
from zoo.bench.suite import BASELINE


def run_isolated(job: ModelJob, timeout_s: float) -> dict[str, Any]:
    """Measure ``job`` in a fresh interpreter; a crash or timeout becomes the rows' error."""
    def failed(message: str) -> dict[str, Any]:
        return {"rows": [_row(job, None, s, status=f"error: {message}") for s in (BASELINE, *job.settings)],
                "samples": []}

    with tempfile.TemporaryDirectory(prefix="zoo-bench-") as tmp:
        job_file, result_file = Path(tmp, "job.pkl"), Path(tmp, "result.pkl")
        job_file.write_bytes(pickle.dumps(job))
        env = dict(os.environ)
        paths = [p for p in sys.path if p and Path(p).is_dir()]
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths + env.get("PYTHONPATH", "").split(os.pathsep)))
        try:
            proc = subprocess.run([sys.executable, "-m", "zoo.bench.worker", str(job_file), str(result_file)],
                                  env=env, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return failed(f"timed out after {timeout_s:.0f} s (suite timeout_s)")
        if proc.returncode != 0 or not result_file.is_file():
            tail = [line for line in (proc.stderr or "").strip().splitlines() if line.strip()]
            return failed(f"worker exited with {proc.returncode}: {tail[-1] if tail else 'no output'}")
        result = pickle.loads(result_file.read_bytes())  # noqa: S301 - written by our own child
    for row in result["rows"]:
        row.setdefault("task", None)
    return result


def main(argv: list[str]) -> int:
    job_file, result_file = Path(argv[0]), Path(argv[1])
    job = pickle.loads(job_file.read_bytes())  # noqa: S301 - written by our own parent

    try:
        result = measure_model(job)
    except BaseException as exc:  # noqa: BLE001 - report, never a traceback
        print(f"zoo bench worker: {job.name}: {one_line(exc)}", file=sys.stderr)
        return 1
    result_file.write_bytes(pickle.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
