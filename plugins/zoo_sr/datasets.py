"""Evaluation sets of super-resolution: the SelfExSR benchmarks, T91, and how LR inputs are made from HR.

The SelfExSR archives (github.com/jbhuang0604/SelfExSR, hosted on the University of Illinois Box) hold
``image_SRF_{2,3,4}/img_XXX_SRF_s_{HR,LR}.png``: HR mod-cropped to s, LR made with MATLAB's bicubic
``imresize``. Their sha256 digests are not published, so none is pinned (the hub then checks size only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zoo.registry import Dataset, DataSource

if TYPE_CHECKING:
    import numpy as np

SELFEXSR = "https://uofi.box.com/shared/static/{}.zip"
_SELFEXSR_ARCHIVES = {  # name: (Box id, folder in the archive, file name, description)
    "Set5": ("kfahv87nfe8ax910l85dksyl2q212voc", "Set5_SR.zip", "Set5 (Bevilacqua et al. 2012): 5 images"),
    "Set14": ("igsnfieh4lz68l926l8xbklwsnnk8we9", "Set14_SR.zip", "Set14 (Zeyde et al. 2010): 14 images"),
    "BSD100": ("qgctsplb8txrksm9to9x01zfa4m61ngq", "BSD100_SR.zip", "BSD100 (Martin et al. 2001): 100 test images of BSD300"),
    "Urban100": ("65upg43jjd0a4cwsiqgl6o6ixube6klm", "Urban100_SR.zip", "Urban100 (Huang et al. 2015): 100 urban scenes"),
}


def datasets() -> list[Dataset]:
    out = []
    for name, (box_id, file_name, description) in _SELFEXSR_ARCHIVES.items():
        out.append(Dataset(
            name=name.lower(), task="super-resolution", layout="sr-pairs",
            sources=(DataSource(url=SELFEXSR.format(box_id), file_name=file_name),),
            description=description + "; SelfExSR HR/LR pairs (MATLAB bicubic) at x2, x3, x4",
            license="research benchmark images; cite the authors",
            options={"folder": name, "scales": (2, 3, 4) if name != "Urban100" else (2, 4)}))
    out.append(Dataset(
        name="t91", task="super-resolution", layout="images",
        sources=(DataSource(url="https://github.com/jiny2001/dcscn-super-resolution/archive/refs/heads/master.zip",
                            file_name="dcscn-super-resolution-master.zip",
                            root="dcscn-super-resolution-master/data/yang91"),),
        description="T91 (Yang et al. 2010): the classic 91 training images (BMP), from the dcscn-super-resolution repository",
        license="research use", options={"folder": "T91"}))
    return out


def matlab_bicubic_lr(hr: np.ndarray, scale: int) -> np.ndarray:
    """LR input from a uint8 HR image as SR benchmarks make it: MATLAB ``imresize(hr, 1/scale, 'bicubic')``
    with uint8 rounding between the two passes (what the SelfExSR ``_LR.png`` files are)."""
    import numpy as np

    from .imresize import imresize

    hr = np.ascontiguousarray(hr, dtype=np.uint8)
    return imresize(hr, 1.0 / scale)
