"""Export: a network and its entry's processing as a file that runs without the zoo (ONNX, ``torch.export``).

Owns writing, verifying and describing exported files. May import ``zoo.weights``, ``zoo.registry``,
``zoo.files`` and ``zoo.errors``; the inference backends (``zoo.inference``) build on it, not the reverse.

This package is callable: ``zoo.export("cyclegan-horse2zebra", "h2z.onnx", dynamic=True)`` is
:func:`export_model`.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from zoo.export.model import export_model, report_dict
from zoo.export.network import (DEFAULT_OPSET, EXPORTERS, FORMATS, SUFFIXES, TOLERANCE, ExportError, ExportReport,
                                export_network, has_dynamo_exporter, read_export_metadata, state_dict_digest)

__all__ = ["export_model", "export_network", "read_export_metadata", "state_dict_digest", "report_dict",
           "ExportError", "ExportReport", "DEFAULT_OPSET", "EXPORTERS", "FORMATS", "SUFFIXES", "TOLERANCE",
           "has_dynamo_exporter"]


class _CallableModule(types.ModuleType):
    """``zoo.export(...)`` calls :func:`export_model`; ``zoo.export.export_model`` is the same function."""

    def __call__(self, *args: Any, **kwargs: Any) -> ExportReport:
        return export_model(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
