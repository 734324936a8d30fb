"""Datasets: name -> folder (overrides, ZOO_DATA roots, cache, download), layouts and safe unpacking."""

from __future__ import annotations

import http.server
import io
import os
import tarfile
import threading
import zipfile
from functools import partial
from pathlib import Path

import pytest

from zoo import datasets as ds
from zoo.registry.records import DataSource, Dataset
from zoo.errors import UnknownNameError, WeightsError


def _sr_record(**options) -> Dataset:
    return Dataset(name="tinyset", task="super-resolution", layout="sr-pairs", options={"scales": (4,), **options})


def test_registered_datasets_of_the_builtin_plugins():
    names = set(ds.registered())
    assert {"set5", "set14", "bsd100", "urban100", "t91", "facades", "edges2shoes", "horse2zebra", "monet2photo",
            "facades-pairs", "style-content", "style-images", "embedded"} <= names
    set5 = ds.get_dataset("Set5")  # case-insensitive
    assert set5.layout == "sr-pairs" and set5.sources[0].url.startswith("https://uofi.box.com/shared/static/")
    assert ds.get_dataset("facades").sources[0].url == "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/facades.tar.gz"
    assert ds.get_dataset("horse2zebra").sources[0].url == "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/horse2zebra.zip"


def test_unknown_dataset_is_one_line():
    with pytest.raises(UnknownNameError, match="no dataset named 'set6'") as info:
        ds.resolve_dataset("set6")
    assert "\n" not in str(info.value) and "set5" in str(info.value)


def test_override_parsing():
    o = ds.DataOverrides.parse(["set5=/a/Set5,/data", "facades=~/f"])
    assert o.named["set5"] == Path("/a/Set5") and o.roots == (Path("/data"),)
    assert o.named["facades"] == Path("~/f").expanduser()
    with pytest.raises(ds.DatasetError, match="'=x' is not NAME=DIR"):
        ds.DataOverrides.parse("=x")


def test_resolution_order(sr_folder, tmp_path, monkeypatch):
    monkeypatch.delenv("ZOO_DATA", raising=False)
    # a ZOO_DATA root holding the set one level deep, under another case (like ../shared/data/sr_bench/Set5)
    root = tmp_path / "root"
    (root / "sr_bench").mkdir(parents=True)
    os.symlink(sr_folder, root / "sr_bench" / "SET5")
    monkeypatch.setenv("ZOO_DATA", str(root))
    local = ds.resolve_dataset("set5")
    assert local.root == root / "sr_bench" / "SET5" and local.origin.startswith("ZOO_DATA")
    assert [name for name, _, _ in local.sr_pairs(4)] == ["img_001_SRF_4", "img_002_SRF_4"]
    # --data NAME=DIR beats ZOO_DATA; data_dir beats both
    other = tmp_path / "other"
    other.symlink_to(sr_folder)
    assert ds.resolve_dataset("set5", data=[f"set5={other}"]).root == other
    assert ds.resolve_dataset("set5", data_dir=sr_folder, data=[f"set5={other}"]).root == sr_folder
    # ZOO_DATA NAME=DIR form
    monkeypatch.setenv("ZOO_DATA", f"set14={sr_folder},set5={other}")
    assert ds.resolve_dataset("set5").root == other
    # the cache, when nothing overrides
    monkeypatch.delenv("ZOO_DATA")
    cached = ds.data_home() / "set5"
    cached.parent.mkdir(parents=True)
    cached.symlink_to(sr_folder)
    assert ds.resolve_dataset("set5").origin == "cache"


def test_wrong_layout_names_folder_and_expectation(tmp_path, paired_folder, unpaired_folder):
    with pytest.raises(ds.DatasetError) as info:
        ds.resolve_dataset("set5", data_dir=paired_folder)
    message = str(info.value)
    assert "\n" not in message and str(paired_folder) in message and "image_SRF_4" in message and "SelfExSR" in message
    with pytest.raises(ds.DatasetError, match="trainA, trainB, testA, testB"):
        ds.resolve_dataset("horse2zebra", data_dir=paired_folder)
    with pytest.raises(ds.DatasetError, match="side-by-side"):
        ds.resolve_dataset("facades", data_dir=unpaired_folder)
    (tmp_path / "missing").mkdir()
    with pytest.raises(ds.DatasetError, match="no images"):
        ds.resolve_dataset("style-content", data_dir=tmp_path / "missing")


def test_hr_without_lr_is_reported(sr_folder):
    (sr_folder / "image_SRF_4" / "img_002_SRF_4_LR.png").unlink()
    with pytest.raises(ds.DatasetError, match="img_002_SRF_4_HR.png has no matching img_002_SRF_4_LR"):
        ds.validate(ds.LocalDataset(_sr_record(), sr_folder, "test"))


