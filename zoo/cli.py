"""The ``zoo`` command line: list, info, download, run, plugins, cache (and metric, bench)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from .errors import ZooError


def _print_table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())


def _weights_here(entry: Any) -> bool:
    """Whether any of the entry's weight sources is already on this machine (cache or local file)."""
    from .hub import cached_weights

    for spec in entry.weights:
        try:
            if cached_weights(spec, entry) is not None:
                return True
        except ZooError:
            continue
    return False


def cmd_list(args: argparse.Namespace) -> int:
    from .api import list_models
    from .options import TASK_ALIASES
    from .plugins import get_manager

    names = list_models(args.patterns, args.task)
    catalog = get_manager().catalog
    if not names:
        if args.task:
            tasks = sorted({e.task for e in catalog})
            aliases = ", ".join(f"{k} = {v}" for k, v in TASK_ALIASES.items())
            print(f"zoo list: no entry of task {args.task!r}" + (f" matches {' '.join(args.patterns)}" if args.patterns
                  else "") + f"; known tasks: {', '.join(tasks)} (a family such as 'translation' also works; "
                  f"aliases: {aliases})", file=sys.stderr)
        elif args.patterns:
            print(f"zoo list: no entry matches {' '.join(args.patterns)}; see `zoo list`", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([{"name": n, "task": catalog.get(n).task, "architecture": catalog.get(n).architecture,
                           "weights_here": _weights_here(catalog.get(n))} for n in names], indent=1))
    elif args.names_only:
        print("\n".join(names))
    else:
        _print_table([[n, catalog.get(n).task, catalog.get(n).architecture,
                       "yes" if _weights_here(catalog.get(n)) else "-"] for n in names],
                     ["name", "task", "architecture", "weights here"])
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from .api import get_entry
    from .hub import cached_weights, weights_location

    entry = get_entry(args.name)
    p = entry.processing
    print(f"name:         {entry.name}\ntask:         {entry.task}")
    print(f"architecture: {entry.architecture} {dict(entry.kwargs)}")
    if entry.description:
        print(f"description:  {entry.description}")
    print(f"processing:   range {list(p.value_range)} -> {list(p.out_range)}, scale {p.scale}, "
          f"size multiple {p.size_multiple}, quantize {p.quantize}" + (f", domains {dict(p.domains)}" if p.domains else ""))
    modes = dict(p.options.get("modes") or {})
    if modes:
        print(f"modes:        eval (default), {', '.join(modes)} (zoo.load(..., mode=NAME), zoo run --mode NAME)")
    if entry.dataset:
        print(f"dataset:      {entry.dataset}")
    if entry.paper:
        print("paper:        " + ", ".join(f"{k}: {v}" for k, v in entry.paper.items()))
    for i, spec in enumerate(entry.weights):
        try:
            hit, expected = cached_weights(spec, entry), weights_location(spec, entry)
        except ZooError as exc:
            hit, expected = None, None
            print(f"weights[{i}]:   cannot locate ({exc})", file=sys.stderr)
        where = (f"local file {hit}" if hit and spec.scheme == "file" else f"cached at {hit}" if hit
                 else f"not cached (expected at {expected})" if expected
                 else "resolved by plugin when first used")
        print(f"weights[{i}]:   {spec.uri}\n              format {spec.format}, sha256 {spec.sha256 or 'unknown'}, "
              f"license {spec.license or 'unknown'}" + (f", member {spec.member}" if spec.member else "") + f"\n              {where}")
    for m in entry.metrics:
        print("metric:       " + ", ".join(f"{k}={v}" for k, v in m.items()))
    print(f"catalog:      {entry.source} (plugin {entry.provider})")
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from .api import download

    status = 0
    for name in args.names:
        try:
            resolved = download(name, offline=args.offline or None)
            print(f"{name}: {resolved.path} ({resolved.origin})")
        except ZooError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            status = 1
    return status


