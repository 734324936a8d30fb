"""``zoo.export(name, output, ...)``: a catalog entry's network, with its weights, as a verified file."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

from zoo.errors import OptionError
from zoo.export.network import DEFAULT_OPSET, ExportReport, check_export_options, export_network
from zoo.weights.loading import pretrained_network


def export_model(name: str, output: str | Path, *, format: str = "onnx", weights: str | Path | None = None,
                 pretrained: bool = True, weights_format: str | None = None, infer_architecture: bool = False,
                 dynamic: bool = False, opset: int = DEFAULT_OPSET, dtype: str = "fp32",
                 sample_size: tuple[int, int] | None = None, tolerance: float | None = None,
                 offline: bool | None = None, log: Callable[[str], None] | None = None,
                 exporter: str = "auto", overwrite: bool = True) -> ExportReport:
    """Load catalog entry ``name`` (its weights, or ``weights=``) and export its network (:mod:`zoo.export.network`).

    Every option is checked before the weights are read; ``overwrite=False`` (``zoo export`` without
    ``--overwrite``) refuses an existing ``output``.
    """
    _, opset, _, sample_size = check_export_options(output, format=format, dtype=dtype, opset=opset, exporter=exporter,
                                                    sample_size=sample_size, overwrite=overwrite)
    if tolerance is not None and not tolerance > 0:
        raise OptionError(f"tolerance must be a positive number (max abs difference on [0,1] outputs), got {tolerance}")
    built = pretrained_network(name, pretrained=pretrained, weights=weights, weights_format=weights_format,
                               infer_architecture=infer_architecture, offline=offline)
    return export_network(built.network, built.entry, output, format=format, dynamic=dynamic, opset=opset,
                          dtype=dtype, sample_size=sample_size, tolerance=tolerance, weights=built.weights, log=log,
                          exporter=exporter)


def report_dict(report: ExportReport) -> dict[str, Any]:
    out = asdict(report)
    out["path"] = str(report.path)
    return out
