"""name -> catalog entry -> network built by a plugin -> weights resolved and adapted -> pipeline."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Mapping

from zoo.errors import OptionError
from zoo.inference.options import check_load_options
from zoo.inference.runs import is_run, register_run_catalog, run_weights
from zoo.inference.settings import parse_budget
from zoo.inference.tuning import fast_setting
from zoo.registry.lookup import get_entry
from zoo.registry.manager import get_manager
from zoo.weights.loading import pretrained_network

if TYPE_CHECKING:
    import torch


def load(name: str, pretrained: bool = True, *, weights: str | os.PathLike[str] | None = None,
         weights_format: str | None = None, infer_architecture: bool = False, backend: str = "eager",
         backend_options: Mapping[str, Any] | None = None, device: str | torch.device | None = None, dtype: str | torch.dtype | None = None,
         offline: bool | None = None, progress: bool = True, checkpoint: str | int | None = None,
         fast: bool | str | Mapping[str, Any] = False, fast_size: int | None = None, **pipeline_options: Any):
    """A ready model by name: the entry's network, its weights and its pre/post-processing.

    ``weights`` (a path, URL, ``hf://owner/repo/file`` or plugin URI) takes precedence over the
    catalog's sources. A ``weights`` file that does not fit the entry's format is loaded in the
    registered format that recognises it and fits (``model.metadata["weights"]["format"]``);
    ``weights_format`` names the format instead and turns that detection off.
    ``infer_architecture=True`` rebuilds the network with block counts / widths read off the file.
    ``backend``: ``"eager"`` (PyTorch), ``"compile"`` (``torch.compile``) or ``"onnxruntime"`` (an
    ONNX export run by onnxruntime, cached in the zoo cache); pre/post-processing is the same
    (``backend_options``: see :mod:`zoo.inference.backends`).
    ``fast=True`` (or a budget: ``"psnr>=40"``, ``{"max_grey": 1}``) picks the fastest dtype/backend/memory
    format measured on this machine whose output stays within the budget of fp32 eager's (default: PSNR >= 45 dB,
    at most 8 grey levels), for inputs of about ``fast_size`` px (default: the entry's usual size); the first
    time it calibrates for a few seconds, later loads reuse ``$ZOO_HOME/tuning.json``
    (:mod:`zoo.inference.tuning`). ``model.metadata["fast"]`` says what was chosen. ``fast=False`` (default)
    is plain fp32 as asked.
    Other keyword arguments go to the task's pipeline (e.g. ``tile=``, ``tile_pad=``, and ``mode=`` for
    an entry's alternative inference mode, such as pix2pix's ``mode="paper"``: batch statistics + dropout).
    ``name`` may also be a training run folder (``zoo train --out RUN``): ``checkpoint="best"`` (the default when
    the run has one), ``"last"`` or a step kept with ``keep_every`` picks its weights.
    """
    if is_run(name):
        run = name
        name = register_run_catalog(run)[0]
        if weights is None and checkpoint is not None:
            weights = run_weights(run, checkpoint)
    elif checkpoint is not None:
        raise OptionError(f"checkpoint={checkpoint!r} picks a checkpoint of a training run folder; {name!r} is not "
                          "one (a run folder holds catalog.yaml and zoo_run_plugin.py)")
    entry = get_entry(name)
    check_load_options(entry, device, dtype, **pipeline_options)
    budget = parse_budget(fast)
    if budget is not None and (dtype is not None or backend != "eager" or backend_options):
        raise OptionError("fast= chooses the dtype and backend itself; leave dtype=, backend= and backend_options= "
                          "unset (or use fast=False)")
    if fast_size is not None and (isinstance(fast_size, bool) or not isinstance(fast_size, int) or fast_size < 1):
        raise OptionError(f"fast_size must be a positive number of pixels, got {fast_size!r}")
    built = pretrained_network(entry, pretrained=pretrained, weights=weights, weights_format=weights_format,
                               infer_architecture=infer_architecture, offline=offline, progress=progress)
    model, entry, resolved = built.network, built.entry, built.weights
    fast_meta = None
    if budget is not None:
        setting, fast_meta = fast_setting(model.eval(), entry, budget, device=device, size=fast_size, progress=progress,
                                          eager_only=pipeline_options.get("mode") not in (None, "eval"))
        dtype, backend, backend_options = setting.dtype, setting.backend, setting.backend_options
    if backend != "eager" or backend_options:
        from zoo.inference.backends import wrap_backend  # heavy

        model = wrap_backend(model, entry, backend, resolved=resolved, device=device, dtype=dtype,
                             options=backend_options, pipeline_options=pipeline_options)
    task = get_manager().components("task").get(entry.task)
    pipeline_cls = task.load("pipeline")
    pipeline = pipeline_cls(model, entry, device=device, dtype=dtype, weights=resolved, **pipeline_options)
    if fast_meta is not None:
        pipeline.fast = fast_meta
    return pipeline


