"""``zoo new-plugin NAME``: a plugin package to start from, written from the template beside this module.

The template (``plugin_template/``) shows one hook of each kind, tests using :mod:`zoo.testing`, a CI workflow
and a ``.gitignore``; names in it (``{{package}}``, ``{{name}}``...) are replaced by those :func:`plugin_names`
derives from the plugin's name. Its entry reuses the built-in task ``super-resolution`` (pipeline, trainer and
evaluation: ``zoo train`` and ``zoo bench --quality`` work at once); ``task=`` a new name registers a task of the
plugin's own instead.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
from importlib import resources
from pathlib import Path

from zoo.errors import ZooError
from zoo.registry.manager import get_manager

TEMPLATE_PACKAGE_DIR = "PACKAGE"  # the template folder renamed to the new package's name
#: template names that a package-data glob would miss with their leading dot
DOTTED = {"gitignore": ".gitignore", "github": ".github"}
DEFAULT_TASK = "super-resolution"

_NEW_TASK_HOOK = '''

@zoo.hookimpl
def zoo_register_tasks(register: Callable[[zoo.Task], None]) -> None:
    # A task of this plugin's own: the core ImagePipeline pads, tiles and scales by processing.scale. To train it,
    # give it trainer="pkg.module:Class" (a zoo.training.Trainer subclass); for `zoo bench --quality`, an
    # evaluation ({"kind": "restoration", "dataset": "set5", ...}). Reusing a built-in task brings both.
    register(zoo.Task(name="{task}", description="upscale an RGB image by the entry's scale"))
'''
_REUSED_TASK_NOTE = '''

# The entry uses the built-in task "{task}": its pipeline, its trainer (`zoo train`) and its evaluation
# (`zoo bench --quality`). `zoo new-plugin NAME --task NEW` scaffolds a task of the plugin's own instead.
'''


def plugin_names(name: str) -> dict[str, str]:
    """The names a new plugin ``name`` gets: entry point, distribution, package, component prefix."""
    if not re.fullmatch(r"[a-z][a-z0-9_-]*", name):
        raise ZooError(f"plugin name {name!r}: use lowercase letters, digits, '-' or '_', starting with a letter")
    base = name.removeprefix("zoo-").removeprefix("zoo_")
    ident = base.replace("-", "_")
    return {"name": base, "dist": f"zoo-{base}", "package": f"zoo_{ident}", "ident": ident,
            "Title": "".join(part.capitalize() for part in ident.split("_"))}


def scaffold(name: str, target: Path, task: str = DEFAULT_TASK) -> Path:
    """Write a new plugin package for ``name`` under ``target`` (must not exist); returns its folder.

    ``task``: the task of its entry; a registered one is reused, another name becomes a task the plugin registers.
    """
    names = plugin_names(name)
    if not re.fullmatch(r"[a-z][a-z0-9-]*", task):
        raise ZooError(f"--task {task!r}: use lowercase letters, digits and '-', starting with a letter")
    reused = task in get_manager().components("task")
    names["task"] = task
    names["task_hook"] = (_REUSED_TASK_NOTE if reused else _NEW_TASK_HOOK).replace("{task}", task).rstrip("\n")
    root = target / names["dist"]
    taken = {ep.name for ep in importlib.metadata.entry_points(group="zoo")} | {"zoo"}
    if names["name"] in taken or importlib.util.find_spec(names["package"]) is not None:
        raise ZooError(f"plugin name {names['name']!r} is taken (entry point {names['name']!r} or package "
                       f"{names['package']!r} already exists; the built-ins are zoo, sr, style, translation): "
                       "a plugin of that name would shadow it; choose another name")
    if root.exists() and any(root.iterdir()):
        raise ZooError(f"{root} already exists and is not empty; choose another --dir or name")
    template = resources.files("zoo.testing") / "plugin_template"
    written = []

    def copy(node, relative: Path) -> None:
        for child in node.iterdir():
            child_name = child.name
            if child_name == "__pycache__":
                continue
            out_name = names["package"] if child_name == TEMPLATE_PACKAGE_DIR else child_name.removesuffix(".tmpl")
            out_name = DOTTED.get(out_name, out_name)
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
    import torch  # heavy

    from zoo.weights.serialization import save_state_dict  # heavy

    weight = torch.zeros(channels * scale * scale, channels, 3, 3)
    for c in range(channels):
        weight[c * scale * scale:(c + 1) * scale * scale, c, 1, 1] = 1.0
    save_state_dict({"body.weight": weight, "body.bias": torch.zeros(channels * scale * scale)}, path)
