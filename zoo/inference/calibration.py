"""Calibration of fast settings: each one against fp32 eager on the bundled images, timed in interleaved rounds.

Each setting is built from a copy of the fp32 network through :func:`zoo.inference.backends.wrap_backend`
(exactly what ``zoo.load`` builds for it), run once on every calibration image (warm-up; its outputs
are compared with fp32 eager's: PSNR and max difference in grey levels on outputs mapped to [0, 1]), then
timed one sample per setting per round (several calls for a network that takes milliseconds), the order rotating every round so machine load hits all alike.
A setting that fails to build or run, or gives non-finite or misshaped outputs, is recorded with the reason
and never chosen. ``timer`` is injectable (tests use a fake clock; nothing here asserts what is faster).
"""

from __future__ import annotations

import copy
import statistics
import sys
import warnings
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
import torch
from PIL import Image
from torch import nn

from zoo.images.files import bundled_image
from zoo.inference.backends import wrap_backend
from zoo.inference.options import check_dtype
from zoo.inference.settings import FastSetting, Measurement, output_difference

if TYPE_CHECKING:
    from zoo.registry.catalog import Entry

CALIBRATION_IMAGES = ("astronaut_hr.png", "astronaut_lr_x4.png")
DEFAULT_ROUNDS = 5
MIN_ROUNDS = 3
#: timed rounds stop after MIN_ROUNDS once this many seconds have gone by (a heavy network at a large size)
MAX_SECONDS = 20.0
#: a timed sample lasts at least this long (fast networks are called several times per sample, at most MAX_REPEAT)
MIN_SAMPLE_S = 0.02
MAX_REPEAT = 20


def calibration_images(entry: Entry, side: int) -> list[torch.Tensor]:
    """The bundled images at ``side`` px (rounded up to the entry's size multiple), (1,C,H,W) in model range."""
    p = entry.processing
    side = -(-int(side) // p.size_multiple) * p.size_multiple
    lo, hi = p.value_range
    out = []
    for name in CALIBRATION_IMAGES:
        image = Image.open(bundled_image(name)).convert("RGB" if p.channels == 3 else "L")
        array = np.asarray(image.resize((side, side), Image.BICUBIC), dtype=np.float32) / 255.0
        x = torch.from_numpy(array.copy())
        x = x[None] if x.ndim == 2 else x.permute(2, 0, 1)
        out.append((x[None] * (hi - lo) + lo).contiguous())
    return out


def build_runner(network: nn.Module, entry: Entry, setting: FastSetting, device: torch.device) -> Callable:
    """``setting`` applied to a copy of ``network`` as ``zoo.load`` would: model-range input -> fp32 output."""
    dtype = check_dtype(setting.dtype)
    options = setting.backend_options
    if setting.backend == "onnxruntime":
        options = {"progress": False, **options}
    model = wrap_backend(copy.deepcopy(network), entry, setting.backend, device=device, dtype=dtype,
                         options=options or None)
    model = model.eval().to(device, dtype)

    def run(x: torch.Tensor) -> torch.Tensor:
        return model(x.to(device, dtype)).float()

    return run


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"error: {type(exc).__name__}: {text[:200]}".rstrip(": ")


def calibrate(network: nn.Module, entry: Entry, candidates: Sequence[FastSetting], *, device: torch.device, side: int,
              rounds: int | None = None, timer: Callable[[], float], progress: bool = True,
              build: Callable[..., Callable] | None = None) -> list[Measurement]:
    """Measure ``candidates`` (the first is fp32 eager, the reference) on ``network``; one row per candidate."""
    from tqdm.auto import tqdm  # heavy

    build = build or build_runner
    rounds = max(int(rounds or DEFAULT_ROUNDS), 1)
    images = calibration_images(entry, side)
    cuda = device.type == "cuda"
    network = network.float().eval()
    results = {s.name: Measurement(s) for s in candidates}
    runners: dict[str, Callable] = {}
    reference: list[torch.Tensor] = []

    repeat = 1  # calls per timed sample: a network taking a millisecond is timed over several calls

    def call(run: Callable, x: torch.Tensor) -> tuple[torch.Tensor, float]:
        start = timer()
        for _ in range(repeat):
            y = run(x)
        if cuda:
            torch.cuda.synchronize(device)
        return y, (timer() - start) / repeat

    if progress:
        print(f"zoo: measuring {len(candidates)} settings of {entry.name} at {images[0].shape[-1]} px against fp32 "
              f"eager ({', '.join(s.name for s in candidates[1:])}); cached for later loads", file=sys.stderr)
    bar = tqdm(total=len(candidates) * (1 + rounds), desc=f"tuning {entry.name}", unit="step", file=sys.stderr,
               disable=None if progress else True, leave=False)
    with bar, warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # compile/export chatter; failures are recorded per setting
        for setting in candidates:
            bar.set_postfix_str(setting.name)
            row = results[setting.name]
            try:
                start = timer()
                run = build(network, entry, setting, device)
                outputs = [call(run, x)[0] for x in images]
                row.prepare_s = round(timer() - start, 3)
                if not reference:
                    reference = outputs
                    one = call(run, images[0])[1]
                    repeat = max(1, min(MAX_REPEAT, round(MIN_SAMPLE_S / one))) if one > 0 else 1
                worst_grey, worst_psnr = 0.0, None
                for ref, out in zip(reference, outputs):
                    if out.shape != ref.shape:
                        raise ValueError(f"output shape {tuple(out.shape)}, fp32 eager {tuple(ref.shape)}")
                    if not torch.isfinite(out).all():
                        raise ValueError("non-finite values in the output")
                    grey, psnr = output_difference(ref, out, entry.processing.out_range)
                    worst_grey = max(worst_grey, grey)
                    worst_psnr = psnr if worst_psnr is None else (worst_psnr if psnr is None else min(worst_psnr, psnr))
                row.max_grey, row.psnr_db = worst_grey, worst_psnr
                runners[setting.name] = run
            except Exception as exc:  # noqa: BLE001 - any failure disqualifies the setting, never the load
                if setting is candidates[0]:
                    raise
                row.status = _reason(exc)
                bar.update(rounds)
            bar.update(1)
        times: dict[str, list[float]] = {name: [] for name in runners}
        order = list(runners)
        started = timer()
        for r in range(rounds):
            if r >= MIN_ROUNDS and timer() - started > MAX_SECONDS:
                bar.update(len(order) * (rounds - r))
                break
            shift = r % len(order)
            for name in order[shift:] + order[:shift]:
                if name in times:
                    try:
                        times[name].append(call(runners[name], images[r % len(images)])[1])
                    except Exception as exc:  # noqa: BLE001
                        if name == candidates[0].name:
                            raise
                        results[name].status = _reason(exc)
                        del times[name]
                bar.update(1)
    base_name = candidates[0].name
    for name, samples in times.items():
        median = statistics.median(samples)
        row = results[name]
        row.ms_median = round(median * 1000, 3)
        quartiles = statistics.quantiles(samples, n=4, method="inclusive") if len(samples) > 1 else [median] * 3
        row.spread_pct = round((quartiles[2] - quartiles[0]) / median * 100, 1) if median > 0 else None
        # per round, against the baseline's call of the same round (load drifts hit both alike)
        ratios = [b / t for b, t in zip(times[base_name], samples) if t > 0]
        row.speedup = 1.0 if name == base_name else (round(statistics.median(ratios), 3) if ratios else None)
    return [results[s.name] for s in candidates]