def cmd_run(args: argparse.Namespace) -> int:
    import os

    from .api import load
    from .options import OptionError
    from .runner import plan_outputs, run_files, write_report

    out_dir = Path(args.output)
    pairs = plan_outputs(args.inputs, out_dir, suffix=args.suffix, ext=args.ext, overwrite=args.overwrite)
    if args.report and Path(args.report).is_dir():
        raise OptionError(f"--report {args.report} is a folder; it names the JSON file to write")
    options: dict[str, Any] = {}
    for key in ("tile", "tile_pad", "mode"):
        if getattr(args, key) is not None:
            options[key] = getattr(args, key)
    pipeline = load(args.name, weights=args.weights, weights_format=args.weights_format, device=args.device,
                    dtype=args.dtype, pretrained=not args.no_pretrained, backend=args.backend,
                    infer_architecture=args.infer_architecture, **options)
    workers = args.workers if args.workers is not None else (min(2, os.cpu_count() or 1) if len(pairs) > 2 else 0)
    progress = not args.quiet and sys.stderr.isatty()
    result = run_files(pipeline, pairs, outscale=args.outscale, batch_size=args.batch_size, workers=workers,
                       quality=args.quality, progress=progress, log=None if args.quiet else print)
    weights = f"{pipeline.weights.path} ({pipeline.weights.origin})" if pipeline.weights is not None else None
    if args.report:
        write_report(Path(args.report), result, model=args.name, weights=weights)
    if weights and not args.quiet:
        print(f"weights: {weights}")
    if result.failures:
        print(f"zoo run: {len(result.failures)} of {len(pairs)} inputs failed:", file=sys.stderr)
        for failure in result.failures:
            print(f"  {failure['input']}: {failure['error']}", file=sys.stderr)
        return 1
    return 0


def cmd_cache(args: argparse.Namespace) -> int:
    from .hub import weights_dir

    root = weights_dir()
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.endswith((".lock", ".partial"))
                   and not p.name.startswith(".")) if root.is_dir() else []
    if args.action == "ls":
        print(f"cache: {root}")
        _print_table([[str(p.relative_to(root)), f"{p.stat().st_size / 2**20:.1f} MiB"] for p in files], ["file", "size"])
        return 0
    if args.action == "verify":
        return _cache_verify(root, files)
    if args.action == "rm":
        import fnmatch

        def matches(path: Path, pattern: str) -> bool:
            rel = path.relative_to(root).as_posix()
            return pattern in rel or fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(rel, f"*{pattern}*")

        if not args.all and not args.targets:
            raise ZooError("say which cached files to remove (substrings or globs of their paths), or --all")
        targets = files if args.all else [p for p in files if any(matches(p, t) for t in args.targets)]
        if not targets and not args.all:
            print(f"zoo cache: nothing in {root} matches {' '.join(args.targets)} (see `zoo cache ls`)", file=sys.stderr)
            return 1
        for path in targets:
            path.unlink()
            print(f"removed {path}")
        return 0
    raise AssertionError(args.action)


def _cache_verify(root: Path, files: list[Path]) -> int:
    """Re-hash every cached file the catalog has a digest for (plugin sources included); exit 1 on a mismatch."""
    from .hub import ChecksumMismatchError, cached_weights, digest_files_for, sha256_of, verify_spec
    from .plugins import get_manager

    covered: set[Path] = set()
    bad = checked = 0
    for entry in get_manager().catalog:
        for spec in entry.weights:
            if not spec.sha256 or spec.member is not None:
                continue
            try:
                hit = cached_weights(spec, entry)
                if hit is None or hit.resolve() in covered:
                    continue
                parts = digest_files_for(spec, hit)
                covered.update(p.resolve() for p in [hit, *parts])
                digest, state = verify_spec(spec, hit, entry, force=True), "ok"
            except ChecksumMismatchError as exc:
                digest, state = "-", f"MISMATCH: {exc}"
                bad += 1
            except ZooError as exc:
                digest, state = "-", f"unreadable: {exc}"
                bad += 1
            checked += 1
            print(f"{_cache_label(root, hit)}  {digest}  {state} ({entry.name})")
    for path in files:
        if path.resolve() not in covered:
            print(f"{path.relative_to(root)}  {sha256_of(path)}  no known hash")
    print(f"{checked} file(s) with a catalog digest checked, {bad} bad", file=sys.stderr)
    return 1 if bad else 0