def test_suffix_pairs_and_side_by_side(paired_folder, tmp_path):
    from evaluation_images import noise, write_png

    local = ds.resolve_dataset("facades", data_dir=paired_folder)
    assert [(n, b) for n, _, b in local.pairs("test")] == [("1", None), ("2", None)]
    flat = tmp_path / "pairs"
    for i in (1, 5):
        write_png(flat / f"{i}-photo.png", noise(i, 16, 16)), write_png(flat / f"{i}-labels.png", noise(i + 1, 16, 16))
    pairs = ds.resolve_dataset("facades-pairs", data_dir=flat).pairs("test")
    assert [(n, a.name, b.name) for n, a, b in pairs] == [("1", "1-photo.png", "1-labels.png"),
                                                          ("5", "5-photo.png", "5-labels.png")]
    (flat / "5-labels.png").unlink()
    with pytest.raises(ds.DatasetError, match="5-photo has no -labels partner"):
        ds.resolve_dataset("facades-pairs", data_dir=flat)


def test_embedded_set_ships_with_the_package(monkeypatch):
    monkeypatch.delenv("ZOO_DATA", raising=False)
    local = ds.resolve_dataset("embedded")
    names = [p.name for p in local.images()]
    assert local.origin == "package" and "astronaut_hr.png" in names
    assert all(p.is_file() for p in local.images())


# -- archives ------------------------------------------------------------------------------------------
def _zip(path: Path, members: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)
            zf.writestr(info, target)
    return path


def _tar(path: Path, members: dict[str, bytes], special: list[tarfile.TarInfo] = ()) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for info in special:
            tf.addfile(info)
    return path


def _png_bytes(seed: int) -> bytes:
    from PIL import Image

    from evaluation_images import noise

    buf = io.BytesIO()
    Image.fromarray(noise(seed, 16, 16)).save(buf, format="PNG")
    return buf.getvalue()


def _assert_nothing_left(dest: Path) -> None:
    assert not dest.exists()
    assert not [p for p in dest.parent.iterdir() if p.name.endswith(".partial")]


@pytest.mark.parametrize("bad", ["../evil.png", "/abs/evil.png", "a/../../evil.png", "C:/evil.png"])
def test_zip_members_outside_the_folder_are_refused(tmp_path, bad):
    archive = _zip(tmp_path / "a.zip", {"ok/x.png": b"1", bad: b"2"})
    dest = tmp_path / "out" / "set"
    dest.parent.mkdir()
    with pytest.raises(ds.UnsafeArchiveError, match="outside the dataset folder"):
        ds.unpack_archive(archive, dest)
    _assert_nothing_left(dest)
    assert not (tmp_path / "evil.png").exists()


def test_links_and_devices_are_refused(tmp_path):
    dest = tmp_path / "out" / "set"
    dest.parent.mkdir()
    sym = tarfile.TarInfo("set/link")
    sym.type, sym.linkname = tarfile.SYMTYPE, "/etc/passwd"
    hard = tarfile.TarInfo("set/hard")
    hard.type, hard.linkname = tarfile.LNKTYPE, "set/a.png"
    dev = tarfile.TarInfo("set/dev")
    dev.type = tarfile.CHRTYPE
    fifo = tarfile.TarInfo("set/fifo")
    fifo.type = tarfile.FIFOTYPE
    for member, pattern in ((sym, "is a link"), (hard, "is a link"), (dev, "device file"), (fifo, "device file")):
        archive = _tar(tmp_path / f"{member.name.rsplit('/', 1)[-1]}.tar.gz", {"set/a.png": b"x"}, [member])
        with pytest.raises(ds.UnsafeArchiveError, match=pattern):
            ds.unpack_archive(archive, dest)
        _assert_nothing_left(dest)
    archive = _zip(tmp_path / "l.zip", {"set/a.png": b"x"}, links={"set/l": "../../etc/passwd"})
    with pytest.raises(ds.UnsafeArchiveError, match="symbolic link"):
        ds.unpack_archive(archive, dest)
    _assert_nothing_left(dest)


def test_tar_unpacks_its_root_folder_atomically(tmp_path):
    archive = _tar(tmp_path / "facades.tar.gz", {"facades/test/1.png": _png_bytes(1), "facades/train/2.png": b"x"})
    dest = ds.unpack_archive(archive, tmp_path / "data" / "facades", root="facades")
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*.png")) == ["test/1.png", "train/2.png"]
    with pytest.raises(ds.DatasetError, match="has no folder 'nope'"):
        ds.unpack_archive(archive, tmp_path / "data" / "other", root="nope")
    _assert_nothing_left(tmp_path / "data" / "other")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture
