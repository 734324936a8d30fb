"""``zoo bench``: speed and quality of models side by side, as CSV, JSON, Markdown and one HTML page."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from zoo.bench.compare import attach_comparison, is_noisy, read_report
from zoo.bench.micro import read_micro_json
from zoo.bench.report import check_out_folder, dataframe, write_report
from zoo.bench.runner import (build_report, check_quality_data, check_settings, dist_world, gather, resolve_device,
                              run_suite)
from zoo.bench.suite import (DEFAULT_THRESHOLDS, QualitySpec, Suite, SuiteError, adhoc_suite, backend_names,
                             fast_setting, filter_models, load_suite, setting_from_flags)
from zoo.datasets import check_data_name
from zoo.evaluation.protocol import METRIC_NAMES
from zoo.files import atomic_path
from zoo.registry.lookup import TASK_ALIASES, get_entry, list_models, matching_tasks

DEFAULT_OUT = "bench-report"
#: exit status of ``--strict-noise`` on a noisy run (1: regressions or every model failed; 2: bad arguments)
NOISY_EXIT = 3


def _batch_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers separated by commas (e.g. 1,4), got {text!r}")
    return sizes


def _positive_int(text: str) -> int:
    """--max-images: 0 or -2 would fail in every quality row after the speed runs; refuse them up front."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _data_item(text: str) -> tuple[str, str]:
    name, sep, folder = text.partition("=")
    if not sep or not name or not folder:
        raise argparse.ArgumentTypeError(f"expected NAME=DIR (e.g. Set5=../shared/data/sr_bench/Set5), got {text!r}")
    return name, folder


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("bench", help="speed and quality of models side by side: CSV, JSON, Markdown, HTML report",
                       description="Without arguments: the default suite (cpu-smoke) on bundled images, "
                                   "on the device at hand, report in ./bench-report/.")
    p.add_argument("patterns", nargs="*", metavar="PATTERN", help="model names or globs (default: the suite's)")
    p.add_argument("--task", help="only models of this task")
    p.add_argument("--suite", help="suite YAML file or built-in name (default: cpu-smoke)")
    p.add_argument("--device", choices=["cpu", "cuda", "auto"], help="default: the suite's (auto: cuda if available)")
    p.add_argument("--dtype", choices=["fp32", "bf16", "fp16"],
                   help="with --channels-last/--compile/--backend: the one fast setting compared with fp32 eager "
                        "(replacing the suite's settings); --dtype fp32 alone: the fp32 eager baseline only")
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--compile", action="store_true", help="torch.compile the network")
    p.add_argument("--backend", help="inference backend passed to zoo.load(name, backend=...)")
    p.add_argument("--fast", action="store_true", help="also measure zoo.load(name, fast=True): the setting `zoo tune` "
                                                       "chose (calibrated on first use) within the default budget")
    p.add_argument("--batch-sizes", type=_batch_sizes, help="e.g. 1,4")
    p.add_argument("--size", type=int, help="input side in pixels (rounded to the model's size multiple)")
    p.add_argument("--warmup", type=int, help="calls before timing; the first is timed on its own (warmup_s)")
    p.add_argument("--iters", type=int, help="timed calls per setting in each round")
    p.add_argument("--rounds", type=int, help="interleaved rounds (settings alternate; figures are medians over rounds)")
    weights = p.add_mutually_exclusive_group()
    weights.add_argument("--pretrained", action="store_const", const="true", dest="pretrained",
                         help="real weights, downloading if needed (default: real when available offline)")
    weights.add_argument("--random-weights", action="store_const", const="false", dest="pretrained",
                         help="random weights (same speed; no quality)")
    quality = p.add_mutually_exclusive_group()
    quality.add_argument("--quality", action="store_true", default=None, help="also evaluate quality")
    quality.add_argument("--no-quality", action="store_false", dest="quality")
    p.add_argument("--data", type=_data_item, action="append", default=[], metavar="NAME=DIR",
                   help="local copy of a dataset (repeatable; also ZOO_DATA)")
    p.add_argument("--max-images", type=_positive_int, help="evaluate at most this many images per dataset")
    p.add_argument("--metrics", help="comma-separated quality metrics (default: the entry's protocol)")
    isolate = p.add_mutually_exclusive_group()
    isolate.add_argument("--isolate", action="store_true", default=None,
                         help="a child process per model (default on the CPU: per-model peak memory)")
    isolate.add_argument("--no-isolate", action="store_false", dest="isolate")
    p.add_argument("--out", default=None, help=f"report folder (default {DEFAULT_OUT}/); an earlier zoo bench report "
                   "there is replaced, other files are not (see --overwrite)")
    p.add_argument("--overwrite", action="store_true",
                   help="write into a folder that holds files of the same names which are not a zoo bench report")
    p.add_argument("--csv", metavar="FILE", help="also write the speed table here (the report folder has it as speed.csv)")
    p.add_argument("--baseline", help="earlier report folder: flag regressions beyond the suite's thresholds")
    p.add_argument("--fail-on-regression", action="store_true", help="exit 1 when the baseline comparison flags any")
    p.add_argument("--strict-noise", action="store_true",
                   help=f"exit {NOISY_EXIT} when the run was noisy (load above the core count, or a row's spread over "
                        "rounds above thresholds.noise_spread)")
    p.add_argument("--micro-json", action="append", default=[], metavar="FILE",
                   help="pytest-benchmark --benchmark-json output to fold into the report (repeatable)")
    p.add_argument("--report-only", metavar="DIR", help="rebuild the tables and page from DIR/report.json; measure nothing")
    p.set_defaults(func=cmd_bench)
    return p


