"""Convolution and pooling on NCHW images: im2col + one GEMM, and their adjoints.

Layout: images are (batch N, channels C, height H, width W); filters of a
convolution are (out_channels O, in_channels / groups, KH, KW), as in PyTorch.

The one idea (Chellapilla, Puri & Simard 2006, "High performance convolutional
neural networks for document processing"): copy every receptive field into a
column, ``im2col``, so that the whole convolution is one matrix product

    y[o, (n, p)] = sum_k W[o, k] cols[k, (n, p)],   k = (c, i, j),   p = output pixel,

cross-correlation as in every deep-learning library (no kernel flip). The copy
loops over the KH x KW kernel offsets, each a strided slice of the padded input
(never over output pixels). Its adjoint ``col2im`` adds each column block back
with a strided slice per offset, a sum over kernel offsets instead of a scatter
(``add.at``) over every element.

Three bilinear maps share the form B(x, W, y) = <conv2d(x, W), y>:
``conv2d`` (x -> y), ``conv_transpose2d`` (y -> x, its adjoint in x) and the
weight gradient (x, y -> W). Each one's backward is made of the other two, so
the backward pass is itself differentiable (double backprop, gradient penalties).
Pooling reads the same windows (``pool.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy

from ... import backend
from ..function import Function
from ..tensor import Tensor
from .shape import reshape

__all__ = ["conv2d", "conv_transpose2d", "conv_output_size"]

_xp = backend.array_module


def _pair(value: object, name: str, op: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints, each >= ``minimum``, as (height, width); ValueError naming ``name`` else."""
    pair = (value, value) if isinstance(value, (int, numpy.integer)) and not isinstance(value, bool) else value
    if (not isinstance(pair, (tuple, list)) or len(pair) != 2
            or any(isinstance(v, bool) or not isinstance(v, (int, numpy.integer)) or v < minimum for v in pair)):
        raise ValueError(f"{op}: {name} must be an int >= {minimum} or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """Output length of a convolution along one axis: floor((L + 2p - d (k - 1) - 1) / s) + 1."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


@dataclass(frozen=True)
class Geometry:
    """Kernel size, stride, padding and dilation (each (height, width)) and the input and output sizes."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    in_size: tuple[int, int]
    out_size: tuple[int, int]

    @classmethod
    def of(cls, op, in_size, kernel, stride, padding, dilation) -> Geometry:
        kernel = _pair(kernel, "kernel_size", op, 1)
        stride, padding = _pair(stride, "stride", op, 1), _pair(padding, "padding", op, 0)
        dilation = _pair(dilation, "dilation", op, 1)
        out = []
        for axis in range(2):
            span = dilation[axis] * (kernel[axis] - 1) + 1
            padded = in_size[axis] + 2 * padding[axis]
            if span > padded:
                raise ValueError(
                    f"{op}: kernel {kernel} (dilated extent {span} along {'HW'[axis]}) is larger than the padded "
                    f"input {in_size[0] + 2 * padding[0]}x{in_size[1] + 2 * padding[1]} (input {in_size[0]}x"
                    f"{in_size[1]}, padding {padding})")
            out.append(conv_output_size(in_size[axis], kernel[axis], stride[axis], padding[axis], dilation[axis]))
        return cls(kernel, stride, padding, dilation, tuple(in_size), tuple(out))

    @property
    def padded_size(self) -> tuple[int, int]:
        return self.in_size[0] + 2 * self.padding[0], self.in_size[1] + 2 * self.padding[1]

    def offsets(self):
        """(i, j, rows, columns): the strided slices of the padded input that kernel offset (i, j) reads."""
        (kh, kw), (sh, sw), (dh, dw), (oh, ow) = self.kernel, self.stride, self.dilation, self.out_size
        for i in range(kh):
            rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
            for j in range(kw):
                yield i, j, rows, slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)


def _pad(x, geometry: Geometry, fill: float = 0.0):
    """x (N, C, H, W) inside a border of ``fill``, (N, C, H + 2 ph, W + 2 pw)."""
    ph, pw = geometry.padding
    if ph == 0 and pw == 0:
        return x
    xp = _xp(x)
    shape = x.shape[:2] + geometry.padded_size
    padded = xp.zeros(shape, dtype=x.dtype) if fill == 0 else xp.full(shape, fill, dtype=x.dtype)
    padded[:, :, ph: ph + x.shape[2], pw: pw + x.shape[3]] = x
    return padded


def _crop(padded, geometry: Geometry):
    ph, pw = geometry.padding
    h, w = geometry.in_size
    return padded[:, :, ph: ph + h, pw: pw + w]


def batch_last_columns(channels_per_group: int) -> bool:
    """Which column layout a convolution uses: batch last unless one input channel per group.

    The copies of ``im2col`` run over contiguous stretches of OW numbers (strided by the stride)
    with the batch first, of N (or OW x N) numbers with the batch last; NumPy pays a fixed cost to
    start each stretch, so at OW = 7 (a 4x4 stride-2 layer) or 10 (LeNet's second layer) the
    batch-last copy was 1.5-2x faster (measured). But the GEMM then yields (O, OH, OW, N), and
    moving N back to the front costs about as much as the copy saves when the columns are few,
    as in a first layer on one-channel images (K = KH KW, measured slower by 20-30%).
    """
    return channels_per_group > 1


def im2col(x, geometry: Geometry, batch_last: bool):
    """Receptive fields of x (N, C, H, W) as columns: cols (C, KH, KW, N, OH, OW), or (C, KH, KW, OH, OW, N).

    Channel-major, so that ``cols.reshape(C KH KW, -1)`` is the right operand of the one GEMM.
    """
    xp = _xp(x)
    n, c = x.shape[:2]
    if batch_last:  # the padded image as (C, H + 2 ph, W + 2 pw, N)
        ph, pw = geometry.padding
        source = xp.zeros((c,) + geometry.padded_size + (n,), dtype=x.dtype)
        source[:, ph: ph + x.shape[2], pw: pw + x.shape[3]] = x.transpose(1, 2, 3, 0)
        cols = xp.empty((c,) + geometry.kernel + geometry.out_size + (n,), dtype=x.dtype)
        for i, j, rows, columns in geometry.offsets():
            cols[:, i, j] = source[:, rows, columns]
        return cols
    source = _pad(x, geometry).transpose(1, 0, 2, 3)
    cols = xp.empty((c,) + geometry.kernel + (n,) + geometry.out_size, dtype=x.dtype)
    for i, j, rows, columns in geometry.offsets():
        cols[:, i, j] = source[:, :, rows, columns]
    return cols


def col2im(cols, geometry: Geometry):
    """Adjoint of ``im2col``, batch last: cols (C, KH, KW, OH, OW, N) summed back into an image (N, C, H, W).

    A pixel read by several receptive fields collects the sum of their entries: one strided
    add per kernel offset (KH KW of them), which is the sum over offsets that ``add.at`` would
    do element by element, far slower. The batch is the last axis here (unlike ``im2col``'s
    columns) so that each add runs over contiguous stretches of N (or OW x N at stride 1)
    numbers instead of OW: with OW = 10 (LeNet's second layer) NumPy spends its time starting
    inner loops, and this layout made the input gradient 2-3x faster (measured) for the price
    of moving the batch axis once on the way in and once on the way out.
    """
    c, n = cols.shape[0], cols.shape[-1]
    xp = _xp(cols)
    padded = xp.zeros((c,) + geometry.padded_size + (n,), dtype=cols.dtype)
    for i, j, rows, columns in geometry.offsets():
        padded[:, rows, columns] += cols[:, i, j]
    ph, pw = geometry.padding
    h, w = geometry.in_size
    return xp.ascontiguousarray(padded[:, ph: ph + h, pw: pw + w].transpose(3, 0, 1, 2))


# --------------------------------------------------------------------------- the three bilinear maps
def _grouped_matmul(a, b):
    """a (g, m, k) @ b (g, k, n) as g two-dimensional products.

    NumPy hands a 2-D product of transposed views straight to BLAS (as a transpose flag), but a
    stacked (3-D) product of non-contiguous operands falls back to its own loops, 20-50x slower
    (measured: the LeNet weight gradient took 0.6 s instead of 15 ms). g is 1 unless grouped.
    """
    if a.shape[0] == 1:
        return (a[0] @ b[0])[None]
    return _xp(a).stack([a[g] @ b[g] for g in range(a.shape[0])])


def _gemm_forward(cols, w, groups, batch_last: bool):
    """y (N, O, OH, OW) = W (g, O/g, K) @ cols (g, K, N OH OW or OH OW N): the one GEMM of a convolution."""
    o, n = w.shape[0], cols.shape[-1 if batch_last else 3]
    out_size = cols.shape[3:5] if batch_last else cols.shape[4:]
    y = _grouped_matmul(w.reshape(groups, o // groups, -1), cols.reshape(groups, -1, cols[0, 0, 0].size))
    if batch_last:
        return _xp(y).ascontiguousarray(y.reshape((o,) + out_size + (n,)).transpose(3, 0, 1, 2))
    return _xp(y).ascontiguousarray(y.reshape((o, n) + out_size).transpose(1, 0, 2, 3))


def _gemm_input(y, w, groups, geometry: Geometry):
    """cols (C, KH, KW, OH, OW, N) = W^T (g, K, O/g) @ y (g, O/g, OH OW N): the transposed GEMM, batch last."""
    n, o, oh, ow = y.shape
    c_per_group, kh, kw = w.shape[1:]
    y_batch_last = y.transpose(1, 2, 3, 0).reshape(groups, o // groups, oh * ow * n)
    cols = _grouped_matmul(w.reshape(groups, o // groups, -1).transpose(0, 2, 1), y_batch_last)
    return cols.reshape(c_per_group * groups, kh, kw, oh, ow, n)


def _gemm_weight(cols, y, groups, weight_shape, batch_last: bool):
    """dB/dW (O, C/g, KH, KW) = y (g, O/g, N OH OW or OH OW N) @ cols^T (g, same, K): y in the columns' order."""
    o = y.shape[1]
    y_like_cols = y.transpose(1, 2, 3, 0) if batch_last else y.transpose(1, 0, 2, 3)
    y_like_cols = y_like_cols.reshape(groups, o // groups, -1)
    k = cols.size // (groups * y_like_cols.shape[-1])
    return _grouped_matmul(y_like_cols, cols.reshape(groups, k, -1).transpose(0, 2, 1)).reshape(weight_shape)


class Conv2d(Function):
    """y = conv2d(x, W): y[n, o] = sum_{c, i, j} W[o, c, i, j] x_pad[n, c, s p + d i, s q + d j] (no bias)."""

    def __init__(self, geometry: Geometry, groups: int) -> None:
        self.geometry, self.groups = geometry, groups

    def forward(self, x, w):
        self.batch_last = batch_last_columns(w.shape[1])
        self.cols = im2col(x, self.geometry, self.batch_last)  # kept: the weight gradient needs exactly these
        return _gemm_forward(self.cols, w, self.groups, self.batch_last)

    def backward(self, gy):
        x, w = self.inputs
        gx = _ConvTranspose2d(self.geometry, self.groups)(gy, w) if x.requires_grad else None
        gw = _ConvWeight(self.geometry, self.groups, w.shape, self.cols)(x, gy) if w.requires_grad else None
        return gx, gw


class _ConvTranspose2d(Function):
    """x = conv_T(y, W), the adjoint of x -> conv2d(x, W): <conv2d(x, W), y> = <x, conv_T(y, W)>."""

    def __init__(self, geometry: Geometry, groups: int) -> None:
        self.geometry, self.groups = geometry, groups

    def forward(self, y, w):
        return col2im(_gemm_input(y, w, self.groups, self.geometry), self.geometry)

    def backward(self, gx):
        y, w = self.inputs
        conv = Conv2d(self.geometry, self.groups)
        gy = conv(gx, w) if y.requires_grad else None
        # Both gradients read the columns of gx: the weight gradient reuses the ones conv2d just made.
        gw = _ConvWeight(self.geometry, self.groups, w.shape, getattr(conv, "cols", None))(gx, y) \
            if w.requires_grad else None
        return gy, gw


class _ConvWeight(Function):
    """W-gradient of B(x, W, y) = <conv2d(x, W), y>: linear in x and in y."""

    def __init__(self, geometry: Geometry, groups: int, weight_shape, cols=None) -> None:
        self.geometry, self.groups, self.weight_shape, self.cols = geometry, groups, tuple(weight_shape), cols

    def forward(self, x, y):
        batch_last = batch_last_columns(self.weight_shape[1])
        cols = im2col(x, self.geometry, batch_last) if self.cols is None else self.cols
        self.cols = None
        return _gemm_weight(cols, y, self.groups, self.weight_shape, batch_last)

    def backward(self, gw):
        x, y = self.inputs
        gx = _ConvTranspose2d(self.geometry, self.groups)(y, gw) if x.requires_grad else None
        gy = Conv2d(self.geometry, self.groups)(x, gw) if y.requires_grad else None
        return gx, gy


def _check_image(x: Tensor, op: str, name: str = "input") -> None:
    if x.ndim != 4:
        raise ValueError(f"{op}: {name} must be 4-D (batch, channels, height, width), got shape {x.shape}")


def _check_filters(x: Tensor, weight: Tensor, groups: int, op: str, transposed: bool) -> None:
    if weight.ndim != 4:
        raise ValueError(f"{op}: weight must be 4-D, got shape {weight.shape}")
    if isinstance(groups, bool) or not isinstance(groups, (int, numpy.integer)) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    if transposed:  # weight (C_in, C_out / g, KH, KW), PyTorch's layout for a transposed convolution
        expected, where = weight.shape[0], "weight.shape[0]"
        if weight.shape[0] % groups:
            raise ValueError(f"{op}: weight.shape[0] = {weight.shape[0]} is not divisible by groups = {groups}")
    else:  # weight (C_out, C_in / g, KH, KW)
        expected, where = weight.shape[1] * groups, f"weight.shape[1] x groups = {weight.shape[1]} x {groups}"
        if weight.shape[0] % groups:
            raise ValueError(f"{op}: out channels weight.shape[0] = {weight.shape[0]} not divisible by groups = {groups}")
    if x.shape[1] != expected:
        raise ValueError(f"{op}: channel mismatch: input {x.shape} has {x.shape[1]} channels, "
                         f"{where} expects {expected} (weight shape {weight.shape})")


def _add_bias(y: Tensor, bias: object, channels: int, op: str) -> Tensor:
    if bias is None:
        return y
    bias = bias if isinstance(bias, Tensor) else Tensor.constant(bias)
    if bias.shape != (channels,):
        raise ValueError(f"{op}: bias must have shape ({channels},), got {bias.shape}")
    return y + reshape(bias, (1, channels, 1, 1))


def conv2d(x: object, weight: object, bias: object = None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """2-D cross-correlation of NCHW images with a filter bank, as im2col + one GEMM.

    y[n, o, p, q] = b[o] + sum_{c, i, j} W[o, c, i, j] x_pad[n, g(o) C/g + c, s_h p + d_h i, s_w q + d_w j]

    Parameters
    ----------
    x : Tensor of shape (N, C_in, H, W)
    weight : Tensor of shape (C_out, C_in / groups, KH, KW)
    bias : Tensor of shape (C_out,), optional
    stride, padding, dilation : int or (int, int)
        Zero padding on every side; output side floor((H + 2p - d (K - 1) - 1) / s) + 1.
    groups : int
        Input and output channels split into this many independent blocks (depthwise: groups = C_in).

    Returns y of shape (N, C_out, OH, OW).
    """
    x = x if isinstance(x, Tensor) else Tensor.constant(x)
    weight = weight if isinstance(weight, Tensor) else Tensor.constant(weight)
    _check_image(x, "conv2d")
    _check_filters(x, weight, groups, "conv2d", transposed=False)
    geometry = Geometry.of("conv2d", x.shape[2:], weight.shape[2:], stride, padding, dilation)
    return _add_bias(Conv2d(geometry, int(groups))(x, weight), bias, weight.shape[0], "conv2d")


def conv_transpose2d(y: object, weight: object, bias: object = None, stride=1, padding=0, output_padding=0,
                     dilation=1, groups: int = 1) -> Tensor:
    """Transposed convolution: the adjoint of ``conv2d`` in its input, <conv2d(x, W), y> = <x, conv_T(y, W)>.

    Each input pixel scatters a copy of the filter, scaled by its value, into the output (the
    "fractionally strided" upsampling of DCGAN decoders).

    Parameters
    ----------
    y : Tensor of shape (N, C_in, H, W)
    weight : Tensor of shape (C_in, C_out / groups, KH, KW) (the weight of the conv2d it is the adjoint of)
    bias : Tensor of shape (C_out,), optional
    stride, padding, dilation : int or (int, int)
        Those of the adjoint conv2d.
    output_padding : int or (int, int)
        Extra rows/columns at the bottom/right, < stride (or < dilation): picks which of the
        input sizes that the adjoint conv2d maps to the same output size is meant.

    Returns x of shape (N, C_out, H_out, W_out), H_out = (H - 1) s - 2 p + d (KH - 1) + output_padding + 1.
    """
    y = y if isinstance(y, Tensor) else Tensor.constant(y)
    weight = weight if isinstance(weight, Tensor) else Tensor.constant(weight)
    op = "conv_transpose2d"
    _check_image(y, op)
    _check_filters(y, weight, groups, op, transposed=True)
    kernel = weight.shape[2:]
    stride, padding = _pair(stride, "stride", op, 1), _pair(padding, "padding", op, 0)
    dilation, extra = _pair(dilation, "dilation", op, 1), _pair(output_padding, "output_padding", op, 0)
    if any(e >= s for e, s in zip(extra, stride)):
        # Only then is the adjoint conv2d's output exactly y's size (output sizes are floor-divided by s).
        raise ValueError(f"{op}: output_padding {extra} must be smaller than stride {stride}")
    out = tuple((y.shape[2 + a] - 1) * stride[a] - 2 * padding[a] + dilation[a] * (kernel[a] - 1) + extra[a] + 1
                for a in range(2))
    if min(out) < 1:
        raise ValueError(f"{op}: input {y.shape} with kernel {kernel}, stride {stride}, padding {padding} "
                         f"gives an empty output {out}")
    geometry = Geometry.of(op, out, kernel, stride, padding, dilation)
    result = _ConvTranspose2d(geometry, int(groups))(y, weight)
    return _add_bias(result, bias, weight.shape[1] * int(groups), op)
