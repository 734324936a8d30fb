"""The core's shape as a checked contract: layers (import-linter), no cycles, marked lazy imports, old paths kept."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORE = REPO / "zoo"
PLUGINS = REPO / "plugins"
LINT_IMPORTS = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")

needs_import_linter = pytest.mark.skipif(not Path(LINT_IMPORTS).exists(), reason="import-linter is not installed")


def _run_lint_imports(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(root / "plugins")])}
    return subprocess.run([LINT_IMPORTS, "--no-cache"], cwd=root, env=env, capture_output=True, text=True,
                          timeout=120)


@needs_import_linter
def test_the_import_contracts_hold():
    result = _run_lint_imports(REPO)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "3 kept, 0 broken" in result.stdout


@needs_import_linter
@pytest.mark.parametrize("module, line, contract", [
    ("zoo/registry/catalog.py", "from zoo.cli import main", "The core is layered"),
    ("zoo/weights/hub.py", "import zoo.inference.loading", "The core is layered"),
    ("zoo/metrics/psnr_ssim.py", "import zoo_sr", "The core imports no built-in plugin"),
    ("plugins/zoo_sr/archs.py", "from zoo.weights.hub import fetch_file", "Plugins import the core only"),
])
def test_a_forbidden_import_breaks_a_contract(tmp_path, module, line, contract):
    """Adding one import that crosses a layer (even inside a function) makes lint-imports fail, naming it."""
    for name in ("zoo", "plugins"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n\ndef _added():\n    {line}  # heavy\n")
    result = _run_lint_imports(tmp_path)
    assert result.returncode != 0
    assert f"{contract}" in result.stdout and "BROKEN" in result.stdout
    importer = module.removeprefix("plugins/").removesuffix(".py").replace("/", ".")
    assert importer in result.stdout, result.stdout[-2000:]


def _module_name(path: Path) -> str:
    name = ".".join(path.relative_to(REPO).with_suffix("").parts)
    return name.removesuffix(".__init__")


def _core_imports() -> dict[str, set[str]]:
    """Every zoo module -> the zoo modules it imports anywhere (module level and inside functions)."""
    modules = {_module_name(p): p for p in CORE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                # ``from package import submodule`` depends on the submodule only (as in grimp)
                found.update(f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names)
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def test_the_core_has_no_import_cycle():
    """Strongly connected components of the module graph, function-local imports included, are all single."""
    graph = _core_imports()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node: str) -> None:  # Tarjan
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 5000))
    for name in sorted(graph):
        if name not in index:
            visit(name)
    assert not cycles, f"import cycles: {cycles}"


def test_function_local_imports_are_only_for_heavy_dependencies():
    """A local import carries ``# heavy`` (torch, matplotlib, onnxruntime, a module that imports them...)."""
    unmarked = []
    for path in sorted(CORE.rglob("*.py")):
        lines = path.read_text().splitlines()
        for fn in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(fn):
                    if isinstance(node, (ast.Import, ast.ImportFrom)):
                        text = " ".join(lines[node.lineno - 1:node.end_lineno])
                        if "# heavy" not in text:
                            unmarked.append(f"{path.relative_to(REPO)}:{node.lineno}: {text.strip()}")
    assert not unmarked, "function-local imports without '# heavy':\n" + "\n".join(unmarked)


