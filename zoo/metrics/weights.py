"""Weight files the metrics need: where they come from, how they are checked, whether they are here.

Backbones (torchvision ImageNet nets for LPIPS, the FID Inception) come from their official URLs
through :func:`zoo.weights.hub.fetch_file`. Their file names carry the first 8 hex digits of the file's
sha256 (the torch.hub convention); the full digest is not published, so the prefix is what we check.
The LPIPS linear heads ship inside the ``lpips`` wheel (a dependency); their full sha256 is known.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from zoo.errors import WeightsError, WeightsUnavailableError
from zoo.files import sha256_of
from zoo.weights.hub import cache_path_for, cached_file, fetch_file


@dataclass(frozen=True)
class WeightFile:
    """One downloadable weight file: URL plus a known sha256 (full digest or torch.hub-style prefix)."""

    key: str
    url: str
    sha256: str  # full digest, or the 8-digit prefix from the file name
    description: str

    @property
    def file_name(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    def matches(self, digest: str) -> bool:
        return digest.lower().startswith(self.sha256.lower())


TV_MODELS = "https://download.pytorch.org/models/"
BACKBONES: dict[str, WeightFile] = {
    "alex": WeightFile("alexnet", TV_MODELS + "alexnet-owt-7be5be79.pth", "7be5be79",
                       "torchvision AlexNet ImageNet weights (LPIPS-alex backbone)"),
    "vgg": WeightFile("vgg16", TV_MODELS + "vgg16-397923af.pth", "397923af",
                      "torchvision VGG16 ImageNet weights (LPIPS-vgg backbone)"),
    "squeeze": WeightFile("squeezenet1_1", TV_MODELS + "squeezenet1_1-b8a52dc0.pth", "b8a52dc0",
                          "torchvision SqueezeNet 1.1 ImageNet weights (LPIPS-squeeze backbone)"),
}
FID_INCEPTION = WeightFile(
    "fid-inception",
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth",
    "6726825d", "TF inception-2015-12-05 graph ported to PyTorch by pytorch-fid (FID Inception)")

LPIPS_HEAD_URL = "https://raw.githubusercontent.com/richzhang/PerceptualSimilarity/master/lpips/weights/v{version}/{net}.pth"
# sha256 of the linear-calibration heads as shipped in the lpips 0.1.4 wheel.
LPIPS_HEAD_SHA256: dict[tuple[str, str], str] = {
    ("0.0", "alex"): "18720f55913d0af89042f13faa7e536a6ce1444a0914e6db9461355ece1e8cd5",
    ("0.0", "squeeze"): "c27abd3a0145541baa50990817df58d3759c3f8154949f42af3b59b4e042d0bf",
    ("0.0", "vgg"): "b9e4236260c3dd988fc79d2a48d645d885afcbb21f9fd595e6744cf7419b582c",
    ("0.1", "alex"): "df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0",
    ("0.1", "squeeze"): "4a5350f23600cb79923ce65bb07cbf57dca461329894153e05a1346bd531cf76",
    ("0.1", "vgg"): "a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868",
}

_DIGESTS: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """sha256 of a file, remembered per (path, size, mtime) so large backbones are hashed once per process."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        _DIGESTS[key] = sha256_of(path)
    return _DIGESTS[key]


@dataclass(frozen=True)
class ResolvedFile:
    """A weight file on disk, its sha256 and whether that digest is the official one."""

    path: Path
    sha256: str
    verified: bool


def resolve(spec: WeightFile, path: str | os.PathLike[str] | None = None, *, offline: bool | None = None,
            progress: bool = True, override_hint: str = "") -> ResolvedFile:
    """The local file for ``spec``: an explicit ``path`` (trusted, digest recorded), else the hub cache/download.

    Raises WeightsUnavailableError (naming file and URL) when it cannot be had, and WeightsError when
    a cached or downloaded file's sha256 does not start with the digits in its official name.
    """
    if path is not None:
        local = Path(path).expanduser()
        if not local.is_file():
            raise WeightsUnavailableError(f"{spec.description}: weights file {local} does not exist "
                                          f"(the official file is {spec.file_name} from {spec.url})")
        digest = file_sha256(local)
        return ResolvedFile(local, digest, spec.matches(digest))
    try:
        local = fetch_file(spec.url, sha256=spec.sha256, offline=offline, progress=progress)
    except WeightsUnavailableError as exc:
        if not override_hint:
            raise
        raise WeightsUnavailableError(f"{exc}\n  for this metric: {override_hint}") from exc
    digest = file_sha256(local)
    if not spec.matches(digest):
        raise WeightsError(f"{local} does not match {spec.url}: its sha256 is {digest}, expected one starting "
                           f"with {spec.sha256}. Delete the file so it is downloaded again, or pass the right file "
                           f"explicitly.")
    return ResolvedFile(local, digest, True)


def status(spec: WeightFile) -> tuple[bool, str]:
    """Whether ``spec`` is in the cache (no download, no hashing), and if not, where it must go."""
    hit = cached_file(spec.url)
    if hit is not None:
        return True, f"{spec.file_name} cached at {hit}"
    return False, (f"{spec.description} ({spec.file_name}) is not in the cache: it is downloaded from {spec.url} "
                   f"on first use, or copy it to {cache_path_for(spec.url)} (ZOO_HOME sets the cache folder, "
                   f"ZOO_OFFLINE=1 forbids downloads)")


def lpips_head_spec(net: str, version: str) -> WeightFile:
    if (version, net) not in LPIPS_HEAD_SHA256:
        raise WeightsError(f"no LPIPS linear head for net={net!r} version={version!r}; "
                           f"known: {sorted(LPIPS_HEAD_SHA256)}")
    return WeightFile(f"lpips-{net}-v{version}", LPIPS_HEAD_URL.format(version=version, net=net),
                      LPIPS_HEAD_SHA256[(version, net)], f"LPIPS v{version} linear heads for {net}")


def packaged_lpips_head(net: str, version: str) -> Path | None:
    """The head file inside the installed ``lpips`` package (found without importing it), or None."""
    spec = importlib.util.find_spec("lpips")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "weights" / f"v{version}" / f"{net}.pth"
        if candidate.is_file():
            return candidate
    return None


def resolve_lpips_head(net: str, version: str, *, offline: bool | None = None) -> ResolvedFile:
    """The linear-head file: from the installed lpips wheel, else downloaded; checked against the full sha256."""
    spec = lpips_head_spec(net, version)
    local = packaged_lpips_head(net, version)
    if local is None:
        local = fetch_file(spec.url, sha256=spec.sha256, offline=offline)
    digest = file_sha256(local)
    if digest != spec.sha256:
        raise WeightsError(f"LPIPS head {local} has sha256 {digest}, expected {spec.sha256} (lpips 0.1.4's file); "
                           f"reinstall lpips==0.1.4")
    return ResolvedFile(local, digest, True)


def lpips_head_status(net: str, version: str) -> tuple[bool, str]:
    spec = lpips_head_spec(net, version)
    local = packaged_lpips_head(net, version) or cached_file(spec.url)
    if local is not None:
        return True, f"LPIPS head at {local}"
    return False, (f"LPIPS v{version} {net} linear head not found: install lpips==0.1.4 (it ships the file) "
                   f"or let it download from {spec.url}")
