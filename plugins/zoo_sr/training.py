"""Trainers of the SR tasks: pixel, perceptual and GAN stages, EMA generator, PSNR/SSIM-Y validation.

``stage=pixel`` trains with the pixel loss only (PSNR-oriented, e.g. ESPCN, RealESRNet); ``perceptual`` adds
the VGG perceptual loss; ``gan`` adds a discriminator and the adversarial loss (ESRGAN / Real-ESRGAN: L1 1.0,
perceptual 1.0 on VGG19 conv1_2..conv5_4, GAN 0.1, U-Net discriminator). ``ema`` keeps an exponential moving
average of the generator (BasicSR's ``ema_decay`` 0.999), which is what gets exported and validated.
Three tasks share the code: ``super-resolution`` (RGB in, RGB out), ``super-resolution-luma`` (the LR luma in,
HR luma out: ESPCN, FSRCNN) and ``super-resolution-y`` (the bicubic-upscaled luma in: VDSR).
"""

from __future__ import annotations

import copy
import inspect
from pathlib import Path
from typing import Any, ClassVar, Mapping

import numpy as np
import torch
from torch import nn

from zoo.metrics import psnr, ssim
from zoo.registry import components
from zoo.training import BASE_OPTIONS, Option, Trainer, TrainingError, load_pretrained, resolve_val_data

from .data import DEGRADATIONS, SRDataset, rgb_to_y, validation_pairs
from .vdsr import bicubic_upscale

#: Real-ESRGAN's perceptual layers and weights (train_realesrgan_x4plus.yml)
REALESRGAN_LAYERS = {"conv1_2": 0.1, "conv2_2": 0.1, "conv3_4": 1.0, "conv4_4": 1.0, "conv5_4": 1.0}

SR_OPTIONS: dict[str, Option] = {
    **BASE_OPTIONS,
    "steps": Option(1000, "optimisation steps in all"),
    "batch_size": Option(16, "patches per step and process"),
    "lr": Option(2e-4, "generator learning rate (BasicSR / Real-ESRGAN: 2e-4 pixel, 1e-4 GAN stage)"),
    "architecture": Option(None, "registered generator architecture (default: the entry's, else the task's)", kind=str),
    "kwargs": Option({}, "generator architecture kwargs (merged over the entry's)"),
    "scale": Option(0, "upscaling factor (0: the entry's processing.scale, else the task's default)"),
    "patch_size": Option(96, "HR patch size (a multiple of the scale)"),
    "repeat": Option(1, "passes over the training images per epoch (each draws a new random patch)"),
    "flip": Option(True, "random horizontal flips"),
    "rotate": Option(True, "random vertical flips and 90-degree rotations"),
    "degradation": Option("bicubic", "how LR patches are made from HR", DEGRADATIONS),
    "degradation_options": Option({}, "Real-ESRGAN-style degradation ranges (see zoo_sr.data.degrade)"),
    "stage": Option("pixel", "which losses train the generator", ("pixel", "perceptual", "gan")),
    "pixel_loss": Option("l1", "registered pixel loss (l1, l2, charbonnier)"),
    "pixel_loss_options": Option({}, "pixel loss kwargs, e.g. {reduction: sum} (VDSR's summed MSE)"),
    "pixel_weight": Option(1.0, "weight of the pixel loss"),
    "perceptual_loss": Option("vgg_perceptual", "registered perceptual loss (perceptual and gan stages)"),
    "perceptual_weight": Option(1.0, "weight of the perceptual loss"),
    "perceptual_options": Option({"arch": "vgg19", "layer_weights": REALESRGAN_LAYERS},
                                 "perceptual loss kwargs, e.g. {arch: vgg19, weights: PATH} for a local torchvision "
                                 "checkpoint (vgg19 without layer_weights: Real-ESRGAN's)"),
    "gan_type": Option("vanilla", "GAN objective of the registered 'gan' loss (vanilla, lsgan, hinge, ragan, ...)"),
    "gan_weight": Option(0.1, "weight of the adversarial loss (gan stage)"),
    "discriminator": Option("unet_discriminator_sn", "registered discriminator architecture (gan stage)"),
    "discriminator_kwargs": Option({"num_in_ch": 3, "num_feat": 64}, "discriminator kwargs"),
    "d_lr": Option(0.0, "discriminator learning rate (0: lr)"),
    "ema": Option(0.0, "EMA decay of the exported generator (0: off; BasicSR uses 0.999)"),
    "val_data": Option(None, "validation data: a folder of *_HR/*_LR pairs, HR/ + LR/ or HR images (LR by MATLAB "
                             "bicubic), or a registered dataset (set5, set14, ...)", kind=str),
}


def _scale_kwarg(factory: Any) -> str | None:
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return None
    return next((k for k in ("scale", "upscale") if k in params), None)