def _suite_for(args: argparse.Namespace):
    if args.task:
        _check_task(args.task)
    base: Suite = load_suite(args.suite)
    suite = filter_models(base, args.patterns, args.task) if args.suite else (
        adhoc_suite(args.patterns, args.task, base) if (args.patterns or args.task) else base)
    changes: dict[str, Any] = {}
    for key in ("size", "warmup", "iters", "rounds"):
        value = getattr(args, key)
        if value is not None:
            if value < (0 if key == "warmup" else 1):
                raise SuiteError(f"--{key} must be {'>= 0' if key == 'warmup' else 'positive'}, got {value}")
            changes[key] = value
    if args.size is not None:  # the command line's size beats the suite's per-model sizes too
        changes["models"] = tuple(replace(m, size=None, sizes=None) for m in suite.models)
    if args.batch_sizes:
        changes["batch_sizes"] = args.batch_sizes
    if args.device:
        changes["device"] = args.device
    if args.pretrained:
        changes["pretrained"] = args.pretrained
    if args.backend is not None and args.backend not in backend_names():  # not a failed row per model after the run
        raise SuiteError(f"--backend: unknown backend {args.backend!r} (known: {', '.join(backend_names())})")
    flagged = setting_from_flags(args.dtype or "fp32", args.channels_last, args.compile, args.backend)
    settings = ((flagged,) if flagged is not None else ()) + ((fast_setting(),) if args.fast else ())
    if settings or args.dtype == "fp32":
        changes["settings"] = settings
        changes["models"] = tuple(replace(m, settings=None) for m in changes.get("models", suite.models))
    q: QualitySpec = suite.quality
    if args.quality is not None or args.max_images or args.metrics:
        q = replace(q, enabled=q.enabled if args.quality is None else args.quality,
                    max_images=args.max_images or q.max_images,
                    metrics=tuple(m.strip() for m in args.metrics.split(",") if m.strip()) if args.metrics else q.metrics)
        changes["quality"] = q
    return replace(suite, **changes)


def _check_task(task: str) -> None:
    """An unknown --task fails naming the catalog's tasks; a family or alias (``sr``) is fine, as for ``zoo list``."""
    tasks = sorted({get_entry(name).task for name in list_models()})
    if not matching_tasks(task, tasks):
        aliases = ", ".join(f"{k} = {v}" for k, v in TASK_ALIASES.items())
        raise SuiteError(f"--task: unknown task {task!r} (known: {', '.join(tasks)}; a family such as 'translation' "
                         f"also works; aliases: {aliases})")


def _check_metrics(suite) -> None:
    """Unknown metric names fail before any model runs."""
    if not suite.quality.metrics:
        return
    for metric in suite.quality.metrics:
        base = metric.lower().removesuffix("-y") if metric.lower() in ("psnr-y", "ssim-y") else metric.lower()
        if base not in METRIC_NAMES:
            raise SuiteError(f"unknown metric {metric!r} (known: {', '.join(METRIC_NAMES)})")


