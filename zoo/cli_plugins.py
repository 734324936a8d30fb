"""Subcommands for plugin users and authors: ``plugins`` (``-v``, ``--json``, ``check NAME``), ``components``,
``new-plugin`` and ``catalog schema``."""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import re
import sys
import textwrap
import warnings
from dataclasses import asdict
from importlib import resources
from pathlib import Path

from .errors import ZooError

TEMPLATE_PACKAGE_DIR = "PACKAGE"  # the template folder renamed to the new package's name


def _table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())


def _wrap(label: str, names: list[str]) -> str:
    return textwrap.fill(", ".join(names), width=100, initial_indent=f"  {label}: ", subsequent_indent=" " * 6)


def cmd_plugins(args: argparse.Namespace) -> int:
    from .plugins import ZooPluginWarning, get_manager

    if getattr(args, "plugins_action", None) == "check":
        return _check(args)
    with warnings.catch_warnings():  # the table shows each failure: no need to warn about it too
        warnings.simplefilter("ignore", ZooPluginWarning)
        infos = get_manager().plugin_infos()
    if args.json:
        print(json.dumps([asdict(i) for i in infos], indent=1))
        return 0
    if not args.verbose:
        _table([[i.name, i.distribution or "-", i.version or "-",
                 ",".join(h.removeprefix("zoo_register_") for h in i.hooks) or "-", i.status] for i in infos],
               ["plugin", "distribution", "version", "hooks", "status"])
        failed = [i.name for i in infos if i.status != "ok"]
        if failed:
            print(f"\n{len(failed)} plugin(s) failed and are disabled: {', '.join(failed)} (details: zoo plugins -v)")
        return 0
    for info in infos:
        origin = " ".join(x for x in (info.distribution, info.version) if x)
        print(f"{info.name}" + (f" ({origin})" if origin else "") + (" [built-in]" if info.builtin else "")
              + f": {info.status}")
        if info.error:
            print(textwrap.fill(info.error, width=100, initial_indent="  error: ", subsequent_indent=" " * 9))
        if info.hooks:
            print(_wrap("hooks", info.hooks))
        for kind, names in info.components.items():
            print(_wrap(kind, names))
        if info.entries:
            print(_wrap(f"catalog entries ({len(info.entries)})", info.entries))
        for path in info.catalogs:
            print(f"  catalog file: {path}")
        for item in info.shadowed:
            print(f"  not used: {item}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from .plugins import get_manager
    from .testing import check_plugin

    try:
        report = check_plugin(get_manager(), args.name, entries=args.entry or None, pretrained=not args.no_pretrained)
    except AssertionError as exc:
        print(f"zoo plugins check: FAILED: {exc}", file=sys.stderr)
        return 1
    for kind, names in report.items():
        print(_wrap(kind, names) if names else f"  {kind}: -")
    for note in report.notes:
        print(f"  note: {note}")
    print(f"plugin {args.name!r} passes the conformance check")
    return 0


def cmd_components(args: argparse.Namespace) -> int:
    from .components import RECORD_KINDS
    from .plugins import get_manager

    manager = get_manager()
    kinds = [args.kind] if args.kind else list(RECORD_KINDS)
    rows = []
    for kind in kinds:
        for name, registered in manager.components(kind).items():
            rows.append({"kind": kind, "name": name, "plugin": registered.provider,
                         "description": getattr(registered.record, "description", "") or ""})
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        _table([[r["kind"], r["name"], r["plugin"], r["description"][:70]] for r in rows],
               ["kind", "name", "plugin", "description"])
    return 0


def cmd_catalog(args: argparse.Namespace) -> int:
    from .catalog import schema_markdown
    from .plugins import get_manager

    print(schema_markdown(get_manager().components("task")))
    return 0


def plugin_names(name: str) -> dict[str, str]:
    """The names a new plugin ``name`` gets: entry point, distribution, package, component prefix."""
    if not re.fullmatch(r"[a-z][a-z0-9_-]*", name):
        raise ZooError(f"plugin name {name!r}: use lowercase letters, digits, '-' or '_', starting with a letter")
    base = name.removeprefix("zoo-").removeprefix("zoo_")
    ident = base.replace("-", "_")
    return {"name": base, "dist": f"zoo-{base}", "package": f"zoo_{ident}", "ident": ident,
            "Title": "".join(part.capitalize() for part in ident.split("_"))}


def scaffold(name: str, target: Path) -> Path:
    """Write a new plugin package for ``name`` under ``target`` (must not exist); returns its folder."""
    names = plugin_names(name)
    root = target / names["dist"]
    taken = {ep.name for ep in importlib.metadata.entry_points(group="zoo")} | {"zoo"}
    if names["name"] in taken or importlib.util.find_spec(names["package"]) is not None:
        raise ZooError(f"plugin name {names['name']!r} is taken (entry point {names['name']!r} or package "
                       f"{names['package']!r} already exists; the built-ins are zoo, sr, style, translation): "
                       "a plugin of that name would shadow it; choose another name")
    if root.exists() and any(root.iterdir()):
        raise ZooError(f"{root} already exists and is not empty; choose another --dir or name")
    template = resources.files("zoo") / "plugin_template"
    written = []

    def copy(node, relative: Path) -> None:
        for child in node.iterdir():
            child_name = child.name
            if child_name == "__pycache__":
                continue
            out_name = names["package"] if child_name == TEMPLATE_PACKAGE_DIR else child_name.removesuffix(".tmpl")
            if child.is_dir():
                copy(child, relative / out_name)
                continue
            text = child.read_text(encoding="utf-8")
            for key, value in names.items():
                text = text.replace("{{" + key + "}}", value)
            dest = root / relative / out_name
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(text, encoding="utf-8")
            written.append(dest)

    copy(template, Path("."))
    _write_nearest_weights(root / names["package"] / "weights" / f"{names['ident']}_x2.safetensors")
    return root


def _write_nearest_weights(path: Path, scale: int = 2, channels: int = 3) -> None:
    """The template network's weights for nearest-neighbour upscaling (conv centre taps into pixel shuffle)."""
    import torch

    from .serialization import save_state_dict

    weight = torch.zeros(channels * scale * scale, channels, 3, 3)
    for c in range(channels):
        weight[c * scale * scale:(c + 1) * scale * scale, c, 1, 1] = 1.0
    save_state_dict({"body.weight": weight, "body.bias": torch.zeros(channels * scale * scale)}, path)


def cmd_new_plugin(args: argparse.Namespace) -> int:
    root = scaffold(args.name, Path(args.dir))
    names = plugin_names(args.name)
    print(f"created {root}")
    print(textwrap.dedent(f"""
        next steps:
          cd {root}
          pip install -e .                 # registers the entry point '{names['name']}' in group 'zoo'
          zoo plugins                      # '{names['name']}' is listed, status ok
          zoo run {names['name']}-x2 photo.png -o out/
          pytest                           # the conformance check of zoo.testing
        """).rstrip())
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    from .components import RECORD_KINDS

    p = sub.add_parser("plugins", help="installed plugins: status, what each registered (-v), conformance check",
                       description="List plugins; `zoo plugins check NAME` runs the conformance check on one.")
    p.add_argument("-v", "--verbose", action="store_true", help="full errors and every registered name, by kind")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_plugins)
    actions = p.add_subparsers(dest="plugins_action", metavar="ACTION")
    c = actions.add_parser("check", help="run the conformance check of one plugin (offline)")
    c.add_argument("name", help="plugin name, as `zoo plugins` lists it")
    c.add_argument("--entry", action="append", help="check only this catalog entry (repeatable)")
    c.add_argument("--no-pretrained", action="store_true", help="do not resolve or load entries' weights")
    c.set_defaults(func=cmd_plugins)

    p = sub.add_parser("components", help="registered components by kind: architectures, losses, tasks, ...")
    p.add_argument("kind", nargs="?", choices=list(RECORD_KINDS), help="only this kind")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_components)

    p = sub.add_parser("new-plugin", help="scaffold a plugin package: entry point, hooks, catalog, tests")
    p.add_argument("name", help="plugin name, e.g. 'espcn' (package zoo_espcn, distribution zoo-espcn)")
    p.add_argument("--dir", default=".", help="folder to create the package in (default: current)")
    p.set_defaults(func=cmd_new_plugin)

    p = sub.add_parser("catalog", help="catalog reference for plugin authors")
    p.add_argument("action", choices=["schema"], help="schema: every catalog field, with the known task names")
    p.set_defaults(func=cmd_catalog)
