"""FD-DINOv2: the Frechet distance in DINOv2 ViT-L/14 feature space (Stein et al., NeurIPS 2023).

Stein et al. ("Exposing flaws of generative model evaluation metrics", code: layer6ai-labs/dgm-eval) found
DINOv2 ViT-L/14 features rank generated images closer to human judgement than Inception's, and recommend
the Frechet distance in that space in place of FID. Conventions here (dgm-eval's defaults, on timm):

* network: timm ``vit_large_patch14_dinov2.lvd142m`` (Meta's LVD-142M DINOv2 ViT-L/14, no registers),
  built with ``img_size=224`` so timm resamples the 37x37 position grid of the 518-pixel checkpoint to 16x16
  (bicubic, antialiased) when the weights load; no classifier (``num_classes=0``);
* input: the whole image resized (not cropped) to 224x224 by PIL's bicubic on the uint8 image, exactly as
  dgm-eval's ``Resize((224, 224), BICUBIC)`` of a PIL image; then /255 and ImageNet mean/std;
* feature: the CLS token after the final LayerNorm (1024-d), what DINOv2's ``forward`` returns and timm's
  ``forward_head(pre_logits=True)`` with ``global_pool="token"`` gives;
* distance: float64 statistics and the symmetric-eigen Frechet distance of :mod:`zoo.metrics.stats`.

Weights: timm's pretrained file on the Hugging Face hub (``timm/vit_large_patch14_dinov2.lvd142m``,
``model.safetensors``), else Meta's original ``dinov2_vitl14_pretrain.pth``, both through the zoo hub;
no digest is published for either, so the file's sha256 is recorded, not checked.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch

from zoo.errors import ImageInputError, WeightsError, WeightsUnavailableError
from zoo.metrics.data import decode_rgb_uint8, list_images
from zoo.metrics.inception import default_device, reference_precision
from zoo.metrics.result import MetricResult
from zoo.metrics.stats import GaussianStats, frechet_distance
from zoo.metrics.weights import file_sha256
from zoo.weights.hub import cache_path_for, cached_file, fetch_file
from zoo.weights.serialization import load_checkpoint

MODEL_NAME = "vit_large_patch14_dinov2.lvd142m"
INPUT_SIZE = 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: where timm's pretrained_cfg for MODEL_NAME points (hf_hub_id, then url); checked against timm in the tests
WEIGHT_URLS = (
    "https://huggingface.co/timm/vit_large_patch14_dinov2.lvd142m/resolve/main/model.safetensors",
    "https://dl.fbaipublicfiles.com/dinov2/dinov2_vitl14/dinov2_vitl14_pretrain.pth",
)
PRECISIONS = ("fp32", "bf16")


def weights_status() -> tuple[bool, str]:
    """Whether a DINOv2 ViT-L/14 file is in the cache (no download), and where it would go."""
    for url in WEIGHT_URLS:
        hit = cached_file(url)
        if hit is not None:
            return True, f"DINOv2 ViT-L/14 weights cached at {hit}"
    url = WEIGHT_URLS[0]
    return False, (f"DINOv2 ViT-L/14 weights ({url.rsplit('/', 1)[-1]}) are not in the cache: downloaded from {url} "
                   f"on first use, or copy the file to {cache_path_for(url)} (ZOO_HOME sets the cache folder, "
                   f"ZOO_OFFLINE=1 forbids downloads)")


def resolve_weights(path: str | os.PathLike[str] | None = None, *, offline: bool | None = None) -> Path:
    """An explicit file, else the first cached or downloadable official file; names the URL when none can be had."""
    if path is not None:
        local = Path(path).expanduser()
        if not local.is_file():
            raise WeightsUnavailableError(f"DINOv2 weights file {local} does not exist (the official file is "
                                          f"model.safetensors from {WEIGHT_URLS[0]})")
        return local
    for url in WEIGHT_URLS:
        hit = cached_file(url)
        if hit is not None:
            return hit
    problems = []
    for url in WEIGHT_URLS:
        try:
            return fetch_file(url, offline=offline)
        except WeightsUnavailableError as exc:
            problems.append(exc)
    raise problems[0]


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file  # heavy

        return load_file(str(path))

    return dict(load_checkpoint(path))


class DINOv2Features:
    """uint8 images -> DINOv2 CLS features (float64), conventions in the module docstring.

    ``model_name``/``model_kwargs`` select another timm DINOv2 ViT (the tests use a tiny one with seeded
    weights); ``weights`` is an explicit file (timm or Meta key layout), ``state_dict`` a mapping.
    """

    def __init__(self, model_name: str = MODEL_NAME, *, weights: str | os.PathLike[str] | None = None,
                 state_dict: Mapping[str, torch.Tensor] | None = None, device: str | torch.device | None = None,
                 precision: str = "fp32", offline: bool | None = None, input_size: int = INPUT_SIZE,
                 model_kwargs: Mapping[str, Any] | None = None) -> None:
        import timm  # heavy
        from timm.models.vision_transformer import checkpoint_filter_fn  # heavy

        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.model_name, self.precision, self.input_size = model_name, precision, input_size
        self.device = torch.device(device) if device is not None else default_device()
        if state_dict is None:
            path = resolve_weights(weights, offline=offline)
            state_dict = read_state_dict(path)

            self.weights = {"file": path.name, "sha256": file_sha256(path), "verified": None}
        else:
            self.weights = {"file": "<state_dict>", "sha256": None, "verified": False}
        self.model = timm.create_model(model_name, pretrained=False, num_classes=0, img_size=input_size,
                                       **dict(model_kwargs or {}))
        try:
            self.model.load_state_dict(checkpoint_filter_fn(dict(state_dict), self.model), strict=True)
        except (RuntimeError, KeyError) as exc:
            raise WeightsError(f"{self.weights['file']} does not fit timm {model_name}: {str(exc).splitlines()[0]}") from exc
        self.model.eval().requires_grad_(False).to(self.device)
        self.mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(1, 3, 1, 1) * 255
        self.std = torch.tensor(IMAGENET_STD, device=self.device).view(1, 3, 1, 1) * 255

    @property
    def dims(self) -> int:
        return int(self.model.num_features)

    def describe(self) -> dict[str, object]:
        return {"network": self.model_name, "input": f"PIL bicubic to {self.input_size}x{self.input_size}, ImageNet mean/std",
                "feature": "CLS token after the final norm", "dims": self.dims, "precision": self.precision,
                "weights_file": self.weights["file"], "weights_sha256": self.weights["sha256"]}

    def prepare(self, images: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        """uint8 (N,3,H,W) or a list of (3,H,W) / (N,3,H,W) -> normalised (N,3,224,224) float32 on the device.

        Images of another size are resized by PIL (bicubic, 8-bit), exactly as dgm-eval does: torch's
        antialiased bicubic differs from it by up to several grey levels on textured images.
        """
        batches = [images] if isinstance(images, torch.Tensor) else list(images)
        out = []
        for batch in batches:
            batch = batch.unsqueeze(0) if batch.ndim == 3 else batch
            if batch.dtype != torch.uint8 or batch.ndim != 4 or batch.shape[1] != 3:
                raise ImageInputError(f"DINOv2 features need uint8 RGB batches (N,3,H,W), got {batch.dtype} "
                                      f"of shape {tuple(batch.shape)}")
            if tuple(batch.shape[-2:]) != (self.input_size, self.input_size):
                batch = torch.stack([pil_resize(image, self.input_size) for image in batch.cpu()])
            x = batch.to(self.device, non_blocking=True).float()
            out.append((x - self.mean) / self.std)
        return torch.cat(out) if len(out) > 1 else out[0]

    @torch.inference_mode()
    def __call__(self, images: torch.Tensor | Sequence[torch.Tensor], batch_size: int = 32) -> torch.Tensor:
        """Features (N, dims), float64 on the CPU."""
        x = self.prepare(images)
        feats = []
        for start in range(0, x.shape[0], batch_size):
            chunk = x[start:start + batch_size]
            with reference_precision(self.device) if self.precision == "fp32" else contextlib.nullcontext():
                with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"):
                    feats.append(self.model(chunk).double().cpu())
        return torch.cat(feats)


def pil_resize(image: torch.Tensor, size: int) -> torch.Tensor:
    """(3,H,W) uint8 -> (3,size,size) uint8 with PIL's bicubic (the whole image, aspect ratio not kept)."""
    import numpy as np  # heavy
    from PIL import Image  # heavy

    pil = Image.fromarray(image.permute(1, 2, 0).contiguous().numpy())
    return torch.from_numpy(np.asarray(pil.resize((size, size), Image.BICUBIC)).copy()).permute(2, 0, 1)


