"""Folder-level metric API: ``available(name)``, ``compute(name, a, b, ...)`` and FID reference statistics."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from zoo.errors import UnknownNameError
from zoo.metrics import weights as metric_weights
from zoo.metrics.result import MetricResult

METRICS: dict[str, str] = {
    "fid": "Frechet Inception Distance between two folders (or a folder and a statistics .npz); flavour named",
    "kid": "Kernel Inception Distance (unbiased cubic-polynomial MMD^2, subsets), mean and std",
    "fd-dinov2": "Frechet distance in DINOv2 ViT-L/14 CLS feature space (Stein et al. 2023; timm, 224 px)",
    "lpips": "LPIPS between same-named images of two folders (net alex|vgg|squeeze, version 0.1|0.0)",
    "lpips-alex": "LPIPS with the AlexNet trunk (the usual choice)",
    "lpips-vgg": "LPIPS with the VGG16 trunk",
    "lpips-squeeze": "LPIPS with the SqueezeNet 1.1 trunk",
    "psnr": "PSNR in dB between same-named images (SR conventions: crop_border, Y channel)",
    "ssim": "SSIM between same-named images (SR conventions: crop_border, Y channel)",
}


def _lpips_net(name: str, options: dict[str, Any]) -> str:
    """The trunk named by ``lpips-<net>`` or by the ``net`` option (removed from ``options``)."""
    net = options.pop("net", None)
    if name.startswith("lpips-"):
        fixed = name.split("-", 1)[1]
        if net is not None and net != fixed:
            raise ValueError(f"metric {name!r} uses net {fixed!r} but net={net!r} was given")
        return fixed
    return net or "alex"


def _check_name(name: str) -> None:
    if name not in METRICS:
        raise UnknownNameError(f"unknown metric {name!r}; known: {', '.join(METRICS)}")


def available(name: str, **options: Any) -> tuple[bool, str]:
    """Whether ``name`` can run here without downloading, and why not (the missing file, its URL and cache path)."""
    from zoo.metrics.dinov2 import weights_status  # heavy

    _check_name(name)
    if name in ("psnr", "ssim"):
        return True, "needs no weights"
    if name == "fd-dinov2":
        if importlib.util.find_spec("timm") is None:
            return False, "FD-DINOv2 builds the network with timm: pip install timm"

        return weights_status()
    if name in ("fid", "kid"):
        if importlib.util.find_spec("pytorch_fid") is None:
            return False, "the FID Inception blocks come from pytorch-fid: pip install pytorch-fid"
        ok, why = metric_weights.status(metric_weights.FID_INCEPTION)
        return ok, why
    net = _lpips_net(name, dict(options))
    version = options.get("version", "0.1")
    head_ok, head_why = metric_weights.lpips_head_status(net, version)
    trunk_ok, trunk_why = metric_weights.status(metric_weights.BACKBONES[net])
    if head_ok and trunk_ok:
        return True, f"{trunk_why}; {head_why}"
    return False, "; ".join(why for ok, why in ((trunk_ok, trunk_why), (head_ok, head_why)) if not ok)


def _feed_folder(metric, side: str, folder, *, batch_size: int, workers: int | None) -> int:
    from zoo.metrics.data import image_batches, list_images, shard  # heavy
    from zoo.metrics.fid import feed_folder  # heavy
    from zoo.metrics.paired import default_workers  # heavy
    from zoo.metrics.stats import distributed_world  # heavy

    files = shard(list_images(folder), *distributed_world())
    device = metric.extractor.device
    workers = default_workers(device) if workers is None else workers
    return feed_folder(metric, side, image_batches(files, batch_size=batch_size, workers=workers, device=device))


def fid_reference_stats(folder: str | os.PathLike[str], *, dataset: str | None = None, flavour: str = "clean",
                        dims: int = 2048, device=None, precision: str = "fp32", weights=None,
                        offline: bool | None = None, batch_size: int = 50, workers: int | None = None,
                        extractor=None, refresh: bool = False):
    """Real-image statistics of ``folder``; with ``dataset`` they are cached (and reused while the folder is unchanged)."""
    from zoo.metrics.data import fingerprint, list_images, size_label  # heavy
    from zoo.metrics.fid import FID  # heavy
    from zoo.metrics.inception import InceptionFeatures  # heavy
    from zoo.metrics.reference import ReferenceStats, cache_path, cached_stats  # heavy
    from zoo.metrics.stats import distributed_world  # heavy


    files = list_images(folder)
    fp = fingerprint(files, folder)
    extractor = extractor or InceptionFeatures(flavour, dims=dims, device=device, precision=precision,
                                               weights=weights, offline=offline)
    info = extractor.describe()
    size = size_label(files)
    path = cache_path(dataset, size, info) if dataset else None
    if path is not None and not refresh:
        hit = cached_stats(path, fp)
        if hit is not None:
            hit.check_compatible(info)
            return hit
    metric = FID(extractor=extractor)
    _feed_folder(metric, "real", folder, batch_size=batch_size, workers=workers)
    stats = metric.gathered("real", extractor.precision)
    meta = {**info, "size": size, "fingerprint": fp, "dataset": dataset, "folder": str(Path(folder).resolve())}
    ref = ReferenceStats(stats.mean().cpu().numpy(), stats.covariance().cpu().numpy(), stats.count, meta,
                         source=str(path) if path else str(folder))
    if path is not None and distributed_world()[0] == 0:
        ref.save(path)
    return ref


def _fid(a, b, *, reference_name: str | None = None, compare_reference: bool = False, batch_size: int = 50,
         workers: int | None = None, **options: Any) -> MetricResult:

    from zoo.metrics.data import list_images  # heavy
    from zoo.metrics.fid import FID  # heavy
    from zoo.metrics.reference import ReferenceStats  # heavy

    list_images(a)  # cheap checks first: a bad folder is reported before any weights are loaded
    if Path(b).suffix != ".npz":
        list_images(b)
    metric = FID(compare_reference=compare_reference, **options)
    if compare_reference:  # both precisions on both sides: no cached statistics
        _feed_folder(metric, "real", b, batch_size=batch_size, workers=workers)
    elif Path(b).suffix == ".npz":
        metric.set_reference(ReferenceStats.load(b))
    else:
        metric.set_reference(fid_reference_stats(b, dataset=reference_name, extractor=metric.extractor,
                                                 batch_size=batch_size, workers=workers))
    _feed_folder(metric, "fake", a, batch_size=batch_size, workers=workers)
    result = metric.compute()
    result.details.update(folder_a=str(a), folder_b=str(b))
    return result


def _kid(a, b, *, batch_size: int = 50, workers: int | None = None, **options: Any) -> MetricResult:
    from zoo.metrics.data import list_images  # heavy
    from zoo.metrics.fid import KID  # heavy

    list_images(a), list_images(b)
    metric = KID(**options)
    _feed_folder(metric, "fake", a, batch_size=batch_size, workers=workers)
    _feed_folder(metric, "real", b, batch_size=batch_size, workers=workers)
    result = metric.compute()
    result.details.update(folder_a=str(a), folder_b=str(b))
    return result


def compute(name: str, a: str | os.PathLike[str], b: str | os.PathLike[str], **options: Any) -> MetricResult:
    """Compute metric ``name`` between image folders ``a`` (generated / restored) and ``b`` (real / reference).

    Options by metric: fd-dinov2: ``device``, ``weights``, ``offline``, ``batch_size``, ``precision``. fid/kid: ``flavour`` (clean | pytorch-fid), ``dims``, ``device``, ``precision``
    (fp32 | bf16), ``compare_reference``, ``weights`` (explicit Inception file), ``batch_size``, ``workers``,
    ``offline``; fid also ``reference_name`` (cache b's statistics under this dataset name; b may be an
    .npz); kid ``subsets``, ``subset_size``, ``seed``. lpips: ``net``, ``version``, ``backbone_weights``,
    ``device``, ``batch_size``, ``workers``. psnr/ssim: ``crop_border``, ``test_y_channel``, or a named
    ``protocol`` (``sr-y``, ``sr-rgb``, ``plain``) with ``scale``.
    Missing weights raise :class:`zoo.errors.WeightsUnavailableError` naming the file and URL.
    """
    from zoo.metrics.dinov2 import fd_dinov2_folders  # heavy
    from zoo.metrics.paired import lpips_folders, pixel_folders  # heavy

    _check_name(name)
    options = dict(options)
    if name == "fid":
        return _fid(a, b, **options)
    if name == "kid":
        return _kid(a, b, **options)
    if name == "fd-dinov2":
        return fd_dinov2_folders(a, b, **options)
    if name.startswith("lpips"):
        return lpips_folders(a, b, net=_lpips_net(name, options), **options)

    return pixel_folders(name, a, b, **options)
