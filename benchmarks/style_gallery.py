"""Stylise amber.jpg with the ml5.js style-transfer checkpoints available offline; write a gallery.

    python benchmarks/style_gallery.py                # ../shared mirror, 512x512, into docs/gallery/
    python benchmarks/style_gallery.py --size 1080 --styles wave udnie scream --out /tmp/gallery

Weights come from the local mirror ``<shared>/weights/ml5-style-transfer/<style>/manifest.json`` when
it exists, else from the catalog's own source (cache or download). Writes ``amber-<style>.png`` per
style and ``amber-grid.png`` (photo | styles, with each style image underneath where one is known),
and prints per style: seconds per image, mean absolute change, luma correlation with the photo and the
chi-square colour-histogram distance to the style image (and the photo's distance, for comparison).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

import zoo
from zoo.images import save_image
from zoo_style.similarity import chi2_distance, colour_histogram, luma_correlation

REPO = Path(__file__).resolve().parents[1]
STYLE_IMAGES = {"wave": "wave.jpg", "udnie": "udnie.jpg", "rain-princess": "rain-princess.jpg"}


def labelled(image: Image.Image, text: str) -> Image.Image:
    canvas = Image.new("RGB", (image.width, image.height + 22), "white")
    canvas.paste(image, (0, 22))
    ImageDraw.Draw(canvas).text((6, 5), text, fill="black")
    return canvas


def grid(rows: list[list[Image.Image | None]], tile: int) -> Image.Image:
    cell = (tile, tile + 22)
    out = Image.new("RGB", (cell[0] * max(len(r) for r in rows), cell[1] * len(rows)), "white")
    for y, row in enumerate(rows):
        for x, item in enumerate(row):
            if item is not None:
                out.paste(item, (x * cell[0], y * cell[1]))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(os.environ.get("ZOO_SHARED", REPO.parent / "shared")))
    parser.add_argument("--styles", nargs="+", default=["wave", "udnie", "scream"])
    parser.add_argument("--size", type=int, default=512, help="the photo is resized to size x size (LANCZOS)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "gallery")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    content_path = args.shared / "data/style/content-images/amber.jpg"
    if not content_path.is_file():
        print(f"content image {content_path} not found (set --shared or ZOO_SHARED)", file=sys.stderr)
        return 2
    photo = Image.open(content_path).convert("RGB").resize((args.size, args.size), Image.LANCZOS)
    content = np.asarray(photo)
    args.out.mkdir(parents=True, exist_ok=True)
    tile = min(args.size, 256)
    top: list[Image.Image | None] = [labelled(photo.resize((tile, tile), Image.LANCZOS), "amber.jpg (photo)")]
    bottom: list[Image.Image | None] = [None]
    print(f"amber.jpg at {args.size}x{args.size}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    print(f"{'style':<10} {'s/image':>8} {'mean|change|':>13} {'luma corr':>10} {'chi2->style':>12} {'photo chi2':>11}")
    for style in args.styles:
        mirror = args.shared / f"weights/ml5-style-transfer/{style.replace('-', '_')}/manifest.json"
        pipe = zoo.load(f"style-transfer-{style}", weights=mirror if mirror.is_file() else None, device="cpu")
        pipe(photo.resize((64, 64)))  # warm-up
        start = time.perf_counter()
        result = pipe(photo)
        seconds = time.perf_counter() - start
        save_image(result, args.out / f"amber-{style}.png")
        out = np.asarray(result)
        style_file = STYLE_IMAGES.get(style)
        style_path = args.shared / "data/style/style-images" / style_file if style_file else None
        if style_path is not None and style_path.is_file():
            target = colour_histogram(np.asarray(Image.open(style_path).convert("RGB").resize((256, 256))))
            to_style = f"{chi2_distance(colour_histogram(out), target):12.3f}"
            photo_to_style = f"{chi2_distance(colour_histogram(content), target):11.3f}"
            bottom.append(labelled(Image.open(style_path).convert("RGB").resize((tile, tile)), f"style image: {style_file}"))
        else:
            to_style = photo_to_style = f"{'n/a':>12}"
            bottom.append(None)
        change = np.abs(out.astype(float) - content).mean()
        print(f"{style:<10} {seconds:8.2f} {change:13.1f} {luma_correlation(out, content):10.3f} {to_style} {photo_to_style}")
        top.append(labelled(result.resize((tile, tile), Image.LANCZOS), f"style-transfer-{style}"))
    rows = [top] + ([bottom] if any(b is not None for b in bottom) else [])
    save_image(grid(rows, tile), args.out / "amber-grid.png")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