def test_import_zoo_and_the_cli_parser_stay_light():
    code = ("import sys, zoo, zoo.cli; zoo.cli.build_parser(); zoo.list_models(); "
            "print([m for m in ('torch', 'numpy', 'PIL', 'pandas', 'matplotlib', 'pytest') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(PLUGINS)])})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"heavy modules imported by `import zoo` / the CLI parser: {out.stdout}"


def test_one_image_suffix_list():
    """Only zoo/images/files.py spells out image suffixes; every folder walker uses it."""
    offenders = [str(p.relative_to(REPO)) for p in [*CORE.rglob("*.py"), *PLUGINS.rglob("*.py")]
                 if p != CORE / "images" / "files.py" and '".jpeg"' in p.read_text()]
    assert not offenders, offenders


@pytest.mark.parametrize("root", [CORE, PLUGINS], ids=["zoo", "plugins"])
def test_no_module_is_much_over_500_lines(root):
    long = {str(p.relative_to(REPO)): n for p in root.rglob("*.py") if (n := len(p.read_text().splitlines())) > 520}
    assert not long, long


#: import paths that docs/plugins.md, examples/ and `zoo new-plugin` output used in 0.1 (the flat layout)
OLD_PUBLIC_PATHS = [
    ("zoo", ["Architecture", "DataSource", "Dataset", "Loss", "Task", "WeightFormat", "WeightSource", "hookimpl",
             "load", "list_models", "get_entry", "get_loss", "get_architecture", "get_component", "list_components",
             "export", "ComponentArgumentsError", "WeightsUnavailableError"]),
    ("zoo.errors", ["WeightsError", "WeightsUnavailableError", "ZooError", "OptionError"]),
    ("zoo.evaluation", ["evaluate"]),
    ("zoo.losses", ["GANLoss", "VGGPerceptualLoss", "gram_matrix"]),
    ("zoo.plugins", ["components", "get_manager"]),
    ("zoo.serialization", ["save_state_dict", "safetensors_bytes", "sniff_weights_file"]),
    ("zoo.testing", ["check_plugin", "write_dist_info"]),
    ("zoo.components", ["Architecture", "DataSource", "Dataset"]),
    ("zoo.datasets", ["resolve_dataset"]),
    ("zoo.export", ["export_model", "export_network", "read_export_metadata"]),
    ("zoo.hub", ["ChecksumMismatchError", "ResolveContext", "atomic_path", "fetch_file"]),
    ("zoo.metrics", ["available"]),
    ("zoo.metrics.lpips", ["LPIPS"]),
    ("zoo.options", ["OptionError"]),
    ("zoo.pipeline", ["ImagePipeline"]),
    ("zoo.training", ["Trainer", "register_run", "train"]),
    ("zoo.hookspecs", ["hookimpl"]),
    ("zoo.catalog", ["Entry", "Processing"]),
    ("zoo.api", ["load"]),
    ("zoo.formats", ["detect_format"]),
    ("zoo.conformance", ["run_conformance"]),
]


def test_old_public_import_paths_keep_working_with_a_deprecation_warning():
    code = f"""
import importlib, json, warnings
from zoo._moved import MOVED
out = {{}}
for module, names in {OLD_PUBLIC_PATHS!r}:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mod = importlib.import_module(module)
    missing = [n for n in names if not hasattr(mod, n)]
    deprecated = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    out[module] = {{"missing": missing, "deprecated": deprecated, "moved": module in MOVED,
                   "same": module not in MOVED or mod is importlib.import_module(MOVED[module])}}
print(json.dumps(out))
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(PLUGINS)])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    for module, found in json.loads(proc.stdout).items():
        assert not found["missing"], f"{module} lacks {found['missing']}"
        assert found["same"], f"{module} is not the moved module itself"
        if found["moved"]:
            assert any("moved to" in w for w in found["deprecated"]), f"{module} gave no DeprecationWarning"
        else:
            assert not found["deprecated"], f"{module} is current but warned: {found['deprecated']}"


def test_nothing_in_the_repository_uses_the_old_paths():
    from zoo._moved import MOVED

    users = []
    for root in (CORE, PLUGINS, REPO / "examples", REPO / "benchmarks"):
        for path in root.rglob("*.py"):
            if path.name == "_moved.py" or "build" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module] if isinstance(node, ast.ImportFrom) and not node.level else [])
                users += [f"{path.relative_to(REPO)}: {n}" for n in names if n in MOVED]
    assert not users, users
