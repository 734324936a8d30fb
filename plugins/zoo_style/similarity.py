"""Cheap image statistics for judging a stylisation without reference outputs: colour and layout."""

from __future__ import annotations

import numpy as np


def colour_histogram(image: np.ndarray, bins: int = 8) -> np.ndarray:
    """Normalised joint RGB histogram of an HxWx3 uint8 image."""
    hist, _ = np.histogramdd(image.reshape(-1, 3), bins=bins, range=[(0, 256)] * 3)
    return hist.ravel() / hist.sum()


def chi2_distance(p: np.ndarray, q: np.ndarray) -> float:
    return float(0.5 * np.sum((p - q) ** 2 / (p + q + 1e-12)))


def luma_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of mean-channel brightness: near 1 when the picture's layout is kept."""
    return float(np.corrcoef(a.astype(float).mean(2).ravel(), b.astype(float).mean(2).ravel())[0, 1])