def fd_dinov2_from_features(a: torch.Tensor, b: torch.Tensor) -> float:
    """Frechet distance between two (N, d) feature sets (float64, unbiased covariances)."""
    if a.shape[0] < 2 or b.shape[0] < 2:
        raise ValueError(f"FD-DINOv2 needs at least 2 images per side, got {a.shape[0]} and {b.shape[0]}")
    sa, sb = GaussianStats.from_features(a.double()), GaussianStats.from_features(b.double())
    return frechet_distance(sa.mean(), sa.covariance(), sb.mean(), sb.covariance())


def fd_dinov2_folders(folder_a, folder_b, *, device=None, weights=None, offline: bool | None = None,
                      batch_size: int = 32, precision: str = "fp32", extractor: DINOv2Features | None = None):
    """FD-DINOv2 between the images of two folders (a: generated, b: real)."""

    files_a, files_b = list_images(folder_a), list_images(folder_b)
    extractor = extractor or DINOv2Features(device=device, weights=weights, offline=offline, precision=precision)

    def features(files):
        return torch.cat([extractor([decode_rgb_uint8(p) for p in files[i:i + batch_size]])
                          for i in range(0, len(files), batch_size)])

    value = fd_dinov2_from_features(features(files_a), features(files_b))
    details = {**extractor.describe(), "n_fake": len(files_a), "n_real": len(files_b),
               "folder_a": str(folder_a), "folder_b": str(folder_b)}
    if min(len(files_a), len(files_b)) <= extractor.dims:
        details["note"] = (f"fewer images than feature dimensions ({min(len(files_a), len(files_b))} <= "
                           f"{extractor.dims}): the distance is biased upwards; compare only at equal n")
    return MetricResult("fd-dinov2", value, details)
