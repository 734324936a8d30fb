"""The restricted reader of pickled whole-model checkpoints (pytorch-vdsr's ``model_epoch_50.pth``).

Checkpoints are written here by ``torch.save(model)`` of a stand-in ``vdsr`` module with upstream's
class names and attribute layout, in both the legacy (PyTorch < 1.6) and the zip format, and by a
hand-made pickler for malformed or malicious files.
"""

from __future__ import annotations

import io
import os
import pickle
import sys
import types
import warnings
import zipfile

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from zoo.errors import WeightsError
from zoo_sr.vdsr import VDSR
from zoo_sr.vdsr_checkpoint import LEGACY_MAGIC, read_module_pickle

FEAT, BLOCKS = 8, 3


@pytest.fixture
def upstream_vdsr_module(monkeypatch):
    """A module named ``vdsr`` holding ``Net`` / ``Conv_ReLU_Block`` with upstream's attribute names."""
    module = types.ModuleType("vdsr")

    class Conv_ReLU_Block(nn.Module):  # noqa: N801 - upstream's name is what gets pickled
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(FEAT, FEAT, 3, 1, 1, bias=False)
            self.relu = nn.ReLU(inplace=True)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.residual_layer = nn.Sequential(*[Conv_ReLU_Block() for _ in range(BLOCKS)])
            self.input = nn.Conv2d(1, FEAT, 3, 1, 1, bias=False)
            self.output = nn.Conv2d(FEAT, 1, 3, 1, 1, bias=False)
            self.relu = nn.ReLU(inplace=True)

    for cls in (Conv_ReLU_Block, Net):
        cls.__module__ = "vdsr"
        cls.__qualname__ = cls.__name__
        setattr(module, cls.__name__, cls)
    monkeypatch.setitem(sys.modules, "vdsr", module)
    return module


def _save(obj, path, zip_format: bool) -> None:
    with warnings.catch_warnings():  # torch cannot find the source of test-local classes; harmless
        warnings.simplefilter("ignore", UserWarning)
        torch.save(obj, path, _use_new_zipfile_serialization=zip_format)


def _reference_forward(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """VDSR written out with functional convs over the upstream object's own weights."""
    out = F.relu(F.conv2d(x, net.input.weight, padding=1))
    for block in net.residual_layer:
        out = F.relu(F.conv2d(out, block.conv.weight, padding=1))
    return F.conv2d(out, net.output.weight, padding=1) + x


@pytest.mark.parametrize("zip_format", [False, True])
def test_whole_model_pickle_loads_strictly_and_reproduces_the_network(tmp_path, upstream_vdsr_module, zip_format):
    torch.manual_seed(0)
    net = upstream_vdsr_module.Net()
    path = tmp_path / "model_epoch_1.pth"
    _save({"epoch": 1, "model": net}, path, zip_format)
    assert zipfile.is_zipfile(path) == zip_format
    state = read_module_pickle(path)
    assert list(state) == list(net.state_dict())
    for key, value in net.state_dict().items():
        assert torch.equal(state[key], value), key
    ours = VDSR(num_feat=FEAT, num_block=BLOCKS)
    ours.load_state_dict(state, strict=True)
    x = torch.rand(1, 1, 12, 10)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), _reference_forward(net, x), rtol=0, atol=1e-6)


def test_bare_module_and_plain_state_dict_pickles(tmp_path, upstream_vdsr_module):
    net = upstream_vdsr_module.Net()
    bare = tmp_path / "bare.pth"
    _save(net, bare, zip_format=False)
    assert set(read_module_pickle(bare)) == set(net.state_dict())
    plain = tmp_path / "plain.pth"
    torch.save(net.state_dict(), plain, _use_new_zipfile_serialization=False)
    assert torch.equal(read_module_pickle(plain)["input.weight"], net.input.weight.detach())


