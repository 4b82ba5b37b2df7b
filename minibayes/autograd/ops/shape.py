"""Operations that move elements without changing them: reshape, transpose, broadcast, index.

Their backward moves the gradient back: a reshape is undone by a reshape, a
broadcast by a sum, an index by a scatter into zeros (accumulating where an
index repeats).
"""

from __future__ import annotations

from typing import Sequence

import numpy

from ... import backend
from .. import numerics
from ..function import Function
from ..tensor import Tensor

__all__ = [
    "reshape", "transpose", "swapaxes", "broadcast_to", "sum_to", "unbroadcast",
    "squeeze", "unsqueeze", "flatten", "getitem", "concatenate", "stack", "split",
]

_xp = backend.array_module


def normalize_axis(axis: int, ndim: int, op: str) -> int:
    """``axis`` as a non-negative index into ``ndim`` axes, or a ValueError naming ``op``."""
    if not isinstance(axis, (int, numpy.integer)):
        raise TypeError(f"{op}: axis must be an int, got {type(axis).__name__}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for a tensor with {ndim} dimension(s)")
    return int(axis) % ndim


# --------------------------------------------------------------------------- reshape family
class Reshape(Function):
    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x):
        self.input_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, gy):
        return reshape(gy, self.input_shape)


class Transpose(Function):
    def __init__(self, axes: tuple[int, ...]) -> None:
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):
        return transpose(gy, tuple(numpy.argsort(self.axes)))


class BroadcastTo(Function):
    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x):
        self.input_shape = x.shape
        return _xp(x).broadcast_to(x, self.shape)

    def backward(self, gy):
        return sum_to(gy, self.input_shape)


class SumTo(Function):
    """Sum a broadcast result back to ``shape``: the adjoint of ``broadcast_to``."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x):
        self.input_shape = x.shape
        lead = x.ndim - len(self.shape)
        axes = tuple(range(lead)) + tuple(
            lead + i for i, size in enumerate(self.shape) if size == 1 and x.shape[lead + i] != 1
        )
        y = x.sum(axis=axes, keepdims=True) if axes else x
        return y.reshape(self.shape)

    def backward(self, gy):
        return broadcast_to(gy, self.input_shape)


def reshape(x: object, shape: Sequence[int] | int) -> Tensor:
    shape = (shape,) if isinstance(shape, (int, numpy.integer)) else tuple(shape)
    if isinstance(x, Tensor) and x.shape == shape:
        return x
    return Reshape(shape)(x)


def transpose(x: object, axes: Sequence[int] | None = None) -> Tensor:
    """Permute the axes (reverse them when ``axes`` is None), as ``numpy.transpose``."""
    x = x if isinstance(x, Tensor) else Tensor.constant(x)
    if axes is None:
        return Transpose(tuple(range(x.ndim - 1, -1, -1)))(x)
    axes = tuple(normalize_axis(a, x.ndim, "transpose") for a in axes)
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of {x.ndim} axes")
    return Transpose(axes)(x)


def swapaxes(x: object, axis1: int, axis2: int) -> Tensor:
    x = x if isinstance(x, Tensor) else Tensor.constant(x)
    axes = list(range(x.ndim))
    i, j = normalize_axis(axis1, x.ndim, "swapaxes"), normalize_axis(axis2, x.ndim, "swapaxes")
    axes[i], axes[j] = axes[j], axes[i]
    return Transpose(tuple(axes))(x)


def broadcast_to(x: object, shape: Sequence[int]) -> Tensor:
    shape = tuple(shape)
    if isinstance(x, Tensor) and x.shape == shape:
        return x
    return BroadcastTo(shape)(x)


def sum_to(x: Tensor, shape: Sequence[int]) -> Tensor:
    """Sum ``x`` over the axes along which ``shape`` was broadcast to ``x.shape``."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return SumTo(shape)(x)


def unbroadcast(gradient: Tensor, shape: tuple[int, ...]) -> Tensor:
    """The gradient of a broadcast operand: ``gradient`` summed back to the operand's ``shape``."""
    return gradient if gradient.shape == shape else SumTo(shape)(gradient)


def squeeze(x: object, axis: int | Sequence[int] | None = None) -> Tensor:
    """Drop size-1 axes (all of them, or those named)."""
    x = x if isinstance(x, Tensor) else Tensor.constant(x)
    if axis is None:
        axes = {i for i, size in enumerate(x.shape) if size == 1}
    else:
        named = (axis,) if isinstance(axis, (int, numpy.integer)) else tuple(axis)
        axes = {normalize_axis(a, x.ndim, "squeeze") for a in named}
        for a in axes:
            if x.shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} has size {x.shape[a]}, not 1 (shape {x.shape})")
    return reshape(x, tuple(size for i, size in enumerate(x.shape) if i not in axes))


def unsqueeze(x: object, axis: int) -> Tensor:
    """Insert a size-1 axis at position ``axis`` (as ``numpy.expand_dims``)."""
    x = x if isinstance(x, Tensor) else Tensor.constant(x)
    position = normalize_axis(axis, x.ndim + 1, "unsqueeze")
    shape = list(x.shape)
    shape.insert(position, 1)
    return reshape(x, tuple(shape))


