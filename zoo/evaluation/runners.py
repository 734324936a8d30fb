"""The per-kind loops of :func:`zoo.evaluation.evaluate`: read the set, run the model, score, keep samples."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Callable

import numpy as np

from zoo.datasets import DatasetError, get_dataset, resolve_dataset
from zoo.errors import ZooError
from zoo.evaluation.protocol import metric_label, protocol_for
from zoo.evaluation.rows import (EvaluationContext, EvaluationResult, as_rgb_array, center_crop, guarded, limit,
                                 make_row)
from zoo.metrics.dinov2 import DINOv2Features, fd_dinov2_from_features
from zoo.metrics.fid import FID, KID
from zoo.metrics.inception import InceptionFeatures
from zoo.metrics.paired import LPIPSMetric
from zoo.metrics.psnr_ssim import psnr, ssim
from zoo.metrics.style_distance import StyleDistance
from zoo.registry.records import import_object

SAMPLE_SIDE = 128  # side of the sample crops, in output pixels
_UNAVAILABLE: dict[tuple[str, str], str] = {}  # (metric key, weights) -> status, so a missing file is tried once


# -- model call and image helpers -------------------------------------------------------------------
def run_model(model: Any, image: np.ndarray, scale: int | None = None) -> np.ndarray:
    """uint8 HxWx3 -> the model's uint8 output; ``scale`` asks a rescaling pipeline for that factor."""
    kwargs = {}
    if scale is not None and scale != model.processing.scale:
        kwargs["outscale"] = scale
    out = np.asarray(model(image, **kwargs))
    if out.ndim == 2:
        out = np.repeat(out[..., None], 3, axis=2)
    return out[..., :3]


