"""Max and average pooling of NCHW images, as a loop over the KH x KW kernel offsets.

Each kernel offset (i, j) reads one strided view of the (padded) input, x_pad[:, :, s p + i, s q + j]
over all output pixels (p, q) at once (``Geometry.offsets``), so pooling is KH KW whole-array
operations and never copies windows out (no im2col):

    max:  z = max_k x_k,  winner = the first k with x_k = z   (ties: the first offset, as PyTorch)
    mean: z = (1 / (KH KW)) sum_k x_k                     (zero padding counted, PyTorch's default)

Both are linear in x once the winner is fixed: z = sum_k a_k x_k with a_k = [winner = k] or
1 / (KH KW). ``_Gather`` is that map, ``_Scatter`` its adjoint (each output gradient sent back to
its window with the same weights); each one's backward is the other, so pooling is twice
differentiable.
"""

from __future__ import annotations

import numpy

from ... import backend
from ..function import Function
from ..tensor import Tensor
from .conv import Geometry, _check_image, _crop, _pad, _pair

__all__ = ["max_pool2d", "avg_pool2d"]

_xp = backend.array_module


def _views(padded, geometry: Geometry):
    """The strided view of the padded input that each kernel offset reads, in offset order."""
    return [padded[:, :, rows, columns] for _, _, rows, columns in geometry.offsets()]


def _gather(x, geometry: Geometry, winner):
    """z = sum_k a_k x_k: the value at each window's winner, or (winner None) the window mean."""
    xp = _xp(x)
    views = _views(_pad(x, geometry), geometry)
    if winner is None:
        z = views[0].copy()
        for view in views[1:]:
            z += view
        z *= numpy.dtype(x.dtype).type(1.0 / len(views))  # a NumPy scalar: float32 stays float32
        return z
    z = xp.zeros(views[0].shape, dtype=x.dtype)
    for k, view in enumerate(views):
        xp.copyto(z, view, where=winner == k)
    return z


def _scatter(gz, geometry: Geometry, winner):
    """The adjoint of ``_gather``: each window's gz sent back to its pixels with the weights a_k."""
    xp = _xp(gz)
    n, c = gz.shape[:2]
    padded = xp.zeros((n, c) + geometry.padded_size, dtype=gz.dtype)
    views = _views(padded, geometry)
    # Windows that do not overlap (stride >= kernel) write each pixel at most once: straight into the view.
    disjoint = all(s >= k for s, k in zip(geometry.stride, geometry.kernel))
    share = gz * numpy.dtype(gz.dtype).type(1.0 / len(views)) if winner is None else None
    for k, view in enumerate(views):
        if winner is None:
            view += share
        elif disjoint:
            xp.multiply(gz, winner == k, out=view)
        else:
            view += gz * (winner == k)
    ph, pw = geometry.padding
    return padded if ph == pw == 0 else xp.ascontiguousarray(_crop(padded, geometry))


class _Gather(Function):
    """z = sum_k a_k x_k over each window (max pooling's winners fixed, or the mean)."""

    def __init__(self, geometry: Geometry, winner) -> None:
        self.geometry, self.winner = geometry, winner

    def forward(self, x):
        return _gather(x, self.geometry, self.winner)

    def backward(self, gz):
        return _Scatter(self.geometry, self.winner)(gz)


class _Scatter(Function):
    """The adjoint of ``_Gather``."""

    def __init__(self, geometry: Geometry, winner) -> None:
        self.geometry, self.winner = geometry, winner

    def forward(self, gz):
        return _scatter(gz, self.geometry, self.winner)

    def backward(self, gx):
        return _Gather(self.geometry, self.winner)(gx)


class _MaxPool(Function):
    """z = max over each window; remembers the winning offset (int8 per output) for the backward."""

    def __init__(self, geometry: Geometry) -> None:
        self.geometry = geometry

    def forward(self, x):
        xp = _xp(x)
        views = _views(_pad(x, self.geometry, fill=-numpy.inf), self.geometry)
        z = views[0].copy()
        for view in views[1:]:
            xp.maximum(z, view, out=z)
        # Last offset first, so that the first offset attaining the max is the one that stays.
        self.winner = xp.full(z.shape, len(views) - 1, dtype=xp.int8 if len(views) < 128 else xp.int32)
        for k in range(len(views) - 2, -1, -1):
            xp.copyto(self.winner, k, where=views[k] == z)
        return z

    def backward(self, gz):
        return _Scatter(self.geometry, self.winner)(gz)


def _pool_geometry(x: Tensor, op: str, kernel_size, stride, padding) -> Geometry:
    _check_image(x, op)
    kernel = _pair(kernel_size, "kernel_size", op, 1)
    stride = kernel if stride is None else stride
    pad = _pair(padding, "padding", op, 0)
    if pad[0] > kernel[0] // 2 or pad[1] > kernel[1] // 2:
        # A window made only of padding would have no input to take the max or mean of.
        raise ValueError(f"{op}: padding {pad} must be at most half the kernel {kernel}")
    return Geometry.of(op, x.shape[2:], kernel, stride, pad, 1)


def max_pool2d(x: object, kernel_size, stride=None, padding=0) -> Tensor:
    """z[n, c, p, q] = max over the window of x (padding counts as -inf); stride defaults to the kernel.

    The gradient flows to the arg-max of each window only (the first one on ties).
    x (N, C, H, W) -> z (N, C, OH, OW).
    """
    x = x if isinstance(x, Tensor) else Tensor.constant(x)
    return _MaxPool(_pool_geometry(x, "max_pool2d", kernel_size, stride, padding))(x)


def avg_pool2d(x: object, kernel_size, stride=None, padding=0) -> Tensor:
    """z[n, c, p, q] = mean of x over the window (zero padding counted, as PyTorch's default).

    x (N, C, H, W) -> z (N, C, OH, OW); stride defaults to the kernel.
    """
    x = x if isinstance(x, Tensor) else Tensor.constant(x)
    return _Gather(_pool_geometry(x, "avg_pool2d", kernel_size, stride, padding), None)(x)