def flatten(x: object, start_axis: int = 0, end_axis: int = -1) -> Tensor:
    """Merge axes ``start_axis`` to ``end_axis`` (inclusive) into one."""
    x = x if isinstance(x, Tensor) else Tensor.constant(x)
    if x.ndim == 0:
        return reshape(x, (1,))
    start = normalize_axis(start_axis, x.ndim, "flatten")
    end = normalize_axis(end_axis, x.ndim, "flatten")
    if start > end:
        raise ValueError(f"flatten: start_axis {start_axis} comes after end_axis {end_axis}")
    merged = int(numpy.prod(x.shape[start : end + 1]))
    return reshape(x, x.shape[:start] + (merged,) + x.shape[end + 1 :])


# --------------------------------------------------------------------------- indexing
def _is_advanced(index: tuple) -> bool:
    """Whether an index holds integer arrays, the only kind that can repeat positions."""
    for item in index:
        if isinstance(item, (list, tuple)) or (
            hasattr(item, "dtype") and item.dtype.kind in "iu" and getattr(item, "ndim", 0) > 0
        ):
            return True
    return False


class GetItem(Function):
    def __init__(self, index: tuple) -> None:
        self.index = index

    def forward(self, x):
        self.input_shape = x.shape
        return x[self.index]

    def backward(self, gy):
        return ScatterAdd(self.index, self.input_shape)(gy)


class ScatterAdd(Function):
    """The adjoint of ``x[index]``: zeros of the source shape with ``y`` added at ``index``."""

    def __init__(self, index: tuple, shape: tuple[int, ...]) -> None:
        self.index, self.shape = index, shape

    def forward(self, y):
        x = _xp(y).zeros(self.shape, dtype=y.dtype)
        if _is_advanced(self.index):
            numerics.scatter_add(x, self.index, y)  # repeated indices accumulate
        else:
            x[self.index] = y  # slices and masks never repeat: plain assignment is enough
        return x

    def backward(self, gx):
        return GetItem(self.index)(gx)


def _normalize_index(index: object, module: object) -> tuple:
    """``index`` as a tuple whose arrays live on the same backend as the indexed data."""
    items = index if isinstance(index, tuple) else (index,)
    items = tuple(item.data if isinstance(item, Tensor) else item for item in items)
    if module is numpy:
        return items
    return tuple(module.asarray(item) if isinstance(item, (numpy.ndarray, list)) else item for item in items)


def getitem(x: object, index: object) -> Tensor:
    """``x[index]`` for slices, integers, integer arrays and boolean masks."""
    x = x if isinstance(x, Tensor) else Tensor.constant(x)
    return GetItem(_normalize_index(index, _xp(x.data)))(x)


# --------------------------------------------------------------------------- joining
class Concatenate(Function):
    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, *xs):
        self.sizes = [x.shape[self.axis] for x in xs]
        return _xp(xs[0]).concatenate(xs, axis=self.axis)

    def backward(self, gy):
        pieces, start = [], 0
        for size in self.sizes:
            index = (slice(None),) * self.axis + (slice(start, start + size),)
            pieces.append(getitem(gy, index))
            start += size
        return tuple(pieces)


def concatenate(tensors: Sequence[object], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    tensors = [t if isinstance(t, Tensor) else Tensor.constant(t) for t in tensors]
    if not tensors:
        raise ValueError("concatenate: needs at least one tensor")
    ndim = tensors[0].ndim
    if ndim == 0:
        raise ValueError("concatenate: 0-d tensors cannot be concatenated; use stack")
    return Concatenate(normalize_axis(axis, ndim, "concatenate"))(*tensors)


def stack(tensors: Sequence[object], axis: int = 0) -> Tensor:
    """Join same-shape tensors along a new axis."""
    tensors = [t if isinstance(t, Tensor) else Tensor.constant(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    position = normalize_axis(axis, tensors[0].ndim + 1, "stack")
    return concatenate([unsqueeze(t, position) for t in tensors], axis=position)


def split(x: object, indices_or_sections: int | Sequence[int], axis: int = 0) -> list[Tensor]:
    """Split along ``axis`` into equal sections or at the given indices, as ``numpy.split``."""
    x = x if isinstance(x, Tensor) else Tensor.constant(x)
    axis = normalize_axis(axis, x.ndim, "split")
    length = x.shape[axis]
    if isinstance(indices_or_sections, (int, numpy.integer)):
        sections = int(indices_or_sections)
        if sections <= 0 or length % sections:
            raise ValueError(
                f"split: {sections} sections do not divide axis {axis} of length {length} equally"
            )
        bounds = [length // sections * i for i in range(sections + 1)]
    else:
        bounds = [0, *indices_or_sections, length]
    lead = (slice(None),) * axis
    return [getitem(x, lead + (slice(lo, hi),)) for lo, hi in zip(bounds[:-1], bounds[1:])]