def fit_to(out: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Crop both to their common top-left size (an output a pixel larger than the reference, say)."""
    h, w = min(out.shape[0], ref.shape[0]), min(out.shape[1], ref.shape[1])
    return out[:h, :w], ref[:h, :w]


def shrink(img: np.ndarray, max_side: int | None) -> np.ndarray:
    if not max_side or max(img.shape[:2]) <= max_side:
        return img
    from PIL import Image  # heavy

    h, w = img.shape[:2]
    f = max_side / max(h, w)
    return np.asarray(Image.fromarray(img).resize((max(1, round(w * f)), max(1, round(h * f))), Image.BICUBIC))


def to_chw(img: np.ndarray):
    import torch  # heavy

    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).contiguous()


def sample(name: str, inp: np.ndarray, out: np.ndarray, ref: np.ndarray | None):
    """Centre crops of input/output/reference showing the same region (input upscaled nearest to match)."""
    from PIL import Image  # heavy

    h, w = out.shape[:2]
    side = min(SAMPLE_SIDE, h, w)
    top, left = (h - side) // 2, (w - side) // 2
    sy, sx = inp.shape[0] / h, inp.shape[1] / w
    i0, i1 = int(top * sy), max(int(top * sy) + 1, int(round((top + side) * sy)))
    j0, j1 = int(left * sx), max(int(left * sx) + 1, int(round((left + side) * sx)))
    inp_crop = Image.fromarray(inp[i0:i1, j0:j1]).resize((side, side), Image.NEAREST)
    crop = (lambda a: Image.fromarray(np.ascontiguousarray(a[top:top + side, left:left + side])))
    return (name, inp_crop, crop(out), crop(ref) if ref is not None and ref.shape[:2] == out.shape[:2] else None)


# -- metric back-ends --------------------------------------------------------------------------------
def explicit(ctx: EvaluationContext, key: str) -> str:
    """Flavour suffix naming an explicitly given metric weights file (not the official download)."""
    path = ctx.metric_weights.get(key)
    return f" [explicit weights {Path(path).name}]" if path else ""


def _cached_unavailable(key: str, ctx: EvaluationContext) -> str | None:
    return _UNAVAILABLE.get((key, str(ctx.metric_weights.get(key))))


def _remember(key: str, ctx: EvaluationContext, status: str) -> None:
    if status.startswith("unavailable"):
        _UNAVAILABLE[(key, str(ctx.metric_weights.get(key)))] = status


def lpips_values(ctx: EvaluationContext, pairs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[float | None, str]:
    """Mean LPIPS-alex v0.1 over (output, reference) uint8 pairs, or (None, status)."""
    hit = _cached_unavailable("lpips", ctx)
    if hit:
        return None, hit

    def compute() -> float:
        metric = LPIPSMetric("alex", "0.1", device=ctx.device, backbone_weights=ctx.metric_weights.get("lpips"),
                             offline=ctx.offline)
        for a, b in pairs:
            metric.update(to_chw(a)[None], to_chw(b)[None])
        return float(metric.compute().value)

    value, status = guarded(compute)
    _remember("lpips", ctx, status)
    return value, status


def distribution_rows(ctx: EvaluationContext, fakes: list[np.ndarray], reals: list[np.ndarray], wanted: tuple[str, ...],
                      n: int, label: str) -> list[dict]:
    """FID / KID (named flavour) and FD-DINOv2 between generated and real uint8 images."""
    proto, entry = ctx.protocol, ctx.entry
    rows = []
    fake_t, real_t = [to_chw(f) for f in fakes], [to_chw(r) for r in reals]
    if "fid" in wanted or "kid" in wanted:
        hit = _cached_unavailable("fid", ctx)
        extractor, status = (None, hit) if hit else guarded(_inception, ctx)
        _remember("fid", ctx, status)
        for metric in ("fid", "kid"):
            if metric not in wanted:
                continue
            value, st = (None, status)
            if extractor is not None:
                value, st = guarded(_inception_metric, metric, extractor, fake_t, real_t)
            rows.append(make_row(entry, proto, metric, value, flavour=f"{proto.fid_flavour} (Inception pool3)" + explicit(ctx, "fid"),
                                 n=n, status=st, dataset_label=label))
    if "fd-dinov2" in wanted:
        hit = _cached_unavailable("dinov2", ctx)
        value, status = (None, hit) if hit else guarded(_fd_dinov2, ctx, fake_t, real_t)
        _remember("dinov2", ctx, status)
        rows.append(make_row(entry, proto, "fd-dinov2", value, flavour="DINOv2 ViT-L/14 CLS, PIL bicubic 224 (timm)" + explicit(ctx, "dinov2"),
                             n=n, status=status, dataset_label=label))
    return rows


_EXTRACTORS: dict[tuple, Any] = {}  # feature networks kept for the next model of a suite (ViT-L loads in seconds)


def _cached_extractor(key: tuple, build: Callable[[], Any]) -> Any:
    if key not in _EXTRACTORS:
        if len(_EXTRACTORS) >= 4:
            _EXTRACTORS.clear()
        _EXTRACTORS[key] = build()
    return _EXTRACTORS[key]


def _inception(ctx: EvaluationContext):
    weights = ctx.metric_weights.get("fid")
    return _cached_extractor(("inception", ctx.protocol.fid_flavour, ctx.device, str(weights)), lambda: InceptionFeatures(
        ctx.protocol.fid_flavour, device=ctx.device, weights=weights, offline=ctx.offline))


def _inception_metric(metric: str, extractor, fakes, reals) -> float:
    m = FID(extractor=extractor) if metric == "fid" else KID(extractor=extractor, subsets=100)
    m.update(fake=fakes, real=reals)
    return float(m.compute().value)


def _fd_dinov2(ctx: EvaluationContext, fakes, reals) -> float:
    weights = ctx.metric_weights.get("dinov2")
    extractor = _cached_extractor(("dinov2", ctx.device, str(weights)), lambda: DINOv2Features(
        device=ctx.device, weights=weights, offline=ctx.offline))
    return fd_dinov2_from_features(extractor(fakes), extractor(reals))


# -- restoration ---------------------------------------------------------------------------------------
def _restoration_items(ctx: EvaluationContext) -> list[tuple[str, Callable[[], tuple[np.ndarray, np.ndarray]]]]:
    proto, local = ctx.protocol, ctx.local
    scale = proto.scale
    layout = local.record.layout
    if layout == "sr-pairs":
        return [(name, (lambda lr=lr, hr=hr: (as_rgb_array(lr), as_rgb_array(hr))))
                for name, lr, hr in limit(local.sr_pairs(scale), ctx.max_images)]
    if layout == "images":
        if not proto.degrade:
            raise DatasetError(f"dataset {local.name!r} has plain images; task {ctx.entry.task!r} names no degrade "
                               f"function to make inputs from them (Task.evaluation['degrade'])")
        degrade = import_object(proto.degrade, what="evaluation degrade function")
        size = proto.center_crop or local.record.options.get("center_crop")

        def item(path: Path):
            hr = center_crop(as_rgb_array(path), size, scale)
            return np.asarray(degrade(hr, scale)), hr

        return [(p.stem, (lambda p=p: item(p))) for p in limit(local.images(), ctx.max_images)]
    raise DatasetError(f"dataset {local.name!r} has layout {layout!r}; {ctx.entry.task} evaluation needs "
                       f"sr-pairs (HR/LR by scale) or images")


def run_restoration(ctx: EvaluationContext) -> EvaluationResult:
    proto, entry = ctx.protocol, ctx.entry
    wanted = tuple(dict.fromkeys(metric_label(m, proto) for m in proto.metric_names()))
    result = EvaluationResult()
    scores: dict[str, list[float]] = {"psnr": [], "ssim": []}
    pairs = []
    for index, (name, load) in enumerate(_restoration_items(ctx)):
        lr, hr = load()
        sr, hr_fit = fit_to(run_model(ctx.model, lr, proto.scale), hr)
        c = proto.crop_border
        scores["psnr"].append(psnr(sr, hr_fit, crop_border=c, test_y_channel=proto.y_channel))
        scores["ssim"].append(ssim(sr, hr_fit, crop_border=c, test_y_channel=proto.y_channel))
        pairs.append((sr[c:sr.shape[0] - c, c:sr.shape[1] - c], hr_fit[c:hr_fit.shape[0] - c, c:hr_fit.shape[1] - c]))
        if index < ctx.samples:
            result.samples.append(sample(name, lr, sr, hr_fit))
    n = len(pairs)
    channel = "Y (MATLAB rgb2ycbcr)" if proto.y_channel else "RGB"
    for metric in wanted:
        base = metric.split("-")[0] if metric in ("psnr-y", "ssim-y") else metric
        if base in ("psnr", "ssim"):
            value = float(np.mean(scores[base])) if n else None
            result.rows.append(make_row(entry, proto, metric, value, n=n,
                                        flavour=f"{channel}, crop {proto.crop_border}, uint8 output"))
        elif base == "lpips":
            value, status = lpips_values(ctx, pairs) if n else (None, "error: no images")
            result.rows.append(make_row(entry, proto, "lpips", value, n=n, status=status,
                                        flavour=f"alex v0.1, RGB, crop {proto.crop_border}" + explicit(ctx, "lpips")))
    return result


# -- translation ---------------------------------------------------------------------------------------
def _reference_status(ctx: EvaluationContext) -> str:
    """Why an inputs-only set gives no reference metrics: the archive of the entry's own evaluation set."""
    own = protocol_for(ctx.entry).dataset
    with _suppress():
        record = get_dataset(own)
        urls = [s for s in record.sources if not s.url.startswith("package://")]
        if urls:
            name = urls[0].file_name or urls[0].url.rstrip("/").rsplit("/", 1)[-1]
            return f"unavailable: {name} from {urls[0].url} (reference images of {own}; {ctx.local.name!r} has inputs only)"
    return f"unavailable: dataset {ctx.local.name!r} has inputs only and {own!r} is not downloadable"


def _suppress():
    return contextlib.suppress(ZooError)


def run_inputs_only(ctx: EvaluationContext) -> EvaluationResult:
    """Translation on a plain image set (the embedded default): outputs for the grids, reference metrics unavailable."""
    proto = ctx.protocol
    result = EvaluationResult()
    size = proto.center_crop or ctx.local.record.options.get("center_crop")
    paths = limit(ctx.local.images(), ctx.max_images)
    for index, path in enumerate(paths[: max(ctx.samples, 0)]):
        src = shrink(center_crop(as_rgb_array(path), size), proto.max_side)
        result.samples.append(sample(path.stem, src, run_model(ctx.model, src), None))
    status = _reference_status(ctx)
    for metric in dict.fromkeys(metric_label(m, proto) for m in proto.metric_names()):
        result.rows.append(make_row(ctx.entry, proto, metric, None, flavour="", n=0, status=status))
    return result


def _split_side_by_side(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    half = img.shape[1] // 2
    return img[:, :half], img[:, half:2 * half]


def run_paired(ctx: EvaluationContext) -> EvaluationResult:
    proto, entry, local = ctx.protocol, ctx.entry, ctx.local
    if local.record.layout == "images":
        return run_inputs_only(ctx)
    if local.record.layout != "paired":
        raise DatasetError(f"dataset {local.name!r} has layout {local.record.layout!r}; paired translation needs "
                           f"a paired dataset (A|B images or NAME-a/NAME-b files)")
    result = EvaluationResult()
    outs, refs, scores = [], [], {"psnr": [], "ssim": []}
    for index, (name, a_path, b_path) in enumerate(limit(local.pairs(proto.split), ctx.max_images)):
        if b_path is None:
            a, b = _split_side_by_side(as_rgb_array(a_path))
        else:
            a, b = as_rgb_array(a_path), as_rgb_array(b_path)
        src, ref = (a, b) if proto.direction == "AtoB" else (b, a)
        out, ref = fit_to(run_model(ctx.model, shrink(src, proto.max_side)), shrink(ref, proto.max_side))
        outs.append(out), refs.append(ref)
        scores["psnr"].append(psnr(out, ref)), scores["ssim"].append(ssim(out, ref))
        if index < ctx.samples:
            result.samples.append(sample(name, src, out, ref))
    n = len(outs)
    wanted = tuple(metric_label(m, proto) for m in proto.metric_names())
    label = f"{proto.dataset} {proto.split} {proto.direction}"
    for metric in wanted:
        if metric in ("psnr", "ssim"):
            result.rows.append(make_row(entry, proto, metric, float(np.mean(scores[metric])), n=n,
                                        flavour="RGB, no crop", dataset_label=label))
        elif metric == "lpips":
            value, status = lpips_values(ctx, list(zip(outs, refs)))
            result.rows.append(make_row(entry, proto, metric, value, n=n, status=status, flavour="alex v0.1, RGB" + explicit(ctx, "lpips"),
                                        dataset_label=label))
    result.rows.extend(distribution_rows(ctx, outs, refs, wanted, n, label))
    return result


def run_unpaired(ctx: EvaluationContext) -> EvaluationResult:
    proto, local = ctx.protocol, ctx.local
    if local.record.layout == "images":
        return run_inputs_only(ctx)
    if local.record.layout != "unpaired":
        raise DatasetError(f"dataset {local.name!r} has layout {local.record.layout!r}; unpaired translation needs "
                           f"trainA/trainB/testA/testB folders")
    src_side, ref_side = ("A", "B") if proto.direction == "AtoB" else ("B", "A")
    result = EvaluationResult()
    outs = []
    for index, path in enumerate(limit(local.domain(proto.split, src_side), ctx.max_images)):
        src = shrink(as_rgb_array(path), proto.max_side)
        out = run_model(ctx.model, src)
        outs.append(out)
        if index < ctx.samples:
            result.samples.append(sample(path.stem, src, out, None))
    refs = [shrink(as_rgb_array(p), proto.max_side) for p in local.domain(proto.split, ref_side)]
    wanted = tuple(metric_label(m, proto) for m in proto.metric_names())
    label = f"{proto.dataset} {proto.split}{src_side}->{proto.split}{ref_side}"
    result.rows.extend(distribution_rows(ctx, outs, refs, wanted, len(outs), label))
    return result


# -- style transfer ----------------------------------------------------------------------------------------
def _style_image(ctx: EvaluationContext) -> np.ndarray | None:
    proto = ctx.protocol
    if not proto.style_image:
        return None

    local = resolve_dataset(proto.style_dataset or "style-images", data=ctx.data, offline=ctx.offline)
    for path in local.images():
        if path.stem.lower() == proto.style_image.lower():
            return as_rgb_array(path)
    raise DatasetError(f"dataset {local.name!r} has no style image {proto.style_image!r}")


def run_style(ctx: EvaluationContext) -> EvaluationResult:
    proto, entry, local = ctx.protocol, ctx.entry, ctx.local
    if local.record.layout != "images":
        raise DatasetError(f"dataset {local.name!r} has layout {local.record.layout!r}; style transfer needs images")
    result = EvaluationResult()
    outs, contents = [], []
    size = proto.center_crop or local.record.options.get("center_crop")
    for index, path in enumerate(limit(local.images(), ctx.max_images)):
        content = shrink(center_crop(as_rgb_array(path), size), proto.max_side)
        out, content_fit = fit_to(run_model(ctx.model, content), content)
        outs.append(out), contents.append(content_fit)
        if index < ctx.samples:
            result.samples.append(sample(path.stem, content, out, None))
    n = len(outs)
    wanted = tuple(metric_label(m, proto) for m in proto.metric_names())
    style_img, style_status = None, "ok"
    if "style-distance" in wanted:
        style_img, style_status = guarded(_style_image, ctx)
        if style_status == "ok" and style_img is None:
            style_status = "error: the entry names no style image (evaluation.style_image)"
    distances, status = (None, "ok")
    if {"content-distance", "style-distance"} & set(wanted):
        hit = _cached_unavailable("vgg16", ctx)
        distances, status = (None, hit) if hit else guarded(_vgg_distances, ctx, outs, contents, style_img)
        _remember("vgg16", ctx, status)
    flavour = ("VGG16 ImageNet, relu2_2 content MSE / Gram (relu1_2..relu4_3) MSE, pytorch-examples normalisation"
               + explicit(ctx, "vgg16"))
    for metric in wanted:
        if metric == "content-distance":
            result.rows.append(make_row(entry, proto, metric, distances["content"] if distances else None, n=n,
                                        status=status, flavour=flavour))
        elif metric == "style-distance":
            value = distances.get("style") if distances else None
            st = style_status if style_status != "ok" else status
            result.rows.append(make_row(entry, proto, metric, value if st == "ok" else None, n=n, status=st,
                                        flavour=flavour + f"; style image {proto.style_image}"))
        elif metric == "lpips-content":
            value, st = lpips_values(ctx, list(zip(outs, contents)))
            result.rows.append(make_row(entry, proto, metric, value, n=n, status=st, flavour="alex v0.1, RGB" + explicit(ctx, "lpips")))
    return result


def _vgg_distances(ctx: EvaluationContext, outs, contents, style_img) -> dict[str, float]:
    metric = StyleDistance(device=ctx.device, weights=ctx.metric_weights.get("vgg16"), offline=ctx.offline)
    return metric.mean_distances([to_chw(o) for o in outs], [to_chw(c) for c in contents],
                                 to_chw(style_img) if style_img is not None else None)
