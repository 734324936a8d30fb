"""The FID Inception network and the preprocessing "flavours" that make FID numbers comparable.

The network is torchvision's Inception v3 skeleton with pytorch-fid's patched Mixed blocks (TF-style
average pooling without padded zeros, and the max-pool quirk of the last block), so the TF
``inception-2015-12-05`` weights ported by pytorch-fid load strictly under torchvision's key names.
The weights come through the zoo hub; pytorch-fid itself is never asked to download anything.

Flavours (always named in results, since they are not interchangeable):

* ``pytorch-fid``: u8/255, torch bilinear resize to 299 (no antialias), then 2x-1.
* ``clean``: clean-fid's default: antialiased bicubic resize of the 0..255 values to 299, clamp, (x-128)/128.
  (clean-fid runs the same TF graph as a TorchScript file; here the pytorch-fid port of those weights is used.)
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from zoo.errors import ImageInputError, WeightsError
from zoo.metrics import weights as metric_weights
from zoo.weights.serialization import load_checkpoint

INPUT_SIZE = 299
DIMS = (64, 192, 768, 2048)
PRECISIONS = ("fp32", "bf16")


def _resize_pytorch_fid(x: torch.Tensor) -> torch.Tensor:
    x = x.float() / 255
    if tuple(x.shape[-2:]) != (INPUT_SIZE, INPUT_SIZE):
        x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
    return 2 * x - 1


def _resize_clean(x: torch.Tensor) -> torch.Tensor:
    x = x.float()
    if tuple(x.shape[-2:]) != (INPUT_SIZE, INPUT_SIZE):
        x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bicubic", align_corners=False, antialias=True)
        x = x.clamp(0, 255)
    return (x - 128) / 128


@dataclass(frozen=True)
class Flavour:
    name: str
    description: str
    preprocess: Callable[[torch.Tensor], torch.Tensor]  # uint8 (N,3,H,W) -> float (N,3,299,299)


FLAVOURS: dict[str, Flavour] = {
    "pytorch-fid": Flavour("pytorch-fid", "u8/255, torch bilinear to 299 (no antialias), 2x-1; pytorch-fid 0.3",
                           _resize_pytorch_fid),
    "clean": Flavour("clean", "antialiased bicubic to 299 on 0..255, clamp, (x-128)/128; clean-fid 'clean' mode",
                     _resize_clean),
}


def get_flavour(name: str) -> Flavour:
    if name not in FLAVOURS:
        raise ValueError(f"unknown FID flavour {name!r}; choose one of {sorted(FLAVOURS)}")
    return FLAVOURS[name]


class FIDInceptionV3(nn.Module):
    """Inception v3 as the FID reference uses it, returning pooled features of one block.

    Module names follow torchvision's ``Inception3`` so the pytorch-fid checkpoint (566 keys,
    including the unused 1008-way ``fc``) loads with ``strict=True``.
    """

    def __init__(self, dims: int = 2048) -> None:
        super().__init__()
        if dims not in DIMS:
            raise ValueError(f"FID feature dims must be one of {DIMS}, got {dims}")
        import torchvision  # heavy
        from pytorch_fid.inception import (
            FIDInceptionA,
            FIDInceptionC,
            FIDInceptionE_1,
            FIDInceptionE_2,
        )  # heavy

        net = torchvision.models.inception_v3(weights=None, aux_logits=False, num_classes=1008, init_weights=False)
        net.Mixed_5b = FIDInceptionA(192, pool_features=32)
        net.Mixed_5c = FIDInceptionA(256, pool_features=64)
        net.Mixed_5d = FIDInceptionA(288, pool_features=64)
        net.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
        net.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
        net.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
        net.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
        net.Mixed_7b = FIDInceptionE_1(1280)
        net.Mixed_7c = FIDInceptionE_2(2048)
        for name, child in net.named_children():
            if child is not None:
                self.add_module(name, child)
        self.dims = dims
        self.stages: list[list[str]] = [
            ["Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1"],
            ["Conv2d_3b_1x1", "Conv2d_4a_3x3", "maxpool2"],
            ["Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"],
            ["Mixed_7a", "Mixed_7b", "Mixed_7c"],
        ]
        for p in self.parameters():
            p.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Features (N, dims) of an already normalised 299x299 batch (global average pooled)."""
        last = DIMS.index(self.dims)
        for stage in self.stages[: last + 1]:
            for name in stage:
                x = getattr(self, name)(x)
        return F.adaptive_avg_pool2d(x, 1).flatten(1)

    def load_reference_state_dict(self, state_dict: Mapping[str, torch.Tensor], origin: str = "state_dict") -> None:
        own = self.state_dict()
        missing = sorted(set(own) - set(state_dict))
        unexpected = sorted(set(state_dict) - set(own))
        shapes = [f"{k}: expected {tuple(own[k].shape)}, got {tuple(v.shape)}"
                  for k, v in state_dict.items() if k in own and v.shape != own[k].shape]
        if missing or unexpected or shapes:
            raise WeightsError(f"{origin} is not a FID Inception checkpoint in torchvision Inception3 layout: "
                               f"missing {missing[:5]}, unexpected {unexpected[:5]}, shape mismatches {shapes[:3]}")
        self.load_state_dict(dict(state_dict), strict=True)


