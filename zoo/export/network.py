"""A network to ONNX or ``torch.export``, verified right after it is written.

``zoo.export("cyclegan-horse2zebra", "h2z.onnx", dynamic=True)`` (or ``zoo export NAME -o FILE``) ends here:

* the network only (no pre/post-processing); the entry's processing travels with the file as metadata
  (ONNX ``metadata_props``; ``zoo_metadata.json`` inside the ``.pt2``), so a consumer can scale inputs to
  ``value_range``, pad to ``size_multiple``, crop ``scale`` x the input size and map ``output_range`` back
  without the zoo;
* ``dynamic=True`` leaves batch, height and width free; height and width must then be multiples of the
  recorded ``size_multiple`` (the entry's, widened to what the network's stride-2 layers need);
* verification: the written file is run (onnxruntime on the CPU, or the exported program) at sizes other
  than the traced one (with ``dynamic``) and compared with the PyTorch network; the max abs difference is
  reported and above ``tolerance`` the export fails and leaves nothing behind (``zoo.files.atomic_path``);
* ONNX comes from the dynamo exporter (``torch.onnx.export(dynamo=True)`` on a ``torch.export`` program; needs
  ``onnxscript`` and opset >= 18) where it works and verifies, else from the TorchScript exporter, which
  upstream deprecates but which still covers every network here (``exporter="auto"``; the file's metadata
  ``zoo.onnx_exporter`` says which wrote it).

torch is imported only inside functions: ``import zoo`` stays light.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import math
import numbers
import os
import re
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from zoo.errors import OptionError, ZooError
from zoo.files import atomic_path, blocking_file
from zoo.version import VERSION

if TYPE_CHECKING:
    import torch
    from torch import nn

    from zoo.registry.catalog import Entry
    from zoo.weights.hub import ResolvedWeights

FORMATS = ("onnx", "torch-export")
SUFFIXES = {"onnx": ".onnx", "torch-export": ".pt2"}
DEFAULT_OPSET = 18
#: ONNX exporters: "auto" tries dynamo, then TorchScript
EXPORTERS = ("auto", "dynamo", "torchscript")
DYNAMO_MIN_OPSET = 18  # what torch's dynamo exporter writes natively (lower needs a version conversion that fails)
#: the opsets torch's ONNX exporters write at all (TorchScript: 7-20; dynamo: 18 and later)
MIN_OPSET, MAX_OPSET = 7, 20
#: max abs difference allowed between the export and PyTorch, on outputs scaled to [0, 1] (output_range)
TOLERANCE = {"fp32": 1e-4, "fp16": 1e-2}
INPUT_NAME, OUTPUT_NAME = "input", "output"
METADATA_FILE = "zoo_metadata.json"


class ExportError(ZooError, ValueError):
    """An export that could not be written or did not match the PyTorch network."""


@dataclass
class ExportReport:
    """What was written and how well it matches PyTorch."""

    path: Path
    format: str
    dtype: str
    dynamic: bool
    opset: int | None
    traced_size: tuple[int, int]
    verified_sizes: list[tuple[int, int]]
    max_abs_diff: float
    max_abs_diff_01: float
    tolerance: float
    size_multiple: int
    seconds: float
    metadata: dict[str, str] = field(default_factory=dict)
    exporter: str | None = None  # ONNX: "dynamo" or "torchscript"
    fallback_reason: str | None = None  # why the dynamo exporter was not used (exporter="auto")

    def summary(self) -> str:
        sizes = ", ".join(f"{h}x{w}" for h, w in self.verified_sizes)
        fmt = f"{self.format} ({self.exporter} exporter)" if self.exporter else self.format
        return (f"{self.path}: {fmt} {self.dtype}{' dynamic' if self.dynamic else ''}, traced at "
                f"{self.traced_size[0]}x{self.traced_size[1]}, verified at {sizes}: max abs diff {self.max_abs_diff:.3g} "
                f"({self.max_abs_diff_01:.3g} on [0,1] outputs, tolerance {self.tolerance:g}) in {self.seconds:.1f}s")


def _lcm(*values: int) -> int:
    out = 1
    for v in values:
        out = out * int(v) // math.gcd(out, int(v))
    return out


def shape_multiple(model: nn.Module, entry: Entry) -> int:
    """The smallest multiple of the entry's size multiple at which the network maps HxW to exactly scale*HxW.

    Probed on odd multiples (3m x 5m), which reveal stride-2 layers that round sizes up; networks whose
    size multiple is already 64 or more (U-Nets) are taken as they are.
    """
    import torch  # heavy

    p = entry.processing
    own = getattr(model, "size_multiple", 1)
    base = _lcm(p.size_multiple, own if isinstance(own, int) else 1)
    if base >= 64:
        return base
    dtype = next((t.dtype for t in model.parameters()), torch.float32)
    m = base
    with torch.no_grad():
        while m < 64:
            h, w = 3 * m, 5 * m
            try:
                out = model(_sample((1, p.channels, h, w), p.value_range, dtype, seed=0))
                if tuple(out.shape[-2:]) == (h * p.scale, w * p.scale):
                    return m
            except (RuntimeError, ValueError):
                pass
            m *= 2
    return m


def export_metadata(entry: Entry, *, size_multiple: int, dynamic: bool, dtype: str, fmt: str,
                    opset: int | None, weights: ResolvedWeights | None = None,
                    weights_digest: str | None = None) -> dict[str, str]:
    """The entry's processing, flattened to strings (ONNX metadata_props are str -> str)."""

    p = entry.processing
    meta = {
        "zoo.entry": entry.name, "zoo.task": entry.task, "zoo.architecture": entry.architecture,
        "zoo.architecture_kwargs": json.dumps(dict(entry.kwargs), sort_keys=True),
        "zoo.version": VERSION, "zoo.format": fmt, "zoo.dtype": dtype, "zoo.dynamic": str(dynamic).lower(),
        "layout": "NCHW, RGB", "input_name": INPUT_NAME, "output_name": OUTPUT_NAME,
        "value_range": json.dumps(list(p.value_range)), "output_range": json.dumps(list(p.out_range)),
        "scale": str(p.scale), "size_multiple": str(size_multiple), "channels": str(p.channels),
        "quantize": p.quantize,
        "processing": "x01 -> x01*(hi-lo)+lo with value_range; pad right/bottom (reflect) to size_multiple; run; "
                      "crop to scale*input size; y -> (y-lo)/(hi-lo) with output_range, clamp to [0,1]",
    }
    if opset is not None:
        meta["opset"] = str(opset)
    if weights is not None:
        meta["zoo.weights_uri"] = weights.spec.uri
        meta["zoo.weights_format"] = weights.spec.format
    if weights_digest:
        meta["zoo.weights_sha256"] = weights_digest
    if entry.license:
        meta["license"] = entry.license
    return meta


