"""Image quality metrics: FID / KID (named flavours), FD-DINOv2, LPIPS, PSNR / SSIM.

``available(name)`` says whether a metric can run here (and which file is missing from where);
``compute(name, folder_a, folder_b, ...)`` evaluates two image folders. The streaming classes
(:class:`FID`, :class:`KID`, :class:`LPIPSMetric`) take batches with ``update(...)`` and finish with
``compute()``. May import ``zoo.weights`` (metric weight files), ``zoo.images`` and below. Names load their
submodule (and torch) on first use, so ``import zoo.metrics`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "available": "api", "compute": "api", "fid_reference_stats": "api", "METRICS": "api",
    "FID": "fid", "KID": "fid",
    "LPIPS": "lpips", "LPIPSMetric": "paired",
    "InceptionFeatures": "inception", "FIDInceptionV3": "inception", "FLAVOURS": "inception",
    "GaussianStats": "stats", "frechet_distance": "stats", "kernel_inception_distance": "stats",
    "ReferenceStats": "reference", "MetricResult": "result",
    "DINOv2Features": "dinov2", "fd_dinov2_from_features": "dinov2",
    "psnr": "psnr_ssim", "ssim": "psnr_ssim", "rgb2ycbcr": "psnr_ssim", "ycbcr2rgb": "psnr_ssim",
    "to_y_channel": "psnr_ssim", "YCBCR_MATRIX": "psnr_ssim", "YCBCR_OFFSET": "psnr_ssim",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
