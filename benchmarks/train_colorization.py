"""Train the colorization task for a fixed, short time on T91 + BSD100 photos with `zoo train`, then colour
held-out Set14 photos from their lightness alone: a before (gray input) / after (ours) / original grid.

    python benchmarks/train_colorization.py [--shared ../shared] [--out runs/colorization] [--minutes 5]
        [--threads 1]

Data: the 91 T91 images and the 100 BSD100 HR images (``--data`` is a folder of links to them); crops of 64
from images resized to 72, batch 8, the task's defaults otherwise (pix2pix: L1 x 100 + conditional PatchGAN, U-Net
with 6 downsamplings and 32 base filters, PatchGAN with 32, Adam 2e-4 / (0.5, 0.999), constant LR here). The time limit is the
``time_limit`` option. Writes benchmarks/results/colorization-t91-bsd100.{png,md}.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "plugins")]
RESULTS = REPO / "benchmarks" / "results"


def link_photos(shared: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    sources = sorted((shared / "data" / "sr_train" / "T91").glob("*.bmp"))
    sources += sorted((shared / "data" / "sr_bench" / "BSD100" / "image_SRF_4").glob("*_HR.png"))
    for src in sources:
        dest = folder / f"{src.parent.parent.name if src.name.endswith('_HR.png') else 'T91'}-{src.name}"
        if not dest.exists():
            dest.symlink_to(src)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(os.environ.get("ZOO_SHARED", REPO.parent / "shared")))
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "colorization")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--evaluate-only", action="store_true", help="only redo the grid of an existing run")
    args = parser.parse_args()
    data = link_photos(args.shared, args.out.parent / "colorization-photos")
    command = [sys.executable, "-m", "zoo", "train", "colorization", "--data", str(data), "--out", str(args.out),
               "load_size=72", "crop_size=64", "batch_size=8", "generator_kwargs={num_downs: 6}", "discriminator_kwargs={ndf: 32}", "lr_policy=constant", "steps=100000",
               f"time_limit={args.minutes}", f"threads={args.threads}", "log_every=10", "checkpoint_every=100",
               "sample_every=100", "progress=false", "name=colorization-t91-bsd100"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "plugins"),
                                                        os.environ.get("PYTHONPATH", "")])}
    if not args.evaluate_only:
        subprocess.run(command, check=True, env=env, cwd=REPO)

    import torch
    from PIL import Image

    import zoo
    from zoo.metrics.psnr_ssim import psnr
    from zoo.training import register_run
    from zoo.training.data import stack_images
    from zoo.training.logs import save_png
    from zoo_translation.colorization import decode, encode

    torch.set_num_threads(args.threads)
    register_run(args.out)
    pipe = zoo.load("colorization-t91-bsd100", device="cpu")
    rows: list[list[torch.Tensor]] = [[], [], []]
    scores = []
    for hr in sorted((args.shared / "data" / "sr_bench" / "Set14" / "image_SRF_3").glob("*_HR.png"))[:8]:
        img = Image.open(hr).convert("RGB")
        # the training geometry: shorter side 72, centre crop 64 (a few minutes of training do not generalise
        # to other sizes: the U-Net's bottleneck sees the whole 64 px crop)
        scale = 72 / min(img.size)
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.BICUBIC)
        left, top = (img.width - 64) // 2, (img.height - 64) // 2
        img = img.crop((left, top, left + 64, top + 64))
        x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1)[None]
        light, _ = encode(x)
        gray = decode(light, torch.zeros_like(light).repeat(1, 2, 1, 1))
        out = pipe.process(x)
        rows[0].append(gray)
        rows[1].append(out)
        rows[2].append(x)
        scores.append((psnr(gray[0].permute(1, 2, 0).numpy() * 255, np.asarray(img, np.float64)),
                       psnr(out[0].permute(1, 2, 0).numpy() * 255, np.asarray(img, np.float64))))
    grid = torch.nn.functional.interpolate(stack_images([torch.cat(r, 0) for r in rows])[None], scale_factor=2,
                                           mode="nearest")[0]  # shown 2x larger
    RESULTS.mkdir(parents=True, exist_ok=True)
    save_png(grid, RESULTS / "colorization-t91-bsd100.png")
    steps = int(torch.load(args.out / "checkpoints" / "last.pt", weights_only=True)["step"])
    gray_psnr, ours_psnr = (float(np.mean(c)) for c in zip(*scores))
    shown = " ".join(c for c in command[1:])
    text = f"""# Colorization trained for {args.minutes:g} minutes on T91 + BSD100 (`zoo train colorization`)

Training: {steps} steps of batch 8 (64x64 crops) in {args.minutes:g} minutes of training on 1 CPU thread (a 2-core
machine shared with other jobs), from random weights.

Grid `colorization-t91-bsd100.png` (shown 2x), on 8 held-out Set14 photos (shorter side 72, centre 64x64 crop, the
training geometry; on larger images such a short training leaves colour blotches): top row the input the network
sees (the lightness only, shown as gray), middle row the colorized output, bottom row the original.

RGB PSNR against the originals: gray (ab = 0) {gray_psnr:.2f} dB, colorized {ours_psnr:.2f} dB (colorization
is judged by eye; PSNR only says whether the colours moved towards the truth).

Command: `python {shown}`
"""
    (RESULTS / "colorization-t91-bsd100.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
