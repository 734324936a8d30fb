"""Quality of a loaded model on its evaluation set, by the protocol its catalog entry and task name.

``evaluate(model)`` reads the protocol (task defaults from ``Task.evaluation``, overridden by the entry's
``evaluation:`` mapping, overridden by the call), resolves the dataset (:mod:`zoo.datasets`), runs the
model image by image and returns one row per metric. Protocol kinds (``kind``):

* ``restoration`` (super-resolution): model(LR) vs HR; PSNR/SSIM (Y channel of MATLAB rgb2ycbcr when
  ``y_channel``, ``crop_border`` pixels cropped, uint8 outputs) and LPIPS-alex v0.1. An ``images`` dataset
  gets its LR made by the task's ``degrade`` function (for SR: MATLAB-compatible bicubic, from the plugin);
* ``paired``: model(A) vs B (or B->A by ``direction``): LPIPS/PSNR/SSIM per pair plus FID/KID/FD-DINOv2;
* ``unpaired``: model(test A) vs the target domain's test split: FID/KID/FD-DINOv2;
* ``style``: VGG16 content distance and Gram style distance, LPIPS to the content image.

A metric whose weights are not on this machine gives a row with ``status = "unavailable: <file> from <URL>"``
and no value: never a number from random weights. Published values of the entry for the same metric and
dataset are put in the row with the difference.
"""

from __future__ import annotations

import os
import re
from typing import Any, Mapping, Sequence

from zoo.datasets import resolve_dataset
from zoo.errors import DatasetUnavailableError
from zoo.evaluation import runners
from zoo.evaluation.protocol import EvaluationError, metric_label, protocol_for
from zoo.evaluation.rows import (FULL_SIZES, EvaluationContext, EvaluationResult, all_rows, drop_subset_deltas,
                                 make_row)


def evaluate(model: Any, *, dataset: str | None = None, data_dir: str | os.PathLike[str] | None = None,
             max_images: int | None = None, metrics: Sequence[str] | None = None, samples: int = 2,
             data: str | Sequence[str] | None = None, metric_weights: Mapping[str, str | os.PathLike[str]] | None = None,
             device: str | None = None, offline: bool | None = None,
             overrides: Mapping[str, Any] | None = None) -> EvaluationResult:
    """Evaluate a loaded pipeline (``zoo.load(name)``) on its evaluation set.

    ``dataset`` replaces the entry's set (``"embedded"``: images shipped with the package and its
    dependencies); ``data_dir`` is that dataset's local folder; ``data`` holds ``NAME=DIR`` / root items as
    on the CLI (``--data``); ``metric_weights`` gives explicit metric weight files by key (``lpips``, ``fid``,
    ``dinov2``, ``vgg16``), recorded as unverified unless their digest is the official one. ``overrides``
    replaces protocol fields (``{"scale": 2}`` evaluates VDSR at x2; crop_border follows the scale).
    Rows: model, task, dataset, metric, value, flavour, protocol, n_images, status, published, delta.
    Bad arguments (unknown dataset or metric, a folder in the wrong layout) raise a one-line ZooError.
    """
    entry = model.entry
    proto = protocol_for(entry, dataset=dataset, metrics=metrics, overrides=overrides)
    if max_images is not None and max_images < 1:
        raise EvaluationError(f"max_images must be >= 1, got {max_images}")
    try:
        local = resolve_dataset(proto.dataset, data_dir=data_dir, data=data, offline=offline,
                                scales=[proto.scale] if proto.kind == "restoration" and proto.scale > 1 else None)
    except DatasetUnavailableError as exc:
        message = str(exc)
        hit = re.search(r": (\S+ from \S+)", message)
        return all_rows(entry, proto, status="unavailable: " + (hit.group(1) if hit else message))

    context = EvaluationContext(model, entry, proto, local, max_images, samples, dict(metric_weights or {}),
                       device or str(model.device), offline, data)
    try:
        run = {"restoration": runners.run_restoration, "paired": runners.run_paired,
               "unpaired": runners.run_unpaired, "style": runners.run_style}[proto.kind]
    except KeyError:  # pragma: no cover - protocol_for checks kinds
        raise EvaluationError(f"no runner for evaluation kind {proto.kind!r}") from None
    token = FULL_SIZES.set([])
    try:
        result = run(context)
        sizes = FULL_SIZES.get() or []
    finally:
        FULL_SIZES.reset(token)
    if sizes:
        drop_subset_deltas(result.rows, max(sizes))
    produced = {row["metric"] for row in result.rows}
    for metric in dict.fromkeys(metric_label(m, proto) for m in proto.metric_names()):
        if metric not in produced:  # asked for, but not a metric of this kind (psnr of an unpaired model, say)
            result.rows.append(make_row(entry, proto, metric, None, flavour="", n=0,
                                        status=f"error: {metric} does not apply to {proto.kind} evaluation"))
    return result


