"""Reductions over axes: sum, mean, var, max, min, logsumexp, softmax, log_softmax.

Every reduction takes ``axis`` (None for all axes, an int, or a tuple) and
``keepdims`` like NumPy. Backward re-inserts the reduced axes as size 1 and
broadcasts the gradient back over them.
"""

from __future__ import annotations

from typing import Sequence

import numpy

from ... import backend
from .. import numerics
from ..function import Function
from ..tensor import Tensor
from .elementwise import exp
from .shape import normalize_axis, reshape

__all__ = ["sum", "mean", "var", "max", "min", "logsumexp", "softmax", "log_softmax"]

_xp = backend.array_module
Axis = int | Sequence[int] | None


def _axes(axis: Axis, ndim: int, op: str) -> tuple[int, ...]:
    """``axis`` as a sorted tuple of non-negative axes; None means all of them."""
    if axis is None:
        return tuple(range(ndim))
    named = (axis,) if isinstance(axis, (int, numpy.integer)) else tuple(axis)
    axes = tuple(sorted({normalize_axis(a, ndim, op) for a in named}))
    if len(axes) != len(named):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return axes


def _kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    """``shape`` with the reduced axes kept as size 1."""
    return tuple(1 if i in axes else size for i, size in enumerate(shape))


def _as_tensor(x: object) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor.constant(x)


# --------------------------------------------------------------------------- sum, mean, var
class Sum(Function):
    def __init__(self, axes: tuple[int, ...], keepdims: bool) -> None:
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        self.input_shape = x.shape
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        return Unreduce(self.input_shape, self.axes, self.keepdims)(gy)


class Unreduce(Function):
    """The adjoint of ``Sum``: put the reduced axes back (size 1) and broadcast over them."""

    def __init__(self, shape: tuple[int, ...], axes: tuple[int, ...], keepdims: bool) -> None:
        self.shape, self.axes, self.keepdims = shape, axes, keepdims

    def forward(self, gy):
        return _xp(gy).broadcast_to(gy.reshape(_kept_shape(self.shape, self.axes)), self.shape)

    def backward(self, g):
        return Sum(self.axes, self.keepdims)(g)


def sum(x: object, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    x = _as_tensor(x)
    return Sum(_axes(axis, x.ndim, "sum"), keepdims)(x)


def mean(x: object, axis: Axis = None, keepdims: bool = False) -> Tensor:
    x = _as_tensor(x)
    axes = _axes(axis, x.ndim, "mean")
    count = int(numpy.prod([x.shape[a] for a in axes]))
    if count == 0:
        raise ValueError(f"mean: reducing over an empty axis of shape {x.shape}")
    return Sum(axes, keepdims)(x) * (1.0 / count)


def var(x: object, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Variance, (1/(n - ddof)) sum (x - mean)^2, as ``numpy.var``."""
    x = _as_tensor(x)
    axes = _axes(axis, x.ndim, "var")
    count = int(numpy.prod([x.shape[a] for a in axes]))
    if count - ddof <= 0:
        raise ValueError(f"var: ddof={ddof} leaves no degrees of freedom for {count} element(s)")
    deviation = x - mean(x, axes, keepdims=True)
    return Sum(axes, keepdims)(deviation * deviation) * (1.0 / (count - ddof))


# --------------------------------------------------------------------------- max, min
class Extremum(Function):
    """max or min over axes; ties share the gradient equally (as PyTorch's amax/amin)."""

    def __init__(self, axes: tuple[int, ...], keepdims: bool, largest: bool) -> None:
        self.axes, self.keepdims, self.largest = axes, keepdims, largest

    @property
    def name(self) -> str:
        return "max" if self.largest else "min"

    def forward(self, x):
        if x.size == 0:
            raise ValueError(f"{self.name} of an empty tensor")
        reduce = x.max if self.largest else x.min
        kept = reduce(axis=self.axes, keepdims=True)
        chosen = x == kept
        self.weights = chosen / chosen.sum(axis=self.axes, keepdims=True)
        self.input_shape = x.shape
        return kept if self.keepdims else kept.reshape(
            tuple(s for i, s in enumerate(x.shape) if i not in self.axes)
        )

    def backward(self, gy):
        return Unreduce(self.input_shape, self.axes, self.keepdims)(gy) * Tensor(
            self.weights.astype(gy.dtype, copy=False)
        )


def max(x: object, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    x = _as_tensor(x)
    return Extremum(_axes(axis, x.ndim, "max"), keepdims, largest=True)(x)


def min(x: object, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    x = _as_tensor(x)
    return Extremum(_axes(axis, x.ndim, "min"), keepdims, largest=False)(x)


# --------------------------------------------------------------------------- log-sum-exp family
def _stable_shift(x: object, axes: tuple[int, ...]) -> object:
    """max over ``axes`` (kept), with infinities replaced by 0 so that x - shift stays finite."""
    xp = _xp(x)
    shift = x.max(axis=axes, keepdims=True)
    return xp.where(xp.isfinite(shift), shift, 0)


class LogSumExp(Function):
    """log sum_i exp(x_i) = m + log sum_i exp(x_i - m), m = max_i x_i: no overflow at |x| = 1000."""

    def __init__(self, axes: tuple[int, ...], keepdims: bool) -> None:
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        kept = numerics.logsumexp(x, self.axes, keepdims=True)
        self.kept_shape = kept.shape
        return kept if self.keepdims else kept.reshape(
            tuple(s for i, s in enumerate(x.shape) if i not in self.axes)
        )

    def backward(self, gy):
        # d lse / dx_i = softmax(x)_i = exp(x_i - lse)
        x = self.inputs[0]
        lse = reshape(self.output, self.kept_shape)
        return reshape(gy, self.kept_shape) * exp(x - lse)


class Softmax(Function):
    def __init__(self, axes: tuple[int, ...]) -> None:
        self.axes = axes

    def forward(self, x):
        xp = _xp(x)
        e = xp.exp(x - _stable_shift(x, self.axes))
        return e / e.sum(axis=self.axes, keepdims=True)

    def backward(self, gy):
        # J^T gy = y * (gy - sum_j gy_j y_j)
        y = self.output
        return y * (gy - sum(gy * y, self.axes, keepdims=True))


class LogSoftmax(Function):
    def __init__(self, axes: tuple[int, ...]) -> None:
        self.axes = axes

    def forward(self, x):
        xp = _xp(x)
        shifted = x - _stable_shift(x, self.axes)
        return shifted - xp.log(xp.exp(shifted).sum(axis=self.axes, keepdims=True))

    def backward(self, gy):
        # J^T gy = gy - softmax(x) * sum_j gy_j
        return gy - exp(self.output) * sum(gy, self.axes, keepdims=True)


def logsumexp(x: object, axis: Axis = None, keepdims: bool = False) -> Tensor:
    x = _as_tensor(x)
    return LogSumExp(_axes(axis, x.ndim, "logsumexp"), keepdims)(x)


def softmax(x: object, axis: Axis = -1) -> Tensor:
    x = _as_tensor(x)
    return Softmax(_axes(axis, x.ndim, "softmax"))(x)


def log_softmax(x: object, axis: Axis = -1) -> Tensor:
    x = _as_tensor(x)
    return LogSoftmax(_axes(axis, x.ndim, "log_softmax"))(x)
