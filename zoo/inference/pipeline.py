"""The inference pipeline: user images -> model inputs -> model -> images, as the catalog entry says.

Any input size works: inputs are padded (reflect) up to the entry's ``size_multiple`` and the output
is cropped back to ``scale`` times the input size, so the user's aspect ratio is never resized away.
Large inputs can be processed in overlapping tiles (``tile``/``tile_pad``): each tile is run with
``tile_pad`` pixels of context on every side and only its centre is kept, so the result equals the
untiled one wherever the context covers the network's receptive field. With tiling, only one tile at
a time lives on the device.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from zoo.errors import CatalogError
from zoo.images import ImageInfo, ImageLike, from_tensor, to_tensor
from zoo.inference import options
from zoo.registry.records import import_object

if TYPE_CHECKING:
    from zoo.registry.catalog import Entry
    from zoo.weights.hub import ResolvedWeights

DTYPES = {"fp32": torch.float32, "float32": torch.float32, "fp16": torch.float16, "float16": torch.float16,
          "half": torch.float16, "bf16": torch.bfloat16, "bfloat16": torch.bfloat16}


def parse_dtype(dtype: str | torch.dtype | None) -> torch.dtype:
    """``"fp16"``, ``torch.float16``, ... -> a floating ``torch.dtype`` (:class:`OptionError` otherwise)."""
    return options.check_dtype(dtype)


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _round_up(value: int, multiple: int) -> int:
    return int(math.ceil(value / multiple) * multiple)


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad right/bottom up to ``multiple`` (reflect, or replicate where the image is too small to reflect)."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return x
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode)


def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bicubic resize of an (N,C,H,W) float tensor, antialiased when shrinking."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    shrink = size[0] < x.shape[-2] or size[1] < x.shape[-1]
    return F.interpolate(x.float(), size=size, mode="bicubic", align_corners=False, antialias=shrink)


class ImagePipeline:
    """A ready model: call it on a path, PIL image, numpy array or tensor, or a list of them.

    Returns the same kind of image it was given (tensors come back as float [0,1] RGB). Options given
    here (``tile``, ``tile_pad``, ``batch_size``) are the defaults of every call; see :meth:`__call__`.
    """

    #: restore one channel for grayscale inputs (restoration tasks); translation may add colour.
    keep_gray: bool = False
    #: what ``zoo.load(..., fast=...)`` chose (``metadata["fast"]``); None for a plain load
    fast: dict[str, Any] | None = None

    def __init__(self, model: nn.Module, entry: "Entry", *, device: str | torch.device | None = None,
                 dtype: str | torch.dtype | None = None, weights: "ResolvedWeights | None" = None,
                 tile: int | str | None = None, tile_pad: int | None = None, mode: str | None = None,
                 batch_size: int | None = None) -> None:
        self.entry = entry
        self.processing = entry.processing
        self.device = options.check_device(device)
        self.dtype = options.check_dtype(dtype)
        tile, tile_pad = options.check_tile(tile), options.check_tile_pad(tile_pad)
        self.batch_size = options.check_batch_size(batch_size) or 1
        if tile and tile != "auto" and not self.processing.options.get("tileable", True):
            raise options.OptionError(self._untileable_message(tile))
        if self.device.type == "cpu" and self.dtype == torch.float16:
            warnings.warn(f"{entry.name}: float16 on the CPU is far slower than float32 (about 13x for "
                          "Real-ESRGAN); use dtype='fp32' on the CPU and fp16 on a GPU", RuntimeWarning, stacklevel=2)
        self.model = model.eval().to(self.device, self.dtype)
        self.weights = weights
        self.tile = self.processing.tile if tile is None else tile
        self.tile_pad = self.processing.tile_pad if tile_pad is None else tile_pad
        self.keep_gray = bool(self.processing.options.get("keep_gray", self.keep_gray))
        self.mode = mode
        self._mode_factory = self._find_mode(mode)

    def _untileable_message(self, tile: Any) -> str:
        return (f"entry {self.entry.name!r} cannot be tiled (tile={tile!r}): its network normalises over the whole "
                "image, so tiles would come out different from the whole; use tile=0 (CLI: --tile 0)")

    def _find_mode(self, mode: str | None):
        """An entry's alternative inference mode: ``processing.options.modes[mode]`` names a context
        manager factory ``f(pipeline)`` entered around every call (pix2pix's paper test mode, say)."""
        if mode is None or mode == "eval":
            return None
        modes = dict(self.processing.options.get("modes") or {})
        if mode not in modes:
            known = ", ".join(["eval", *modes])
            raise options.OptionError(f"entry {self.entry.name!r} has no inference mode {mode!r} (modes: {known})")

        return import_object(modes[mode], what=f"inference mode {mode!r} of entry {self.entry.name!r}")

    def __repr__(self) -> str:
        origin = f", weights={self.weights.origin}:{self.weights.path.name}" if self.weights else ", weights=None"
        return f"{type(self).__name__}({self.entry.name!r}, device={self.device}, dtype={self.dtype}{origin})"

    @property
    def metadata(self) -> dict[str, Any]:
        """What this model is and where its weights came from (torchvision-style ``weights.meta``)."""
        meta: dict[str, Any] = {"name": self.entry.name, "task": self.entry.task,
                                "architecture": self.entry.architecture, "processing": self.processing,
                                "paper": dict(self.entry.paper), "metrics": list(self.entry.metrics)}
        if self.weights is not None:
            meta["weights"] = {"path": str(self.weights.path), "origin": self.weights.origin,
                               "uri": self.weights.spec.uri, "format": self.weights.spec.format,
                               "license": self.weights.spec.license, **self.weights.details}
        meta["backend"] = getattr(self.model, "backend", "eager")
        if self.fast is not None:
            meta["fast"] = dict(self.fast)
        return meta

    # -- the user-facing call ---------------------------------------------------------------
    def __call__(self, images: ImageLike | Sequence[ImageLike], *, tile: int | str | None = None,
                 tile_pad: int | None = None, outscale: float | None = None, batch_size: int | None = None,
                 errors: str = "raise") -> Any:
        """Run the model on one image or a list of images; returns the same kind of image(s).

        ``images``: a path, PIL image, HxW[xC] numpy array (uint8, uint16, or float in [0, 1]), a
        (C,H,W) tensor (float in [0, 1] or uint8), or a list/tuple of these. Paths are read with their
        EXIF orientation applied; float inputs outside [0, 1] are refused (scale 0..255 data to [0, 1]
        or pass uint8).

        Options (``None`` means the value given to :func:`zoo.load`, else the entry's default):

        - ``tile``: tile side in pixels, ``0`` for none, or ``"auto"`` (from free GPU memory).
        - ``tile_pad``: pixels of context around each tile (>= 0).
        - ``outscale``: final scale factor relative to the input (> 0), if not the network's own.
        - ``batch_size``: images per forward pass for a list (>= 1); images are grouped by size.
        - ``errors``: for a list, what a failing item does: ``"raise"`` (default) stops with its
          error, ``"skip"`` leaves it out of the result (with a warning), ``"return"`` puts the
          exception object in its place.

        Bad options raise :class:`zoo.inference.options.OptionError` (a ``ValueError``); unreadable inputs
        raise :class:`zoo.errors.ImageInputError`.
        """
        tile, tile_pad = options.check_tile(tile), options.check_tile_pad(tile_pad)
        outscale = options.check_outscale(outscale)
        batch = options.check_batch_size(batch_size) or self.batch_size
        policy = options.check_errors(errors)
        if not isinstance(images, (list, tuple)):
            x, info = to_tensor(images)
            return self.process_batch([x], [info], tile=tile, tile_pad=tile_pad, outscale=outscale)[0]
        results: list[Any] = [None] * len(images)
        failed: dict[int, BaseException] = {}
        decoded: list[tuple[int, torch.Tensor, ImageInfo]] = []
        for index, image in enumerate(images):
            try:
                x, info = to_tensor(image)
            except Exception as exc:  # noqa: BLE001 - reported per item, as the policy says
                if policy == "raise":
                    raise
                failed[index] = exc
                continue
            decoded.append((index, x, info))
        for group in size_batches([tuple(x.shape[-2:]) for _, x, _ in decoded], batch, self._batchable()):
            items = [decoded[i] for i in group]
            try:
                outs = self.process_batch([x for _, x, _ in items], [info for _, _, info in items],
                                          tile=tile, tile_pad=tile_pad, outscale=outscale)
            except Exception as exc:  # noqa: BLE001
                if policy == "raise":
                    raise
                for index, _, _ in items:
                    failed[index] = exc
                continue
            for (index, _, _), out in zip(items, outs):
                results[index] = out
        if policy == "return":
            for index, exc in failed.items():
                results[index] = exc
            return results
        if failed:
            warnings.warn(f"{len(failed)} of {len(images)} images failed and were skipped: " + "; ".join(
                f"[{i}] {exc}" for i, exc in sorted(failed.items())[:5]), RuntimeWarning, stacklevel=2)
        return [r for i, r in enumerate(results) if i not in failed]

    def _batchable(self) -> bool:
        """An alternative mode (pix2pix's batch statistics) must see one image at a time."""
        return self._mode_factory is None

    def process_batch(self, tensors: Sequence[torch.Tensor], infos: Sequence[ImageInfo], *,
                      tile: int | str | None = None, tile_pad: int | None = None,
                      outscale: float | None = None) -> list[Any]:
        """Equal-size (3,H,W) tensors from :func:`zoo.images.to_tensor` -> outputs, one forward pass."""
        x = torch.stack(list(tensors)) if len(tensors) > 1 else tensors[0][None]
        y = self.process(x, tile=tile, tile_pad=tile_pad, outscale=outscale).cpu()
        return [self.to_output(y[i], info) for i, info in enumerate(infos)]

    def to_output(self, y: torch.Tensor, info: ImageInfo) -> Any:
        if info.alpha is not None and info.alpha.shape[-2:] != y.shape[-2:]:
            alpha = resize(info.alpha[None], tuple(y.shape[-2:]))[0].clamp(0, 1)
            info = replace(info, alpha=alpha)
        return from_tensor(y, info, self.processing.quantize, keep_gray=self.keep_gray)

    @torch.inference_mode()
    def process(self, x: torch.Tensor, *, tile: int | str | None = None, tile_pad: int | None = None,
                outscale: float | None = None) -> torch.Tensor:
        """(N,3,H,W) float RGB in [0,1] -> (N,3,sH,sW) float32 in [0,1]."""
        tile = self.tile if tile is None else options.check_tile(tile)
        tile_pad = self.tile_pad if tile_pad is None else options.check_tile_pad(tile_pad)
        outscale = options.check_outscale(outscale)
        tileable = self.processing.options.get("tileable", True)
        if tile == "auto":
            tile = self.auto_tile(x) if tileable else 0
        if tile and not tileable:
            raise options.OptionError(self._untileable_message(tile))
        if tile and self._mode_factory is not None:
            raise options.OptionError(f"inference mode {self.mode!r} normalises over the whole input: tiling would change "
                             "the result; pass tile=0")
        if not tile:
            x = x.to(self.device)
        z = self.preprocess(x)
        if self._mode_factory is None:
            y = self.run_model(z, int(tile or 0), int(tile_pad))
        else:
            with self._mode_factory(self):
                y = self.run_model(z, 0, 0)
        return self.apply_outscale(self.postprocess(y), tuple(x.shape[-2:]), outscale)

    @staticmethod
    def apply_outscale(out: torch.Tensor, input_size: tuple[int, int], outscale: float | None) -> torch.Tensor:
        """Resize an output to ``outscale`` times the input size (Real-ESRGAN's ``--outscale``); None keeps it."""
        if outscale is None:
            return out
        h, w = input_size
        return resize(out, (max(1, round(h * outscale)), max(1, round(w * outscale)))).clamp(0, 1)

    # -- stages a task may override -----------------------------------------------------------
    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        """[0,1] -> the model's input range."""
        lo, hi = self.processing.value_range
        return x * (hi - lo) + lo if (lo, hi) != (0.0, 1.0) else x

    def postprocess(self, y: torch.Tensor) -> torch.Tensor:
        """The model's output range -> [0,1], float32."""
        lo, hi = self.processing.out_range
        y = y.float()
        if (lo, hi) != (0.0, 1.0):
            y = (y - lo) / (hi - lo)
        return y.clamp(0, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Run the network on one padded batch already in model range; falls back to fp32 on NaN/inf."""
        z = z.to(self.device, self.dtype)
        out = self.model(z)
        if self.dtype != torch.float32 and not torch.isfinite(out).all():
            warnings.warn(f"{self.entry.name}: non-finite values in {self.dtype} output; this part was recomputed "
                          "in float32 (pass dtype='fp32' to always use it)", RuntimeWarning, stacklevel=2)
            self.model.float()
            try:
                out = self.model(z.float())
            finally:
                self.model.to(self.dtype)
        return out

    def run_model(self, z: torch.Tensor, tile: int = 0, tile_pad: int = 10) -> torch.Tensor:
        """Pad to the size multiple, run (whole or tiled), crop back to scale x input size."""
        m, s = self.processing.size_multiple, self.processing.scale
        h, w = z.shape[-2:]
        zp = pad_to_multiple(z, m)
        if tile and (zp.shape[-2] > tile or zp.shape[-1] > tile):
            y = self.tiled_forward(zp, _round_up(tile, m), _round_up(tile_pad, m) if tile_pad else 0)
        else:
            y = self.forward(zp)
            self.check_scale(tuple(zp.shape[-2:]), tuple(y.shape[-2:]))
        return y[..., : h * s, : w * s]

    def check_scale(self, given: tuple[int, ...], got: tuple[int, ...]) -> None:
        """The network's output must be ``processing.scale`` times its input (a little more is fine, e.g. TF
        SAME padding): cropping would otherwise hide an x4 network in an x2 entry (the top-left quarter)."""
        s = self.processing.scale
        if all(o >= i * s and round(o / i) == s for o, i in zip(got, given)):
            return
        ratio = "x".join(sorted({f"{o / i:g}" for o, i in zip(got, given)}))
        raise CatalogError(f"entry {self.entry.name!r}: processing.scale is {s} but the network gives {got[0]}x{got[1]} "
                           f"for a {given[0]}x{given[1]} input (x{ratio}); fix the entry's processing.scale or its "
                           "architecture's scale kwargs")

    def tiled_forward(self, z: torch.Tensor, tile: int, pad: int) -> torch.Tensor:
        """Run ``z`` (already padded to the size multiple) tile by tile with ``pad`` pixels of context."""
        s = self.processing.scale
        n, _, h, w = z.shape
        out: torch.Tensor | None = None
        for top in range(0, h, tile):
            for left in range(0, w, tile):
                bottom, right = min(top + tile, h), min(left + tile, w)
                t0, l0 = max(top - pad, 0), max(left - pad, 0)
                b0, r0 = min(bottom + pad, h), min(right + pad, w)
                piece = self.forward(z[..., t0:b0, l0:r0]).to("cpu" if z.device.type == "cpu" else z.device)
                if out is None:
                    self.check_scale((b0 - t0, r0 - l0), tuple(piece.shape[-2:]))
                    out = torch.empty(n, piece.shape[1], h * s, w * s, dtype=piece.dtype, device=piece.device)
                out[..., top * s: bottom * s, left * s: right * s] = piece[
                    ..., (top - t0) * s: (bottom - t0) * s, (left - l0) * s: (right - l0) * s]
        assert out is not None
        return out

    def auto_tile(self, x: torch.Tensor) -> int:
        """A tile size from free memory: probe the model's peak memory per pixel on CUDA, keep half free.

        On the CPU, where memory is rarely the limit, tile only images above 1024x1024 (512-pixel tiles).
        """
        h, w = x.shape[-2:]
        if self.device.type != "cuda":
            return 512 if h * w > 1024 * 1024 else 0
        probe = 128
        torch.cuda.synchronize(self.device)
        torch.cuda.reset_peak_memory_stats(self.device)
        base = torch.cuda.memory_allocated(self.device)
        self.forward(torch.zeros(1, self.processing.channels, probe, probe, device=self.device))
        per_pixel = max(1, (torch.cuda.max_memory_allocated(self.device) - base)) / (probe * probe) * x.shape[0]
        free, _ = torch.cuda.mem_get_info(self.device)
        side = int(math.sqrt(0.5 * free / per_pixel))
        side = max(self.processing.size_multiple, side - side % 32)
        return 0 if side >= max(h, w) else side


def size_batches(sizes: Sequence[tuple[int, ...]], batch_size: int, batchable: bool = True) -> list[list[int]]:
    """Indices grouped into batches of equal-size images, at most ``batch_size`` each, in first-seen order."""
    if not batchable or batch_size <= 1:
        return [[i] for i in range(len(sizes))]
    groups: dict[tuple[int, ...], list[int]] = {}
    for index, size in enumerate(sizes):
        groups.setdefault(tuple(size), []).append(index)
    return [indices[start:start + batch_size] for indices in groups.values()
            for start in range(0, len(indices), batch_size)]
