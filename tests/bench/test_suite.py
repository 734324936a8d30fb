"""Suite files: validation errors name the file and line; the shipped suites parse."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from zoo.bench.suite import BASELINE, SuiteError, builtin_suite_path, load_suite, parse_suite

REPO = Path(__file__).resolve().parents[2]
NAMES = ["tiny-bench-same", "tiny-bench-x2", "other-model"]


def parse(text: str):
    return parse_suite(text, "s.yaml", catalog_names=NAMES)


def test_a_valid_suite_expands_globs_and_reads_settings():
    suite = parse("name: t\nsize: 32\nbatch_sizes: [1, 2]\nmodels:\n  - tiny-bench-*\n  - {name: other-model, size: 16}\n"
                  "settings:\n  - {dtype: bf16, channels_last: true}\n  - {name: c, compile: true}\n")
    assert [m.name for m in suite.models] == ["tiny-bench-same", "tiny-bench-x2", "other-model"]
    assert suite.models[2].size == 16 and suite.batch_sizes == (1, 2)
    assert [s.name for s in suite.settings] == ["bf16+channels_last", "c"]
    assert BASELINE not in suite.settings


@pytest.mark.parametrize("text, message", [
    ("models:\n  - tiny-bench-same\nsize: big\n", "s.yaml:3: size: expected a positive integer, got str 'big'"),
    ("models:\n  - tiny-bench-same\n  - nope-*\n", "s.yaml:3: models[1]: no catalog entry matches 'nope-*'"),
    ("models: [tiny-bench-same]\nspeed: 3\n", "s.yaml:2: speed: unknown field"),
    ("models:\n  - {name: tiny-bench-same,\n     sise: 3}\n", "s.yaml:3: models[0].sise: unknown field"),
    ("models: [tiny-bench-same]\nsettings:\n  - {dtype: fp8}\n", "s.yaml:3: settings[0].dtype: expected one of fp32"),
    ("models: [tiny-bench-same]\nsettings:\n  - {dtype: fp32}\n", "s.yaml:3: settings[0]: describes the fp32 eager"),
    ("models: [tiny-bench-same]\nbatch_sizes: [1,\n  0]\n", "s.yaml:3: batch_sizes[1]: expected a positive integer"),
    ("models: [tiny-bench-same\n", "s.yaml:2: not valid YAML"),
    ("size: 3\n", "s.yaml:1: models: missing"),
    ("- tiny-bench-same\n", "s.yaml:1: a suite is a mapping with at least 'models', got a list"),
    ("models: [tiny-bench-same]\nthresholds: {speed: 2}\n", "s.yaml:2: thresholds.speed: unknown"),
    ("models:\n  - {name: tiny-bench-same, settings: [bf16]}\nsettings:\n  - {name: fp16, dtype: fp16}\n",
     "s.yaml:2: models[0].settings[0]: no setting named 'bf16' in this suite (settings: fp16)"),
    ("models:\n  - {name: tiny-bench-same, weights: $NO_SUCH_VAR_X/w.pth}\n",
     "s.yaml:2: models[0].weights: environment variable NO_SUCH_VAR_X"),
])
def test_malformed_suites_fail_with_the_line(text, message):
    with pytest.raises(SuiteError) as info:
        parse(text)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_an_optional_glob_may_match_nothing():
    suite = parse("models:\n  - tiny-bench-same\n  - {pattern: 'plugin-*', optional: true}\n")
    assert [m.name for m in suite.models] == ["tiny-bench-same"]


def test_shipped_suites_parse_and_the_default_is_in_the_package(monkeypatch):
    monkeypatch.setenv("ZOO_SHARED", os.environ.get("ZOO_SHARED", "/nonexistent/shared"))
    for name in ("cpu-smoke", "cpu-full", "gpu", "leaderboard", "gpu-leaderboard"):  # shipped, linked from benchmarks/suites
        assert (REPO / f"benchmarks/suites/{name}.yaml").read_bytes() == builtin_suite_path(name).read_bytes()
    for path in sorted((REPO / "benchmarks/suites").glob("*.yaml")):
        suite = load_suite(path)
        assert suite.models, path
    assert load_suite(None).name == "cpu-smoke"
