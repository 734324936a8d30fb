"""``zoo run`` on many files: safe output names, batched decoding in worker processes, failures reported at the end.

Output names: ``<out>/<relative folder>/<stem>_<suffix>.<ext>`` (a suffix that starts with ``_``, ``-`` or
``.`` is used as given: ``--suffix _cg`` gives ``<stem>_cg``) where the relative folder is taken
from the common folder of all inputs, so ``a/x.png`` and ``b/x.png`` cannot overwrite each other.
An output path equal to an input is always refused; an existing output is refused unless
``overwrite``. Every write is atomic. A file that cannot be read or processed is reported and the
run goes on with the others.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from zoo.errors import OptionError, ZooError
from zoo.files import atomic_path
from zoo.images.files import IMAGE_SUFFIXES, iter_images

DEFAULT_SUFFIX = "out"


@dataclass
class RunResult:
    """What happened to every input of a run (also written as the ``--report`` JSON)."""

    outputs: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)

    def to_json(self, **extra: Any) -> str:
        return json.dumps({**extra, "succeeded": len(self.outputs), "failed": len(self.failures),
                           "outputs": self.outputs, "failures": self.failures}, indent=1)


def collect_inputs(inputs: Sequence[str], out_dir: Path | None = None,
                   output_suffix: str = "") -> list[tuple[Path, Path]]:
    """(file, folder its output name is relative to) for every image under the inputs.

    Folders are searched recursively (hidden files and folders skipped; so is the output folder when
    it lies inside an input folder, and so are earlier outputs ``*_<output_suffix>.*`` found in a folder,
    so a run can be repeated in place); names given explicitly are kept whatever their extension.
    """
    found: list[Path] = []
    roots: list[Path] = []
    skip = out_dir.resolve() if out_dir is not None else None
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            roots.append(path)
            inside = skip is not None and skip != path.resolve()
            for file in iter_images(path, prune=(lambda d: d.resolve() == skip) if inside else None):
                if not (output_suffix and file.stem.endswith(with_suffix("", output_suffix))):
                    found.append(file)
        else:
            roots.append(path.parent)
            found.append(path)
    if not found:
        raise ZooError(f"no input images found in {', '.join(inputs)} (looked for {', '.join(IMAGE_SUFFIXES)})")
    try:
        base = Path(os.path.commonpath([str(r.resolve()) for r in roots]))
    except ValueError:  # different drives: fall back to plain names
        base = None
    unique: dict[Path, Path] = {}
    for file in found:
        unique.setdefault(file.resolve(), file)
    return [(file, base if base is not None else file.resolve().parent) for file in unique.values()]


def with_suffix(stem: str, suffix: str) -> str:
    """``stem`` + ``_suffix``; a suffix already starting with a separator (``_cg``, ``-x4``) is not given another."""
    if not suffix:
        return stem
    return stem + (suffix if suffix[0] in "_-." else f"_{suffix}")


def output_path(file: Path, base: Path, out_dir: Path, suffix: str, ext: str | None) -> Path:
    rel = file.resolve().relative_to(base) if base in file.resolve().parents else Path(file.name)
    extension = ext or file.suffix or ".png"
    extension = extension if extension.startswith(".") else "." + extension
    stem = with_suffix(rel.stem, suffix)
    return out_dir / rel.parent / f"{stem}{extension}"


def plan_outputs(inputs: Sequence[str], out_dir: Path, *, suffix: str = DEFAULT_SUFFIX, ext: str | None = None,
                 overwrite: bool = False) -> list[tuple[Path, Path]]:
    """(input, output) pairs; raises :class:`OptionError` before anything runs if an output would
    replace an input, two inputs would share an output, or (without ``overwrite``) an output exists."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OptionError(f"output {out_dir} is a file; -o/--output names a folder")
    if any(bad in suffix for bad in ("/", "\\", "..")):
        raise OptionError(f"--suffix {suffix!r} must be a plain name part (no '/', '\\' or '..'): outputs stay in -o")
    if ext is not None:
        from PIL import Image  # heavy

        extension = ext if ext.startswith(".") else "." + ext
        if extension.lower() not in Image.registered_extensions():
            raise OptionError(f"--ext {ext!r} is not an image format this machine can write (e.g. png, jpg, webp, tif)")
    pairs = [(file, output_path(file, base, out_dir, suffix, ext))
             for file, base in collect_inputs(inputs, out_dir, output_suffix=suffix)]
    sources = {file.resolve(): file for file, _ in pairs}
    seen: dict[Path, Path] = {}
    for file, target in pairs:
        key = target.resolve()
        if key in sources:
            raise OptionError(f"the output for {file} would be {target}, which is the input {sources[key]} itself; "
                              "choose another -o folder or --suffix (inputs are never overwritten)")
        if key in seen:
            raise OptionError(f"{seen[key]} and {file} would both be written to {target}; "
                              "give them different names or run them separately")
        seen[key] = file
    if not overwrite:
        existing = [target for _, target in pairs if target.exists()]
        if existing:
            more = f" (and {len(existing) - 1} more outputs)" if len(existing) > 1 else ""
            raise OptionError(f"output {existing[0]} already exists{more}; pass --overwrite to replace it, "
                              "or choose another -o folder or --suffix")
    return pairs


