"""Trainer of the ``style-transfer`` task: Johnson et al.'s perceptual losses, pytorch/examples' recipe.

A TransformerNet (or the entry's network) learns one style: content loss on VGG16 ``relu2_2`` (MSE, weight
1e5), Gram-matrix style loss on ``relu1_2, relu2_2, relu3_3, relu4_3`` (MSE of Gram matrices normalised by
c*h*w, weight 1e10), and a total-variation regulariser (Johnson's ``tv_strength`` 1e-6, squared differences);
Adam 1e-3, batch 4, content images resized (shorter side) and centre-cropped to 256, 2 epochs. Data: a folder of
content photos (``--data``) and one ``style_image``. The losses are the registered ``vgg_perceptual``,
``gram_style`` and ``tv``; their VGG16 comes through the weights hub (``vgg_weights=None``: seeded random, tests).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Mapping

import torch
from PIL import Image
from torch import nn

from zoo.errors import WeightsUnavailableError
from zoo.registry import components
from zoo.training import (BASE_OPTIONS, Option, Trainer, TrainingError, item_rng, list_images, load_pretrained,
                          load_rgb, to_tensor)

STYLE_LAYERS = ["relu1_2", "relu2_2", "relu3_3", "relu4_3"]


class ContentImages(torch.utils.data.Dataset):
    """Content photos resized (shorter side) to ``size`` and centre-cropped (torchvision Resize + CenterCrop)."""

    def __init__(self, root: str | Path, size: int) -> None:
        self.files = list_images(root, "style-transfer content images")
        self.size = size

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, key: Any) -> dict[str, torch.Tensor]:
        index, _ = item_rng(key)
        img = load_rgb(self.files[index])
        w, h = img.size
        scale = self.size / min(w, h)
        img = img.resize((max(self.size, round(w * scale)), max(self.size, round(h * scale))), Image.BILINEAR)
        w, h = img.size
        left, top = (w - self.size) // 2, (h - self.size) // 2
        return {"image": to_tensor(img.crop((left, top, left + self.size, top + self.size)))}


def vgg_unavailable(arch: str, exc: BaseException) -> str:
    """One line for missing VGG weights of the losses: the option that takes a local file, and where the
    torchvision file can be put instead (``--weights`` is the generator's starting point, not the loss's)."""
    text = str(exc)
    url = next((ln.split(":", 1)[1].strip() for ln in text.splitlines() if "source URL:" in ln), "")
    cache = next((ln.split(":", 1)[1].strip() for ln in text.splitlines() if "expected cache path:" in ln), "")
    return (f"the style and content losses need torchvision's {arch} ImageNet weights, which are unavailable "
            f"({text.splitlines()[0].rstrip('.')}); pass vgg_weights=PATH with a local copy of "
            f"{url.rsplit('/', 1)[-1] or 'the torchvision file'}" + (f", or put it at {cache}" if cache else "")
            + (f" (from {url})" if url else ""))


class StyleTransferTrainer(Trainer):
    task: ClassVar[str] = "style-transfer"
    options: ClassVar[dict[str, Option]] = {
        **BASE_OPTIONS,
        "lr": Option(1e-3, "Adam learning rate"),
        "batch_size": Option(4, "content images per step"),
        "epochs": Option(2, "epochs over the content images"),
        "image_size": Option(256, "content crop size"),
        "style_image": Option(None, "the style image (required)", kind=str),
        "style_size": Option(None, "resize the style image's shorter side to this (default: as is)", kind=int),
        "content_weight": Option(1e5, "weight of the content loss"),
        "style_weight": Option(1e10, "weight of the style loss"),
        "tv_weight": Option(1e-6, "weight of the total-variation loss (on the [0, 255] output)"),
        "content_layer": Option("relu2_2", "VGG layer of the content loss"),
        "style_layers": Option(STYLE_LAYERS, "VGG layers of the style loss"),
        "vgg": Option("vgg16", "VGG of the losses"),
        "vgg_weights": Option("imagenet", "VGG weights: imagenet (via the hub), a file, or null (random)", kind=str),
        "generator_kwargs": Option({}, "architecture kwargs (merged over the entry's)"),
    }
    default_architecture: ClassVar[tuple[str, dict[str, Any]]] = ("transformer_net", {})
    val_metric_names = ("content", "style", "lpips_content")
    best_metrics = ()

    def check_options(self) -> None:
        """The style image and a local ``vgg_weights`` file are checked here, before the VGG is fetched."""
        super().check_options()
        if not self.config["style_image"]:
            raise TrainingError("option 'style_image' is required: style_image=PATH/TO/PAINTING.jpg")
        path = Path(self.config["style_image"]).expanduser()
        if not path.is_file():
            raise TrainingError(f"option 'style_image': {path} is not a file")
        weights = self.config["vgg_weights"]
        if weights not in (None, "imagenet") and "://" not in weights and not Path(weights).expanduser().is_file():
            raise TrainingError(f"option 'vgg_weights': {weights} is not a file (imagenet, a torchvision "
                                f"{self.config['vgg']} checkpoint, or null)")

    def build_dataset(self) -> torch.utils.data.Dataset:
        return ContentImages(self.data, self.config["image_size"])

    def build_val_data(self, folder: Any) -> list[dict[str, torch.Tensor]]:
        data = ContentImages(folder, self.config["image_size"])
        n = self.config["val_max_images"] or len(data)
        return [data[i] for i in range(min(n, len(data)))]

    def validate(self) -> dict[str, float]:
        """Content and Gram style distances (VGG16, unweighted) and LPIPS of the stylised image to its content."""
        contents = [item["image"] for item in self.val_items]
        outs = [self.from_network(self.models["generator"](self.to_network(c[None].to(self.device)))).float()
                .clamp(0, 1)[0].cpu() for c in contents]
        out = self.metrics.style(outs, contents, self.style[0].cpu())
        if self.metrics.wants("lpips_content"):
            out["lpips_content"] = self.metrics.lpips(torch.stack(outs), torch.stack(contents))
        return out

    def sample_captions(self) -> list[str]:
        return ["content", f"stylised ({Path(self.config['style_image']).name})"]

    def build_models(self) -> dict[str, nn.Module]:
        if self.entry is not None:
            self.arch, self.arch_kwargs = self.entry.architecture, dict(self.entry.kwargs)
        else:
            self.arch, self.arch_kwargs = self.default_architecture[0], dict(self.default_architecture[1])
        self.arch_kwargs.update(self.config["generator_kwargs"])
        net = components("architecture").get(self.arch).load("factory")(**self.arch_kwargs)
        if self.pretrained:
            load_pretrained(self, net)
        return {"generator": net}

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        common = {"arch": self.config["vgg"], "weights": self.config["vgg_weights"], "input_range": (0, 1)}
        try:
            self.content_loss = self.loss("vgg_perceptual", layer_weights={self.config["content_layer"]: 1.0},
                                          criterion="l2", loss_weight=self.config["content_weight"], **common)
            self.style_loss = self.loss("gram_style", layer_weights={k: 1.0 for k in self.config["style_layers"]},
                                        criterion="l2", loss_weight=self.config["style_weight"], **common)
        except WeightsUnavailableError as exc:
            raise TrainingError(vgg_unavailable(self.config["vgg"], exc)) from None
        self.tv_loss = self.loss("tv", power=2)
        path = Path(self.config["style_image"]).expanduser()
        if not path.is_file():
            raise TrainingError(f"option 'style_image': {path} is not a file")
        style = load_rgb(path)
        if self.config["style_size"]:
            w, h = style.size
            s = self.config["style_size"] / min(w, h)
            style = style.resize((round(w * s), round(h * s)), Image.BILINEAR)
        self.style = to_tensor(style)[None].to(self.device)
        self.style_loss.set_style(self.style)
        return {"generator": self.adam(self.models["generator"])}

    def train_step(self, batch: Mapping[str, Any]) -> Mapping[str, Any]:
        x = batch["image"]
        opt = self.optimizers["generator"]
        opt.zero_grad(set_to_none=True)
        with self.autocast():
            out = self.from_network(self.net("generator")(self.to_network(x)).float())
            logs = {"content": self.content_loss(out, x), "style": self.style_loss(out)}
            if self.config["tv_weight"] > 0:
                logs["tv"] = self.config["tv_weight"] * self.tv_loss(out * 255.0)
            total = sum(logs.values())
        self.backward(total)
        self.step_optimizer("generator")
        logs["total"] = total
        return logs

    def sample_rows(self, batch: Mapping[str, Any]) -> list[torch.Tensor]:
        x = batch["image"]
        return [x, self.from_network(self.models["generator"](self.to_network(x)).float()).clamp(0, 1)]

    def default_processing(self) -> dict[str, Any]:
        """pytorch/examples' TransformerNet reads and writes [0, 255]."""
        return {"value_range": [0, 255], "size_multiple": 4, "quantize": "truncate", "options": {"tileable": False}}

    def export_entry(self) -> dict[str, Any]:
        processing = self.entry.processing if self.entry is not None else self.default_processing()
        return {"architecture": self.arch, "kwargs": self.arch_kwargs, "processing": processing,
                "description": f"{self.arch} trained on style {Path(self.config['style_image']).name} "
                               f"with `zoo train style-transfer`"}
