"""Colorization as a paired task: the L channel of CIE Lab in, the ab channels out (junyanz's ``colorization``
model: pix2pix with ``input_nc=1``, ``output_nc=2``). Its data is any folder of colour photos.

Normalisation follows junyanz's ``colorization_dataset.py``: ``L / 50 - 1`` in, ``ab / 110`` out (both about
[-1, 1]). Lab is sRGB (D65) as skimage's ``rgb2lab``. :class:`ColorizationPipeline` keeps the user's L and adds
the predicted ab, so the output has the input's exact lightness.
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

import torch

from zoo.errors import CatalogError
from zoo.inference import ImagePipeline
from zoo.training import ImageFolderDataset, Option

from .trainers import Pix2PixTrainer

_RGB_TO_XYZ = torch.tensor([[0.412453, 0.357580, 0.180423],
                            [0.212671, 0.715160, 0.072169],
                            [0.019334, 0.119193, 0.950227]], dtype=torch.float64)
_WHITE = torch.tensor([0.95047, 1.0, 1.08883], dtype=torch.float64)
_EPS, _KAPPA = 0.008856, 7.787


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) sRGB in [0, 1] -> Lab (L in [0, 100], a/b about [-110, 110])."""
    x = rgb.double().clamp(0, 1)
    lin = torch.where(x > 0.04045, ((x + 0.055) / 1.055) ** 2.4, x / 12.92)
    xyz = torch.einsum("ij,njhw->nihw", _RGB_TO_XYZ.to(x.device), lin) / _WHITE.to(x.device)[None, :, None, None]
    f = torch.where(xyz > _EPS, xyz.clamp_min(1e-12) ** (1 / 3), _KAPPA * xyz + 16 / 116)
    lab = torch.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], 1)
    return lab.to(rgb.dtype if rgb.dtype.is_floating_point else torch.float32)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`rgb_to_lab` (not clamped)."""
    lab = lab.double()
    fy = (lab[:, 0] + 16) / 116
    f = torch.stack([fy + lab[:, 1] / 500, fy, fy - lab[:, 2] / 200], 1)
    xyz = torch.where(f ** 3 > _EPS, f ** 3, (f - 16 / 116) / _KAPPA) * _WHITE.to(lab.device)[None, :, None, None]
    lin = torch.einsum("ij,njhw->nihw", torch.linalg.inv(_RGB_TO_XYZ).to(lab.device), xyz)
    rgb = torch.where(lin > 0.0031308, 1.055 * lin.clamp_min(0) ** (1 / 2.4) - 0.055, 12.92 * lin)
    return rgb.float()


def encode(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """RGB in [0, 1] -> (L / 50 - 1, ab / 110): the network's input and target."""
    lab = rgb_to_lab(rgb.float())
    return lab[:, :1] / 50.0 - 1.0, lab[:, 1:] / 110.0


def decode(light: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """(normalised L, normalised ab) -> RGB in [0, 1]."""
    return lab_to_rgb(torch.cat([(light.float() + 1.0) * 50.0, ab.float() * 110.0], 1)).clamp(0, 1)


class ColorizationPipeline(ImagePipeline):
    """RGB (or gray) image -> its L channel -> network -> ab -> RGB with the input's own lightness."""

    keep_gray = False

    def __init__(self, model: Any, entry: Any, **options: Any) -> None:
        p = entry.processing
        if tuple(p.value_range) != (-1.0, 1.0) or tuple(p.out_range) != (-1.0, 1.0):
            raise CatalogError(f"entry {entry.name!r}: processing.value_range {list(p.value_range)}: the colorization "
                               "pipeline feeds L / 50 - 1 and reads ab / 110, so value_range must be [-1, 1]")
        super().__init__(model, entry, **options)

    @torch.inference_mode()
    def process(self, x: torch.Tensor, *, tile: int | str | None = None, tile_pad: int | None = None,
                outscale: float | None = None) -> torch.Tensor:
        tile = self.tile if tile is None else tile
        tile_pad = self.tile_pad if tile_pad is None else tile_pad
        if tile == "auto":
            tile = self.auto_tile(x)
        if not tile:
            x = x.to(self.device)
        light, _ = encode(x)
        ab = self.run_model(light, int(tile or 0), int(tile_pad))
        return self.apply_outscale(decode(light, ab.to(light.device)), tuple(x.shape[-2:]), outscale)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """The network on an L batch; an RGB batch (e.g. a memory probe) is turned into L first."""
        if z.shape[1] == 3:
            z = encode(z.float())[0]
        return super().forward(z)


class ColorizationTrainer(Pix2PixTrainer):
    """``colorization``: pix2pix (L1 x 100 + conditional PatchGAN) from L to ab, on any folder of photos."""

    task: ClassVar[str] = "colorization"
    #: L / 50 - 1 in, ab / 110 out: the Lab scaling is the convention, not a range to convert
    fixed_range: ClassVar[tuple[float, float] | None] = (-1.0, 1.0)
    options: ClassVar[dict[str, Option]] = {k: v for k, v in Pix2PixTrainer.options.items() if k != "pair_suffixes"}
    #: a small U-Net (unet_128 with 32 base filters) suits short runs; unet_256/ngf 64 is junyanz's
    default_generator = ("unet_generator", {"input_nc": 1, "output_nc": 2, "num_downs": 7, "ngf": 32,
                                            "norm": "batch", "use_dropout": True})

    val_metric_names = ("lpips", "psnr")
    best_metrics = ("lpips", "psnr")

    def build_dataset(self) -> torch.utils.data.Dataset:
        return ImageFolderDataset(self.data, what="colorization photos", **self.augment())

    def describe_run(self) -> list[str]:
        return []

    def build_val_data(self, folder: Any) -> list[dict[str, torch.Tensor]]:
        data = ImageFolderDataset(folder, what="colorization validation photos", **self.eval_augment())
        n = self.config["val_max_images"] or len(data)
        return [data[i] for i in range(min(n, len(data)))]

    def val_outputs(self, batch: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """The colourised RGB (the input's L with the predicted ab) and the photo: PSNR and LPIPS compare them."""
        light, _ = self.inputs(batch)
        return decode(light, self.run(self.models["generator"], light)).cpu(), batch["image"].float().cpu()

    def sample_captions(self) -> list[str]:
        return ["input (lightness)", "output (colourised)", "target (photo)"]

    def inputs(self, batch: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        return encode(batch["image"])

    def sample_rows(self, batch: Mapping[str, Any]) -> list[torch.Tensor]:
        light, ab = self.inputs(batch)
        fake = self.run(self.models["generator"], light)
        gray = ((light + 1.0) / 2.0).expand(-1, 3, -1, -1)
        return [gray, decode(light, fake), decode(light, ab)]

    def default_processing(self) -> dict[str, Any]:
        return {"value_range": [-1, 1], "size_multiple": self.size_multiple(), "channels": 1, "quantize": "round",
                "options": {"tileable": False}}
