"""Where each option of a run comes from: trainer defaults < the entry's recipe < the entry's
``processing.options.train`` < ``--config FILE`` < ``key=value``; and ``--list-options`` showing it.

A recipe is a :class:`zoo.registry.Recipe` registered by the family's plugin (``zoo_register_recipes``) and
named by catalog entries (``recipe: NAME``): the options upstream trained the entry's weights with, and
where they come from.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from zoo.errors import UnknownNameError
from zoo.registry import Recipe, components
from zoo.training.config import ConfigError, Option, TrainingError

Layer = tuple[str, Mapping[str, Any]]


def entry_recipe(entry: Any) -> Recipe | None:
    """The recipe an entry names (None if it names none); an unknown name is an error naming the entry."""
    if entry is None or not getattr(entry, "recipe", None):
        return None
    try:
        recipe = components("recipe").get(entry.recipe).record
    except UnknownNameError as exc:
        raise TrainingError(f"entry {entry.name!r} names recipe {entry.recipe!r}, which no plugin registers "
                            f"({exc})") from None
    if recipe.task != entry.task:
        raise TrainingError(f"entry {entry.name!r} ({entry.task}) names recipe {recipe.name!r}, a {recipe.task!r} "
                            "recipe")
    return recipe


def recipe_label(recipe: Recipe) -> str:
    return f"recipe {recipe.name!r} ({recipe.source})"


def entry_layers(entry: Any) -> list[Layer]:
    """The option layers an entry brings: its recipe, then its ``processing.options.train`` mapping."""
    layers: list[Layer] = []
    recipe = entry_recipe(entry)
    if recipe is not None:
        layers.append((recipe_label(recipe), dict(recipe.options)))
    train = entry.processing.options.get("train", {}) if entry is not None else {}
    if train:
        if not isinstance(train, Mapping):
            raise ConfigError(f"entry {entry.name!r}: processing.options.train must be a mapping of options")
        layers.append((f"entry {entry.name!r} processing.options.train", dict(train)))
    return layers


def option_sources(declared: Mapping[str, Option], layers: Sequence[Layer]) -> dict[str, str]:
    """For each declared option, the layer its value comes from ("default" when none sets it)."""
    sources = {key: "default" for key in declared}
    for source, layer in layers:
        for key in layer:
            if key in sources:
                sources[key] = source
    return sources


def describe_with_sources(declared: Mapping[str, Option], values: Mapping[str, Any],
                          sources: Mapping[str, str]) -> str:
    """The ``--list-options`` table: option, value, where it comes from, help (choices)."""
    width = max((len(k) for k in declared), default=0)
    lines = []
    for key in sorted(declared):
        opt = declared[key]
        choices = f" [{'|'.join(map(str, opt.choices))}]" if opt.choices else ""
        origin = sources.get(key, "default")
        origin = "trainer default" if origin == "default" else origin
        lines.append(f"  {key:<{width}}  {values[key]!r}  ({origin})  {opt.help}{choices}")
    return "\n".join(lines)
