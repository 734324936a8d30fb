"""The page answers the user's question: a summary per task on top, size-fair plots with the size in every
label, legible log axes, and no quality-vs-speed panel made of a single point."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("matplotlib")


def speed_row(model, task, size, out, ips, setting="fp32-eager", **extra):
    return {"model": model, "task": task, "setting": setting, "status": "ok", "batch": 1, "batch_requested": 1,
            "size": size, "out_size": out, "images_per_s": ips, "ips_min": ips * 0.9, "ips_max": ips * 1.1,
            "mpix_per_s": ips * out * out / 1e6, **extra}


@pytest.fixture
def figures(monkeypatch):
    """The matplotlib figures the plot functions make, instead of their PNG."""
    from zoo.bench import plots

    made = []
    monkeypatch.setattr(plots, "fig_to_b64", lambda fig: made.append(fig) or "png")
    return made


def test_throughput_is_size_fair_and_every_label_states_the_size(figures):
    from zoo.bench.plots import plot_throughput

    rows = [speed_row("realesr-animevideov3", "super-resolution", 64, 256, 25.0),
            speed_row("cyclegan-horse2zebra", "unpaired-translation", 128, 128, 14.0)]
    assert plot_throughput(rows) == "png"
    ax = figures[0].axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["realesr-animevideov3 (64→256 px)", "cyclegan-horse2zebra (128 px)"]
    widths = [p.get_width() for p in ax.patches]
    assert widths == pytest.approx([25 * 256 * 256 / 1e6, 14 * 128 * 128 / 1e6])  # megapixels/s, not images/s
    assert "megapixels/s" in ax.get_xlabel()


def test_log_axes_label_plain_numbers_without_overlap(figures):
    import matplotlib

    matplotlib.use("Agg", force=True)
    from zoo.bench.plots import plot_throughput

    rows = [speed_row(f"m{i}", "t", 128, 128, v) for i, v in enumerate((110.0, 150.0, 220.0, 260.0))]
    plot_throughput(rows)
    fig = figures[0]
    fig.canvas.draw()
    ax = fig.axes[0]
    lo, hi = ax.get_xlim()
    shown = [t for t in ax.get_xticklabels() if t.get_visible() and t.get_text() and lo <= t.get_position()[0] <= hi]
    minor = [t.get_text() for t in ax.get_xticklabels(minor=True) if t.get_text()]
    assert minor == [] and len(shown) >= 2 and all(re.fullmatch(r"\d+(\.\d+)?", t.get_text()) for t in shown)
    boxes = sorted((t.get_window_extent() for t in shown), key=lambda b: b.x0)
    assert all(a.x1 <= b.x0 for a, b in zip(boxes, boxes[1:]))  # no two labels overlap


def quality_row(model, value, published=None):
    return {"model": model, "task": "super-resolution", "dataset": "set5", "metric": "psnr-y", "value": value,
            "published": published, "status": "ok"}


def test_quality_vs_speed_needs_two_models_or_a_published_point(figures):
    from zoo.bench.plots import plot_quality_vs_speed

    speed = [speed_row("a", "super-resolution", 64, 256, 5.0), speed_row("b", "super-resolution", 64, 256, 2.0)]
    assert plot_quality_vs_speed(speed, [quality_row("a", 28.0)]) is None  # one point says nothing
    assert plot_quality_vs_speed(speed, [quality_row("a", 28.0, published=28.5)]) == "png"
    assert plot_quality_vs_speed(speed, [quality_row("a", 28.0), quality_row("b", 29.0)]) == "png"
    ax = figures[-1].axes[0]
    assert ax.get_ylabel() == "psnr-y on set5" and [t.get_text() for t in ax.texts] == ["a (64→256 px)", "b (64→256 px)"]


def test_the_summary_per_task_ranks_by_megapixels_at_one_size():
    from zoo.bench.summary import task_summary

    speed = [speed_row("small-input", "super-resolution", 32, 128, 40.0),  # most img/s, but at another size
             speed_row("fast", "super-resolution", 64, 256, 25.0), speed_row("slow", "super-resolution", 64, 256, 5.0),
             speed_row("fast", "super-resolution", 64, 256, 50.0, setting="bf16", speedup_vs_eager=2.0,
                       speedup_min=1.8, speedup_max=2.2, max_abs_diff_grey=3.0, psnr_vs_eager_db=50.0),
             speed_row("slow", "super-resolution", 64, 256, 20.0, setting="bf16", speedup_vs_eager=4.0,
                       speedup_min=3.5, speedup_max=4.5, max_abs_diff_grey=30.0, psnr_vs_eager_db=30.0)]
    report = {"speed": speed, "quality": [quality_row("slow", 30.0), quality_row("fast", 27.0)], "suite": {}}
    (line,) = task_summary(report)
    assert line.startswith("super-resolution: fastest at 64→256 px: **fast**, 1.638 output MP/s")
    assert "best psnr-y on set5: **slow** 30 (2 with weights here)" in line
    assert "best fast setting within budget: **bf16** on fast (64→256 px), 2x (1.8-2.2x)" in line  # 4x is over budget
