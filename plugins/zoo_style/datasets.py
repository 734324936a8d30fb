"""Evaluation sets of fast style transfer: pytorch/examples' content and style images (BSD-3-Clause).

Single image files (no archive) on raw.githubusercontent.com, pinned to a commit-independent path of the
``main`` branch; no sha256 is published, so none is pinned.
"""

from __future__ import annotations

from zoo.registry import Dataset, DataSource

RAW = "https://raw.githubusercontent.com/pytorch/examples/main/fast_neural_style/images/{}/{}"
CONTENT = ("amber.jpg", "chicago.jpg")
STYLE = ("candy.jpg", "mosaic.jpg", "rain-princess.jpg", "rain-princess-cropped.jpg", "udnie.jpg",
         "starry-night.jpg", "wave.jpg")


def datasets() -> list[Dataset]:
    return [
        Dataset(name="style-content", task="style-transfer", layout="images",
                sources=tuple(DataSource(url=RAW.format("content-images", f)) for f in CONTENT),
                description="content photos of pytorch/examples fast_neural_style (amber, chicago)",
                license="BSD-3-Clause (pytorch/examples)", options={"folder": "content-images"}),
        Dataset(name="style-images", task="style-transfer", layout="images",
                sources=tuple(DataSource(url=RAW.format("style-images", f)) for f in STYLE),
                description="the style paintings of pytorch/examples fast_neural_style (candy, mosaic, "
                            "rain-princess, udnie, starry-night, wave)",
                license="BSD-3-Clause (pytorch/examples)", options={"folder": "style-images"}),
    ]
