"""The conformance check behind :func:`zoo.testing.check_plugin` and ``zoo plugins check NAME``.

It runs what a user would run, on tiny inputs, and fails with an ``AssertionError`` naming the plugin,
the component and what was expected vs got:

- every import path of every record imports and is callable;
- each architecture builds with its ``example_kwargs`` and gives finite outputs on ``example_input``;
- each loss, built with its ``example_kwargs``, returns a finite scalar on its ``example_inputs`` (default:
  two random ``(2, 3, 32, 32)`` tensors) and gradients flow back to its inputs or parameters;
- each weight source with an ``example_uri`` resolves it (offline: unreachable is a note, not a failure);
- each catalog entry of the plugin (its own catalog, or entries using its architectures): its components are
  registered, the network builds with the entry's kwargs, the weights are resolved offline and loaded strictly
  where reachable (a note says when they are not), and a small image goes through the task's pipeline with the
  output size checked against ``processing.scale`` (and, for the core pipeline, the network's own output size
  on an input padded to ``processing.size_multiple``); where the entry's weight format declares a ``layout``,
  a synthetic checkpoint in it must adapt strictly onto the network (no real file needed).

A plugin the zoo disabled fails at once with the reason. The check is a list of items
(:func:`conformance_cases`: loading, one per component, one per entry) that pytest can run one by one
(:class:`ConformanceCase`, the ``zoo_conformance_case`` argument of :mod:`zoo.testing`).
"""

from __future__ import annotations

import functools
import inspect
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from zoo.errors import PluginError, WeightsError, WeightsUnavailableError, ZooError
from zoo.inference.pipeline import ImagePipeline
from zoo.registry.catalog import WeightSpec
from zoo.registry.lookup import build_model
from zoo.registry.manager import get_manager, use_manager
from zoo.registry.records import CODE_FIELDS, RECORD_KINDS
from zoo.testing.checkpoints import check_layout
from zoo.weights.hub import ResolveContext, local_path, resolve_weights, weights_dir
from zoo.weights.loading import load_weights

if TYPE_CHECKING:
    from zoo.registry.manager import ZooPluginManager

DEFAULT_IMAGE_SIZE = (17, 21)  # deliberately not a multiple of anything: padding and cropping are exercised


class ConformanceReport(dict):
    """``kind -> names checked`` (kinds of :data:`zoo.registry.records.RECORD_KINDS`, plus ``entry``), and ``notes``:
    what was skipped and why (weights not reachable offline, entries sharing a network)."""

    def __init__(self) -> None:
        super().__init__()
        self.notes: list[str] = []

    @classmethod
    def ordered(cls, report: "ConformanceReport") -> "ConformanceReport":
        """The same report with its kinds in :data:`RECORD_KINDS` order, ``entry`` last."""
        out = cls()
        for kind in (*RECORD_KINDS, "entry"):
            if kind in report:
                out[kind] = report[kind]
        out.notes = report.notes
        return out


