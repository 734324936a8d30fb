"""What a report was measured on: machine, software versions, git commit, and the device's dense peak.

Peak numbers are the vendors' dense (no structured sparsity) tensor-core TFLOP/s for bf16/fp16 with
fp32 accumulation, and plain (non-TF32) fp32. They turn achieved TFLOP/s into a percentage; override
them with a suite's ``peak_tflops`` or ``ZOO_BENCH_PEAK_TFLOPS="bf16=989,fp32=67"``.
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any, Mapping

from zoo.bench.suite import SuiteError
from zoo.inference.tuning import cpu_name
from zoo.version import VERSION

#: substring of ``torch.cuda.get_device_name()`` (checked in order) -> dense TFLOP/s per dtype
GPU_PEAK_TFLOPS: tuple[tuple[str, dict[str, float]], ...] = (
    ("H200", {"bf16": 989.4, "fp16": 989.4, "fp32": 66.9}),
    ("H100 PCIe", {"bf16": 756.0, "fp16": 756.0, "fp32": 51.2}),
    ("H100", {"bf16": 989.4, "fp16": 989.4, "fp32": 66.9}),
    ("A100", {"bf16": 312.0, "fp16": 312.0, "fp32": 19.5}),
    ("L40S", {"bf16": 362.0, "fp16": 362.0, "fp32": 91.6}),
    ("L4", {"bf16": 121.0, "fp16": 121.0, "fp32": 30.3}),
    ("RTX 4090", {"bf16": 165.2, "fp16": 165.2, "fp32": 82.6}),
    ("A10G", {"bf16": 70.0, "fp16": 70.0, "fp32": 31.2}),
    ("A10", {"bf16": 125.0, "fp16": 125.0, "fp32": 31.2}),
    ("T4", {"fp16": 65.0, "fp32": 8.1}),
    ("V100", {"fp16": 125.0, "fp32": 15.7}),
)


def parse_peak_env(text: str | None) -> dict[str, float]:
    """``"bf16=989,fp32=67"`` -> ``{"bf16": 989.0, "fp32": 67.0}``."""
    out: dict[str, float] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        key, _, value = part.partition("=")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            raise SuiteError(f"ZOO_BENCH_PEAK_TFLOPS: {part!r} is not DTYPE=TFLOPS (e.g. bf16=989,fp32=67)") from None
    return out


def device_peak_tflops(device_name: str, dtype: str, overrides: Mapping[str, float] | None = None) -> float | None:
    """Dense peak of ``device_name`` for ``dtype``; env and suite overrides win; None if unknown (CPUs)."""
    env = parse_peak_env(os.environ.get("ZOO_BENCH_PEAK_TFLOPS"))
    for table in (env, overrides or {}):
        if dtype in table:
            return float(table[dtype])
    for key, peaks in GPU_PEAK_TFLOPS:
        if key.lower() in device_name.lower():
            return peaks.get(dtype)
    return None


def _git_commit() -> str | None:
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def _driver() -> str | None:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None


def machine_info(device: str) -> dict[str, Any]:
    """Machine, OS, Python, torch, CUDA, driver, GPU, CPU threads and git commit."""
    import torch  # heavy


    info: dict[str, Any] = {
        "hostname": platform.node(), "os": platform.platform(), "python": platform.python_version(),
        "cpu": cpu_name(), "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__, "cuda": torch.version.cuda, "cudnn": None, "driver": None, "gpu": None,
        "device": device, "zoo": VERSION, "git_commit": _git_commit(),
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        index = torch.device(device).index or 0
        info["gpu"] = torch.cuda.get_device_name(index)
        info["gpu_memory_gib"] = round(torch.cuda.get_device_properties(index).total_memory / 2**30, 1)
        info["cudnn"] = torch.backends.cudnn.version()
        info["driver"] = _driver()
    return info


def device_label(info: Mapping[str, Any]) -> str:
    """A short file-system-safe device name for result folders: ``h200``, ``cpu``."""
    name = str(info.get("gpu") or "cpu").lower()
    for noise in ("nvidia ", "geforce ", "tesla "):
        name = name.replace(noise, "")
    return "".join(c if c.isalnum() else "-" for c in name).strip("-") or "device"


# -- how busy the machine is: read at the start and the end of a run --------------------------------
def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def cpu_governors() -> str | None:
    """The CPU frequency governor(s) (``performance``, ``powersave``, ``performance x2, powersave x14``), None
    where the kernel does not expose cpufreq (most containers and VMs)."""
    found = [g for g in (_read(p) for p in sorted(Path("/sys/devices/system/cpu").glob("cpu[0-9]*/cpufreq/scaling_governor")))
             if g]
    if not found:
        return None
    counts = {g: found.count(g) for g in dict.fromkeys(found)}
    return ", ".join(g if len(counts) == 1 else f"{g} x{n}" for g, n in counts.items())


def _cpu_mhz() -> float | None:
    values = []
    for path in Path("/sys/devices/system/cpu").glob("cpu[0-9]*/cpufreq/scaling_cur_freq"):
        text = _read(path)
        if text and text.isdigit():
            values.append(int(text) / 1000)
    return round(sum(values) / len(values)) if values else None


def gpu_clocks() -> dict[str, Any] | None:
    """SM/memory clocks (current and max), temperature, power and throttle reasons of GPU 0 (``nvidia-smi``)."""
    fields = ("clocks.sm", "clocks.max.sm", "clocks.mem", "temperature.gpu", "power.draw", "clocks_throttle_reasons.active")
    try:
        out = subprocess.run(["nvidia-smi", f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0 or not out.stdout.strip():
        return None
    values = [v.strip() for v in out.stdout.strip().splitlines()[0].split(",")]
    keys = ("sm_mhz", "max_sm_mhz", "mem_mhz", "temperature_c", "power_w", "throttle_reasons")
    return dict(zip(keys, values))


def machine_state(device: str) -> dict[str, Any]:
    """Load average (1, 5, 15 min), cores, CPU governor and clock, GPU clocks on CUDA: one reading."""
    try:
        load = [round(v, 2) for v in os.getloadavg()]
    except OSError:
        load = None
    state: dict[str, Any] = {"load": load, "cpu_count": os.cpu_count(), "governor": cpu_governors(),
                             "cpu_mhz": _cpu_mhz()}
    if device.startswith("cuda"):
        state["gpu_clocks"] = gpu_clocks()
    return state