def cmd_bench(args: argparse.Namespace) -> int:
    out = Path(args.out or args.report_only or DEFAULT_OUT)
    if not (args.report_only and out == Path(args.report_only)):  # --report-only rewrites its own folder
        check_out_folder(out, overwrite=args.overwrite)
    for name, _ in args.data:  # an unknown NAME fails here, not silently ignored after the run
        check_data_name(name, what="--data")
    micro = [row for path in args.micro_json for row in read_micro_json(path)]
    if args.report_only:
        report = read_report(args.report_only)
        if micro:
            report["micro"] = micro
        if args.baseline:
            thresholds = {**DEFAULT_THRESHOLDS, **(report.get("suite", {}).get("thresholds") or {})}
            attach_comparison(report, read_report(args.baseline), args.baseline, thresholds)
        write_report(report, out)
        print(f"rebuilt {out}/report.html from {args.report_only}/report.json")
        if args.baseline or (args.fail_on_regression and report.get("comparison")):
            _print_comparison(report, report.get("baseline") or args.baseline)
        return _regression_status(report, args)

    suite = _suite_for(args)
    _check_metrics(suite)
    check_quality_data(suite, dict(args.data), args.quality)  # a wrong folder fails before any model runs
    baseline = read_report(args.baseline) if args.baseline else None  # a bad baseline fails before the run

    device = resolve_device(suite.device)
    check_settings(suite, device)  # a setting this device cannot run fails here, not in every row
    rank, world = dist_world()
    result = run_suite(suite, device=device, data=dict(args.data), quality=args.quality, isolate=args.isolate,
                       rank=rank, world=world)
    result = gather(result, rank, world)
    if rank != 0:
        return 0
    argv = sys.argv[2:] if len(sys.argv) > 1 and sys.argv[1] == "bench" else []
    report = build_report(suite, result, device=device, world=world, argv=argv)
    report["micro"] = micro
    if baseline is not None:
        attach_comparison(report, baseline, args.baseline, suite.thresholds)
    write_report(report, out)
    if args.csv:

        machine = {k: v for k, v in report["machine"].items() if k in ("torch", "python", "cpu", "torch_threads",
                                                                         "gpu", "cuda", "git_commit")}
        with atomic_path(args.csv) as tmp:  # one file with the machine beside every row, as zoo bench --csv was
            dataframe([{**row, **machine} for row in report["speed"]]).to_csv(tmp, index=False)
    status = report["status"]
    failed, measured = len(status["failed"]), status["measured"]
    print(f"wrote {out}/report.html, report.md, report.json, speed.csv"
          + (", quality.csv" if report["quality"] else "") + f" ({measured} models, {status['seconds']} s)")
    random = status.get("random_weights") or []
    if random:
        print(f"{len(random)} of {measured} models ran with random weights (speed only, no quality): {', '.join(random)}")
    noise = report["noise"]
    if noise["noisy"]:
        print(f"NOISY RUN: {'; '.join(noise['reasons'])}: rerun on a quiet machine before trusting the speed numbers")
    if baseline is not None:
        _print_comparison(report, args.baseline)
    if failed:
        print(f"{failed} of {measured} models failed: {', '.join(status['failed'])}", file=sys.stderr)
    if result.interrupted:
        return 130
    if measured and failed == measured:
        return 1
    if args.strict_noise and noise["noisy"]:
        return NOISY_EXIT
    return _regression_status(report, args)


def _print_comparison(report, baseline) -> None:
    """The baseline comparison in a few lines: how many rows matched, every flagged regression, and noise."""
    rows = report.get("comparison") or []
    flagged = [r for r in rows if r.get("regression")]
    unsure = [r for r in rows if r.get("verdict") == "inconclusive"]
    if not rows:
        print(f"baseline {baseline}: 0 rows matched the baseline (no model, setting, batch, size and device "
              "in common); nothing compared")
        return
    noisy = [w for w, flag in (("this run", is_noisy(report)), ("the baseline", report.get("baseline_noisy"))) if flag]
    print(f"baseline {baseline}: {len(rows)} rows matched, {len(flagged)} regression(s)"
          + (f", {len(unsure)} inconclusive ({' and '.join(noisy)} noisy)" if unsure or noisy else "") + "".join(
              f"\n  REGRESSION {r.get('model')} {r.get('what')}: {r.get('reason')}" for r in flagged))


def _regression_status(report, args: argparse.Namespace) -> int:
    return 1 if args.fail_on_regression and any(r.get("regression") for r in report.get("comparison") or []) else 0