def _check(condition: Any, plugin: str, component: str, message: str) -> None:
    if not condition:
        raise AssertionError(f"plugin {plugin!r}: {component}: {message}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def check_entries(manager: "ZooPluginManager", names: list[str] | None = None) -> list[str]:
    """Every (or each named) catalog entry refers to registered components and its network builds.

    Networks are built on the meta device: construction is checked without allocating weights.
    Returns the names checked; raises AssertionError naming the entry and the problem.
    """
    import torch  # heavy

    checked = []
    for entry in manager.catalog:
        if names is not None and entry.name not in names:
            continue
        _check_references(manager, entry, entry.provider or "?")
        factory = manager.components("architecture").get(entry.architecture).load("factory")
        with torch.device("meta"):
            try:
                factory(**entry.kwargs)
            except Exception as exc:  # noqa: BLE001
                raise AssertionError(f"entry {entry.name!r} ({entry.source}): architecture {entry.architecture!r} does "
                                     f"not build with {dict(entry.kwargs)}: {type(exc).__name__}: {exc}") from exc
        checked.append(entry.name)
    return checked


def _check_references(manager: "ZooPluginManager", entry: Any, plugin: str) -> None:
    where = f"entry {entry.name!r} ({entry.source})"
    for kind, key in (("task", entry.task), ("architecture", entry.architecture)):
        known = manager.components(kind)
        _check(key in known, plugin, where, f"{kind} {key!r} is not registered by any plugin (known: {', '.join(known)})")
    if entry.recipe is not None:
        recipes = manager.components("recipe")
        _check(entry.recipe in recipes, plugin, where,
               f"recipe {entry.recipe!r} is not registered by any plugin (known: {', '.join(recipes) or 'none'})")
        recipe_task = recipes.get(entry.recipe).record.task
        _check(recipe_task == entry.task, plugin, where,
               f"recipe {entry.recipe!r} is for task {recipe_task!r}, not the entry's {entry.task!r}")
    for spec in entry.weights:
        if spec.format != "state_dict":
            _check(spec.format in manager.components("weight_format"), plugin, where,
                   f"weights format {spec.format!r} is not registered")
        if spec.scheme not in ("http", "https", "file"):
            _check(spec.scheme in manager.components("weight_source"), plugin, where,
                   f"no weight source handles scheme {spec.scheme!r} of {spec.uri}")


def _load_code(registered: Any, kind: str, key: str, plugin: str) -> dict[str, Any]:
    loaded = {}
    for attr in CODE_FIELDS[kind]:
        target = getattr(registered.record, attr, None)
        if target is None:
            continue
        try:
            obj = registered.load(attr)
        except PluginError as exc:
            raise AssertionError(f"plugin {plugin!r}: {kind} {key!r}: {attr} {target!r} does not import: {exc}") from exc
        _check(callable(obj), plugin, f"{kind} {key!r}", f"{attr} {target!r} is a {type(obj).__name__}, expected a callable")
        loaded[attr] = obj
    return loaded


def _check_architecture(record: Any, factory: Any, plugin: str) -> None:
    import torch  # heavy

    what = f"architecture {record.name!r}"
    torch.manual_seed(0)
    try:
        model = factory(**record.example_kwargs)
    except Exception as exc:  # noqa: BLE001
        raise AssertionError(f"plugin {plugin!r}: {what}: does not build with example_kwargs "
                             f"{dict(record.example_kwargs)}: {_first_line(exc)}") from exc
    _check(isinstance(model, torch.nn.Module), plugin, what, f"factory returned a {type(model).__name__}, expected an nn.Module")
    with torch.no_grad():
        try:
            out = model.eval()(torch.rand(*record.example_input))
        except Exception as exc:  # noqa: BLE001
            raise AssertionError(f"plugin {plugin!r}: {what}: fails on example_input {tuple(record.example_input)}: "
                                 f"{_first_line(exc)}") from exc
    outputs = out if isinstance(out, (tuple, list)) else [out]
    for o in outputs:
        _check(isinstance(o, torch.Tensor), plugin, what, f"returned a {type(o).__name__}, expected tensors")
        _check(torch.isfinite(o).all(), plugin, what, f"gives non-finite outputs on {tuple(record.example_input)}")


def _leaves(obj: Any) -> list[Any]:
    """Tensors requiring grad and module parameters in (nested) arguments."""
    import torch  # heavy

    if isinstance(obj, torch.Tensor):
        return [obj] if obj.requires_grad else []
    if isinstance(obj, torch.nn.Module):
        return [p for p in obj.parameters() if p.requires_grad]
    if isinstance(obj, (list, tuple)):
        return [leaf for item in obj for leaf in _leaves(item)]
    if isinstance(obj, dict):
        return [leaf for item in obj.values() for leaf in _leaves(item)]
    return []


def _check_loss(record: Any, code: dict[str, Any], plugin: str) -> None:
    import torch  # heavy

    what = f"loss {record.name!r}"
    factory = code["factory"]
    torch.manual_seed(0)
    try:
        loss = factory(**record.example_kwargs) if inspect.isclass(factory) else (
            functools.partial(factory, **record.example_kwargs) if record.example_kwargs else factory)
    except Exception as exc:  # noqa: BLE001
        raise AssertionError(f"plugin {plugin!r}: {what}: does not build with example_kwargs "
                             f"{dict(record.example_kwargs)}: {_first_line(exc)}") from exc
    if "example_inputs" in code:
        try:
            args, kwargs = code["example_inputs"]()
        except Exception as exc:  # noqa: BLE001
            raise AssertionError(f"plugin {plugin!r}: {what}: example_inputs() failed or did not return "
                                 f"(args, kwargs): {_first_line(exc)}") from exc
    else:
        args, kwargs = (torch.rand(2, 3, 32, 32, requires_grad=True), torch.rand(2, 3, 32, 32)), {}
    leaves = _leaves(list(args)) + _leaves(dict(kwargs)) + _leaves(loss)
    _check(leaves, plugin, what, "nothing in its example inputs or parameters requires grad: gradients cannot be checked")
    try:
        value = loss(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001
        raise AssertionError(f"plugin {plugin!r}: {what}: raises on its example inputs: {_first_line(exc)}") from exc
    _check(isinstance(value, torch.Tensor) and value.numel() == 1, plugin, what,
           f"expected a scalar tensor, got {type(value).__name__}"
           + (f" of shape {tuple(value.shape)}" if isinstance(value, torch.Tensor) else ""))
    _check(torch.isfinite(value).all(), plugin, what, f"expected a finite value, got {value.item()}")
    _check(value.requires_grad, plugin, what, "the value does not depend differentiably on its inputs (no grad_fn)")
    value.backward()
    grads = [leaf.grad for leaf in leaves if leaf.grad is not None]
    _check(grads, plugin, what, "no gradient reached its inputs or parameters")
    _check(all(torch.isfinite(g).all() for g in grads), plugin, what, "gradients are not finite")


def _check_weight_source(record: Any, resolver: Any, plugin: str, report: ConformanceReport) -> None:
    if not record.example_uri:
        return
    what = f"weight source {record.scheme!r}"
    spec = WeightSpec(uri=record.example_uri)
    context = ResolveContext(spec=spec, entry=None, offline=True, cache_dir=weights_dir(), progress=False)
    try:
        path = resolver(record.example_uri, context)
    except WeightsUnavailableError as exc:
        report.notes.append(f"{what}: example {record.example_uri} not reachable offline ({_first_line(exc)})")
        return
    except Exception as exc:  # noqa: BLE001
        raise AssertionError(f"plugin {plugin!r}: {what}: resolving example_uri {record.example_uri!r} raised "
                             f"{_first_line(exc)}") from exc
    _check(isinstance(path, (str, Path)) and Path(path).exists(), plugin, what,
           f"resolving {record.example_uri!r} returned {path!r}, expected the path of an existing file")


def _pipeline_checks_network_scale(pipeline_cls: type) -> bool:
    """The core pipeline runs the network at the image's size: there the network's own scale must match."""
    return issubclass(pipeline_cls, ImagePipeline) and pipeline_cls.run_model is ImagePipeline.run_model \
        and pipeline_cls.process is ImagePipeline.process


def _check_entry(manager: "ZooPluginManager", entry: Any, plugin: str, report: ConformanceReport, *,
                 pretrained: bool | frozenset[str], image_size: tuple[int, int], seen: dict[tuple, str]) -> None:
    import numpy as np  # heavy
    import torch  # heavy


    where = f"entry {entry.name!r} ({entry.source})"
    _check_references(manager, entry, plugin)
    for spec in entry.weights:
        local = local_path(spec.uri) if spec.scheme == "file" else None
        _check(local is None or local.exists(), plugin, where, f"weights file {local} does not exist")
    resolved = None
    unreachable = ""
    if not isinstance(pretrained, bool):
        if entry.name not in pretrained and entry.weights:
            unreachable = "pretrained load not requested"
        pretrained = entry.name in pretrained
    if pretrained and entry.weights:
        try:
            resolved = resolve_weights(entry, offline=True, progress=False)
        except WeightsUnavailableError as exc:
            unreachable = " ".join(line.strip() for line in str(exc).splitlines())
        except Exception as exc:  # noqa: BLE001 - a resolver's own bug
            raise AssertionError(f"plugin {plugin!r}: {where}: resolving weights raised {_first_line(exc)}") from exc
    p = entry.processing
    # entries that differ only in weights (unreachable here) and descriptions run the same check: once is enough
    key = (entry.task, entry.architecture, repr(sorted(entry.kwargs.items())), repr(replace(p, domains={})))
    skipped = "" if not unreachable else (unreachable if resolved is None and not pretrained
                                          else f"weights not reachable offline ({unreachable})")
    if resolved is None and key in seen:
        report.notes.append(f"{where}: {skipped + '; ' if skipped else ''}same network, task and processing as "
                            f"{seen[key]!r}, checked there")
        return
    if skipped:
        report.notes.append(f"{where}: {skipped}; checked with random weights")
    seen.setdefault(key, entry.name)
    torch.manual_seed(0)
    try:
        model = build_model(entry)
    except ZooError as exc:
        raise AssertionError(f"plugin {plugin!r}: {where}: {exc}") from exc
    _check_layouts(manager, entry, model, plugin)
    if resolved is not None:
        try:
            load_weights(model, entry, resolved)
        except WeightsError as exc:
            raise AssertionError(f"plugin {plugin!r}: {where}: {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - a reader/adapter's own bug
            raise AssertionError(f"plugin {plugin!r}: {where}: reading weights {resolved.path} (format "
                                 f"{resolved.spec.format!r}) raised {_first_line(exc)}") from exc
    pipeline_cls = manager.components("task").get(entry.task).load("pipeline")
    model.eval()
    calls: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
    if _pipeline_checks_network_scale(pipeline_cls):  # the core pipeline crops: see what the network itself gives
        def record(module: Any, inputs: Any, output: Any) -> None:
            if inputs and isinstance(inputs[0], torch.Tensor) and isinstance(output, torch.Tensor):
                calls.append((tuple(inputs[0].shape[-2:]), tuple(output.shape[-2:])))
        hook = model.register_forward_hook(record)
    h, w = image_size
    try:
        pipeline = pipeline_cls(model, entry, device="cpu", weights=resolved)
        image = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
        result = pipeline(image)
    except Exception as exc:  # noqa: BLE001
        raise AssertionError(f"plugin {plugin!r}: {where}: the pipeline of task {entry.task!r} fails on a {h}x{w} "
                             f"RGB image: {_first_line(exc)}") from exc
    finally:
        if _pipeline_checks_network_scale(pipeline_cls):
            hook.remove()
    for got_in, got_out in calls:
        # the pipeline crops to scale x input: a network may give a little more (e.g. TF SAME padding), never a
        # different scale (a x4 network in an x2 entry would be silently cropped to a quarter of its output)
        expected = (got_in[0] * p.scale, got_in[1] * p.scale)
        fits = all(o >= e and round(o / i) == p.scale for o, e, i in zip(got_out, expected, got_in))
        _check(fits, plugin, where,
               f"processing.scale is {p.scale} but the network gives {got_out[0]}x{got_out[1]} for a "
               f"{got_in[0]}x{got_in[1]} input (x{got_out[0] / got_in[0]:g}); expected {expected[0]}x{expected[1]}")
    size = tuple(np.asarray(result).shape[:2])
    _check(size == (h * p.scale, w * p.scale), plugin, where,
           f"a {h}x{w} image gave a {size[0]}x{size[1]} output; processing.scale {p.scale} means "
           f"{h * p.scale}x{w * p.scale}")


@dataclass(frozen=True)
class ConformanceCase:
    """One item of a plugin's conformance check: ``kind`` is ``loading``, a record kind, or ``entry``.

    Run it with :meth:`check` (as a parametrised pytest item: :func:`conformance_cases`, the
    ``zoo_conformance_case`` argument of :mod:`zoo.testing`), so a failure names the component and the other
    items still run.
    """

    plugin: str
    kind: str
    name: str

    @property
    def id(self) -> str:
        return f"{self.plugin}:{self.kind}:{self.name}"

    def check(self, manager: "ZooPluginManager | None" = None, *, pretrained: bool | Iterable[str] = True,
              image_size: tuple[int, int] = DEFAULT_IMAGE_SIZE) -> ConformanceReport:
        """Run this item against ``manager`` (default: the process-wide one, e.g. the ``zoo_manager`` fixture's)."""
        report = ConformanceReport()
        run_case(manager or get_manager(), self, report, pretrained=_wanted(pretrained), image_size=image_size, seen={})
        return report


def _wanted(pretrained: bool | Iterable[str]) -> bool | frozenset[str]:
    return pretrained if isinstance(pretrained, bool) else frozenset(pretrained)


def _own_entries(manager: "ZooPluginManager", plugin_name: str) -> list[Any]:
    """The plugin's catalog entries, and other plugins' entries that use its architectures."""
    own_archs = {k for k, r in manager.components("architecture").items() if r.provider == plugin_name}
    return [e for e in manager.catalog if e.provider == plugin_name or e.architecture in own_archs]


def conformance_cases(manager: "ZooPluginManager", plugin_name: str) -> list[ConformanceCase]:
    """The items of ``plugin_name``'s check: loading, then one per registered component and per catalog entry.
    A plugin the zoo disabled (or does not know) has the ``loading`` item only, which fails with the reason."""
    cases = [ConformanceCase(plugin_name, "loading", plugin_name)]
    manager.catalog  # noqa: B018 - builds the tables: a plugin whose catalog or names fail is dropped only then
    if plugin_name in manager.load_errors or not manager.pm.has_plugin(plugin_name):
        return cases
    for kind in RECORD_KINDS:
        cases += [ConformanceCase(plugin_name, kind, key) for key, registered in manager.components(kind).items()
                  if registered.provider == plugin_name]
    return cases + [ConformanceCase(plugin_name, "entry", e.name) for e in _own_entries(manager, plugin_name)]


def _check_loading(manager: "ZooPluginManager", plugin_name: str) -> None:
    manager.catalog  # noqa: B018 - see conformance_cases
    failed = manager.load_errors.get(plugin_name)
    _check(failed is None, plugin_name, "loading", f"the plugin failed and is disabled: {failed.error if failed else ''}")
    _check(manager.pm.has_plugin(plugin_name), plugin_name, "loading",
           f"no plugin of that name is registered (registered: {', '.join(n for n, _ in manager.pm.list_name_plugin())})")


def run_case(manager: "ZooPluginManager", case: ConformanceCase, report: ConformanceReport, *,
             pretrained: bool | frozenset[str], image_size: tuple[int, int], seen: dict[tuple, str]) -> None:
    """Run one item, adding what it checked to ``report``; AssertionError naming plugin and component."""
    plugin = case.plugin
    _check_loading(manager, plugin)
    if case.kind == "loading":
        return
    with use_manager(manager):
        if case.kind == "entry":
            entry = manager.catalog.get(case.name)
            _check_entry(manager, entry, plugin, report, pretrained=pretrained, image_size=image_size, seen=seen)
            report.setdefault("entry", []).append(entry.name)
            return
        registered = manager.components(case.kind).get(case.name)
        code = _load_code(registered, case.kind, case.name, plugin)
        if case.kind == "architecture":
            _check_architecture(registered.record, code["factory"], plugin)
        elif case.kind == "loss":
            _check_loss(registered.record, code, plugin)
        elif case.kind == "weight_source":
            _check_weight_source(registered.record, code["resolver"], plugin, report)
        elif case.kind == "recipe":
            task = registered.record.task
            _check(task in manager.components("task"), plugin, f"recipe {case.name!r}",
                   f"task {task!r} is not registered by any plugin")
        report.setdefault(case.kind, []).append(case.name)


def _check_layouts(manager: "ZooPluginManager", entry: Any, model: Any, plugin: str) -> None:
    """Each weight format of the entry that describes its upstream layout: a synthetic checkpoint in that layout
    adapts strictly onto the entry's network (the adapter is tested without the real file)."""
    formats = manager.components("weight_format")
    for fmt in dict.fromkeys(spec.format for spec in entry.weights):
        if fmt not in formats or formats.get(fmt).record.layout is None:
            continue
        where = f"entry {entry.name!r} ({entry.source}): weight format {fmt!r}"
        with tempfile.TemporaryDirectory(prefix="zoo-layout-") as folder:
            try:
                mismatch = check_layout(fmt, model, folder)
            except Exception as exc:  # noqa: BLE001 - a plugin's layout or adapter failing
                raise AssertionError(f"plugin {plugin!r}: {where}: adapting a synthetic checkpoint in its layout raised "
                                     f"{_first_line(exc)}") from exc
        _check(mismatch is None, plugin, where, f"a synthetic checkpoint in its layout does not fit after the adapter: "
                                                f"{mismatch}")


def run_conformance(manager: "ZooPluginManager", plugin_name: str, *, entries: Iterable[str] | None = None,
                    pretrained: bool | Iterable[str] = True,
                    image_size: tuple[int, int] = DEFAULT_IMAGE_SIZE) -> ConformanceReport:
    """Check everything ``plugin_name`` registered (see the module docstring), item by item
    (:func:`conformance_cases`); the first failing item raises.

    ``entries`` limits the catalog entries checked to those names; ``pretrained`` (True, False, or the names of
    the entries to load weights for) says where reachable weights are resolved and loaded strictly. Offline
    throughout: nothing is downloaded.
    """
    _check_loading(manager, plugin_name)
    cases = conformance_cases(manager, plugin_name)
    if entries is not None:
        wanted = list(entries)
        unknown = sorted(set(wanted) - {c.name for c in cases if c.kind == "entry"})
        _check(not unknown, plugin_name, "entries", f"{', '.join(unknown)} are not catalog entries of this plugin")
        cases = [c for c in cases if c.kind != "entry" or c.name in wanted]
    report = ConformanceReport()
    report["entry"] = []
    seen: dict[tuple, str] = {}
    for case in cases:
        run_case(manager, case, report, pretrained=_wanted(pretrained), image_size=image_size, seen=seen)
    return ConformanceReport.ordered(report)
