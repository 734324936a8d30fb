"""pix2pix's "paper" test mode, as an explicit opt-in; zoo pipelines are deterministic (``eval()``) by default.

The pix2pix paper (section 3.3) runs the generator at test time exactly as in training: dropout is
active and BatchNorm normalises with the statistics of the test batch. Upstream's ``test.py`` does
this by simply never calling ``eval()`` (unless ``--eval``), so outputs differ from run to run and,
as a side effect, every test image also updates the BatchNorm running averages.

:func:`paper_test_mode` reproduces the *outputs* of that mode without the side effect: BatchNorm
layers use batch statistics but their buffers are left untouched (pass
``update_running_stats=True`` for upstream's exact behaviour), and dropout is active (pass
``dropout=False`` for the deterministic "batch statistics, no dropout" variant). ``seed`` makes
the dropout masks reproducible without disturbing the global random state.

    pipe = zoo.load("pix2pix-facades-label2photo")
    with paper_test_mode(pipe, seed=0):
        out = pipe("labels.png")

CycleGAN generators (InstanceNorm, no dropout) give the same output in either mode. Batch
statistics depend on the whole (padded) input, so tiled processing changes the result in this mode.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

import torch
from torch import nn

_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)
_DROPOUTS = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)


def _module_of(model_or_pipeline: Any) -> nn.Module:
    if isinstance(model_or_pipeline, nn.Module):
        return model_or_pipeline
    model = getattr(model_or_pipeline, "model", None)
    if isinstance(model, nn.Module):
        return model
    raise TypeError(f"expected an nn.Module or a zoo pipeline (with a .model), got {type(model_or_pipeline).__name__}")


def apply_paper_test_mode(model_or_pipeline: Any, *, dropout: bool = True,
                          update_running_stats: bool = False) -> Callable[[], None]:
    """Switch BatchNorm to batch statistics (and dropout on); returns a function that restores the previous state."""
    model = _module_of(model_or_pipeline)
    saved: list[tuple[nn.Module, bool, bool | None]] = []
    for module in model.modules():
        if isinstance(module, _BATCH_NORMS):
            saved.append((module, module.training, module.track_running_stats))
            module.train()
            if not update_running_stats:
                # training + no tracking: forward normalises with batch statistics and passes no buffers to update
                module.track_running_stats = False
        elif dropout and isinstance(module, _DROPOUTS):
            saved.append((module, module.training, None))
            module.train()

    def restore() -> None:
        for module, training, tracking in saved:
            module.train(training)
            if tracking is not None:
                module.track_running_stats = tracking

    return restore


@contextlib.contextmanager
def paper_test_mode(model_or_pipeline: Any, *, dropout: bool = True, update_running_stats: bool = False,
                    seed: int | None = None) -> Iterator[nn.Module]:
    """Within the block, the model runs as pix2pix's paper/upstream ``test.py`` does (see the module docs)."""
    model = _module_of(model_or_pipeline)
    restore = apply_paper_test_mode(model, dropout=dropout, update_running_stats=update_running_stats)
    try:
        if seed is None:
            yield model
        else:
            devices = sorted({p.device.index or 0 for p in model.parameters() if p.device.type == "cuda"})
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(seed)
                yield model
    finally:
        restore()
