"""A feature-matching loss on any timm backbone, by name (``timm.create_model(name, features_only=True)``).

Official weights come through the zoo's weights hub: a timm model's ``pretrained_cfg`` names its checkpoint
as a Hugging Face repo (``hf_hub_id``, fetched as ``https://huggingface.co/<id>/resolve/main/<file>``) and/or
a release ``url``. The file found (cache or download) is handed to timm through ``pretrained_cfg_overlay``
so timm's own checkpoint filters apply; offline and absent, the hub's WeightsUnavailableError says where
to put it. ``pretrained=False`` builds a seeded random backbone (tests).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch

from zoo.errors import WeightsUnavailableError
from zoo.losses.backbone import (FrozenBackbone, InputNormalizer, check_criterion, check_images, feature_distance,
                                 seeded, torch_hub_prefix)
from zoo.losses.pixel import LossConfigError
from zoo.weights.hub import cached_file, fetch_file

HF_FILES = ("model.safetensors", "pytorch_model.bin")  # the names timm tries, in its order


def official_weight_urls(pretrained_cfg: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """``(url, sha256 prefix or None)`` candidates for a timm ``pretrained_cfg``, in timm's order of preference."""
    candidates: list[tuple[str, str | None]] = []
    hf_id = pretrained_cfg.get("hf_hub_id")
    if hf_id:
        repo, _, revision = str(hf_id).partition("@")
        names = [pretrained_cfg["hf_hub_filename"]] if pretrained_cfg.get("hf_hub_filename") else list(HF_FILES)
        candidates += [(f"https://huggingface.co/{repo}/resolve/{revision or 'main'}/{name}", None) for name in names]
    url = pretrained_cfg.get("url")
    if url:
        candidates.append((str(url), torch_hub_prefix(str(url))))
    return candidates


def resolve_timm_weights(model_name: str, pretrained_cfg: Mapping[str, Any], *,
                         offline: bool | None = None) -> Path:
    """A local checkpoint for a timm model: cached, else downloaded through :func:`zoo.weights.hub.fetch_file`."""

    candidates = official_weight_urls(pretrained_cfg)
    if not candidates:
        raise WeightsUnavailableError(f"timm model {model_name!r} has no official weights (its pretrained_cfg names "
                                      f"neither hf_hub_id nor url); pass weights=PATH or pretrained=False")
    for url, _ in candidates:
        hit = cached_file(url)
        if hit is not None:
            return hit
    errors: list[WeightsUnavailableError] = []
    for url, sha256 in candidates:
        try:
            return fetch_file(url, sha256=sha256, offline=offline)
        except WeightsUnavailableError as exc:
            errors.append(exc)
    others = "".join(f"\n  or: {url}" for url, _ in candidates[1:])
    raise WeightsUnavailableError(f"{errors[0]}{others}\n  for this loss: TimmFeatureLoss({model_name!r}, "
                                  f"weights=PATH) or pretrained=False for a random backbone") from errors[0]


class TimmFeatureLoss(FrozenBackbone):
    """``loss_weight * sum_i w_i * criterion(f_i(pred), f_i(target))`` over a timm backbone's feature maps.

    ``out_indices`` picks the feature levels (timm's ``features_only`` indices; default: all);
    ``layer_weights`` is one weight per selected level (default 1 each). Inputs in ``input_range`` are mapped
    to [0, 1] and, with ``normalize=True``, standardised by the model's own ``pretrained_cfg`` mean/std.
    ``weights=PATH`` loads a local checkpoint instead of the official one. Call: ``loss(pred, target)``.
    """

    def __init__(self, model_name: str, *, out_indices: Sequence[int] | None = None,
                 layer_weights: Sequence[float] | None = None, criterion: str = "l1", loss_weight: float = 1.0,
                 input_range: Sequence[float] = (0.0, 1.0), normalize: bool = True, pretrained: bool = True,
                 weights: str | os.PathLike[str] | None = None, seed: int = 0, offline: bool | None = None,
                 model_kwargs: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        import timm  # heavy

        self.model_name = model_name
        self.criterion = check_criterion(criterion)
        self.loss_weight = float(loss_weight)
        kwargs: dict[str, Any] = dict(model_kwargs or {})
        if out_indices is not None:
            kwargs["out_indices"] = tuple(int(i) for i in out_indices)
        try:
            cfg = timm.models.get_pretrained_cfg(model_name)
        except Exception:  # noqa: BLE001 - older/odd names; checked again by create_model
            cfg = None
        if not timm.is_model(model_name):
            raise LossConfigError(f"timm has no model {model_name!r}; list them with timm.list_models('*resnet*')")
        path = None
        if weights is not None:
            path = Path(weights).expanduser()
            if not path.is_file():
                raise WeightsUnavailableError(f"weights file {path} does not exist (TimmFeatureLoss {model_name!r})")
        elif pretrained:
            path = resolve_timm_weights(model_name, cfg.to_dict() if cfg is not None else {}, offline=offline)
        try:
            with seeded(seed):
                if path is None:
                    self.backbone = timm.create_model(model_name, features_only=True, pretrained=False, **kwargs)
                else:
                    self.backbone = timm.create_model(model_name, features_only=True, pretrained=True,
                                                      pretrained_cfg_overlay={"file": str(path)}, **kwargs)
        except (RuntimeError, ValueError, TypeError, IndexError, AssertionError) as exc:
            raise LossConfigError(f"timm model {model_name!r} cannot be built as a feature extractor with "
                                  f"{kwargs or 'default options'}: {type(exc).__name__}: {exc}") from exc
        self.weights_source = str(path) if path is not None else "random"
        self.channels = tuple(self.backbone.feature_info.channels())
        levels = len(self.channels)
        weights_list = [1.0] * levels if layer_weights is None else [float(w) for w in layer_weights]
        if len(weights_list) != levels:
            raise LossConfigError(f"layer_weights has {len(weights_list)} values but {model_name!r} gives {levels} "
                                  f"feature levels (out_indices {list(self.backbone.feature_info.out_indices)})")
        self.layer_weights = tuple(weights_list)
        data_cfg = self.backbone.pretrained_cfg or {}
        self.input_norm = InputNormalizer(input_range, normalize, data_cfg.get("mean", (0.485, 0.456, 0.406)),
                                          data_cfg.get("std", (0.229, 0.224, 0.225)))
        self.freeze()

    def extra_repr(self) -> str:
        return (f"model_name={self.model_name!r}, layer_weights={self.layer_weights}, criterion={self.criterion!r}, "
                f"loss_weight={self.loss_weight}, weights={self.weights_source!r}")

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        check_images(x, f"timm feature loss ({self.model_name})")
        return list(self.backbone(self.input_norm(x)))

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        pred_features = self.features(pred)
        with torch.no_grad():
            target_features = self.features(target.detach())
        total = pred.new_zeros(())
        for weight, a, b in zip(self.layer_weights, pred_features, target_features):
            total = total + weight * feature_distance(self.criterion, a, b)
        return self.loss_weight * total
