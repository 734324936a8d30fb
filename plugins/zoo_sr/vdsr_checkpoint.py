"""Reading tensors out of a pickled *whole module* (``torch.save(model)``) without unpickling code.

Old repositories (here: pytorch-vdsr's ``model_epoch_50.pth``, saved by PyTorch 0.3) ship the model
object itself. ``torch.load`` would import the repository's ``vdsr`` module and PyTorch classes that no
longer exist, and a tampered file could make it run anything. This reader interprets the pickle with
an explicit allow-list instead:

* module classes (``torch.nn.modules.*`` and the pytorch-vdsr ``vdsr.Net`` / ``vdsr.Conv_ReLU_Block``)
  become inert stand-ins that only record their pickled ``__dict__``;
* ``collections.OrderedDict``, ``set``, torch's typed-storage markers (``torch.FloatStorage``, ...),
  ``torch._utils._rebuild_tensor[_v2]``, ``_rebuild_parameter`` and ``torch.nn.Parameter`` map to
  local functions that record where each tensor's bytes are; ``_get_thnn_function_backend`` (a
  PyTorch 0.3 module attribute) to a function returning ``None``;
* any other global is refused with :class:`~zoo.errors.WeightsError` naming it, before anything runs.

Tensor bytes are then read from the file (legacy format: after the pickle; zip format: ``data/<key>``),
bounds-checked and copied, and the module tree is walked into a ``state_dict`` (parameters and
persistent buffers, dotted names), exactly what ``model.state_dict()`` gave upstream.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable

import numpy as np
import torch

from zoo.errors import WeightsError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
MAX_DEPTH = 64

# torch typed-storage class name -> (little-endian numpy dtype, torch dtype)
STORAGE_DTYPES: dict[str, tuple[str, torch.dtype]] = {
    "FloatStorage": ("<f4", torch.float32), "DoubleStorage": ("<f8", torch.float64),
    "HalfStorage": ("<f2", torch.float16), "LongStorage": ("<i8", torch.int64), "IntStorage": ("<i4", torch.int32),
    "ShortStorage": ("<i2", torch.int16), "CharStorage": ("i1", torch.int8), "ByteStorage": ("u1", torch.uint8),
    "BoolStorage": ("?", torch.bool),
}
# classes whose instances may appear as modules of a pickled model (besides torch.nn.modules.*)
MODEL_CLASSES = {("vdsr", "Net"), ("vdsr", "Conv_ReLU_Block")}


def _setstate(method: Callable[[Any, Any], None]) -> Callable[[type], type]:
    """Attach ``__setstate__`` after ``@dataclass``: a frozen slots dataclass before Python 3.11.4 replaces the one
    in its body with its own, which lets a pickle BUILD rewrite the fields."""
    def attach(cls: type) -> type:
        cls.__setstate__ = method
        return cls
    return attach


def _refuse_build(what: str) -> Callable[[Any, Any], None]:
    def __setstate__(self: Any, state: Any) -> None:
        raise WeightsError(f"the pickle tries to modify a {what}")
    return __setstate__


def _ignore_parameter_state(self: Any, state: Any) -> None:
    """PyTorch 0.3 pickles a Parameter's (requires_grad, volatile, hooks) as its state: ignored."""
    if not isinstance(state, (tuple, dict, type(None))):
        raise WeightsError(f"unexpected tensor state of type {type(state).__name__}")


@_setstate(_refuse_build("storage type marker"))
@dataclass(frozen=True, slots=True)  # no __dict__: a pickle BUILD cannot alter it
class StorageType:
    name: str


@_setstate(_refuse_build("storage record"))
@dataclass(frozen=True, slots=True)
class StorageRef:
    """A storage named in the pickle; its bytes are read afterwards. ``root``/``offset``: legacy views."""

    key: str
    type_name: str
    numel: int
    root: str | None = None
    offset: int = 0


@_setstate(_ignore_parameter_state)
@dataclass(frozen=True, slots=True)
class TensorRef:
    storage: StorageRef
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


