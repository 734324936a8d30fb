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
from types import ModuleType
from typing import Any

import zoo

from zoo.bench.speed import ModelJob, _row, measure_model, one_line
from zoo.bench.suite import BASELINE
from zoo.registry.manager import get_manager


def _import_root(module: ModuleType) -> Path | None:
    """The folder a module's top-level package was imported from (the entry of sys.path that found it)."""
    top = sys.modules.get(module.__name__.split(".")[0])
    file = getattr(top, "__file__", None)
    if not file:
        return None
    path = Path(file).resolve()
    return path.parents[1] if path.name == "__init__.py" else path.parent


def child_pythonpath() -> str:
    """PYTHONPATH for a child: this process's own, plus the folders the zoo and its built-in plugins came from.

    Not a copy of ``sys.path``: a loose plugin (a ``ZOO_PLUGINS_DIR`` file) may add folders at run time, and a
    folder on the child's path from the start also exposes the distributions installed in it, so the child would
    load that plugin twice (as an entry point and from the plugins folder) and lose its entries to the clash.
    """
    manager = get_manager()
    modules = [zoo] + [plugin for name, plugin in manager.pm.list_name_plugin()
                       if manager.is_builtin(name) and isinstance(plugin, ModuleType)]
    roots = [str(root) for root in (_import_root(m) for m in modules) if root is not None]
    given = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return os.pathsep.join(dict.fromkeys(roots + given))


def run_isolated(job: ModelJob, timeout_s: float) -> dict[str, Any]:
    """Measure ``job`` in a fresh interpreter; a crash or timeout becomes the rows' error."""
    def failed(message: str) -> dict[str, Any]:
        return {"rows": [_row(job, None, s, status=f"error: {message}") for s in (BASELINE, *job.settings)],
                "samples": []}

    with tempfile.TemporaryDirectory(prefix="zoo-bench-") as tmp:
        job_file, result_file = Path(tmp, "job.pkl"), Path(tmp, "result.pkl")
        job_file.write_bytes(pickle.dumps(job))
        env = {**os.environ, "PYTHONPATH": child_pythonpath()}
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