class SRTrainer(Trainer):
    """``super-resolution``: RGB LR -> RGB HR (RRDBNet, MSRResNet, SRVGGNetCompact, ...)."""

    task: ClassVar[str] = "super-resolution"
    options: ClassVar[dict[str, Option]] = SR_OPTIONS
    default_architecture: ClassVar[tuple[str, dict[str, Any]]] = ("msrresnet", {"num_feat": 64, "num_block": 16})
    default_scale: ClassVar[int] = 4
    channels: ClassVar[str] = "rgb"
    pre_upsample: ClassVar[bool] = False
    pipeline_channels: ClassVar[int] = 3

    @property
    def adversarial(self) -> bool:  # type: ignore[override]
        return self.config["stage"] == "gan"

    # -- model ---------------------------------------------------------------------------------
    def scale(self) -> int:
        if self.config["scale"]:
            return int(self.config["scale"])
        if self.entry is not None:
            return int(self.entry.processing.scale)
        return self.default_scale

    def generator_spec(self) -> tuple[str, dict[str, Any]]:
        if self.entry is not None:
            arch, kwargs = self.entry.architecture, dict(self.entry.kwargs)
        else:
            arch, kwargs = self.default_architecture[0], dict(self.default_architecture[1])
        if self.config["architecture"] and self.config["architecture"] != arch:
            if self.entry is not None:
                raise TrainingError(f"option 'architecture': entry {self.entry.name!r} is a {arch!r}; train the task "
                                    "instead to use another architecture")
            arch, kwargs = self.config["architecture"], {}
        kwargs.update(self.config["kwargs"])
        factory = components("architecture").get(arch).load("factory")
        key = _scale_kwarg(factory)
        if key and (self.config["scale"] or self.entry is None) and not self.pre_upsample:
            kwargs[key] = self.scale()
        return arch, kwargs

    def check_entry(self) -> None:
        super().check_entry()
        multiple = self.entry.processing.size_multiple if self.entry is not None else 1
        side = self.config["patch_size"] // self.scale() if not self.pre_upsample else self.config["patch_size"]
        if side % multiple:
            raise TrainingError(f"option 'patch_size': {self.config['patch_size']} gives {side}-pixel network inputs, "
                                f"not a multiple of entry {self.entry.name!r}'s processing.size_multiple {multiple}")

    def dataset_scales(self) -> list[int]:
        return [self.scale()]

    def data_folder(self, local: Any) -> Path:
        """A registered ``sr-pairs`` set (Set5, ...) trains on its ``*_HR``/``*_LR`` pairs at this run's scale."""
        if local.record.layout == "sr-pairs":
            return local.sr_pairs(self.scale())[0][2].parent
        return super().data_folder(local)

    def build_dataset(self) -> torch.utils.data.Dataset:
        return SRDataset(self.data, scale=self.scale(), patch_size=self.config["patch_size"], channels=self.channels,
                         degradation=self.config["degradation"], repeat=self.config["repeat"],
                         flip=self.config["flip"], rotate=self.config["rotate"],
                         degradation_options=self.config["degradation_options"])

    def build_models(self) -> dict[str, nn.Module]:
        self.arch, self.arch_kwargs = self.generator_spec()
        factory = components("architecture").get(self.arch).load("factory")
        try:
            generator = factory(**self.arch_kwargs)
        except TypeError as exc:
            raise TrainingError(f"option 'kwargs': architecture {self.arch!r} rejected {self.arch_kwargs}: {exc}") from None
        self.check_network_scale(generator)
        if self.pretrained:
            load_pretrained(self, generator)
        models: dict[str, nn.Module] = {"generator": generator}
        if self.config["ema"] > 0:
            models["generator_ema"] = copy.deepcopy(generator).requires_grad_(False)
            self.export_model = "generator_ema"  # type: ignore[misc]
        if self.config["stage"] == "gan":
            dfactory = components("architecture").get(self.config["discriminator"]).load("factory")
            models["discriminator"] = dfactory(**self.config["discriminator_kwargs"])
        return models

    def check_network_scale(self, generator: nn.Module) -> None:
        """The network must upscale by the run's scale: otherwise the first loss call fails on mismatched shapes
        (or, with a smaller network output, trains on the wrong pixels)."""
        multiple = self.entry.processing.size_multiple if self.entry is not None else 1
        side = -(-8 // multiple) * multiple
        want = side if self.pre_upsample else side * self.scale()
        was_training = generator.training
        with torch.no_grad():
            got = tuple(generator.eval()(torch.zeros(1, 1 if self.channels == "y" else 3, side, side)).shape[-2:])
        generator.train(was_training)
        if got != (want, want):
            where = f"entry {self.entry.name!r}'s processing.scale" if self.entry is not None else "option 'scale'"
            raise TrainingError(f"{self.arch} gives {got[0]}x{got[1]} for a {side}x{side} input, but the run trains "
                                f"x{self.scale()} ({where}): fix the scale, or the architecture's scale kwargs")

    def _perceptual(self) -> nn.Module:
        """The perceptual loss; unreachable backbone weights name the option that sets them (``--weights`` on
        ``zoo train`` is the generator's starting point, not the loss's)."""
        from zoo.errors import WeightsUnavailableError

        options = dict(self.config["perceptual_options"])
        if "layer_weights" not in options and options.get("arch", "vgg19") == "vgg19":
            options["layer_weights"] = REALESRGAN_LAYERS  # perceptual_options={weights: PATH} keeps the recipe
        try:
            return self.loss(self.config["perceptual_loss"], option="perceptual_loss", **options)
        except WeightsUnavailableError as exc:
            arch = options.get("arch", "vgg19")
            lines = str(exc).splitlines()
            reason = lines[0].rstrip(".") + "".join(f"; {ln.strip()}" for ln in lines[1:]
                                                   if ln.strip().startswith("expected cache path"))
            raise TrainingError(f"stage {self.config['stage']!r}: the perceptual loss needs {arch} ImageNet weights, "
                                f"which are unavailable ({reason}); pass perceptual_options={{arch: {arch}, weights: "
                                f"PATH}} with a local torchvision {arch} checkpoint, or stage=pixel") from None

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        self.pixel_loss = self.loss(self.config["pixel_loss"], option="pixel_loss", **self.config["pixel_loss_options"])
        stage = self.config["stage"]
        self.perceptual_loss = (self._perceptual()
                                if stage in ("perceptual", "gan") and self.config["perceptual_weight"] > 0 else None)
        opts = {"generator": self.adam(self.models["generator"])}
        if stage == "gan":
            self.gan_loss = self.loss("gan", option="gan_type", gan_type=self.config["gan_type"])
            opts["discriminator"] = self.adam(self.models["discriminator"], lr=self.config["d_lr"] or self.config["lr"])
        return opts

    # -- training ------------------------------------------------------------------------------
    def model_input(self, lr: torch.Tensor) -> torch.Tensor:
        return bicubic_upscale(lr, float(self.scale())) if self.pre_upsample else lr

    def upscale(self, lr: torch.Tensor, model: nn.Module | None = None) -> torch.Tensor:
        """LR patches in [0, 1] -> the (exported, unless ``model``) generator's output in [0, 1], the network
        fed and read in the entry's value range (EDSR's official weights work on [0, 255])."""
        model = self.exported() if model is None else model
        return self.from_network(model(self.to_network(self.model_input(lr))))

    def train_step(self, batch: Mapping[str, Any]) -> Mapping[str, Any]:
        lr, hr = batch["lr"], batch["hr"]
        gan = self.config["stage"] == "gan"
        if gan:
            self.set_requires_grad("discriminator", False)
        opt = self.optimizers["generator"]
        opt.zero_grad(set_to_none=True)
        with self.autocast():
            sr = self.upscale(lr, self.net("generator"))
            logs = {"pixel": self.pixel_loss(sr.float(), hr)}
            total = self.config["pixel_weight"] * logs["pixel"]
            if self.perceptual_loss is not None:
                logs["perceptual"] = self.perceptual_loss(self._rgb(sr.float()), self._rgb(hr))
                total = total + self.config["perceptual_weight"] * logs["perceptual"]
            if gan:
                d = self.net("discriminator")
                d_fake = d(self._rgb(sr))
                d_real = d(self._rgb(hr)).detach() if self.config["gan_type"] == "ragan" else None
                logs["g_gan"] = self.gan_loss.generator_loss(d_fake.float(), None if d_real is None else d_real.float())
                total = total + self.config["gan_weight"] * logs["g_gan"]
        self.backward(total)
        self.step_optimizer("generator")
        if gan:
            self.set_requires_grad("discriminator", True)
            d_opt = self.optimizers["discriminator"]
            d_opt.zero_grad(set_to_none=True)
            with self.autocast():
                d = self.net("discriminator")
                d_real, d_fake = d(self._rgb(hr)).float(), d(self._rgb(sr.detach())).float()
                logs["d"] = self.gan_loss.discriminator_loss(d_real, d_fake)
                logs["d_real"], logs["d_fake"] = d_real.mean().detach(), d_fake.mean().detach()
            self.backward(logs["d"])
            self.step_optimizer("discriminator")
        logs["total"] = total
        return logs

    @staticmethod
    def _rgb(x: torch.Tensor) -> torch.Tensor:
        return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x

    @torch.no_grad()
    def after_step(self) -> None:
        if "generator_ema" in self.models:
            decay = self.config["ema"]
            for e, p in zip(self.models["generator_ema"].state_dict().values(),
                            self.models["generator"].state_dict().values()):
                if e.dtype.is_floating_point:
                    e.lerp_(p, 1.0 - decay)
                else:
                    e.copy_(p)

    # -- evaluation ------------------------------------------------------------------------------
    def exported(self) -> nn.Module:
        return self.models[self.export_model]

    def super_resolve(self, lr_uint8: np.ndarray) -> np.ndarray:
        """One whole LR image (uint8 RGB) -> the SR output in the model's channels, float H x W x C in [0, 1]."""
        x = rgb_to_y(lr_uint8) if self.channels == "y" else lr_uint8.astype(np.float32) / 255.0
        t = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None].to(self.device)
        out = self.upscale(t).float().clamp(0, 1)
        return out[0].permute(1, 2, 0).cpu().double().numpy()

    val_metric_names = ("psnr_y", "ssim_y", "lpips")
    best_metrics = ("psnr_y",)

    def val_data_folder(self, value: str) -> Any:
        return resolve_val_data(value, scale=self.scale())

    def build_val_data(self, folder: Any) -> list[tuple[str, np.ndarray, np.ndarray]]:
        pairs = validation_pairs(folder, self.scale())
        return pairs[: self.config["val_max_images"] or None]

    def validate(self) -> dict[str, float]:
        """PSNR / SSIM on Y (crop = scale, BasicSR's convention) and LPIPS (RGB; the Y channel for luma models)."""
        s, psnrs, ssims, srs, gts = self.scale(), [], [], [], []
        for _, hr, lr in self.val_items:
            sr = self.super_resolve(lr)
            sr = sr[: hr.shape[0], : hr.shape[1]]
            gt = rgb_to_y(hr)[..., 0].astype(np.float64) * 255.0
            sr_y = sr[..., 0] * 255.0 if self.channels == "y" else rgb_to_y(sr)[..., 0].astype(np.float64) * 255.0
            psnrs.append(psnr(sr_y, gt, crop_border=s))
            ssims.append(ssim(sr_y, gt, crop_border=s))
            ref = rgb_to_y(hr) if self.channels == "y" else hr.astype(np.float32) / 255.0
            srs.append(torch.from_numpy(np.ascontiguousarray(sr.transpose(2, 0, 1))).float()[None])
            gts.append(torch.from_numpy(np.ascontiguousarray(ref.transpose(2, 0, 1))).float()[None])
        out = {"psnr_y": float(np.mean(psnrs)), "ssim_y": float(np.mean(ssims))}
        if self.metrics.wants("lpips"):
            out["lpips"] = float(np.mean([self.metrics.lpips(a, b) for a, b in zip(srs, gts)]))
        return out

    def sample_captions(self) -> list[str]:
        return [f"input (LR, x{self.scale()} nearest)", "output (SR)", "target (HR)"]

    def sample_rows(self, batch: Mapping[str, Any]) -> list[torch.Tensor]:
        lr, hr = batch["lr"], batch["hr"]
        sr = self.upscale(lr).float().clamp(0, 1)
        return [lr, sr, hr]

    def generate(self, batch: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        return batch["lr"], self.upscale(batch["lr"]).float()

    def default_processing(self) -> dict[str, Any]:
        return {"value_range": [0, 1], "scale": self.scale(), "channels": self.pipeline_channels, "quantize": "round"}

    def export_entry(self) -> dict[str, Any]:
        processing = self.entry.processing if self.entry is not None else self.default_processing()
        return {"architecture": self.arch, "kwargs": self.arch_kwargs, "processing": processing,
                "description": f"{self.arch} x{self.scale()} trained with `zoo train {self.task_name}` "
                               f"({self.config['stage']} stage) on {self.data}"}


class LumaSRTrainer(SRTrainer):
    """``super-resolution-luma``: LR luma -> HR luma (ESPCN, FSRCNN); chroma is bicubic at inference."""

    task: ClassVar[str] = "super-resolution-luma"
    options: ClassVar[dict[str, Option]] = {**SR_OPTIONS, "lr": Option(1e-3, "Adam learning rate"),
                                            "patch_size": Option(51, "HR patch size (ESPCN: 17 LR pixels x 3)")}
    default_architecture = ("espcn", {"num_in_ch": 1})
    default_scale = 3
    channels = "y"
    pipeline_channels = 1


class PreUpsampleSRTrainer(LumaSRTrainer):
    """``super-resolution-y``: the MATLAB-bicubic upscaled luma -> HR luma (VDSR)."""

    task: ClassVar[str] = "super-resolution-y"
    options: ClassVar[dict[str, Option]] = {**LumaSRTrainer.options, "grad_clip": Option(0.4, "VDSR clips gradients"),
                                            "lr": Option(1e-4, "Adam learning rate")}
    default_architecture = ("vdsr", {"num_feat": 64, "num_block": 18})
    pre_upsample = True