def state_dict_digest(model: nn.Module) -> str:
    """sha256 over the network's parameter/buffer names, shapes, dtypes and bytes (the weights actually loaded)."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{tuple(t.shape)}:{t.dtype};".encode())
        digest.update(t.view(-1).view(__import__("torch").uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


def check_opset(opset: int) -> int:
    """An opset neither of torch's exporters writes fails here, not as a torch error after the weights are read."""
    if isinstance(opset, bool) or not isinstance(opset, numbers.Integral) or not MIN_OPSET <= opset <= MAX_OPSET:
        raise OptionError(f"opset must be from {MIN_OPSET} to {MAX_OPSET} for ONNX export (default {DEFAULT_OPSET}), "
                          f"got {opset!r}")
    return int(opset)


def check_sample_size(size: tuple[int, int] | None) -> tuple[int, int] | None:
    """A traced size of positive integers, or None (the default); 0 or -16 would fail deep inside torch."""
    if size is None:
        return None
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1 for v in size)):
        raise OptionError(f"sample_size: expected (height, width) positive integers, got {size!r}")
    return int(size[0]), int(size[1])


def check_export_options(output: str | Path, *, format: str, dtype: str, opset: int, exporter: str,
                         sample_size: tuple[int, int] | None, overwrite: bool = True,
                         what: str = "-o") -> tuple[Path, int, list[str | None], tuple[int, int] | None]:
    """Every option of an export, checked before any weights are read or networks copied:
    ``(output path, opset, the exporters to try, sample size)``."""
    if format not in FORMATS:
        raise ExportError(f"unknown export format {format!r}; use one of {', '.join(FORMATS)}")
    if dtype not in TOLERANCE:
        raise ExportError(f"unknown export dtype {dtype!r}; use fp32 or fp16")
    if format == "onnx":
        opset = check_opset(opset)  # what both of torch's ONNX exporters write
    exporters = onnx_exporters(exporter, opset) if format == "onnx" else [None]
    return check_output_path(output, overwrite=overwrite, what=what), opset, exporters, check_sample_size(sample_size)


