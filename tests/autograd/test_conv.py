"""Convolution and pooling: loop references, PyTorch agreement, the adjoint identity, errors.

Gradients by central differences are in the op table (tests/autograd/test_ops.py); here the
forward is checked against PyTorch where installed, and conv_transpose2d against conv2d by
<conv2d(x, W), y> = <x, conv_transpose2d(y, W)>, an identity that does not use either's code.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

import minibayes as mb
from minibayes import nn
from tests import strategies as S
from tests.autograd import conv_cases


def t64(a, grad=False):
    return mb.tensor(a, dtype="float64", requires_grad=grad)


@given(geometry=conv_cases.conv_geometries(max_groups=3), rng=S.generators())
def test_conv_transpose_is_the_adjoint_of_conv(geometry, rng):
    n, c, h, w, o, kernel, stride, padding, dilation, groups = geometry
    x, weight = rng.normal(size=(n, c, h, w)), rng.normal(size=(o, c // groups) + kernel)
    y_shape = mb.conv2d(t64(x), t64(weight), None, stride, padding, dilation, groups).shape
    # The output_padding that makes conv_T(y) the size of x (the rows the strided conv skips).
    extra = tuple((size + 2 * p - d * (k - 1) - 1) % s for size, k, s, p, d in zip((h, w), kernel, stride, padding, dilation))
    y = rng.normal(size=y_shape)
    lhs = np.sum(mb.conv2d(t64(x), t64(weight), None, stride, padding, dilation, groups).numpy() * y)
    back = mb.conv_transpose2d(t64(y), t64(weight), None, stride, padding, extra, dilation, groups).numpy()
    assert back.shape == x.shape
    np.testing.assert_allclose(lhs, np.sum(x * back), rtol=1e-10, atol=1e-10)


@given(geometry=conv_cases.conv_geometries(max_groups=3), rng=S.generators())
def test_conv2d_and_its_transpose_match_pytorch(geometry, rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    n, c, h, w, o, kernel, stride, padding, dilation, groups = geometry
    x, weight, bias = rng.normal(size=(n, c, h, w)), rng.normal(size=(o, c // groups) + kernel), rng.normal(size=o)
    ours = mb.conv2d(t64(x), t64(weight), t64(bias), stride, padding, dilation, groups).numpy()
    theirs = F.conv2d(torch.tensor(x), torch.tensor(weight), torch.tensor(bias), stride, padding, dilation, groups)
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-10, atol=1e-10)
    y, wt = rng.normal(size=(n, c, h, w)), rng.normal(size=(c, o // groups) + kernel)
    extra = tuple(int(rng.integers(0, s)) for s in stride)
    out = [(size - 1) * s - 2 * p + d * (k - 1) + e + 1 for size, s, p, d, k, e in zip((h, w), stride, padding, dilation, kernel, extra)]
    assume(min(out) >= 1)
    ours = mb.conv_transpose2d(t64(y), t64(wt), None, stride, padding, extra, dilation, groups).numpy()
    theirs = F.conv_transpose2d(torch.tensor(y), torch.tensor(wt), None, stride, padding, extra, groups, dilation)
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-10, atol=1e-10)


@given(geometry=conv_cases.pool_geometries(), rng=S.generators())
def test_pooling_matches_pytorch(geometry, rng):
    torch = pytest.importorskip("torch")
    shape, kernel, stride, padding = geometry
    x = rng.normal(size=shape)
    np.testing.assert_allclose(mb.max_pool2d(t64(x), kernel, stride, padding).numpy(),
                               torch.nn.functional.max_pool2d(torch.tensor(x), kernel, stride, padding).numpy())
    np.testing.assert_allclose(mb.avg_pool2d(t64(x), kernel, stride, padding).numpy(),
                               torch.nn.functional.avg_pool2d(torch.tensor(x), kernel, stride, padding).numpy(),
                               rtol=1e-12)


def test_conv_gradients_match_pytorch_on_a_lenet_sized_layer():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, weight, bias = rng.normal(size=(4, 3, 12, 12)), rng.normal(size=(6, 3, 5, 5)), rng.normal(size=6)
    g = rng.normal(size=(4, 6, 5, 5))
    ours = [t64(a, grad=True) for a in (x, weight, bias)]
    (mb.conv2d(*ours, stride=2, padding=1) * t64(g)).sum().backward()
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, weight, bias)]
    (torch.nn.functional.conv2d(*theirs, stride=2, padding=1) * torch.tensor(g)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_max_pool_sends_the_gradient_to_the_first_maximum_on_ties():
    x = t64(np.array([[[[1.0, 1.0], [0.0, 1.0]]]]), grad=True)
    mb.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[[[1.0, 0.0], [0.0, 0.0]]]])


def test_float32_stays_float32():
    x = mb.randn(2, 3, 8, 8)
    layer = nn.Conv2d(3, 4, 3, padding=1)
    assert layer(x).dtype == np.float32 and mb.max_pool2d(x, 2).dtype == np.float32
    assert nn.ConvTranspose2d(3, 2, 4, stride=2, padding=1)(x).shape == (2, 2, 16, 16)


@pytest.mark.parametrize("make, x_shape, message", [
    (lambda: nn.Conv2d(3, 4, 5), (2, 3, 4, 4),
     r"Conv2d on input of shape \(2, 3, 4, 4\): kernel \(5, 5\).*larger than the padded input 4x4"),
    (lambda: nn.BayesianConv2d(3, 4, 3, dilation=3), (2, 3, 6, 6),
     r"BayesianConv2d on input of shape \(2, 3, 6, 6\): kernel \(3, 3\) \(dilated extent 7"),
    (lambda: nn.Conv2d(3, 4, 3), (3, 8, 8), r"Conv2d: input must be 4-D.*\(3, 8, 8\)"),
    (lambda: nn.Conv2d(3, 4, 3), (2, 1, 8, 8), r"Conv2d: expected 3 input channels.*\(2, 1, 8, 8\)"),
    (lambda: nn.ConvTranspose2d(3, 4, 3), (2, 5, 8, 8), r"ConvTranspose2d: expected 3 input channels"),
    (lambda: nn.MaxPool2d(3), (2, 3, 2, 2),
     r"MaxPool2d on input of shape \(2, 3, 2, 2\): kernel \(3, 3\).*larger than the padded input 2x2"),
    (lambda: nn.AvgPool2d(2), (8, 8), r"AvgPool2d: input must be 4-D"),
])
def test_bad_input_names_the_layer_and_the_shapes(make, x_shape, message):
    with pytest.raises(ValueError, match=message):
        make()(mb.zeros(*x_shape))


def test_functional_errors_name_the_op_and_argument():
    x = mb.zeros(1, 4, 6, 6)
    with pytest.raises(ValueError, match=r"conv2d: channel mismatch: input \(1, 4, 6, 6\) has 4 channels"):
        mb.conv2d(x, mb.zeros(2, 3, 3, 3))
    with pytest.raises(ValueError, match="conv2d: stride must be an int >= 1"):
        mb.conv2d(x, mb.zeros(2, 4, 3, 3), stride=0)
    with pytest.raises(ValueError, match=r"conv2d: bias must have shape \(2,\)"):
        mb.conv2d(x, mb.zeros(2, 4, 3, 3), mb.zeros(3))
    with pytest.raises(ValueError, match="output_padding .* smaller than stride"):
        mb.conv_transpose2d(x, mb.zeros(4, 2, 3, 3), stride=2, output_padding=2)
    with pytest.raises(ValueError, match="max_pool2d: padding .* at most half the kernel"):
        mb.max_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match="Conv2d: in_channels 3 and out_channels 4 must both be divisible by groups 2"):
        nn.Conv2d(3, 4, 3, groups=2)


def test_channel_counts_may_be_numpy_ints():
    """Sizes read off an array (x.shape[1], np.int64) are as good as Python ints."""
    layer = nn.Conv2d(np.int64(3), np.int64(4), 3)
    assert layer(mb.zeros(1, 3, 5, 5)).shape == (1, 4, 3, 3) and type(layer.in_channels) is int