@contextlib.contextmanager
def tf32_disabled() -> Iterator[None]:
    """Full fp32 for cuDNN convolutions and CUDA matmuls inside the block; previous settings restored after.

    Uses torch's ``fp32_precision`` flags where they exist (mixing them with the legacy ``allow_tf32``
    flags raises in recent torch), else the legacy flags.
    """
    conv = getattr(getattr(torch.backends.cudnn, "conv", None), "fp32_precision", None)
    if conv is not None:
        saved = (torch.backends.cudnn.conv.fp32_precision, torch.backends.cuda.matmul.fp32_precision)
        torch.backends.cudnn.conv.fp32_precision = "ieee"
        torch.backends.cuda.matmul.fp32_precision = "ieee"
        try:
            yield
        finally:
            torch.backends.cudnn.conv.fp32_precision, torch.backends.cuda.matmul.fp32_precision = saved
        return
    saved_legacy = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved_legacy


def reference_precision(device: torch.device):
    """TF32 off while computing reference features on CUDA; nothing to change elsewhere."""
    return tf32_disabled() if device.type == "cuda" else contextlib.nullcontext()


class InceptionFeatures:
    """uint8 images -> FID features on a device, in one flavour and precision.

    ``precision="fp32"`` is the reference (TF32 off on CUDA); ``"bf16"`` is the explicit fast mode
    (autocast), whose FID differs slightly from the reference and is reported as such.
    """

    def __init__(self, flavour: str = "clean", *, dims: int = 2048, device: str | torch.device | None = None,
                 precision: str = "fp32", weights: str | os.PathLike[str] | None = None,
                 state_dict: Mapping[str, torch.Tensor] | None = None, offline: bool | None = None,
                 channels_last: bool = True) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.flavour = get_flavour(flavour)
        self.dims = dims
        self.precision = precision
        self.device = torch.device(device) if device is not None else default_device()
        self.model = FIDInceptionV3(dims)
        if state_dict is not None:
            self.model.load_reference_state_dict(state_dict)
            self.weights = {"file": "<state_dict>", "sha256": None, "verified": False}
        else:
            resolved = metric_weights.resolve(
                metric_weights.FID_INCEPTION, weights, offline=offline,
                override_hint="weights=PATH in zoo.metrics, or `zoo metric fid|kid|fid-stats --weights PATH`")
            self.model.load_reference_state_dict(load_checkpoint(resolved.path), str(resolved.path))
            self.weights = {"file": resolved.path.name, "sha256": resolved.sha256, "verified": resolved.verified}
        self.channels_last = channels_last
        self.model.to(self.device)
        if channels_last:
            self.model.to(memory_format=torch.channels_last)

    @property
    def weights_tag(self) -> str:
        sha = self.weights.get("sha256")
        return sha[:8] if sha else "unhashed"

    def describe(self) -> dict[str, object]:
        return {"flavour": self.flavour.name, "dims": self.dims, "precision": self.precision,
                "weights_file": self.weights["file"], "weights_sha256": self.weights["sha256"],
                "weights_verified": self.weights["verified"]}

    @torch.inference_mode()
    def __call__(self, images: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        """Features (N, dims) in float64 of uint8 images: one (N,3,H,W) tensor or a list of (3,H,W) / (N,3,H,W)."""
        x = self.prepare(images)
        with reference_precision(self.device) if self.precision == "fp32" else contextlib.nullcontext():
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"):
                feats = self.model(x)
        return feats.double()

    def prepare(self, images: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        """Move uint8 images to the device and apply the flavour's resize and normalisation."""
        batches = [images] if isinstance(images, torch.Tensor) else list(images)
        out = []
        for batch in batches:
            if batch.ndim == 3:
                batch = batch.unsqueeze(0)
            if batch.dtype != torch.uint8 or batch.ndim != 4 or batch.shape[1] != 3:
                raise ImageInputError(f"FID features need uint8 RGB batches (N,3,H,W), got {batch.dtype} "
                                      f"of shape {tuple(batch.shape)}")
            out.append(self.flavour.preprocess(batch.to(self.device, non_blocking=True)))
        x = torch.cat(out) if len(out) > 1 else out[0]
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
