"""How much to believe a run's speed numbers: the spread over rounds, the machine's load, one verdict.

Every setting is timed in interleaved rounds (:mod:`zoo.bench.speed`); a row keeps the median over rounds
and the range (min-max) of images/s and of the speedup. A run is *noisy* when the 1-minute load average at
its start or end was above the number of cores, or when a row's spread ((max - min) / median of images/s
over rounds) is above ``thresholds.noise_spread``. The report says so in red at the top; ``--strict-noise``
turns it into exit status 3; ``--baseline`` calls no row a regression when either run was noisy.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from zoo.bench.suite import DEFAULT_THRESHOLDS


def relative_spread(low: float | None, high: float | None, middle: float | None) -> float | None:
    """``(high - low) / middle``: the width of a row's range over rounds, relative to its median."""
    if low is None or high is None or not middle:
        return None
    return (high - low) / middle


def _busy_load(state: Mapping[str, Any] | None) -> float | None:
    """The 1-minute load average of a reading when it is above the core count, else None."""
    if not state or not state.get("load") or not state.get("cpu_count"):
        return None
    load = float(state["load"][0])
    return load if load > float(state["cpu_count"]) else None


def assess(speed: Sequence[Mapping[str, Any]], start: Mapping[str, Any] | None, end: Mapping[str, Any] | None,
           thresholds: Mapping[str, float] | None = None) -> dict[str, Any]:
    """The report's ``noise`` section: machine readings at start and end, noisy rows, and the verdict."""
    limit = float((thresholds or {}).get("noise_spread", DEFAULT_THRESHOLDS["noise_spread"]))
    reasons: list[str] = []
    for when, state in (("start", start), ("end", end)):
        load = _busy_load(state)
        if load is not None:
            reasons.append(f"load average {load:g} at the {when} of the run, above the {state['cpu_count']} cores")  # type: ignore[index]
    noisy_rows = [r for r in speed if r.get("status") == "ok" and (r.get("spread") or 0) > limit]
    if noisy_rows:
        worst = max(noisy_rows, key=lambda r: r["spread"])
        reasons.append(f"{len(noisy_rows)} of {sum(r.get('status') == 'ok' for r in speed)} rows spread more than "
                       f"{limit:.0%} over rounds (worst: {worst['model']} {worst['setting']} at {worst.get('size')} px, "
                       f"{worst['spread']:.0%})")
    return {"noisy": bool(reasons), "reasons": reasons, "spread_threshold": limit, "start": dict(start or {}),
            "end": dict(end or {}),
            "noisy_rows": [f"{r['model']} {r['setting']} {r.get('size')} px batch {r.get('batch')}" for r in noisy_rows]}


def describe_state(state: Mapping[str, Any] | None) -> str:
    """``load 0.42/0.51/0.60 on 16 cores, governor performance, 2900 MHz`` (or GPU clocks)."""
    if not state:
        return "not recorded"
    load = state.get("load")
    parts = [f"load {'/'.join(f'{v:g}' for v in load)} on {state.get('cpu_count')} cores" if load else "load unknown",
             f"governor {state.get('governor') or 'not exposed'}"]
    if state.get("cpu_mhz"):
        parts.append(f"{state['cpu_mhz']} MHz")
    clocks = state.get("gpu_clocks")
    if clocks:
        parts.append(f"GPU SM {clocks.get('sm_mhz')}/{clocks.get('max_sm_mhz')} MHz, memory {clocks.get('mem_mhz')} MHz, "
                     f"{clocks.get('temperature_c')} C, {clocks.get('power_w')} W, throttle {clocks.get('throttle_reasons')}")
    return ", ".join(parts)
