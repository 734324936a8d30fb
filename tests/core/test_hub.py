"""The weights hub against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from zoo.weights import hub
from zoo.registry.catalog import Entry, WeightSpec
from zoo.errors import WeightsError, WeightsUnavailableError

PAYLOAD = os.urandom(300_000)
SHA = hashlib.sha256(PAYLOAD).hexdigest()


def _cache_files() -> list[Path]:
    root = hub.weights_dir()
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.endswith(".lock")) if root.exists() else []


def test_download_verifies_sha256_and_shows_progress(http_server, capsys):
    server, base = http_server
    server.files["/models/net.pth"] = PAYLOAD
    path = hub.fetch_file(f"{base}/models/net.pth", sha256=SHA, progress=True)
    assert path.read_bytes() == PAYLOAD
    assert path == hub.cache_path_for(f"{base}/models/net.pth")
    assert "net.pth" in capsys.readouterr().err  # the progress bar names the file
    hub.fetch_file(f"{base}/models/net.pth", sha256=SHA)  # second call: cache hit, no request
    assert server.hits == ["/models/net.pth"]


def test_sha256_mismatch_is_rejected_and_cache_left_clean(http_server):
    server, base = http_server
    server.files["/bad.pth"] = PAYLOAD
    with pytest.raises(WeightsError, match="sha256 mismatch"):
        hub.fetch_file(f"{base}/bad.pth", sha256="0" * 64, progress=False)
    assert _cache_files() == []


def test_interrupted_download_leaves_no_file(http_server):
    server, base = http_server
    server.files["/cut.pth"] = PAYLOAD
    server.truncate["/cut.pth"] = 1000
    with pytest.raises(WeightsUnavailableError):
        hub.fetch_file(f"{base}/cut.pth", progress=False)
    assert _cache_files() == []
    del server.truncate["/cut.pth"]  # the next attempt starts afresh and succeeds
    assert hub.fetch_file(f"{base}/cut.pth", progress=False).read_bytes() == PAYLOAD


def test_four_processes_download_one_good_file(http_server):
    server, base = http_server
    server.files["/shared.pth"] = PAYLOAD
    server.slow = 0.02
    url = f"{base}/shared.pth"
    code = f"from zoo.weights.hub import fetch_file; print(fetch_file({url!r}, sha256={SHA!r}, progress=False))"
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=os.environ.copy()) for _ in range(4)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outputs]
    paths = {o[0].strip() for o in outputs}
    assert len(paths) == 1
    assert Path(paths.pop()).read_bytes() == PAYLOAD
    assert [p.name for p in _cache_files()] == ["shared.pth"]
    assert len(server.hits) == 1  # the lock made the others wait for the first download


def test_offline_fails_fast_with_actionable_message(http_server, monkeypatch):
    server, base = http_server
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    url = f"{base}/never.pth"
    start = time.perf_counter()
    with pytest.raises(WeightsUnavailableError) as info:
        hub.fetch_file(url)
    assert time.perf_counter() - start < 1.0
    message = str(info.value)
    assert url in message and str(hub.cache_path_for(url)) in message
    assert "ZOO_OFFLINE" in message and "weights=" in message
    assert server.hits == []


def test_unreachable_host_names_url_and_cache_path(monkeypatch):
    monkeypatch.setenv("ZOO_DOWNLOAD_TIMEOUT", "2")
    url = "http://127.0.0.1:9/nothing-listens-here.pth"
    with pytest.raises(WeightsUnavailableError, match="download failed") as info:
        hub.fetch_file(url, progress=False)
    assert str(hub.cache_path_for(url)) in str(info.value)


def test_archive_member_is_extracted_once(http_server):
    server, base = http_server
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("saved_models/candy.pth", PAYLOAD)
        zf.writestr("saved_models/other.pth", b"x")
    server.files["/saved_models.zip"] = buffer.getvalue()
    url = f"{base}/saved_models.zip?dl=1"
    path = hub.fetch_file(url, member="saved_models/candy.pth", progress=False)
    assert path.read_bytes() == PAYLOAD
    assert hub.cached_file(url, member="saved_models/candy.pth") == path
    with pytest.raises(WeightsError, match="no member"):
        hub.fetch_file(url, member="saved_models/missing.pth", progress=False)


def _entry(*specs: WeightSpec) -> Entry:
    return Entry(name="toy", task="t", architecture="a", weights=specs)


def test_resolution_order_explicit_then_cache_then_sources(http_server, tmp_path):
    server, base = http_server
    server.files["/a.pth"] = b"A"
    server.files["/b.pth"] = b"B"
    entry = _entry(WeightSpec(f"{base}/a.pth"), WeightSpec(f"{base}/b.pth"))
    # nothing cached: the first source is downloaded
    assert hub.resolve_weights(entry, progress=False).origin == "download"
    # a cached second source wins over downloading nothing new
    hub.cache_path_for(f"{base}/a.pth").unlink()
    hub.fetch_file(f"{base}/b.pth", progress=False)
    resolved = hub.resolve_weights(entry)
    assert (resolved.origin, resolved.path.read_bytes()) == ("cache", b"B")
    # explicit beats everything
    explicit = tmp_path / "mine.pth"
    explicit.write_bytes(b"E")
    assert hub.resolve_weights(entry, explicit).path == explicit
    with pytest.raises(WeightsUnavailableError, match="does not exist"):
        hub.resolve_weights(entry, tmp_path / "missing.pth")


def test_failed_source_falls_through_to_next(http_server):
    server, base = http_server
    server.files["/good.pth"] = b"G"
    entry = _entry(WeightSpec(f"{base}/missing.pth"), WeightSpec(f"{base}/good.pth"))
    resolved = hub.resolve_weights(entry, progress=False)
    assert resolved.path.read_bytes() == b"G"


def test_all_sources_failing_lists_each(monkeypatch):
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    entry = _entry(WeightSpec("http://example.invalid/x.pth"), WeightSpec("nosuchscheme://y"))
    with pytest.raises(WeightsUnavailableError) as info:
        hub.resolve_weights(entry)
    assert "http://example.invalid/x.pth" in str(info.value) and "nosuchscheme://y" in str(info.value)


def test_sha256_prefix_is_checked_before_caching(http_server):
    server, base = http_server
    server.files["/net-%s.pth" % SHA[:8]] = PAYLOAD
    good = hub.fetch_file(f"{base}/net-{SHA[:8]}.pth", sha256=SHA[:8], progress=False)
    assert good.read_bytes() == PAYLOAD
    server.files["/other.pth"] = PAYLOAD
    with pytest.raises(WeightsError, match="sha256 mismatch"):
        hub.fetch_file(f"{base}/other.pth", sha256="deadbeef", progress=False)
    assert not hub.cache_path_for(f"{base}/other.pth").exists()
