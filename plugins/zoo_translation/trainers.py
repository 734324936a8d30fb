"""Trainers of the translation tasks with junyanz's recipes as defaults.

* ``paired-translation`` (pix2pix): U-Net generator, conditional PatchGAN on ``cat(input, output)``,
  vanilla GAN + lambda_L1 100 x L1, Adam 2e-4 / (0.5, 0.999), batch 1, 100 + 100 epochs with linear decay.
* ``unpaired-translation`` (CycleGAN): G_A: A->B, G_B: B->A, D_A judges B, D_B judges A; LSGAN, image pools of
  50, cycle lambda 10 (both ways), identity 0.5, the same optimiser and schedule.

Data: ``resize 286 -> random crop 256 -> flip`` (``preprocess``, ``load_size``, ``crop_size``, ``flip``). The
generator works in the entry's value range ([-1, 1]). Trainers log ``diversity``/``diversity_ratio`` beside the
losses (mean pairwise L1 between outputs for different inputs, and its ratio to the inputs' own): a mode-collapse
indicator.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any, ClassVar, Mapping

import torch
from torch import nn

from zoo.registry import components, get_manager
from zoo.training import (BASE_OPTIONS, PREPROCESS, AlignedDataset, Option, Trainer, TrainingError, UnalignedDataset,
                          convert_range, list_images, load_pretrained, load_rgb, mean_psnr_ssim, to_tensor)

from .direction import paired_direction
from .training import INIT_TYPES, ImagePool, init_weights

#: pix2pix's paper test mode (batch statistics + dropout), kept by the entries of runs trained here
PAPER_MODE = {"paper": "zoo_translation.modes:paper_test_mode"}

TRANSLATION_OPTIONS: dict[str, Option] = {
    **BASE_OPTIONS,
    "lr": Option(2e-4, "Adam learning rate of generators and discriminators"),
    "betas": Option([0.5, 0.999], "Adam betas"),
    "epochs": Option(100, "epochs at the initial learning rate (junyanz n_epochs)"),
    "epochs_decay": Option(100, "epochs of linear decay to 0 (junyanz n_epochs_decay)"),
    "lr_policy": Option("linear", "learning-rate schedule", ("constant", "linear", "cosine", "step")),
    "preprocess": Option("resize_and_crop", "junyanz preprocessing", PREPROCESS),
    "load_size": Option(286, "resize to this size before cropping"),
    "crop_size": Option(256, "random crop size"),
    "flip": Option(True, "random horizontal flips"),
    "direction": Option(None, "AtoB or BtoA (default: from the entry: its domains for *-SUFFIX pairs, its "
                              "processing.options.direction for A/B folders and A|B images; else AtoB)",
                        ("AtoB", "BtoA", None), kind=str),
    "generator_kwargs": Option({}, "generator architecture kwargs (merged over the entry's or the task's)"),
    "discriminator": Option("nlayer_discriminator", "registered discriminator architecture"),
    "discriminator_kwargs": Option({}, "discriminator kwargs (merged over the task's: ndf 64, n_layers 3)"),
    "init_type": Option("normal", "weight init of new networks", INIT_TYPES),
    "init_gain": Option(0.02, "scale of the init"),
    "gan_type": Option("lsgan", "objective of the registered 'gan' loss (vanilla, lsgan, hinge, wgan-gp, ragan)"),
    "pool_size": Option(50, "image history pool of each discriminator (0: off)"),
}


class TranslationTrainer(Trainer):
    """What pix2pix and CycleGAN share: data, generator spec, discriminators, value ranges, export."""

    adversarial: ClassVar[bool] = True
    work_range: ClassVar[tuple[float, float]] = (-1.0, 1.0)
    default_generator: ClassVar[tuple[str, dict[str, Any]]] = ("resnet_generator", {})
    default_discriminator: ClassVar[dict[str, Any]] = {"ndf": 64, "n_layers": 3, "norm": "instance"}

    def direction(self) -> str:
        if self.config["direction"]:
            return self.config["direction"]
        if self.entry is not None:
            return str(self.entry.processing.options.get("direction", "AtoB"))
        return "AtoB"

    def augment(self) -> dict[str, Any]:
        return {k: self.config[k] for k in ("preprocess", "load_size", "crop_size", "flip")}

    def eval_augment(self) -> dict[str, Any]:
        """Validation images: resized to crop_size, no crop or flip (junyanz's test-time load_size = crop_size)."""
        return {"preprocess": "resize", "load_size": self.config["crop_size"], "crop_size": self.config["crop_size"],
                "flip": False}

    def domain(self, side: str) -> str:
        """The entry's name of the input or output domain ("" without one)."""
        domains = dict(self.entry.processing.domains) if self.entry is not None else {}
        return str(domains.get(side, ""))

    def caption(self, role: str, side: str) -> str:
        name = self.domain(side)
        return f"{role} ({name})" if name else role

    def val_batches(self, items: list[dict[str, torch.Tensor]], size: int = 4):
        for i in range(0, len(items), size):
            chunk = items[i:i + size]
            yield {k: torch.stack([it[k] for it in chunk]).to(self.device) for k in chunk[0]}

    def generator_spec(self) -> tuple[str, dict[str, Any]]:
        if self.entry is not None:
            arch, kwargs = self.entry.architecture, dict(self.entry.kwargs)
        else:
            arch, kwargs = self.default_generator[0], dict(self.default_generator[1])
        kwargs.update(self.config["generator_kwargs"])
        return arch, kwargs

    def new_generator(self) -> nn.Module:
        factory = components("architecture").get(self.arch).load("factory")
        try:
            return factory(**self.arch_kwargs)
        except TypeError as exc:
            raise TrainingError(f"option 'generator_kwargs': {self.arch!r} rejected {self.arch_kwargs}: {exc}") from None

    def new_discriminator(self, input_nc: int) -> nn.Module:
        kwargs = {**self.default_discriminator, "input_nc": input_nc, **self.config["discriminator_kwargs"]}
        factory = components("architecture").get(self.config["discriminator"]).load("factory")
        try:
            net = factory(**kwargs)
        except TypeError as exc:
            raise TrainingError(f"option 'discriminator_kwargs': {self.config['discriminator']!r} rejected {kwargs}: "
                                f"{exc}") from None
        return init_weights(net, self.config["init_type"], self.config["init_gain"])

    def to_work(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] -> the range the losses and discriminators work in ([-1, 1], junyanz's)."""
        return convert_range(x, (0.0, 1.0), self.work_range)

    def to_unit(self, x: torch.Tensor) -> torch.Tensor:
        return convert_range(x.float(), self.work_range, (0.0, 1.0)).clamp(0, 1)

    def run(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """A generator on work-range images, fed and read in the entry's value range."""
        return self.from_network(net(self.to_network(x)))

    def gan_loss(self) -> nn.Module:
        return self.loss("gan", option="gan_type", gan_type=self.config["gan_type"])

    def check_options(self) -> None:
        super().check_options()
        c = self.config
        if c["preprocess"] in ("resize_and_crop", "scale_width_and_crop") and c["load_size"] < c["crop_size"]:
            raise TrainingError(f"option 'load_size': {c['load_size']} is smaller than crop_size {c['crop_size']}")
        if c["preprocess"] != "none":
            self.arch, self.arch_kwargs = self.generator_spec()
            multiple = self.size_multiple()
            if c["crop_size"] % multiple:
                raise TrainingError(f"option 'crop_size': {c['crop_size']} is not a multiple of {multiple}, which the "
                                    f"generator ({self.arch} {self._size_note()}) needs; use crop_size="
                                    f"{max(multiple, c['crop_size'] // multiple * multiple)} (and load_size at least "
                                    "that)" + (", or generator_kwargs={num_downs: K} for a multiple of 2**K"
                                               if self.arch == "unet_generator" else ""))

    def _size_note(self) -> str:
        if self.arch == "unet_generator":
            return f"num_downs={int(self.arch_kwargs.get('num_downs', 8))}"
        return "2 downsamplings"

    def size_multiple(self) -> int:
        if self.arch == "unet_generator":
            return 2 ** int(self.arch_kwargs.get("num_downs", 8))
        return 4

    def default_processing(self) -> dict[str, Any]:
        return {"value_range": [-1, 1], "size_multiple": self.size_multiple(), "quantize": "truncate",
                "options": {"tileable": False, "direction": "AtoB"}}

    def export_entry(self) -> dict[str, Any]:
        processing = self.entry.processing if self.entry is not None else self.default_processing()
        return {"architecture": self.arch, "kwargs": self.arch_kwargs, "processing": processing}


class Pix2PixTrainer(TranslationTrainer):
    """``paired-translation``: G(A) ~ B with L1 and a conditional PatchGAN on ``cat(A, G(A))``."""

    task: ClassVar[str] = "paired-translation"
    options: ClassVar[dict[str, Option]] = {
        **TRANSLATION_OPTIONS,
        "gan_type": Option("vanilla", "objective of the registered 'gan' loss (pix2pix: vanilla)"),
        "pool_size": Option(0, "image history pool of the discriminator (pix2pix: 0)"),
        "lambda_L1": Option(100.0, "weight of the L1 term"),
        "gan_weight": Option(1.0, "weight of the adversarial term (0: L1 only, no discriminator)"),
        "pair_suffixes": Option(None, "pairs as two files per stem in one folder, e.g. [-labels, -photo] for "
                                      "N-labels.png (A) + N-photo.png (B); detected when unset", kind=list),
    }
    default_generator = ("unet_generator", {"input_nc": 3, "output_nc": 3, "num_downs": 8, "ngf": 64, "norm": "batch",
                                            "use_dropout": True})
    default_discriminator = {"ndf": 64, "n_layers": 3, "norm": "batch"}

    val_metric_names = ("lpips", "psnr", "ssim", "fid", "kid")
    best_metrics = ("lpips", "psnr")

    def paired(self, root: Any, **augment: Any) -> AlignedDataset:
        """Pairs under ``root``, oriented so that A is the entry's input domain (:mod:`.direction`)."""
        data = AlignedDataset(root, direction="AtoB", pair_suffixes=self.config["pair_suffixes"], **augment)
        data.direction = paired_direction(self.entry, data.pair_suffixes, self.config["direction"], data.root)
        return data

    def build_dataset(self) -> torch.utils.data.Dataset:
        data = self.paired(self.data, **self.augment())
        sides = ((f"*-{data.pair_suffixes[0]}", f"*-{data.pair_suffixes[1]}") if data.pair_suffixes else
                 ("A", "B"))
        src, dst = sides if data.direction == "AtoB" else sides[::-1]
        self.roles = (f"training {self.domain('input') or 'A'} -> {self.domain('output') or 'B'} "
                      f"(input: {src}, target: {dst}; direction={data.direction})")
        return data

    def describe_run(self) -> list[str]:
        return [self.roles]

    def build_val_data(self, folder: Any) -> list[dict[str, torch.Tensor]]:
        data = self.paired(folder, **self.eval_augment())
        n = self.config["val_max_images"] or len(data)
        return [data[i] for i in range(min(n, len(data)))]

    def validate(self) -> dict[str, float]:
        pairs = [self.val_outputs(batch) for batch in self.val_batches(self.val_items)]
        return self.paired_metrics(torch.cat([p[0] for p in pairs]), torch.cat([p[1] for p in pairs]))

    def val_outputs(self, batch: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """(outputs, targets) of a validation batch as RGB in [0, 1] on the CPU."""
        real_a, real_b = self.inputs(batch)
        return self.to_unit(self.run(self.models["generator"], real_a)).cpu(), self.to_unit(real_b).cpu()

    def paired_metrics(self, fakes: torch.Tensor, reals: torch.Tensor) -> dict[str, float]:
        """LPIPS / PSNR / SSIM of outputs against their targets, and FID / KID of the two sets."""
        out: dict[str, float] = {}
        if self.metrics.wants("lpips"):
            out["lpips"] = self.metrics.lpips(fakes, reals)
        out.update({k: v for k, v in mean_psnr_ssim(fakes, reals).items() if self.metrics.wants(k)})
        out.update(self.metrics.distribution(list(fakes), list(reals)))
        return out

    def sample_captions(self) -> list[str]:
        return [self.caption("input", "input"), "output", self.caption("target", "output")]

    def export_entry(self) -> dict[str, Any]:
        """As the base, and a task-trained U-Net keeps pix2pix's ``mode="paper"`` (batch statistics + dropout)."""
        spec = super().export_entry()
        if self.entry is None:
            spec["processing"]["options"]["modes"] = dict(PAPER_MODE)
        return spec

    def build_models(self) -> dict[str, nn.Module]:
        self.arch, self.arch_kwargs = self.generator_spec()
        generator = self.new_generator()
        if self.pretrained:
            load_pretrained(self, generator)
        else:
            init_weights(generator, self.config["init_type"], self.config["init_gain"])
        models = {"generator": generator}
        if self.config["gan_weight"] > 0:
            in_nc = int(self.arch_kwargs.get("input_nc", 3)) + int(self.arch_kwargs.get("output_nc", 3))
            models["discriminator"] = self.new_discriminator(in_nc)
        return models

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        self.l1 = self.loss("l1")
        opts = {"generator": self.adam(self.models["generator"])}
        if "discriminator" in self.models:
            self.gan = self.gan_loss()
            self.pool = ImagePool(self.config["pool_size"], rng=random.Random(self.config["seed"] + self.rank))
            opts["discriminator"] = self.adam(self.models["discriminator"])
        return opts

    def inputs(self, batch: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """(input, target) in the work range."""
        return self.to_work(batch["A"]), self.to_work(batch["B"])

    def train_step(self, batch: Mapping[str, Any]) -> Mapping[str, Any]:
        real_a, real_b = self.inputs(batch)
        logs: dict[str, Any] = {}
        with self.autocast():
            fake_b = self.run(self.net("generator"), real_a)
        if "discriminator" in self.models:
            self.set_requires_grad("discriminator", True)
            opt_d = self.optimizers["discriminator"]
            opt_d.zero_grad(set_to_none=True)
            with self.autocast():
                d = self.net("discriminator")
                fake_ab = self.pool.query(torch.cat([real_a, fake_b], 1).detach())
                pred_fake = d(fake_ab).float()
                pred_real = d(torch.cat([real_a, real_b], 1)).float()
                logs["D"] = self.gan.discriminator_loss(pred_real, pred_fake)
            self.backward(logs["D"])
            self.step_optimizer("discriminator")
            self.set_requires_grad("discriminator", False)
        opt_g = self.optimizers["generator"]
        opt_g.zero_grad(set_to_none=True)
        with self.autocast():
            logs["G_L1"] = self.l1(fake_b.float(), real_b) * self.config["lambda_L1"]
            total = logs["G_L1"]
            if "discriminator" in self.models:
                pred = self.net("discriminator")(torch.cat([real_a, fake_b], 1)).float()
                logs["G_GAN"] = self.gan.generator_loss(pred)
                total = total + self.config["gan_weight"] * logs["G_GAN"]
        self.backward(total)
        self.step_optimizer("generator")
        return logs

    def extra_state(self) -> dict[str, Any]:
        return _pool_state(getattr(self, "pool", None))

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        _load_pool_state(getattr(self, "pool", None), state)

    def sample_rows(self, batch: Mapping[str, Any]) -> list[torch.Tensor]:
        real_a, real_b = self.inputs(batch)
        fake = self.run(self.models["generator"], real_a)
        return [self.to_unit(real_a), self.to_unit(fake), self.to_unit(real_b)]

    def generate(self, batch: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        real_a, _ = self.inputs(batch)
        return real_a, self.run(self.models["generator"], real_a)


def _pool_state(pool: ImagePool | None) -> dict[str, Any]:
    if pool is None:
        return {}
    version, internal, gauss = pool.rng.getstate()
    return {"pool_images": [t.cpu() for t in pool.images], "pool_rng": (version, list(internal), gauss)}


def _load_pool_state(pool: ImagePool | None, state: Mapping[str, Any]) -> None:
    if pool is None or "pool_images" not in state:
        return
    pool.images = [t for t in state["pool_images"]]
    version, internal, gauss = state["pool_rng"]
    pool.rng.setstate((version, tuple(internal), gauss))


class CycleGANTrainer(TranslationTrainer):
    """``unpaired-translation``: two generators, two discriminators, cycle and identity losses, image pools."""

    task: ClassVar[str] = "unpaired-translation"
    options: ClassVar[dict[str, Option]] = {
        **TRANSLATION_OPTIONS,
        "lambda_A": Option(10.0, "cycle weight A -> B -> A"),
        "lambda_B": Option(10.0, "cycle weight B -> A -> B"),
        "lambda_identity": Option(0.5, "identity weight, relative to lambda_A / lambda_B (0: off)"),
        "reverse_weights": Option(True, "fine-tuning: start G_B from the catalog entry with the domains swapped, if any"),
        "weights_B": Option(None, "fine-tuning: start G_B (B -> A) from this file, URL or plugin URI (like --weights "
                                  "for G_A) instead of the reverse entry", kind=str),
    }
    val_metric_names = ("fid_AtoB", "fid_BtoA", "kid_AtoB", "kid_BtoA", "cycle_l1_A", "cycle_l1_B")
    best_metrics = ("fid_AtoB", "kid_AtoB")
    default_generator = ("resnet_generator", {"input_nc": 3, "output_nc": 3, "ngf": 64, "norm": "instance",
                                              "use_dropout": False, "n_blocks": 9})
    export_model = "G_A"

    def check_options(self) -> None:
        super().check_options()
        given = self.config["weights_B"]
        if given is not None:
            if self.entry is None or not self.pretrained:
                raise TrainingError("option 'weights_B' starts G_B of a fine-tuned entry; it needs an entry name "
                                    "(not a task, not --from-scratch or --resume)")
            if "://" not in given and not Path(given).expanduser().is_file():
                raise TrainingError(f"option 'weights_B': {given} is not a file")

    def build_dataset(self) -> torch.utils.data.Dataset:
        return UnalignedDataset(self.data, direction=self.direction(), **self.augment())

    def build_val_data(self, folder: Any) -> dict[str, list[torch.Tensor]]:
        """``testA/`` + ``testB/`` (else ``A/`` + ``B/``, ``trainA/`` + ``trainB/``) resized to crop_size."""
        pairs = [(a, b) for a, b in (("testA", "testB"), ("A", "B"), ("trainA", "trainB"))
                 if (folder / a).is_dir() and (folder / b).is_dir()]
        if not pairs:
            raise TrainingError(f"option 'val_data': {folder} needs testA/ + testB/ (or A/ + B/) folders")
        side = self.config["crop_size"]
        n = self.config["val_max_images"] or None
        sides = {key: [to_tensor(load_rgb(p).resize((side, side))) for p in list_images(folder / name,
                                                                                      f"validation {name}/")[:n]]
                 for key, name in zip("AB", pairs[0])}
        return sides if self.direction() == "AtoB" else {"A": sides["B"], "B": sides["A"]}

    def validate(self) -> dict[str, float]:
        out: dict[str, float] = {}
        g_a, g_b = self.models["G_A"], self.models["G_B"]
        for src, dst, g, back in (("A", "B", g_a, g_b), ("B", "A", g_b, g_a)):
            real = [self.to_work(t[None].to(self.device)) for t in self.val_items[src]]
            fake = [self.run(g, x) for x in real]
            if self.metrics.wants(f"cycle_l1_{src}"):
                gaps = [(self.to_unit(self.run(back, y)) - self.to_unit(x)).abs().mean() for x, y in zip(real, fake)]
                out[f"cycle_l1_{src}"] = float(torch.stack(gaps).mean())
            out.update(self.metrics.distribution([self.to_unit(y)[0].cpu() for y in fake], self.val_items[dst],
                                                 suffix=f"_{src}to{dst}"))
        return out

    def sample_captions(self) -> list[str]:
        a, b = self.caption("real A", "input"), self.caption("real B", "output")
        return [a, "G_A(A): fake B", "G_B(G_A(A)): A reconstructed", b, "G_B(B): fake A"]

    def reverse_entry(self) -> Any:
        """The entry translating the other way (domains swapped), for G_B when fine-tuning."""
        domains = dict(self.entry.processing.domains)
        for other in get_manager().catalog:
            od = dict(other.processing.domains)
            if (other.name != self.entry.name and other.task == self.entry.task and domains and
                    od.get("input") == domains.get("output") and od.get("output") == domains.get("input")
                    and other.architecture == self.entry.architecture and dict(other.kwargs) == dict(self.entry.kwargs)):
                return other
        return None

    def build_models(self) -> dict[str, nn.Module]:
        self.arch, self.arch_kwargs = self.generator_spec()
        g_a, g_b = self.new_generator(), self.new_generator()
        init_weights(g_a, self.config["init_type"], self.config["init_gain"])
        init_weights(g_b, self.config["init_type"], self.config["init_gain"])
        if self.pretrained:
            load_pretrained(self, g_a)
            reverse = self.reverse_entry() if self.config["reverse_weights"] else None
            if self.config["weights_B"] is not None:
                weights, self.pretrained_weights = self.pretrained_weights, self.config["weights_B"]
                try:
                    load_pretrained(self, g_b)  # the entry's architecture and format, the given file
                finally:
                    self.pretrained_weights = weights
            elif reverse is not None:
                (entry, weights), self.entry, self.pretrained_weights = (self.entry, self.pretrained_weights), reverse, None
                try:
                    load_pretrained(self, g_b)
                except TrainingError as exc:
                    print(f"zoo train: G_B starts from random weights ({exc})", file=sys.stderr)
                finally:
                    self.entry, self.pretrained_weights = entry, weights
        out_nc, in_nc = int(self.arch_kwargs.get("output_nc", 3)), int(self.arch_kwargs.get("input_nc", 3))
        return {"G_A": g_a, "G_B": g_b, "D_A": self.new_discriminator(out_nc), "D_B": self.new_discriminator(in_nc)}

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        self.gan = self.gan_loss()
        self.cycle = self.loss("cycle_consistency", lambda_a=self.config["lambda_A"], lambda_b=self.config["lambda_B"])
        self.identity = self.loss("cycle_identity", lambda_a=self.config["lambda_A"], lambda_b=self.config["lambda_B"],
                                  lambda_identity=self.config["lambda_identity"])
        seed = self.config["seed"] * 1000 + self.rank
        self.pool_a = ImagePool(self.config["pool_size"], rng=random.Random(seed))      # fakes of A, for D_B
        self.pool_b = ImagePool(self.config["pool_size"], rng=random.Random(seed + 1))  # fakes of B, for D_A
        return {"G": self.adam(self.models["G_A"], self.models["G_B"]),
                "D": self.adam(self.models["D_A"], self.models["D_B"])}

    def train_step(self, batch: Mapping[str, Any]) -> Mapping[str, Any]:
        real_a, real_b = self.to_work(batch["A"]), self.to_work(batch["B"])
        g_a, g_b = self.net("G_A"), self.net("G_B")
        for name in ("D_A", "D_B"):
            self.set_requires_grad(name, False)
        self.optimizers["G"].zero_grad(set_to_none=True)
        logs: dict[str, Any] = {}
        with self.autocast():
            fake_b, fake_a = self.run(g_a, real_a), self.run(g_b, real_b)
            rec_a, rec_b = self.run(g_b, fake_b), self.run(g_a, fake_a)
            if self.config["lambda_identity"] > 0:
                same_b, same_a = self.run(g_a, real_b), self.run(g_b, real_a)
                logs["idt_A"], logs["idt_B"] = self.identity.terms(real_a, same_a.float(), real_b, same_b.float())
            logs["G_A"] = self.gan.generator_loss(self.net("D_A")(fake_b).float())
            logs["G_B"] = self.gan.generator_loss(self.net("D_B")(fake_a).float())
            logs["cycle_A"], logs["cycle_B"] = self.cycle.terms(real_a, rec_a.float(), real_b, rec_b.float())
            total = sum(logs.values())
        self.backward(total)
        self.step_optimizer("G")
        for name in ("D_A", "D_B"):
            self.set_requires_grad(name, True)
        self.optimizers["D"].zero_grad(set_to_none=True)
        with self.autocast():
            pooled_b, pooled_a = self.pool_b.query(fake_b.detach()), self.pool_a.query(fake_a.detach())
            logs["D_A"] = self.gan.discriminator_loss(self.net("D_A")(real_b).float(), self.net("D_A")(pooled_b).float())
            logs["D_B"] = self.gan.discriminator_loss(self.net("D_B")(real_a).float(), self.net("D_B")(pooled_a).float())
        self.backward(logs["D_A"] + logs["D_B"])
        self.step_optimizer("D")
        return logs

    def extra_state(self) -> dict[str, Any]:
        return {"pool_a": _pool_state(self.pool_a), "pool_b": _pool_state(self.pool_b)}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        _load_pool_state(self.pool_a, state.get("pool_a", {}))
        _load_pool_state(self.pool_b, state.get("pool_b", {}))

    def sample_rows(self, batch: Mapping[str, Any]) -> list[torch.Tensor]:
        real_a, real_b = self.to_work(batch["A"]), self.to_work(batch["B"])
        g_a, g_b = self.models["G_A"], self.models["G_B"]
        fake_b, fake_a = self.run(g_a, real_a), self.run(g_b, real_b)
        return [self.to_unit(t) for t in (real_a, fake_b, self.run(g_b, fake_b), real_b, fake_a)]

    def generate(self, batch: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        real_a = self.to_work(batch["A"])
        return real_a, self.run(self.models["G_A"], real_a)