# -- hand-made files ----------------------------------------------------------------------------
class _Payload:
    """Unpickling this calls ``func(*args)``: what an attacker would put in a checkpoint."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


class _Storage:
    def __init__(self, key: str, values: list[float]):
        self.key, self.values = key, values


class _Tensor:
    def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple):
        self.parts = (storage, offset, size, stride)

    def __reduce__(self):
        return torch._utils._rebuild_tensor, self.parts


class _LegacyPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            return ("storage", torch.FloatStorage, obj.key, "cpu", len(obj.values), None)
        return None


def _write_legacy(path, obj, storages=()) -> None:
    """A legacy-format torch file: magic, protocol, sys info, the object, storage keys, raw data."""
    buf = io.BytesIO()
    for head in (LEGACY_MAGIC, 1001, {"protocol_version": 1001, "little_endian": True}):
        pickle.dump(head, buf, protocol=2)
    _LegacyPickler(buf, protocol=2).dump(obj)
    pickle.dump([s.key for s in storages], buf, protocol=2)
    for storage in storages:
        buf.write(len(storage.values).to_bytes(8, "little"))
        buf.write(torch.tensor(storage.values, dtype=torch.float32).numpy().tobytes())
    path.write_bytes(buf.getvalue())


def test_hand_made_legacy_file_with_views_and_strides(tmp_path):
    storage = _Storage("1", [float(i) for i in range(12)])
    obj = {"a": _Tensor(storage, 0, (3, 4), (4, 1)), "b": _Tensor(storage, 1, (2, 2), (1, 4))}
    path = tmp_path / "sd.pth"
    _write_legacy(path, obj, [storage])
    state = read_module_pickle(path)
    assert torch.equal(state["a"], torch.arange(12.0).reshape(3, 4))
    assert torch.equal(state["b"], torch.tensor([[1.0, 5.0], [2.0, 6.0]]))


def test_out_of_bounds_tensor_is_refused(tmp_path):
    storage = _Storage("1", [1.0, 2.0, 3.0])
    path = tmp_path / "oob.pth"
    _write_legacy(path, {"w": _Tensor(storage, 2, (2, 2), (2, 1))}, [storage])
    with pytest.raises(WeightsError, match="does not fit"):
        read_module_pickle(path)


def test_truncated_and_foreign_files_are_refused(tmp_path):
    storage = _Storage("1", [1.0] * 16)
    good = tmp_path / "good.pth"
    _write_legacy(good, {"w": _Tensor(storage, 0, (16,), (1,))}, [storage])
    cut = tmp_path / "cut.pth"
    cut.write_bytes(good.read_bytes()[:-10])
    with pytest.raises(WeightsError, match="truncated"):
        read_module_pickle(cut)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(os.urandom(64))
    with pytest.raises(WeightsError):
        read_module_pickle(junk)
    with pytest.raises(WeightsError, match="does not exist"):
        read_module_pickle(tmp_path / "missing.pth")


def _evil_payloads(marker):
    command = f"touch {marker}"
    code = f"open({str(marker)!r}, 'w').write('pwned')"
    return [("os.system", "system", _Payload(os.system, command)),
            ("builtins.eval", "eval", _Payload(eval, code)),
            ("builtins.exec", "exec", _Payload(exec, code))]


@pytest.mark.parametrize("index", [0, 1, 2])
@pytest.mark.parametrize("container", ["legacy", "zip", "nested"])
def test_malicious_pickles_are_refused_without_running(tmp_path, index, container):
    marker = tmp_path / "pwned"
    _, global_name, payload = _evil_payloads(marker)[index]
    path = tmp_path / "evil.pth"
    if container == "legacy":
        _write_legacy(path, {"epoch": 1, "model": payload})
    elif container == "zip":
        torch.save({"epoch": 1, "model": payload}, path)
    else:  # hidden inside an otherwise valid state_dict, after a real tensor
        storage = _Storage("1", [1.0, 2.0])
        _write_legacy(path, {"w": _Tensor(storage, 0, (2,), (1,)), "z": payload}, [storage])
    with pytest.raises(WeightsError, match=rf"global \S*{global_name}") as info:
        read_module_pickle(path)
    assert "Nothing from the file was run" in str(info.value)
    assert not marker.exists()


def test_only_allow_listed_globals_pass(tmp_path):
    # allowed module + disallowed attribute path, and a non-module torch global
    for payload in (_Payload(torch.nn.modules.conv.Conv2d.__init__, None), _Payload(torch.load, "x")):
        path = tmp_path / "g.pth"
        _write_legacy(path, {"model": payload})
        with pytest.raises(WeightsError, match="not on the allow-list"):
            read_module_pickle(path)
    # an allowed rebuild function called on something that is not a storage of the file
    path = tmp_path / "r.pth"
    _write_legacy(path, {"w": _Payload(torch._utils._rebuild_tensor, "not a storage", 0, (1,), (1,))})
    with pytest.raises(WeightsError, match="not to a storage"):
        read_module_pickle(path)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_payloads_do_run_when_unpickled_naively(tmp_path, index):
    """Control for the test above: each payload really writes its marker under plain ``pickle``."""
    marker = tmp_path / "pwned"
    _, _, payload = _evil_payloads(marker)[index]
    pickle.loads(pickle.dumps(payload, protocol=2))  # noqa: S301 - deliberately unsafe, on our own payload
    assert marker.exists()


def test_pickle_cannot_modify_storage_records(tmp_path):
    # raw protocol-2 opcodes: GLOBAL torch.FloatStorage, then BUILD on it with state ['Evil']
    body = b"\x80\x02ctorch\nFloatStorage\n]X\x04\x00\x00\x00Evila" + b"b."
    buf = io.BytesIO()
    for head in (LEGACY_MAGIC, 1001, {}):
        pickle.dump(head, buf, protocol=2)
    buf.write(body)
    pickle.dump([], buf, protocol=2)
    path = tmp_path / "build.pth"
    path.write_bytes(buf.getvalue())
    with pytest.raises(WeightsError, match="modify a storage type"):
        read_module_pickle(path)
