"""The ``zoo`` command line: list, info, download, run, plugins, cache (and metric, bench)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from .errors import ZooError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


def _print_table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())


def cmd_list(args: argparse.Namespace) -> int:
    from .api import list_models
    from .plugins import get_manager

    names = list_models(args.pattern, args.task)
    catalog = get_manager().catalog
    if args.json:
        print(json.dumps([{"name": n, "task": catalog.get(n).task} for n in names], indent=1))
    elif args.names_only:
        print("\n".join(names))
    else:
        _print_table([[n, catalog.get(n).task, catalog.get(n).architecture] for n in names], ["name", "task", "architecture"])
    return 0 if names or args.pattern is None else 1


def cmd_info(args: argparse.Namespace) -> int:
    from .api import get_entry
    from .hub import cached_weights, cache_path_for

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
        hit = cached_weights(spec)
        where = f"cached at {hit}" if hit else (
            f"not cached (expected at {cache_path_for(spec.uri, spec.file_name)})" if spec.scheme in ("http", "https")
            else "resolved by plugin")
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


def _collect_inputs(inputs: Sequence[str]) -> list[Path]:
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES))
        else:
            files.append(path)
    if not files:
        raise ZooError(f"no input images found in {', '.join(inputs)}")
    return files


def cmd_run(args: argparse.Namespace) -> int:
    import numpy as np

    from .api import load
    from .images import save_image

    options: dict[str, Any] = {}
    if args.tile is not None:
        options["tile"] = "auto" if args.tile == "auto" else int(args.tile)
    if args.tile_pad is not None:
        options["tile_pad"] = args.tile_pad
    if args.mode is not None:
        options["mode"] = args.mode
    pipeline = load(args.name, weights=args.weights, weights_format=args.weights_format, device=args.device,
                    dtype=args.dtype, pretrained=not args.no_pretrained, **options)
    out_dir = Path(args.output)
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in _collect_inputs(args.inputs):
        start = time.perf_counter()
        result = pipeline(path, outscale=args.outscale)
        seconds = time.perf_counter() - start
        suffix = args.ext or (".png" if isinstance(result, np.ndarray) else path.suffix or ".png")
        target = out_dir / f"{path.stem}{args.suffix}{suffix if suffix.startswith('.') else '.' + suffix}"
        save_image(result, target)
        size = result.size if hasattr(result, "size") and not isinstance(result, np.ndarray) else result.shape[1::-1]
        print(f"{path} -> {target} ({size[0]}x{size[1]}, {seconds:.2f}s)")
    if pipeline.weights is not None:
        print(f"weights: {pipeline.weights.path} ({pipeline.weights.origin})")
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    from .plugins import get_manager

    infos = get_manager().plugin_infos()
    if args.json:
        print(json.dumps([vars(i) for i in infos], indent=1))
        return 0
    _print_table([[i.name, i.distribution or "-", i.version or "-", ",".join(h.removeprefix("zoo_register_") for h in i.hooks)
                   or "-", i.error or "ok"] for i in infos], ["plugin", "distribution", "version", "hooks", "status"])
    return 0


def cmd_cache(args: argparse.Namespace) -> int:
    from .hub import sha256_of, weights_dir
    from .plugins import get_manager

    root = weights_dir()
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.endswith((".lock", ".partial"))) if root.is_dir() else []
    if args.action == "ls":
        print(f"cache: {root}")
        _print_table([[str(p.relative_to(root)), f"{p.stat().st_size / 2**20:.1f} MiB"] for p in files], ["file", "size"])
        return 0
    if args.action == "verify":
        from .hub import cached_file

        known = {}
        for entry in get_manager().catalog:
            for spec in entry.weights:
                if spec.sha256 and spec.scheme in ("http", "https") and spec.member is None:
                    hit = cached_file(spec.uri, file_name=spec.file_name)
                    if hit:
                        known[hit] = spec.sha256
        bad = 0
        for path in files:
            digest = sha256_of(path)
            expected = known.get(path)
            state = "no known hash" if expected is None else ("ok" if digest == expected else f"MISMATCH (expected {expected})")
            bad += expected is not None and digest != expected
            print(f"{path.relative_to(root)}  {digest}  {state}")
        return 1 if bad else 0
    if args.action == "rm":
        targets = files if args.all else [p for p in files if any(t in str(p.relative_to(root)) for t in args.targets)]
        if not args.all and not args.targets:
            raise ZooError("say which cached files to remove (substrings of their paths), or --all")
        for path in targets:
            path.unlink()
            print(f"removed {path}")
        return 0
    raise AssertionError(args.action)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="zoo", description="A model zoo for conditional image generation.")
    parser.add_argument("--version", action="version", version=f"zoo {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="list catalog entries")
    p.add_argument("pattern", nargs="?", help="glob, e.g. 'cyclegan-*'")
    p.add_argument("--task", help="only entries of this task")
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

    p = sub.add_parser("run", help="run a model on images and write the results")
    p.add_argument("name")
    p.add_argument("inputs", nargs="+", help="image files or folders")
    p.add_argument("-o", "--output", required=True, help="output folder")
    add_model_options(p)
    p.add_argument("--tile", help="tile size in pixels, 'auto', or 0 for none")
    p.add_argument("--tile-pad", type=int, help="context pixels around each tile")
    p.add_argument("--mode", help="an entry's alternative inference mode, e.g. 'paper' for pix2pix (see zoo info)")
    p.add_argument("--outscale", type=float, help="final output scale, if not the network's own")
    p.add_argument("--suffix", default="", help="appended to output file names")
    p.add_argument("--ext", help="output extension (default: the input's; 16-bit results are PNG)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("plugins", help="installed plugins: name, version, hooks, load errors")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_plugins)

    p = sub.add_parser("cache", help="inspect or clean the weights cache")
    p.add_argument("action", choices=["ls", "verify", "rm"])
    p.add_argument("targets", nargs="*", help="for rm: substrings of cached paths")
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
    "zoo.data_cli",
)


def add_model_options(p: argparse.ArgumentParser) -> None:
    """Options of every command that builds a model, mirroring ``zoo.load``'s arguments."""
    p.add_argument("--weights", help="weights file, URL or plugin URI (like zoo.load(name, weights=...))")
    p.add_argument("--weights-format", help="checkpoint format of --weights, if not the entry's")
    p.add_argument("--no-pretrained", action="store_true", help="random initialisation (for smoke tests)")
    p.add_argument("--device", help="cpu, cuda, cuda:1, ... (default: cuda if available)")
    p.add_argument("--dtype", help="fp32 (default), fp16 or bf16")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ZooError as exc:
        print(f"zoo {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