def check_output_path(output: str | Path, *, overwrite: bool = True, what: str = "-o") -> Path:
    """Refuse an output the export could not be moved onto before any work, not in ``atomic_path`` after it:
    a folder, a file whose parent is a file, or (without ``overwrite``) an existing file."""
    path = Path(output)
    if str(output).endswith(("/", "\\")) or path.is_dir():
        raise OptionError(f"{what} {output} names a folder; give the export's file name (e.g. model.onnx)")
    parent = blocking_file(path)
    if parent is not None:
        raise OptionError(f"{what} {output}: {parent} is a file, not a folder; give a path in a folder")
    if not overwrite and path.exists():
        raise OptionError(f"{what} {output} already exists; pass --overwrite (overwrite=True) to replace it, "
                          "or give another file name")
    return path


def _sample(shape: tuple[int, ...], value_range: tuple[float, float], dtype: torch.dtype, seed: int) -> torch.Tensor:
    import torch  # heavy

    lo, hi = value_range
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(shape, generator=g) * (hi - lo) + lo).to(dtype)


def has_dynamo_exporter() -> bool:
    """The dynamo ONNX exporter needs ``onnxscript`` (the ``export`` extra)."""
    import importlib.util  # heavy: only asked when exporting

    return importlib.util.find_spec("onnxscript") is not None


def _export_onnx(model: nn.Module, sample: torch.Tensor, path: Path, *, dynamic: bool, opset: int,
                 metadata: dict[str, str], exporter: str = "torchscript", multiple: int = 1) -> int:
    """Write the ONNX file with ``exporter``; returns the size multiple its dynamic shapes allow."""
    import onnx  # heavy
    import torch  # heavy

    with warnings.catch_warnings(), _native_stdout_muted(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")  # tracer/exporter chatter: the verification checks the result
        if exporter == "dynamo":
            program, multiple = _export_program(model, sample, dynamic=dynamic, multiple=multiple)
            torch.onnx.export(program, (sample,), str(path), dynamo=True, input_names=[INPUT_NAME],
                              output_names=[OUTPUT_NAME], opset_version=opset, external_data=False, verbose=False)
        else:
            axes = {INPUT_NAME: {0: "batch", 2: "height", 3: "width"},
                    OUTPUT_NAME: {0: "batch", 2: "out_height", 3: "out_width"}} if dynamic else None
            torch.onnx.export(model, (sample,), str(path), dynamo=False, input_names=[INPUT_NAME],
                              output_names=[OUTPUT_NAME], dynamic_axes=axes, opset_version=opset,
                              do_constant_folding=True)
    proto = onnx.load(str(path))
    written = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), opset)
    if written != opset:
        raise ExportError(f"the {exporter} exporter wrote opset {written}, not the requested {opset}")
    onnx.helper.set_model_props(proto, {**metadata, "size_multiple": str(multiple), "zoo.onnx_exporter": exporter})
    proto.producer_name = "zoo"
    onnx.save(proto, str(path))
    return multiple


@contextlib.contextmanager
def _native_stdout_muted():
    """torch's TorchScript exporter prints its whole graph to the C++ stdout when an operator fails (``Torch IR
    graph at exception``, whatever ``verbose`` says): keep it off the console, where it buried the one-line error."""
    try:
        import ctypes  # heavy (libffi): only when exporting

        flush = ctypes.CDLL(None).fflush
    except (OSError, AttributeError, TypeError):  # no C library to flush (Windows): the dump may still show
        flush = None
    try:
        saved = os.dup(1)
    except OSError:  # no file descriptor 1 (a service): nothing to mute
        yield
        return
    sys.stdout.flush()
    with open(os.devnull, "w") as sink:
        os.dup2(sink.fileno(), 1)
        try:
            yield
        finally:
            if flush is not None:
                flush(None)
            os.dup2(saved, 1)
            os.close(saved)


def _exporter_error(name: str, exporter: str, opset: int, exc: Exception) -> ExportError:
    """The last exporter's failure in one line; an operator the opset lacks says so and names a working opset."""
    text = " ".join(str(exc).split())
    operator = re.search(r"Unsupported: ONNX export of (?:operator )?([\w.:]+)", text)
    if operator and opset < DEFAULT_OPSET:
        said = text[operator.start():].split(". Please")[0]  # not torch's "submit a pull request"
        return ExportError(f"opset {opset} is too low for {name!r}: an operator it uses ({operator.group(1)}) needs "
                           f"a newer opset ({exporter} exporter: {said[:200]}); the default opset {DEFAULT_OPSET} works")
    return ExportError(f"ONNX export of {name!r} with the {exporter} exporter failed: "
                       f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}")


