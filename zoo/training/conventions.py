"""What a trainer owes the entry it trains, whichever plugin wrote the trainer, the entry or the loss.

* **Value ranges.** A trainer's data, losses and discriminators work in one range, its recipe's
  (:attr:`EntryConventions.work_range`: [0, 1] for SR and style, [-1, 1] for translation). The network is
  fed and read in the entry's ``processing.value_range`` / ``output_range`` (for a task trained from
  scratch: the processing the trainer exports), converted at its borders by :meth:`~EntryConventions.to_network`
  and :meth:`~EntryConventions.from_network`; the inference pipeline does the same conversions, so what was
  trained is what runs. A trainer whose convention fixes the range (colorization's Lab scaling) sets
  :attr:`~EntryConventions.fixed_range` and refuses other entries with a one-line error.
* **Losses** come from :func:`zoo.get_loss` (one code path for loss classes and loss functions) through
  :func:`build_loss`, which also checks each loss once, at its first call: a finite scalar that gradients
  flow through, or a :class:`TrainingError` naming the loss and its plugin.
* **Data**: ``--data`` is a folder, or the name of a registered dataset, resolved as ``zoo bench --data``
  resolves it (:func:`zoo.datasets.resolve_dataset`: ``ZOO_DATA``, the cache, local folders, downloads).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping

import torch
from torch import nn

from zoo.datasets import DatasetError, resolve_dataset
from zoo.errors import ComponentArgumentsError, UnknownNameError
from zoo.registry.lookup import get_component, get_loss
from zoo.training.config import TrainingError

Range = tuple[float, float]
UNIT: Range = (0.0, 1.0)


def convert_range(x: torch.Tensor, src: Range, dst: Range) -> torch.Tensor:
    """Map values linearly from the range ``src`` to ``dst`` (``x`` itself when they are the same)."""
    src, dst = (float(src[0]), float(src[1])), (float(dst[0]), float(dst[1]))
    if src == dst:
        return x
    unit = x if src == UNIT else (x - src[0]) / (src[1] - src[0])
    return unit if dst == UNIT else unit * (dst[1] - dst[0]) + dst[0]


def _tensors(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> list[torch.Tensor]:
    return [a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)]


class _LossCheck:
    """The first-call check of one loss: a finite scalar tensor that depends differentiably on its inputs."""

    def __init__(self, name: str, provider: str) -> None:
        self.label = f"loss {name!r} (plugin {provider!r})"

    def call(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
        try:
            value = fn(*args, **kwargs)
        except TrainingError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of a plugin's loss is reported with its name
            first = (str(exc).strip().splitlines() or [""])[0]
            raise TrainingError(f"{self.label} failed at its first call: {type(exc).__name__}: {first}") from exc
        self.check(value, _tensors(args, kwargs))
        return value

    def check(self, value: Any, inputs: list[torch.Tensor]) -> None:
        if not isinstance(value, torch.Tensor):
            raise TrainingError(f"{self.label} returned a {type(value).__name__}; a loss must return a scalar tensor")
        if value.numel() != 1:
            raise TrainingError(f"{self.label} returned a tensor of shape {list(value.shape)}; a loss must return a "
                                "scalar (reduce it, e.g. with .mean())")
        if all(bool(torch.isfinite(t).all()) for t in inputs if t.is_floating_point()) \
                and not bool(torch.isfinite(value.detach()).all()):
            raise TrainingError(f"{self.label} returned {float(value.detach())} on finite inputs at its first call; "
                                "a loss must return a finite value")
        if torch.is_grad_enabled() and any(t.requires_grad for t in inputs) and not value.requires_grad:
            raise TrainingError(f"{self.label} returned a value that gradients cannot flow through (no grad_fn: a "
                                ".item(), .detach() or numpy step inside?)")


class CheckedLoss:
    """A loss function, checked at its first call (:func:`build_loss`); other attributes are the function's."""

    def __init__(self, fn: Callable[..., Any], check: _LossCheck) -> None:
        self.fn, self._check = fn, check
        functools.update_wrapper(self, fn, updated=())

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._check is None:
            return self.fn(*args, **kwargs)
        value = self._check.call(self.fn, args, kwargs)
        self._check = None
        return value

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["fn"], name)


def _check_module_once(module: nn.Module, check: _LossCheck) -> nn.Module:
    """Route the module's first forward (also through its own methods, e.g. ``generator_loss``) via ``check``."""
    forward = module.forward

    def first_forward(*args: Any, **kwargs: Any) -> Any:
        del module.forward  # the class's forward from now on
        return check.call(forward, args, kwargs)

    module.forward = first_forward  # type: ignore[method-assign]
    return module


