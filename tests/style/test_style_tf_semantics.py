"""TensorFlow SAME padding and conv2d_transpose, checked on hand-computed examples and by adjointness."""

from __future__ import annotations

import pytest
import torch

from zoo_style.engstrom_net import (LAYERS, EngstromStyleNet, TFSameConv2d, TFSameConvTranspose2d,
                                    tf_same_padding)

torch.set_num_threads(2)


@pytest.mark.parametrize("size,kernel,stride,expected", [
    (4, 3, 2, (0, 1)),   # even size, stride 2: the extra pixel goes after
    (5, 3, 2, (1, 1)),
    (7, 9, 1, (4, 4)),
    (8, 3, 1, (1, 1)),
    (1, 3, 2, (1, 1)),
    (6, 1, 2, (0, 0)),
])
def test_same_padding_table(size, kernel, stride, expected):
    assert tf_same_padding(size, kernel, stride) == expected


def _conv(weight: torch.Tensor, stride: int) -> TFSameConv2d:
    conv = TFSameConv2d(weight.shape[1], weight.shape[0], weight.shape[-1], stride).to(weight.dtype)
    with torch.no_grad():
        conv.weight.copy_(weight)
    return conv


def test_stride2_conv_on_even_input_pads_only_bottom_right():
    x = torch.arange(1.0, 17.0).reshape(1, 1, 4, 4)  # rows 1-4, 5-8, 9-12, 13-16
    ones = torch.ones(1, 1, 3, 3)
    with torch.no_grad():
        out = _conv(ones, 2)(x)
    # windows rows/cols {0,1,2} and {2,3,pad}: 1+2+3+5+6+7+9+10+11, 3+4+7+8+11+12, ...
    assert out[0, 0].tolist() == [[54.0, 45.0], [72.0, 54.0]]


def test_top_left_tap_reveals_the_alignment():
    tap = torch.zeros(1, 1, 3, 3)
    tap[0, 0, 0, 0] = 1.0  # out[i, j] = padded[2i, 2j] (cross-correlation, no kernel flip)
    even = torch.arange(1.0, 17.0).reshape(1, 1, 4, 4)
    odd = torch.arange(1.0, 26.0).reshape(1, 1, 5, 5)
    with torch.no_grad():
        assert _conv(tap, 2)(even)[0, 0].tolist() == [[1.0, 3.0], [9.0, 11.0]]  # no leading pad
        # 5 -> 3 outputs, one pixel of padding on each side: padded[2i, 2j] = x[2i-1, 2j-1]
        assert _conv(tap, 2)(odd)[0, 0].tolist() == [[0.0, 0.0, 0.0], [0.0, 7.0, 9.0], [0.0, 17.0, 19.0]]


def test_transposed_conv_known_answer():
    deconv = TFSameConvTranspose2d(1, 1, 3, 2)
    with torch.no_grad():
        deconv.weight.fill_(1.0)
        out = deconv(torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]))
    # each input pixel (i, j) is spread over rows 2i..2i+2 and cols 2j..2j+2; the 5x5 result keeps its first 4x4
    assert out[0, 0].tolist() == [[1, 1, 3, 2], [1, 1, 3, 2], [4, 4, 10, 6], [3, 3, 7, 4]]


@pytest.mark.parametrize("out_size", [(8, 8), (6, 10), (4, 2)])
def test_transposed_conv_is_the_adjoint_of_the_same_conv(out_size):
    """TF defines conv2d_transpose as the gradient of conv2d: <conv(x), y> == <x, conv_t(y)>."""
    torch.manual_seed(0)
    weight = torch.randn(5, 3, 3, 3, dtype=torch.float64)  # conv: 3 -> 5 channels
    conv = _conv(weight, 2)
    deconv = TFSameConvTranspose2d(5, 3, 3, 2).double()  # transposed: 5 -> 3, same tensor
    with torch.no_grad():
        deconv.weight.copy_(weight)
        x = torch.randn(2, 3, *out_size, dtype=torch.float64)
        y = torch.randn(2, 5, out_size[0] // 2, out_size[1] // 2, dtype=torch.float64)
        cx, dy = conv(x), deconv(y)
    assert cx.shape == y.shape and dy.shape == x.shape
    assert torch.allclose((cx * y).sum(), (x * dy).sum(), rtol=1e-12, atol=1e-9)


def test_network_layout_and_size_behaviour():
    net = EngstromStyleNet().eval()
    sd = net.state_dict()
    assert len(sd) == 3 * len(LAYERS) == 48
    assert sum(v.numel() for v in sd.values()) == 1_677_638
    assert tuple(sd["conv1.conv.weight"].shape) == (32, 3, 9, 9)
    assert tuple(sd["deconv1.conv.weight"].shape) == (128, 64, 3, 3)  # (in, out, kH, kW)
    assert tuple(sd["conv_out.norm.weight"].shape) == (3,)
    with torch.no_grad():
        for size, expected in (((16, 16), (16, 16)), ((50, 67), (52, 68)), ((9, 5), (12, 8))):
            out = net(torch.rand(1, 3, *size) * 255)
            assert tuple(out.shape[-2:]) == expected
            assert out.min() >= -22.5 and out.max() <= 277.5


def test_instance_norm_uses_eps_1e3_and_biased_variance():
    net = EngstromStyleNet().eval()
    norm = net.conv1.norm
    x = torch.randn(1, 32, 5, 7) * 0.02  # small variance: eps matters
    mean = x.mean(dim=(2, 3), keepdim=True)
    var = x.var(dim=(2, 3), unbiased=False, keepdim=True)
    with torch.no_grad():
        assert torch.allclose(norm(x), (x - mean) / torch.sqrt(var + 1e-3), atol=1e-5)