def _cache_label(root: Path, path: Path | None) -> str:
    if path is None:
        return "-"
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line (``zoo run: error: ...``) and exit 2, like the zoo's own errors."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    from .options import arg_batch_size, arg_outscale, arg_quality, arg_tile, arg_tile_pad, arg_workers

    parser = _Parser(prog="zoo", description="A model zoo for conditional image generation.")
    parser.add_argument("--version", action="version", version=f"zoo {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="list catalog entries")
    p.add_argument("patterns", nargs="*", metavar="PATTERN", help="globs, e.g. 'cyclegan-*' 'realesr*'")
    p.add_argument("--task", help="only entries of this task or family (e.g. super-resolution, sr, translation)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--names-only", action="store_true", help="one name per line")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("info", help="show an entry: architecture, weights (and whether cached), processing, metrics")
    p.add_argument("name")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("download", help="fetch entries' weights into the cache ($ZOO_HOME)")
    p.add_argument("names", nargs="+")
    p.add_argument("--offline", action="store_true", help="only check the cache and offline sources")
    p.set_defaults(func=cmd_download)

    p = sub.add_parser("run", help="run a model on images and write the results (inputs are never overwritten)")
    p.add_argument("name")
    p.add_argument("inputs", nargs="+", help="image files or folders (searched recursively)")
    p.add_argument("-o", "--output", required=True, help="output folder (the inputs' folder structure is kept)")
    add_model_options(p)
    p.add_argument("--tile", type=arg_tile, help="tile size in pixels, 'auto', or 0 for none")
    p.add_argument("--tile-pad", type=arg_tile_pad, help="context pixels around each tile")
    p.add_argument("--mode", help="an entry's alternative inference mode, e.g. 'paper' for pix2pix (see zoo info)")
    p.add_argument("--outscale", type=arg_outscale, help="final output scale, if not the network's own")
    p.add_argument("--suffix", default="out", help="output names are <stem>_<suffix>.<ext> (default: out; '' for none)")
    p.add_argument("--ext", help="output extension (default: the input's; 16-bit results are PNG)")
    p.add_argument("--quality", type=arg_quality, default=95, help="JPEG/WebP quality, 1-100 (default 95)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files (never an input)")
    p.add_argument("--batch-size", type=arg_batch_size, default=1, help="images per forward pass (same-size images)")
    p.add_argument("--workers", type=arg_workers, help="decoding processes (default 2 for more than 2 files)")
    p.add_argument("--report", help="write a JSON summary (outputs and failures) to this file")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no per-file lines")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("cache", help="inspect or clean the weights cache")
    p.add_argument("action", choices=["ls", "verify", "rm"])
    p.add_argument("targets", nargs="*", help="for rm: substrings or globs of cached paths")
    p.add_argument("--all", action="store_true", help="for rm: everything")
    p.set_defaults(func=cmd_cache)

    import importlib

    # Each of these modules adds its own subcommand(s): ``add_parser(sub)``.
    for module in SUBCOMMAND_MODULES:
        importlib.import_module(module).add_parser(sub)
    return parser


#: Modules that contribute subcommands; each defines ``add_parser(subparsers)``.
SUBCOMMAND_MODULES = (
    "zoo.demo",
    "zoo.bench",
    "zoo.metrics.cli",
    "zoo.cli_plugins",
    "zoo.cli_export",
    "zoo.cli_train",
    "zoo.data_cli",
)


def add_model_options(p: argparse.ArgumentParser) -> None:
    """Options of every command that builds a model, mirroring ``zoo.load``'s arguments."""
    p.add_argument("--weights", help="weights file, URL or plugin URI (like zoo.load(name, weights=...))")
    p.add_argument("--weights-format", help="checkpoint format of --weights, if not the entry's")
    p.add_argument("--no-pretrained", action="store_true", help="random initialisation (for smoke tests)")
    p.add_argument("--device", help="cpu, cuda, cuda:1, ... (default: cuda if available)")
    p.add_argument("--dtype", help="fp32 (default), fp16 or bf16")
    p.add_argument("--infer-architecture", action="store_true",
                   help="read block counts / widths off --weights instead of the entry's kwargs")
    p.add_argument("--backend", default="eager", choices=["eager", "compile", "onnxruntime"],
                   help="what runs the network: PyTorch eager (default), torch.compile, or onnxruntime (an ONNX export "
                        "cached in $ZOO_HOME/exports)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    import warnings

    show = warnings.formatwarning
    warnings.formatwarning = lambda message, category, *rest, **kw: f"zoo {args.command}: warning: {message}\n"
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows up here, inside the handler, not at interpreter exit
        return status
    except ZooError as exc:
        print(f"zoo {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `zoo list | head -1`: the reader left; end quietly like other Unix tools
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush does not fail again
        return 141
    finally:
        warnings.formatwarning = show  # main() may run inside a caller's process (tests, notebooks)


if __name__ == "__main__":
    sys.exit(main())
