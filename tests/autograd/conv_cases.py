"""Convolution test material shared by the op table and tests/autograd/test_conv.py: hypothesis-drawn
geometries and direct loop references, written from the definition (one output pixel at a time)."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, strategies as st


@st.composite
def conv_geometries(draw, max_groups: int = 2):
    """(N, C, H, W, O, (KH, KW), stride, padding, dilation, groups) with a non-empty output."""
    groups = draw(st.integers(1, max_groups), label="groups")
    c = groups * draw(st.integers(1, 2), label="channels per group")
    o = groups * draw(st.integers(1, 2), label="outputs per group")
    n = draw(st.integers(1, 2), label="batch")
    h, w = draw(st.integers(1, 6), label="H"), draw(st.integers(1, 6), label="W")
    kernel = (draw(st.integers(1, 3), label="KH"), draw(st.integers(1, 3), label="KW"))
    stride = (draw(st.integers(1, 3), label="SH"), draw(st.integers(1, 3), label="SW"))
    padding = (draw(st.integers(0, 2), label="PH"), draw(st.integers(0, 2), label="PW"))
    dilation = (draw(st.integers(1, 2), label="DH"), draw(st.integers(1, 2), label="DW"))
    for size, k, p, d in zip((h, w), kernel, padding, dilation):
        assume(d * (k - 1) + 1 <= size + 2 * p)
    return n, c, h, w, o, kernel, stride, padding, dilation, groups


def conv2d_loops(x, weight, bias, stride, padding, dilation, groups):
    """y[n, o, p, q] = b[o] + sum_{c, i, j} W[o, c, i, j] x_pad[n, group(o) + c, s p + d i, s q + d j]."""
    n, c, h, w = x.shape
    o, c_group, kh, kw = weight.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    padded = np.zeros((n, c, h + 2 * ph, w + 2 * pw))
    padded[:, :, ph: ph + h, pw: pw + w] = x
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, o, oh, ow))
    o_group = o // groups
    for b in range(n):
        for out in range(o):
            first = (out // o_group) * c_group
            for p in range(oh):
                for q in range(ow):
                    total = 0.0 if bias is None else bias[out]
                    for ch in range(c_group):
                        for i in range(kh):
                            for j in range(kw):
                                total += weight[out, ch, i, j] * padded[b, first + ch, sh * p + dh * i, sw * q + dw * j]
                    y[b, out, p, q] = total
    return y


def conv_transpose2d_loops(y, weight, stride, padding, output_padding, dilation, groups):
    """Scatter form: every input pixel y[n, c, p, q] adds y * W[c, o, i, j] at (s p + d i - pad, s q + d j - pad)."""
    n, c_in, h, w = y.shape
    _, o_group, kh, kw = weight.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    oh = (h - 1) * sh - 2 * ph + dh * (kh - 1) + output_padding[0] + 1
    ow = (w - 1) * sw - 2 * pw + dw * (kw - 1) + output_padding[1] + 1
    full = np.zeros((n, o_group * groups, oh + 2 * ph + sh + dh * kh, ow + 2 * pw + sw + dw * kw))
    c_group = c_in // groups
    for b in range(n):
        for ch in range(c_in):
            first = (ch // c_group) * o_group
            for p in range(h):
                for q in range(w):
                    for out in range(o_group):
                        for i in range(kh):
                            for j in range(kw):
                                full[b, first + out, sh * p + dh * i, sw * q + dw * j] += y[b, ch, p, q] * weight[ch, out, i, j]
    return full[:, :, ph: ph + oh, pw: pw + ow]


def pool2d_loops(x, kernel, stride, padding, reduce):
    """Max (padding = -inf) or mean (padding = 0, counted) over each window, one output pixel at a time."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    fill = -np.inf if reduce is np.max else 0.0
    padded = np.full((n, c, h + 2 * ph, w + 2 * pw), fill)
    padded[:, :, ph: ph + h, pw: pw + w] = x
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    z = np.zeros((n, c, oh, ow))
    for p in range(oh):
        for q in range(ow):
            z[:, :, p, q] = reduce(padded[:, :, sh * p: sh * p + kh, sw * q: sw * q + kw], axis=(2, 3))
    return z


@st.composite
def pool_geometries(draw):
    """(shape, kernel, stride, padding) with padding at most half the kernel and a non-empty output."""
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    assume(kernel[0] <= shape[2] + 2 * padding[0] and kernel[1] <= shape[3] + 2 * padding[1])
    return shape, kernel, stride, padding