def build_loss(name: str, *, device: torch.device | str | None = None, option: str | None = None,
               **kwargs: Any) -> Any:
    """The registered loss ``name`` built with ``kwargs`` by :func:`zoo.get_loss` (a class instantiated, a
    function with ``kwargs`` bound), moved to ``device`` if it is a module, and checked at its first call.

    ``option`` names the trainer option that chose the loss, for the error when it is unknown or refuses kwargs.
    """
    where = f"option {option!r}: " if option else ""
    try:
        provider = get_component("loss", name).provider
        loss = get_loss(name, **kwargs)
    except (UnknownNameError, ComponentArgumentsError) as exc:
        raise TrainingError(f"{where}{exc}") from None
    check = _LossCheck(name, provider)
    if isinstance(loss, nn.Module):
        return _check_module_once(loss.to(device) if device is not None else loss, check)
    return CheckedLoss(loss, check)


class EntryConventions:
    """The part of :class:`zoo.training.Trainer` that honours the entry: value ranges, losses, data names."""

    entry: Any
    device: torch.device
    task_name: str
    #: the range the trainer's data, losses and discriminators work in (its recipe's)
    work_range: ClassVar[Range] = UNIT
    #: set when the trainer's convention allows one network range only (it cannot convert); None: any range
    fixed_range: ClassVar[Range | None] = None

    def default_processing(self) -> dict[str, Any]:
        """The ``processing`` of a model this trainer trains from scratch (its catalog entry's)."""
        return {"value_range": list(self.work_range)}

    def network_ranges(self) -> tuple[Range, Range]:
        """(range the network reads, range it writes): the entry's processing, else :meth:`default_processing`."""
        if self.entry is not None:
            p = self.entry.processing
            return tuple(p.value_range), tuple(p.out_range)  # type: ignore[return-value]
        d = self.default_processing()
        low = tuple(d.get("value_range") or UNIT)
        return low, tuple(d.get("output_range") or low)  # type: ignore[return-value]

    def check_entry(self) -> None:
        """Refuse, in one line and before anything is built, an entry whose processing the trainer cannot honour."""
        if self.fixed_range is None or self.entry is None:
            return
        want = (float(self.fixed_range[0]), float(self.fixed_range[1]))
        got_in, got_out = ((float(a), float(b)) for a, b in self.network_ranges())
        if got_in != want or got_out != want:
            shown = f"value_range {list(got_in)}" + (f", output_range {list(got_out)}" if got_out != got_in else "")
            raise TrainingError(f"entry {self.entry.name!r} ({self.entry.source or self.entry.provider}): "
                                f"{shown}; the {self.task_name!r} trainer feeds and reads the network in "
                                f"{list(want)} only ({type(self).__name__}); set processing.value_range: "
                                f"{list(want)} or train with a trainer of your own")

    def to_network(self, x: torch.Tensor, src: Range | None = None) -> torch.Tensor:
        """Data in ``src`` (default: :attr:`work_range`) -> the range the network reads."""
        return convert_range(x, src or self.work_range, self.network_ranges()[0])

    def from_network(self, y: torch.Tensor, dst: Range | None = None) -> torch.Tensor:
        """The network's output -> ``dst`` (default: :attr:`work_range`)."""
        return convert_range(y, self.network_ranges()[1], dst or self.work_range)

    def loss(self, name: str, *, option: str | None = None, **kwargs: Any) -> Any:
        """A registered loss on the trainer's device, checked at its first call (:func:`build_loss`)."""
        return build_loss(name, device=self.device, option=option, **kwargs)

    # -- data -------------------------------------------------------------------------------------------
    def dataset_scales(self) -> list[int] | None:
        """The SR scales a registered ``sr-pairs`` dataset must have for this run (None: any)."""
        return None

    def data_folder(self, local: Any) -> Path:
        """The folder of a resolved registered dataset (:class:`zoo.datasets.LocalDataset`) the trainer reads."""
        if local.root is None:
            raise TrainingError(f"--data {local.name}: the dataset is {len(local.files)} packaged files, not a folder "
                                "to train on; pass a folder")
        return Path(local.root)

    def resolve_data(self, data: str | Path) -> Path:
        """``--data``: an existing path as is; else a registered dataset name, found where ``zoo bench --data``
        finds it; else the path (the dataset classes then say what is missing)."""
        path = Path(data).expanduser()
        if path.exists() or not str(data).strip() or any(sep in str(data) for sep in "/\\"):
            return path
        try:
            local = resolve_dataset(str(data), scales=self.dataset_scales())
        except UnknownNameError as exc:
            raise TrainingError(f"--data {data}: no such folder, and {exc}") from None
        except DatasetError as exc:
            raise TrainingError(f"--data {data}: {exc}") from None
        return self.data_folder(local)
