"""A damaged cached ONNX export (truncated, overwritten) is exported again with a warning, not a protobuf traceback."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import zoo
from zoo.files import zoo_home


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_cached_export_is_exported_again(tmp_path, capsys, damage):
    from zoo_sr.archs import SRVGGNetCompact

    torch.manual_seed(0)
    weights = tmp_path / "compact.pth"
    torch.save({"params": SRVGGNetCompact(num_feat=8, num_conv=2).state_dict()}, weights)
    image = np.zeros((12, 12, 3), np.uint8)
    load = dict(weights=weights, infer_architecture=True, backend="onnxruntime", backend_options={"threads": 1})
    first = zoo.load("realesr-animevideov3", **load)(image)
    [cached] = (zoo_home() / "exports" / "realesr-animevideov3").glob("*.onnx")
    data = cached.read_bytes()
    cached.write_bytes(b"garbage\n" if damage == "garbage" else data[:1000])
    capsys.readouterr()
    with pytest.warns(UserWarning, match=f"the cached export {cached} is damaged or holds other weights: exporting"):
        again = zoo.load("realesr-animevideov3", **load)(image)
    assert "exported for the onnxruntime backend" in capsys.readouterr().err
    assert np.array_equal(first, again) and cached.stat().st_size == len(data)
