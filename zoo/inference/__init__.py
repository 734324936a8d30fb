"""Inference: a catalog name to a ready model, and running it on images.

Owns ``zoo.load`` (:mod:`~zoo.inference.loading`), the pipeline around a network (pre-processing, padding,
tiling, post-processing; :mod:`~zoo.inference.pipeline`), user-facing option checks
(:mod:`~zoo.inference.options`), training run folders as models (``zoo.load(RUN, checkpoint=...)``;
:mod:`~zoo.inference.runs`), the folder runner behind ``zoo run`` (:mod:`~zoo.inference.runner`), the
backends that run a network another way (``torch.compile``, onnxruntime; :mod:`~zoo.inference.backends`), and
``zoo.load(fast=...)`` / ``zoo tune``: budgets and settings (:mod:`~zoo.inference.settings`), their measurement
(:mod:`~zoo.inference.calibration`) and the ``tuning.json`` cache (:mod:`~zoo.inference.tuning`).
May import ``zoo.export``, ``zoo.weights``, ``zoo.images``, ``zoo.registry`` and below. The pipeline and the
backends import torch; they are loaded on first use so that ``import zoo`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

from zoo.inference.loading import load
from zoo.inference.options import check_load_options
from zoo.inference.settings import Budget, FastSetting, parse_budget
from zoo.inference.tuning import read_tunings, tune, tuning_path

#: public names of modules that import torch, loaded on first use
_LAZY = {"ImagePipeline": "zoo.inference.pipeline", "parse_dtype": "zoo.inference.pipeline",
         "default_device": "zoo.inference.pipeline", "pad_to_multiple": "zoo.inference.pipeline",
         "resize": "zoo.inference.pipeline", "wrap_backend": "zoo.inference.backends",
         "BackendError": "zoo.inference.backends", "BACKENDS": "zoo.inference.backends"}

__all__ = ["load", "check_load_options", "Budget", "FastSetting", "parse_budget", "tune", "read_tunings",
           "tuning_path", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'zoo.inference' has no attribute {name!r}")