def http_root(tmp_path):
    """A local HTTP server (the real download path of the hub, without internet)."""
    root = tmp_path / "www"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_download_checks_sha256_and_unpacks_into_the_cache(http_root):
    from zoo.files import sha256_of

    root, base = http_root
    archive = _zip(root / "Tiny_SR.zip", {"Tiny/image_SRF_4/img_001_SRF_4_HR.png": _png_bytes(1),
                                          "Tiny/image_SRF_4/img_001_SRF_4_LR.png": _png_bytes(2)})
    wrong = Dataset(name="tinyset", task="super-resolution", layout="sr-pairs", options={"scales": (4,)},
                    sources=(DataSource(url=f"{base}/Tiny_SR.zip", sha256="0" * 64),))
    with pytest.raises(WeightsError, match="sha256 mismatch"):
        ds.fetch_dataset(wrong, progress=False)
    assert not (ds.data_home() / "tinyset").exists()
    good = Dataset(name="tinyset", task="super-resolution", layout="sr-pairs", options={"scales": (4,)},
                   sources=(DataSource(url=f"{base}/Tiny_SR.zip", sha256=sha256_of(archive)),))
    local = ds.validate(ds.fetch_dataset(good, progress=False))
    assert local.root == ds.data_home() / "tinyset" and local.origin.startswith("download")
    assert [n for n, _, _ in local.sr_pairs(4)] == ["img_001_SRF_4"]


def test_offline_download_names_url_and_seed_paths(monkeypatch):
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    monkeypatch.delenv("ZOO_DATA", raising=False)
    with pytest.raises(ds.DatasetUnavailableError) as info:
        ds.resolve_dataset("set14")
    message = str(info.value)
    assert "\n" not in message
    assert "Set14_SR.zip from https://uofi.box.com/shared/static/igsnfieh4lz68l926l8xbklwsnnk8we9.zip" in message
    assert str(ds.data_home() / "set14") in message and "--data set14=DIR" in message


def test_zoo_data_cli(sr_folder, capsys, monkeypatch):
    from zoo.cli import main

    monkeypatch.delenv("ZOO_DATA", raising=False)
    assert main(["data", "verify", "set5", "--data", f"set5={sr_folder}"]) == 0
    assert f"set5: ok: set5 (sr-pairs) at {sr_folder}" in capsys.readouterr().out
    assert main(["data", "ls"]) == 0
    out = capsys.readouterr().out
    assert "embedded" in out and "set14" in out and "https://uofi.box.com/shared/static/" in out
    assert main(["data", "verify", "set6"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo data: error: no dataset named 'set6'") and err.count("\n") == 1


def test_the_callers_scale_is_checked_and_missing_lr_is_named(sr_folder, tmp_path):
    x3 = tmp_path / "x3"
    (x3 / "image_SRF_3").mkdir(parents=True)
    for path in (sr_folder / "image_SRF_4").iterdir():
        (x3 / "image_SRF_3" / path.name.replace("SRF_4", "SRF_3")).write_bytes(path.read_bytes())
    assert ds.resolve_dataset("set5", data_dir=x3, scales=[3]).root == x3  # an x3 model: image_SRF_4 not needed
    with pytest.raises(ds.DatasetError, match="image_SRF_4"):
        ds.resolve_dataset("set5", data_dir=x3)
    for lr in (x3 / "image_SRF_3").glob("*_LR.png"):
        lr.unlink()
    with pytest.raises(ds.DatasetError, match=r"has _HR images but no matching _LR file for 2 of them") as info:
        ds.resolve_dataset("set5", data_dir=x3, scales=[3])
    assert "\n" not in str(info.value)


def test_an_unknown_dataset_name_in_data_items_is_an_error(monkeypatch, tmp_path):
    with pytest.raises(ds.DatasetError, match="--data: unknown dataset 'nosuchset' \\(known: .*set5"):
        ds.DataOverrides.parse(["nosuchset=/tmp"])
    monkeypatch.setenv("ZOO_DATA", f"nosuchset={tmp_path}")
    with pytest.raises(ds.DatasetError, match="ZOO_DATA: unknown dataset 'nosuchset'"):
        ds.DataOverrides.from_env()
    monkeypatch.setenv("ZOO_DATA", str(tmp_path))  # a root is fine
    assert ds.DataOverrides.from_env().roots == (tmp_path,)
