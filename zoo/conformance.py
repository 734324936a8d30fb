"""The conformance check behind :func:`zoo.testing.check_plugin`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .plugins import ZooPluginManager


def check_entries(manager: "ZooPluginManager", names: list[str] | None = None) -> list[str]:
    """Every (or each named) catalog entry refers to registered components and its network builds.

    Networks are built on the meta device: construction is checked without allocating weights.
    Returns the names checked; raises AssertionError naming the entry and the problem.
    """
    import torch

    catalog = manager.catalog
    checked = []
    for entry in catalog:
        if names is not None and entry.name not in names:
            continue
        where = f"entry {entry.name!r} ({entry.source})"
        for kind, key in (("task", entry.task), ("architecture", entry.architecture)):
            assert key in manager.components(kind), f"{where}: {kind} {key!r} is not registered by any plugin"
        for spec in entry.weights:
            if spec.format != "state_dict":
                assert spec.format in manager.components("weight_format"), \
                    f"{where}: weights format {spec.format!r} is not registered"
            if spec.scheme not in ("http", "https", "file"):
                assert spec.scheme in manager.components("weight_source"), \
                    f"{where}: no weight source handles scheme {spec.scheme!r}"
        factory = manager.components("architecture").get(entry.architecture).load("factory")
        with torch.device("meta"):
            try:
                factory(**entry.kwargs)
            except Exception as exc:  # noqa: BLE001
                raise AssertionError(f"{where}: architecture {entry.architecture!r} does not build with "
                                     f"{dict(entry.kwargs)}: {type(exc).__name__}: {exc}") from exc
        checked.append(entry.name)
    return checked


def run_conformance(manager: "ZooPluginManager", plugin_name: str) -> dict[str, list[str]]:
    import torch

    assert manager.pm.has_plugin(plugin_name), f"plugin {plugin_name!r} is not registered"
    report: dict[str, list[str]] = {}
    for kind in ("architecture", "loss", "task", "weight_format", "weight_source"):
        for key, registered in manager.components(kind).items():
            if registered.provider != plugin_name:
                continue
            record = registered.record
            for attr in ("factory", "pipeline", "reader", "adapter", "resolver"):
                if getattr(record, attr, None) is not None:
                    obj = registered.load(attr)
                    assert callable(obj), f"{kind} {key!r}: {attr} {getattr(record, attr)!r} is not callable"
            if kind == "architecture":
                model = registered.load("factory")(**record.example_kwargs).eval()
                with torch.no_grad():
                    out = model(torch.rand(*record.example_input))
                outputs = out if isinstance(out, (tuple, list)) else [out]
                for o in outputs:
                    assert torch.isfinite(o).all(), f"architecture {key!r} gives non-finite outputs on {record.example_input}"
            report.setdefault(kind, []).append(key)
    own_entries = [e.name for e in manager.catalog if e.provider == plugin_name
                   or e.architecture in report.get("architecture", [])]
    report["entry"] = check_entries(manager, own_entries)
    return report