class ModuleStandIn:
    """An inert object standing for a pickled ``nn.Module``: it keeps the pickled state and nothing else."""

    qualified_name = "?"

    def __new__(cls, *args: Any, **kwargs: Any) -> "ModuleStandIn":
        return object.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2 and (state[1] is None or isinstance(state[1], dict)):
            state = {**(state[0] or {}), **(state[1] or {})}
        if not isinstance(state, dict):
            raise WeightsError(f"pickled module {self.qualified_name} has a {type(state).__name__} state, expected a dict")
        self.__dict__["pickled_state"] = state


_STAND_INS: dict[tuple[str, str], type] = {}


def _stand_in(module: str, name: str) -> type:
    key = (module, name)
    if key not in _STAND_INS:
        _STAND_INS[key] = type(f"StandIn_{name}", (ModuleStandIn,), {"qualified_name": f"{module}.{name}"})
    return _STAND_INS[key]


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise WeightsError(f"{what} must be a non-negative integer, got {value!r}")
    return value


def _int_tuple(value: Any, what: str) -> tuple[int, ...]:
    if not isinstance(value, (tuple, list)) or len(value) > 16:
        raise WeightsError(f"{what} must be a tuple of integers, got {value!r}")
    return tuple(_int(v, what) for v in value)


def _rebuild_tensor(storage: Any, storage_offset: Any, size: Any, stride: Any, *_: Any) -> TensorRef:
    if not isinstance(storage, StorageRef):
        raise WeightsError(f"a tensor refers to {type(storage).__name__}, not to a storage of the file")
    size_t, stride_t = _int_tuple(size, "tensor size"), _int_tuple(stride, "tensor stride")
    if len(size_t) != len(stride_t):
        raise WeightsError(f"tensor size {size_t} and stride {stride_t} differ in length")
    return TensorRef(storage, _int(storage_offset, "tensor offset"), size_t, stride_t)


def _parameter(data: Any, *_: Any) -> Any:
    if not isinstance(data, TensorRef):
        raise WeightsError(f"a Parameter wraps {type(data).__name__}, not a tensor")
    return data


def _no_backend(*_: Any) -> None:
    return None


ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("builtins", "set"): set, ("__builtin__", "set"): set,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _parameter,
    ("torch.nn.parameter", "Parameter"): _parameter,
    ("torch.nn.backends.thnn", "_get_thnn_function_backend"): _no_backend,
}


class RestrictedUnpickler(pickle.Unpickler):
    """``find_class`` hands out only allow-listed objects; ``persistent_load`` only storage records."""

    def __init__(self, file: BinaryIO, source: str) -> None:
        super().__init__(file, encoding="utf-8")
        self.source = source
        self.storages: dict[str, StorageRef] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED_GLOBALS:
            return ALLOWED_GLOBALS[(module, name)]
        if module == "torch" and name in STORAGE_DTYPES:
            return StorageType(name)
        dotted_ok = all(part.isidentifier() for part in module.split(".")) and name.isidentifier()
        if dotted_ok and ((module, name) in MODEL_CLASSES or module.startswith("torch.nn.modules.")):
            return _stand_in(module, name)
        raise WeightsError(
            f"refusing to load {self.source}: its pickle asks for the global {module}.{name}, which is not on the "
            f"allow-list of this reader (tensors, OrderedDict and nn.Module stand-ins). Nothing from the file was run.")

    def persistent_load(self, pid: Any) -> Any:
        if not isinstance(pid, tuple) or not pid:
            raise WeightsError(f"{self.source}: unexpected persistent id {pid!r}")
        kind = pid[0].decode("ascii") if isinstance(pid[0], bytes) else pid[0]
        if kind == "module" and len(pid) >= 2 and isinstance(pid[1], type) and issubclass(pid[1], ModuleStandIn):
            return pid[1]
        if kind == "storage" and len(pid) in (5, 6) and isinstance(pid[1], StorageType):
            return self._storage(pid)
        raise WeightsError(f"{self.source}: unsupported persistent id {pid[:2]!r}")

    def _storage(self, pid: tuple) -> StorageRef:
        type_name = pid[1].name
        if type_name not in STORAGE_DTYPES:
            raise WeightsError(f"{self.source}: unsupported storage type {type_name!r}")
        key, numel = str(pid[2]), _int(pid[4], "storage size")
        ref = self.storages.setdefault(key, StorageRef(key, type_name, numel))
        if ref.type_name != type_name or ref.numel != numel:
            raise WeightsError(f"{self.source}: storage {key} is described twice differently")
        view = pid[5] if len(pid) == 6 else None  # legacy format: (view_key, offset, view_size) or None
        if view is None:
            return ref
        if not (isinstance(view, tuple) and len(view) == 3):
            raise WeightsError(f"{self.source}: bad storage view {view!r}")
        view_key, offset, size = str(view[0]), _int(view[1], "view offset"), _int(view[2], "view size")
        if offset + size > numel:
            raise WeightsError(f"{self.source}: storage view {view_key} runs past its storage {key}")
        return StorageRef(view_key, type_name, size, root=key, offset=offset)