def onnx_exporters(exporter: str, opset: int) -> list[str]:
    """The exporters to try, in order, for ``exporter`` (auto: dynamo where it can write ``opset``)."""
    if exporter not in EXPORTERS:
        raise ExportError(f"unknown ONNX exporter {exporter!r}; use one of {', '.join(EXPORTERS)}")
    if exporter == "dynamo" and opset < DYNAMO_MIN_OPSET:
        raise ExportError(f"the dynamo ONNX exporter writes opset {DYNAMO_MIN_OPSET} or later, got opset {opset}")
    if exporter == "dynamo" and not has_dynamo_exporter():
        raise ExportError("the dynamo ONNX exporter needs onnxscript (pip install onnxscript, or zoo's [export] extra)")
    if exporter != "auto":
        return [exporter]
    return (["dynamo"] if opset >= DYNAMO_MIN_OPSET and has_dynamo_exporter() else []) + ["torchscript"]


def _export_program(model: nn.Module, sample: torch.Tensor, *, dynamic: bool, multiple: int):
    """``torch.export.export`` with height/width as multiples of ``multiple`` (doubled while the graph needs more)."""
    import torch  # heavy
    from torch.export import Dim  # heavy

    if not dynamic:
        return torch.export.export(model, (sample,)), multiple
    h, w = sample.shape[-2:]
    last: Exception | None = None
    for m in (multiple, multiple * 2, multiple * 4):
        if h % m or w % m or h // m < 2 or w // m < 2:  # a block count of 1 would be specialised
            break
        batch = Dim("batch", min=1, max=1024)
        hd, wd = Dim("h_blocks", min=1, max=max(2, 16384 // m)), Dim("w_blocks", min=1, max=max(2, 16384 // m))
        dims = {0: batch, 2: hd * m if m > 1 else hd, 3: wd * m if m > 1 else wd}
        try:
            return torch.export.export(model, (sample,), dynamic_shapes=(dims,)), m
        except Exception as exc:  # noqa: BLE001 - constraint violations: try a coarser multiple
            last = exc
    raise ExportError(f"torch.export could not make height/width dynamic (tried multiples of {multiple} and up): "
                      f"{str(last).splitlines()[0] if last else 'the traced size is too small'}; "
                      "export without dynamic=True")


def _run_onnx(path: Path) -> Callable[[torch.Tensor], torch.Tensor]:
    import onnxruntime as ort  # heavy
    import torch  # heavy

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda x: torch.from_numpy(session.run(None, {INPUT_NAME: x.numpy()})[0])


def _run_program(path: Path) -> Callable[[torch.Tensor], torch.Tensor]:
    import torch  # heavy

    program = torch.export.load(str(path)).module()
    return lambda x: program(x)


def verify_sizes_for(traced: tuple[int, int], multiple: int, dynamic: bool) -> list[tuple[int, int]]:
    """Two sizes other than the traced one (with dynamic shapes): one taller, one wider and not square."""
    if not dynamic:
        return [traced]
    h, w = traced
    return [(h + multiple, w), (h, w + 2 * multiple)]


def export_network(model: nn.Module, entry: Entry, output: str | Path, *, format: str = "onnx",
                   dynamic: bool = False, opset: int = DEFAULT_OPSET, dtype: str = "fp32",
                   sample_size: tuple[int, int] | None = None, verify_sizes: list[tuple[int, int]] | None = None,
                   tolerance: float | None = None, weights: ResolvedWeights | None = None,
                   log: Callable[[str], None] | None = None, exporter: str = "auto") -> ExportReport:
    """Export ``model`` (the network of ``entry``) to ``output`` and verify it; see the module docstring.

    ``exporter`` (ONNX only): ``"auto"`` (dynamo, falling back to TorchScript when it fails or does not
    verify), ``"dynamo"`` or ``"torchscript"``.
    """

    import torch  # heavy


    output, opset, exporters, sample_size = check_export_options(
        output, format=format, dtype=dtype, opset=opset, exporter=exporter, sample_size=sample_size, what="export to")
    start = time.perf_counter()
    torch_dtype = torch.float32 if dtype == "fp32" else torch.float16
    reference = copy.deepcopy(model).float().eval().cpu()
    network = copy.deepcopy(reference).to(torch_dtype) if dtype != "fp32" else reference
    multiple = shape_multiple(reference, entry)
    p = entry.processing
    side = multiple * max(2, math.ceil(64 / multiple))
    traced = (side, side) if sample_size is None else (int(sample_size[0]), int(sample_size[1]))
    if traced[0] % multiple or traced[1] % multiple:
        raise ExportError(f"sample size {traced[0]}x{traced[1]} is not a multiple of {multiple} (entry {entry.name!r})")
    # batch 2: torch.export specialises a dimension of size 1
    sample = _sample((2 if dynamic else 1, p.channels, *traced), p.value_range, torch_dtype, seed=0)
    program = None
    if format == "torch-export":
        with torch.no_grad():
            program, multiple = _export_program(network, sample, dynamic=dynamic, multiple=multiple)
    sizes = verify_sizes or verify_sizes_for(traced, multiple, dynamic)
    metadata = export_metadata(entry, size_multiple=multiple, dynamic=dynamic, dtype=dtype, fmt=format,
                               opset=opset if format == "onnx" else None, weights=weights,
                               weights_digest=state_dict_digest(reference))
    lo, hi = p.out_range
    span = float(hi - lo) or 1.0
    tolerance = TOLERANCE[dtype] if tolerance is None else tolerance

    def verify(run: Callable[[torch.Tensor], torch.Tensor], sizes: list[tuple[int, int]]) -> float:
        worst = 0.0
        for i, (h, w) in enumerate(sizes):
            x = _sample((1, p.channels, h, w), p.value_range, torch_dtype, seed=1 + i)
            expected = reference(x.float())
            try:
                got = run(x).float()
            except Exception as exc:  # noqa: BLE001 - any runtime failure is a failed verification
                raise ExportError(f"export of {entry.name!r} to {output} failed verification: running it at "
                                  f"{h}x{w} raised {type(exc).__name__}: {str(exc).splitlines()[0][:300]}; "
                                  "nothing was written") from exc
            if got.shape != expected.shape:
                raise ExportError(f"export of {entry.name!r} to {output} failed verification at {h}x{w}: output "
                                  f"shape {tuple(got.shape)}, PyTorch {tuple(expected.shape)}; nothing was written")
            worst = max(worst, float((got - expected).abs().max()))
        if not math.isfinite(worst / span) or worst / span > tolerance:
            raise ExportError(f"export of {entry.name!r} to {output} failed verification: max abs difference "
                              f"{worst:.3g} ({worst / span:.3g} on [0,1] outputs) > tolerance {tolerance:g} at sizes "
                              f"{sizes}; nothing was written")
        return worst

    used, fallback = None, None
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(atomic_path(output))
        with torch.no_grad():
            if format == "onnx":
                for attempt, name in enumerate(exporters):
                    try:
                        written = _export_onnx(network, sample, tmp, dynamic=dynamic, opset=opset, metadata=metadata,
                                               exporter=name, multiple=multiple)
                        sizes = verify_sizes or verify_sizes_for(traced, written, dynamic)
                        worst = verify(_run_onnx(tmp), sizes)
                        used, multiple = name, written
                        metadata.update({"size_multiple": str(multiple), "zoo.onnx_exporter": name})
                        break
                    except Exception as exc:  # noqa: BLE001 - the next exporter may do; the last one's error stands
                        if attempt == len(exporters) - 1:
                            if isinstance(exc, ExportError):
                                raise
                            raise _exporter_error(entry.name, name, opset, exc) from exc
                        fallback = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
                        if log is not None:
                            log(f"the {name} ONNX exporter did not give a verified file ({fallback}); "
                                f"using the {exporters[attempt + 1]} exporter")
            else:
                # torch.export wants a .pt2 name; the archive is moved onto the atomic temporary below
                staged = tmp.with_name(tmp.name + ".pt2")
                stack.callback(staged.unlink, missing_ok=True)
                torch.export.save(program, str(staged), extra_files={METADATA_FILE: json.dumps(metadata)})
                worst = verify(_run_program(staged), sizes)
        worst01 = worst / span
        if format == "torch-export":
            os.replace(staged, tmp)
    report = ExportReport(path=output, format=format, dtype=dtype, dynamic=dynamic,
                          opset=opset if format == "onnx" else None, traced_size=(int(traced[0]), int(traced[1])),
                          verified_sizes=[(int(h), int(w)) for h, w in sizes], max_abs_diff=worst,
                          max_abs_diff_01=worst01, tolerance=tolerance, size_multiple=multiple,
                          seconds=time.perf_counter() - start, metadata=metadata, exporter=used,
                          fallback_reason=fallback)
    if log is not None:
        log(report.summary())
    return report


def read_export_metadata(path: str | Path) -> dict[str, str]:
    """The zoo metadata of an exported file (ONNX metadata_props or the .pt2's ``zoo_metadata.json``)."""
    path = Path(path)
    if path.suffix == ".onnx":
        import onnx  # heavy

        return {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    import torch  # heavy

    extra = {METADATA_FILE: ""}
    torch.export.load(str(path), extra_files=extra)
    return json.loads(extra[METADATA_FILE])
