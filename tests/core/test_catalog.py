"""Catalog schema: errors name the file, the entry and the field."""

from __future__ import annotations

import pytest

from zoo.registry.catalog import Catalog, read_catalog_file
from zoo.errors import CatalogError, UnknownNameError

GOOD = """
entries:
  - name: a-model
    task: t
    architecture: {name: arch, kwargs: {n: 3}}
    weights:
      - url: https://example.org/models/a.pth
        sha256: %s
        license: MIT
    processing: {value_range: [-1, 1], size_multiple: 4, quantize: truncate, domains: {input: horse, output: zebra}}
    metrics: [{metric: FID, value: 62.1, dataset: horse2zebra}]
  - name: b-model
    task: t
    architecture: arch
""" % ("ab" * 32)


def write(tmp_path, text, name="cat.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_good_catalog_parses(tmp_path):
    entries = read_catalog_file(write(tmp_path, GOOD), provider="p")
    a, b = entries
    assert a.kwargs == {"n": 3} and a.weights[0].sha256 == "ab" * 32 and a.weights[0].cache_name == "a.pth"
    assert a.processing.value_range == (-1.0, 1.0) and a.processing.out_range == (-1.0, 1.0)
    assert a.processing.quantize == "truncate" and a.processing.domains["output"] == "zebra"
    assert b.architecture == "arch" and b.weights == () and b.provider == "p"
    catalog = Catalog(entries)
    assert catalog.names("a-*") == ["a-model"]
    with pytest.raises(UnknownNameError, match="did you mean a-model"):
        catalog.get("a-modle")


@pytest.mark.parametrize("mutation,field", [
    (("task: t\n    architecture: {name: arch", "task: 3\n    architecture: {name: arch"), "task"),
    (("sha256: " + "ab" * 32, "sha256: 1234"), "weights[0].sha256"),
    (("license: MIT", "licence: MIT"), "weights[0].licence"),
    (("size_multiple: 4", "size_multiple: 0"), "processing.size_multiple"),
    (("value_range: [-1, 1]", "value_range: [1, -1]"), "processing.value_range"),
    (("quantize: truncate", "quantize: floor"), "processing.quantize"),
    (("value: 62.1, ", ""), "metrics[0].value"),
    (("    architecture: arch", "    architecture: [arch]"), "architecture"),
])
def test_schema_errors_name_file_entry_and_field(tmp_path, mutation, field):
    old, new = mutation
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(CatalogError) as info:
        read_catalog_file(path)
    message = str(info.value)
    assert str(path) in message and f"field {field!r}" in message
    assert "entry 'a-model'" in message or "entry 'b-model'" in message


def test_unknown_field_suggests_the_right_one(tmp_path):
    path = write(tmp_path, GOOD.replace("    task: t\n", "    taks: t\n    task: t\n", 1))
    with pytest.raises(CatalogError, match="did you mean 'task'"):
        read_catalog_file(path)


def test_duplicate_names_across_files_name_both(tmp_path):
    first = read_catalog_file(write(tmp_path, GOOD, "one.yaml"), "p1")
    second = read_catalog_file(write(tmp_path, GOOD, "two.yaml"), "p2")
    with pytest.raises(CatalogError, match=r"one.yaml \(plugin 'p1'\) and in .*two.yaml \(plugin 'p2'\)"):
        Catalog(first + second)


def test_invalid_yaml_is_reported_with_the_file(tmp_path):
    path = write(tmp_path, "entries: [\n  - name: x")
    with pytest.raises(CatalogError, match="not valid YAML"):
        read_catalog_file(path)