def _unpickle(stream: BinaryIO, source: str) -> tuple[Any, dict[str, StorageRef]]:
    unpickler = RestrictedUnpickler(stream, source)
    try:
        return unpickler.load(), unpickler.storages
    except WeightsError:
        raise
    except Exception as exc:  # noqa: BLE001 - any malformed pickle becomes one clear error
        raise WeightsError(f"{source} is not a readable pickled model ({type(exc).__name__}: {exc})") from None


def _read_legacy(handle: BinaryIO, source: str) -> tuple[Any, dict[str, StorageRef], dict[str, np.ndarray]]:
    magic, _ = _unpickle(handle, source)
    if magic != LEGACY_MAGIC:
        raise WeightsError(f"{source} is neither a zip nor a legacy torch checkpoint (no torch magic number)")
    _unpickle(handle, source)  # protocol version
    _unpickle(handle, source)  # sys info
    result, storages = _unpickle(handle, source)
    keys, _ = _unpickle(handle, source)
    remaining = os.fstat(handle.fileno()).st_size - handle.tell()
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise WeightsError(f"{source}: the storage key list is malformed")
    data: dict[str, np.ndarray] = {}
    for key in keys:
        ref = storages.get(key)
        if ref is None or ref.root is not None:
            raise WeightsError(f"{source}: data for storage {key!r}, which no tensor uses")
        head = handle.read(8)
        if len(head) != 8:
            raise WeightsError(f"{source} is truncated: storage {key} has no data")
        (numel,) = struct.unpack("<q", head)
        if numel != ref.numel:
            raise WeightsError(f"{source}: storage {key} holds {numel} values, the pickle says {ref.numel}")
        dtype = np.dtype(STORAGE_DTYPES[ref.type_name][0])
        remaining -= 8 + numel * dtype.itemsize
        if remaining < 0:
            raise WeightsError(f"{source} is truncated inside storage {key}")
        raw = handle.read(numel * dtype.itemsize)
        if len(raw) != numel * dtype.itemsize:
            raise WeightsError(f"{source} is truncated inside storage {key}")
        data[key] = np.frombuffer(raw, dtype=dtype)
    return result, storages, data


def _read_zip(path: Path, source: str) -> tuple[Any, dict[str, StorageRef], dict[str, np.ndarray]]:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(pickles) != 1:
            raise WeightsError(f"{source} is a zip without exactly one data.pkl: it is not a torch checkpoint")
        prefix = pickles[0][: -len("data.pkl")]
        order = archive.read(prefix + "byteorder").decode().strip() if prefix + "byteorder" in names else "little"
        result, storages = _unpickle(io.BytesIO(archive.read(pickles[0])), source)
        data: dict[str, np.ndarray] = {}
        for key, ref in storages.items():
            member = f"{prefix}data/{key}"
            if member not in names:
                raise WeightsError(f"{source}: storage {key} ({member}) is missing from the archive")
            dtype = np.dtype(STORAGE_DTYPES[ref.type_name][0]).newbyteorder("<" if order == "little" else ">")
            size = archive.getinfo(member).file_size
            if size != ref.numel * dtype.itemsize:  # checked before reading: no decompression bombs
                raise WeightsError(f"{source}: storage {key} has {size} bytes, expected {ref.numel * dtype.itemsize}")
            raw = archive.read(member)
            data[key] = np.frombuffer(raw, dtype=dtype)
    return result, storages, data