def typical_side(files: Sequence[Path]) -> int | None:
    """The median of the inputs' longer sides (from their headers): the size ``zoo run --fast`` tunes for."""
    from zoo.images.io import image_size  # heavy

    sides = sorted(max(size) for size in map(image_size, files) if size)
    return sides[len(sides) // 2] if sides else None


class _ImageFiles:
    """A map-style dataset: index -> (index, tensor, info) or (index, None, error message); decodes in workers."""

    def __init__(self, files: Sequence[Path]) -> None:
        self.files = list(files)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[int, Any, Any]:
        from zoo.images.io import to_tensor  # heavy

        try:
            x, info = to_tensor(self.files[index])
        except Exception as exc:  # noqa: BLE001 - reported per file at the end of the run
            return index, None, str(exc) if isinstance(exc, ZooError) else f"{type(exc).__name__}: {exc}"
        return index, x, info


def _collate(items: list[tuple[int, Any, Any]]) -> list[tuple[int, Any, Any]]:
    return items


def run_files(pipeline: Any, pairs: Sequence[tuple[Path, Path]], *, outscale: float | None = None,
              batch_size: int = 1, workers: int = 0, quality: int = 95, progress: bool = False,
              log: Callable[[str], None] | None = None) -> RunResult:
    """Run ``pipeline`` over the files; same-size images share a batch; a bad file never stops the run."""
    import numpy as np  # heavy
    from torch.utils.data import DataLoader  # heavy
    from tqdm.auto import tqdm  # heavy

    from zoo.images.io import image_size, save_image  # heavy
    from zoo.inference.pipeline import size_batches  # heavy


    files = [file for file, _ in pairs]
    sizes = [image_size(f) or (-1 - i,) for i, f in enumerate(files)]  # unreadable headers: a batch each
    batchable = getattr(pipeline, "_batchable", lambda: batch_size == 1)()
    batches = size_batches(sizes, batch_size, batchable)
    loader = DataLoader(_ImageFiles(files), batch_sampler=batches, collate_fn=_collate, num_workers=workers)
    result = RunResult()
    with tqdm(total=len(files), unit="img", file=sys.stderr, disable=not progress, leave=False) as bar:
        say = bar.write if progress else (log or (lambda _: None))
        for items in loader:
            good = []
            for index, x, info in items:
                if x is None:
                    result.failures.append({"input": str(files[index]), "error": info})
                    bar.update(1)
                else:
                    good.append((index, x, info))
            if not good:
                continue
            start = time.perf_counter()
            try:
                outs = pipeline.process_batch([x for _, x, _ in good], [info for _, _, info in good], outscale=outscale)
            except Exception as exc:  # noqa: BLE001 - e.g. out of memory on one large image; the others go on
                message = str(exc) if isinstance(exc, ZooError) else f"{type(exc).__name__}: {exc}"
                result.failures.extend({"input": str(files[i]), "error": message} for i, _, _ in good)
                bar.update(len(good))
                continue
            seconds = (time.perf_counter() - start) / len(good)
            for (index, _, info), out in zip(good, outs):
                target = pairs[index][1]
                if isinstance(out, np.ndarray) and out.dtype == np.uint16 and target.suffix.lower() != ".png":
                    target = target.with_suffix(".png")  # 16-bit results are PNG
                try:
                    save_image(out, target, quality=quality, icc_profile=info.icc_profile, dpi=info.dpi)
                except (OSError, ZooError, ValueError) as exc:
                    result.failures.append({"input": str(files[index]), "error": f"cannot write {target}: {exc}"})
                    bar.update(1)
                    continue
                width, height = (out.shape[1], out.shape[0]) if isinstance(out, np.ndarray) else out.size
                result.outputs.append({"input": str(files[index]), "output": str(target), "width": width,
                                       "height": height, "seconds": round(seconds, 4)})
                say(f"{files[index]} -> {target} ({width}x{height}, {seconds:.2f}s)")
                bar.update(1)
    return result


def write_report(path: Path, result: RunResult, **extra: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(result.to_json(**extra) + "\n", encoding="utf-8")
