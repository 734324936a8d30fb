"""Inference backends: the same pipeline around another runner of the network.

``zoo.load(name, backend=...)`` (CLI ``--backend``) keeps the entry's pre/post-processing and replaces only
the network by an ``nn.Module`` with the same call signature:

* ``eager`` — the PyTorch module itself (default; ``backend_options``: ``channels_last``, weights and inputs in
  channels_last memory format, which oneDNN/cuDNN run faster for some networks and slower for others);
* ``compile`` — ``torch.compile`` (inductor with freezing, so convolution weights are pre-packed), the
  input in channels_last memory format (``backend_options``: ``channels_last``, ``freezing``, ``mode``,
  ``dynamic``, ``compiler``);
* ``onnxruntime`` — an ONNX export of the network (dynamic sizes, verified against PyTorch when it is
  written, :mod:`zoo.export`) run by an onnxruntime session. Exports are cached in
  ``$ZOO_HOME/exports/<entry>/<weights sha256>-opset<N>-<dtype>.onnx`` keyed by the sha256 of the loaded
  weights, so the export happens once per weights file (``backend_options``: ``threads``,
  ``graph_optimization`` = all | extended | basic | disabled, ``opset``).

Inputs whose height/width are not multiples of the export's size multiple (only networks that round
odd sizes up, e.g. the TF-style Engstrom net) run through the eager module instead, with a warning,
so results never depend on the backend beyond float rounding.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import torch
from torch import nn

from zoo.errors import ZooError
from zoo.export import DEFAULT_OPSET, export_network, read_export_metadata, state_dict_digest
from zoo.inference.pipeline import parse_dtype
from zoo.files import zoo_home

if TYPE_CHECKING:
    from zoo.registry.catalog import Entry
    from zoo.weights.hub import ResolvedWeights

BACKENDS = ("eager", "compile", "onnxruntime")
GRAPH_OPTIMIZATION = ("all", "extended", "basic", "disabled")


class BackendError(ZooError, ValueError):
    """A backend that is unknown or cannot run this model here."""


class ChannelsLastNetwork(nn.Module):
    """The eager network with weights and 4-D inputs in channels_last memory format; outputs contiguous again."""

    backend = "eager"

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.network(x).contiguous()


class CompiledNetwork(nn.Module):
    """``torch.compile`` of a network; inputs converted to channels_last when asked (4-D convolutional nets)."""

    backend = "compile"

    def __init__(self, network: nn.Module, *, channels_last: bool = True, mode: str | None = None,
                 dynamic: bool | None = None, compiler: str = "inductor", freezing: bool = True) -> None:
        super().__init__()
        self.network = network
        self.channels_last = channels_last
        if channels_last:
            self.network.to(memory_format=torch.channels_last)
        # freezing: weights become constants, so inductor pre-packs them for oneDNN convolutions (inference only)
        options = {"freezing": True} if freezing and compiler == "inductor" and mode is None else None
        self._compiled = torch.compile(self.network, mode=mode, dynamic=dynamic, backend=compiler, options=options)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return self._compiled(x).contiguous()


class OnnxRuntimeNetwork(nn.Module):
    """An onnxruntime session with the network's call signature: (N,C,H,W) tensor in, tensor out."""

    backend = "onnxruntime"

    def __init__(self, path: str | Path, *, fallback: nn.Module | None = None, size_multiple: int = 1,
                 threads: int | None = None, graph_optimization: str = "all", providers: list[str] | None = None) -> None:
        super().__init__()
        import onnxruntime as ort  # heavy

        if graph_optimization not in GRAPH_OPTIMIZATION:
            raise BackendError(f"graph_optimization must be one of {', '.join(GRAPH_OPTIMIZATION)}, "
                               f"got {graph_optimization!r}")
        options = ort.SessionOptions()
        options.graph_optimization_level = {
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL, "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL}[graph_optimization]
        options.intra_op_num_threads = int(threads or torch.get_num_threads())
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.path = Path(path)
        self.session = ort.InferenceSession(str(path), options, providers=providers or ["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.input_dtype = torch.float16 if "float16" in self.session.get_inputs()[0].type else torch.float32
        self.size_multiple = size_multiple
        self.fallback = fallback
        self._warned = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if (h % self.size_multiple or w % self.size_multiple) and self.fallback is not None:
            if not self._warned:
                warnings.warn(f"onnxruntime backend: {h}x{w} is not a multiple of {self.size_multiple}, which the "
                              "export needs; such inputs run in PyTorch eager", RuntimeWarning, stacklevel=2)
                self._warned = True
            return self.fallback(x)
        array = x.detach().to("cpu", self.input_dtype).contiguous().numpy()
        out = self.session.run(None, {self.input_name: array})[0]
        return torch.from_numpy(out).to(x.device, x.dtype)


def export_cache_path(entry: Entry, digest: str, opset: int, dtype: str) -> Path:
    return zoo_home() / "exports" / entry.name / f"{digest[:32]}-opset{opset}-{dtype}.onnx"


def cached_onnx_export(network: nn.Module, entry: Entry, *, opset: int, dtype: str,
                       weights: ResolvedWeights | None = None, progress: bool = True) -> tuple[Path, int]:
    """The ONNX export of ``network`` from the zoo cache, exported (and verified) on first use.

    Returns ``(path, size multiple of the export)``.
    """
    from filelock import FileLock  # heavy


    digest = state_dict_digest(network)
    path = export_cache_path(entry, digest, opset, dtype)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if path.is_file() and _cached_metadata(path, digest) is None:
            warnings.warn(f"the cached export {path} is damaged or holds other weights: exporting it again",
                          stacklevel=2)
            path.unlink()
        if not path.is_file():
            log = (lambda text: print(f"zoo: exported for the onnxruntime backend: {text}", file=sys.stderr)) \
                if progress else None
            export_network(network, entry, path, format="onnx", dynamic=True, opset=opset, dtype=dtype,
                           weights=weights, log=log)
        meta = _cached_metadata(path, digest)
    if meta is None:
        raise BackendError(f"the export {path} just written does not hold the expected weights; delete "
                           f"{path.parent} and try again")
    return path, int(meta.get("size_multiple", "1"))


def _cached_metadata(path: Path, digest: str) -> dict[str, str] | None:
    """The export's metadata, or None when the file cannot be read or was exported from other weights."""
    try:
        meta = read_export_metadata(path)
    except Exception:  # noqa: BLE001 - a truncated or overwritten file fails in onnx's parser in many ways
        return None
    return meta if meta.get("zoo.weights_sha256") == digest else None


def wrap_backend(network: nn.Module, entry: Entry, backend: str, *, resolved: ResolvedWeights | None = None,
                 device: Any = None, dtype: Any = None, options: Mapping[str, Any] | None = None,
                 pipeline_options: Mapping[str, Any] | None = None) -> nn.Module:
    """``network`` run by ``backend`` (see the module docstring)."""
    options = dict(options or {})
    if backend not in BACKENDS:
        raise BackendError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    mode = (pipeline_options or {}).get("mode")
    if backend != "eager" and mode not in (None, "eval"):
        raise BackendError(f"inference mode {mode!r} switches layers of the PyTorch module; it needs backend='eager'")
    if backend == "eager":
        if set(options) - {"channels_last"}:
            raise BackendError(f"unknown eager options {sorted(set(options) - {'channels_last'})}; known: ['channels_last']")
        return ChannelsLastNetwork(network) if options.get("channels_last") else network
    network = network.eval()
    if backend == "compile":
        known = {"channels_last", "mode", "dynamic", "compiler", "freezing"}
        if set(options) - known:
            raise BackendError(f"unknown compile options {sorted(set(options) - known)}; known: {sorted(known)}")
        return CompiledNetwork(network, **options)
    known = {"threads", "graph_optimization", "opset", "progress"}
    if set(options) - known:
        raise BackendError(f"unknown onnxruntime options {sorted(set(options) - known)}; known: {sorted(known)}")
    device_type = torch.device(device).type if device is not None else "cpu"
    if device_type != "cpu":
        raise BackendError(f"the onnxruntime backend runs on the CPU here; got device={device!r}")

    torch_dtype = parse_dtype(dtype)
    if torch_dtype not in (torch.float32, torch.float16):
        raise BackendError(f"the onnxruntime backend supports fp32 and fp16, got {dtype!r}")
    export_dtype = "fp16" if torch_dtype == torch.float16 else "fp32"

    path, multiple = cached_onnx_export(network.float().cpu(), entry, opset=int(options.get("opset", DEFAULT_OPSET)),
                                        dtype=export_dtype, weights=resolved, progress=options.get("progress", True))
    return OnnxRuntimeNetwork(path, fallback=network, size_multiple=multiple, threads=options.get("threads"),
                              graph_optimization=options.get("graph_optimization", "all"))