def _materialise(ref: TensorRef, data: dict[str, np.ndarray], where: str) -> torch.Tensor:
    storage = ref.storage
    values = data.get(storage.root or storage.key)
    if values is None:
        raise WeightsError(f"{where}: the file has no data for storage {storage.root or storage.key}")
    values = values[storage.offset: storage.offset + storage.numel]
    if len(values) != storage.numel:
        raise WeightsError(f"{where}: storage view {storage.key} runs past the data of {storage.root}")
    if 0 in ref.size:
        return torch.empty(ref.size, dtype=STORAGE_DTYPES[storage.type_name][1])
    last = ref.offset + sum((n - 1) * st for n, st in zip(ref.size, ref.stride))
    if last >= len(values):
        raise WeightsError(f"{where}: tensor of size {ref.size} (stride {ref.stride}, offset {ref.offset}) "
                           f"does not fit in its storage of {len(values)} values")
    flat = torch.from_numpy(values.astype(values.dtype.newbyteorder("="), copy=True))
    return torch.as_strided(flat, ref.size, ref.stride, ref.offset).clone(memory_format=torch.contiguous_format)


def _walk(node: Any, prefix: str, out: dict[str, TensorRef], seen: set[int], depth: int, source: str) -> None:
    if depth > MAX_DEPTH or id(node) in seen:
        raise WeightsError(f"{source}: the module tree is cyclic or deeper than {MAX_DEPTH} levels")
    seen.add(id(node))
    state = node.__dict__.get("pickled_state", {})
    skip = state.get("_non_persistent_buffers_set") or set()
    for group in ("_parameters", "_buffers"):
        items = state.get(group) or {}
        if not isinstance(items, dict):
            raise WeightsError(f"{source}: {prefix or 'the model'} has a malformed {group}")
        for name, value in items.items():
            if value is None or (group == "_buffers" and name in skip):
                continue
            if not isinstance(value, TensorRef):
                raise WeightsError(f"{source}: {prefix}{name} is a {type(value).__name__}, not a tensor")
            out[f"{prefix}{name}"] = value
    children = state.get("_modules") or {}
    if not isinstance(children, dict):
        raise WeightsError(f"{source}: {prefix or 'the model'} has malformed submodules")
    for name, child in children.items():
        if child is None:
            continue
        if not isinstance(child, ModuleStandIn):
            raise WeightsError(f"{source}: submodule {prefix}{name} is a {type(child).__name__}, not a module")
        _walk(child, f"{prefix}{name}.", out, seen, depth + 1, source)


def _tensor_refs(result: Any, source: str) -> dict[str, TensorRef]:
    """The model inside the unpickled object (``{'model': Net, 'epoch': n}``, a module, or a state_dict)."""
    if isinstance(result, dict) and isinstance(result.get("model"), ModuleStandIn):
        result = result["model"]
    if isinstance(result, ModuleStandIn):
        refs: dict[str, TensorRef] = {}
        _walk(result, "", refs, set(), 0, source)
        return refs
    if isinstance(result, dict) and result and all(isinstance(k, str) and isinstance(v, TensorRef)
                                                    for k, v in result.items()):
        return dict(result)
    raise WeightsError(f"{source} holds a {type(result).__name__} with neither a pickled model (or a 'model' entry) "
                       f"nor a plain state_dict")


def read_module_pickle(path: str | Path) -> dict[str, torch.Tensor]:
    """The ``state_dict`` of the model pickled in ``path`` (legacy or zip torch format), without running it."""
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist")
    if zipfile.is_zipfile(path):
        result, _, data = _read_zip(path, source)
    else:
        with open(path, "rb") as handle:
            result, _, data = _read_legacy(handle, source)
    refs = _tensor_refs(result, source)
    if not refs:
        raise WeightsError(f"{source}: the pickled model has no parameters")
    return {name: _materialise(ref, data, f"{source}: {name}") for name, ref in refs.items()}
