"""Timing one batch size of one model under every setting: interleaved rounds, medians and ranges.

Each setting (the fp32 eager baseline first) gets its first call timed on its own (``warmup_s``: what a
user waits for once; torch.compile pays here) and ``warmup - 1`` more warm-up calls, whose fastest sets how
many calls a round needs to last ``min_round_s`` (at least ``iters``). Then ``rounds`` rounds run, each timing
those calls of every setting in turn, the order reversed every other round, so a drift of the machine
(another job, thermal throttling) hits every setting alike. A row holds
the median over rounds (which gives images/s, ms/image and the speedup alike), the range over rounds of
images/s and of the per-round speedup, and a p95 of single calls only when there are enough of them.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from zoo.bench.suite import Setting

def _sync(cuda: bool) -> None:
    if cuda:
        import torch  # heavy

        torch.cuda.synchronize()


def first_call(fn: Callable[[Any], Any], x, *, cuda: bool) -> tuple[Any, float]:
    """The output of the first call and its seconds: what a user waits for once (torch.compile pays here)."""
    _sync(cuda)
    start = time.perf_counter()
    out = fn(x)
    _sync(cuda)
    return out, time.perf_counter() - start


def timed_calls(fn: Callable[[Any], Any], x, iters: int, *, cuda: bool) -> list[float]:
    """Seconds of each of ``iters`` calls (CUDA events and one synchronisation on a GPU)."""
    if cuda:
        import torch  # heavy

        events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(iters)]
        for begin, end in events:
            begin.record()
            fn(x)
            end.record()
        torch.cuda.synchronize()
        return [b.elapsed_time(e) / 1000 for b, e in events]
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t0)
    return times


#: the most calls a round gets to fill ``min_round_s``
MAX_CALLS_PER_ROUND = 1000


def calls_per_round(iters: int, min_round_s: float, call_s: float) -> int:
    """``iters``, or more calls when ``iters`` calls of ``call_s`` seconds would not fill ``min_round_s``: a round of
    a sub-millisecond model is then long enough that one scheduler hiccup does not decide its figure."""
    if min_round_s <= 0 or call_s <= 0:
        return iters
    return max(iters, min(MAX_CALLS_PER_ROUND, math.ceil(min_round_s / call_s)))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


#: fewer timed calls than this give no p95 (with 3 calls, "p95" would be the maximum)
P95_MIN_CALLS = 20


@dataclass
class Arm:
    """One setting at one batch size: its callable, input, first output, and seconds per image per round."""

    setting: Setting
    call: Callable[[Any], Any] | None = None
    batch: int = 1
    x: Any = None
    out: Any = None
    first_s: float | None = None
    peak_mem_mib: float | None = None
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    iters: int | None = None  # timed calls per round, if not the suite's (short calls: see calls_per_round)
    round_s: list[float] = field(default_factory=list)  # seconds per image, one per round
    call_s: list[float] = field(default_factory=list)  # seconds per image, one per timed call

    def stats(self) -> dict[str, Any]:
        """Median and range over rounds of this arm, the figures every derived number comes from."""
        middle = statistics.median(self.round_s)
        out = {"images_per_s": round(1 / middle, 4), "ips_min": round(1 / max(self.round_s), 4),
               "ips_max": round(1 / min(self.round_s), 4), "ms_per_image_median": round(middle * 1000, 4),
               "ms_per_image_p95": round(percentile(self.call_s, 0.95) * 1000, 4)
               if len(self.call_s) >= P95_MIN_CALLS else None,
               "rounds": len(self.round_s), "timed_calls": len(self.call_s),
               "warmup_s": None if self.first_s is None else round(self.first_s, 4)}
        out["spread"] = round((out["ips_max"] - out["ips_min"]) / out["images_per_s"], 4)
        return out


def speedup(arm: Arm, baseline: Arm) -> dict[str, float]:
    """The arm's speedup over the baseline: ratio of the medians, and the range of the per-round ratios.

    The ratio of medians always lies inside the range of per-round ratios (the median is monotone), so a
    row never shows a speedup that its own range contradicts.
    """
    ratios = [b / a for a, b in zip(arm.round_s, baseline.round_s)]
    return {"speedup_vs_eager": round(statistics.median(baseline.round_s) / statistics.median(arm.round_s), 4),
            "speedup_min": round(min(ratios), 4), "speedup_max": round(max(ratios), 4)}


def run_rounds(arms: list[Arm], *, rounds: int, iters: int, cuda: bool,
               on_error: Callable[[Arm, BaseException], None]) -> None:
    """Time every ready arm ``iters`` calls per round for ``rounds`` rounds, settings alternating."""
    import torch  # heavy

    with torch.inference_mode():
        for r in range(rounds):
            ready = [a for a in arms if a.error is None and a.call is not None]
            for arm in ready if r % 2 == 0 else ready[::-1]:
                try:
                    times = timed_calls(arm.call, arm.x, arm.iters or iters, cuda=cuda)  # type: ignore[arg-type]
                except Exception as exc:  # noqa: BLE001 - the arm's row says why; the others go on
                    on_error(arm, exc)
                    continue
                arm.round_s.append(sum(times) / (len(times) * arm.batch))
                arm.call_s.extend(t / arm.batch for t in times)
