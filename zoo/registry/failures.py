"""Saying why a plugin failed and where: the message, and the file and line of the plugin's code that raised."""

from __future__ import annotations

import difflib
import importlib.util
import os
import sys
import traceback

import pluggy

from zoo.errors import PluginError
from zoo.registry import hookspecs

HOOK_NAMES = sorted(name for name in dir(hookspecs) if name.startswith("zoo_register_"))


def failure_reason(exc: BaseException, root: str | None = None) -> str:
    return str(exc) if isinstance(exc, PluginError) else f"{type(exc).__name__}: {exc}{failure_location(exc, root)}"


#: frames of the machinery between the zoo and a plugin's code, never the place a plugin failed
_INTERNAL = (os.path.dirname(os.path.dirname(os.path.abspath(__file__))), os.path.dirname(pluggy.__file__),
             os.path.dirname(importlib.util.__file__), "<frozen ")


def failure_location(exc: BaseException, root: str | None = None) -> str:
    """`` (at FILE:LINE)`` of the plugin's code where ``exc`` arose: the innermost frame under ``root`` (the plugin's
    package folder or file), else the innermost outside the zoo core, pluggy and importlib; empty if unknown."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f" (at {exc.filename}:{exc.lineno})"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(_INTERNAL)]
    own = [f for f in frames if root and os.path.abspath(f.filename).startswith(root)]
    frame = (own or frames or [None])[-1]
    return f" (at {frame.filename}:{frame.lineno})" if frame is not None else ""


def module_root(module: str) -> str | None:
    """The folder of ``module``'s top-level package (or its file), found without importing it."""
    top = module.split(".")[0]
    try:
        spec = sys.modules[top].__spec__ if top in sys.modules else importlib.util.find_spec(top)
    except (ImportError, ValueError, AttributeError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return os.path.abspath(next(iter(spec.submodule_search_locations)))
    return os.path.abspath(spec.origin) if spec.origin else None


def unknown_hook_message(plugin_name: str, unknown: list[str]) -> str:
    parts = []
    suffixes = {h.removeprefix("zoo_register_"): h for h in HOOK_NAMES}
    for hook in unknown:
        tail = hook.removeprefix("zoo_register_").removeprefix("zoo_")
        same_start = [h for s, h in suffixes.items() if len(tail) >= 4 and s.startswith(tail[:4])]
        close = same_start if len(same_start) == 1 else [
            suffixes[s] for s in difflib.get_close_matches(tail, list(suffixes), n=1, cutoff=0.5)]
        parts.append(f"{hook!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return (f"plugin {plugin_name!r} implements unknown hook {', '.join(parts)}; "
            f"the zoo's hooks are {', '.join(HOOK_NAMES)}")
