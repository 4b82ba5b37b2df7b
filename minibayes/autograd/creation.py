"""Tensor factories on the active backend: constants, ranges and random draws.

Random draws use the backend's generator (``mb.seed`` makes them reproducible).
Floating results take the default dtype unless ``dtype`` is given.
"""

from __future__ import annotations

import numbers
from typing import Sequence

from .. import backend
from .tensor import Tensor

__all__ = ["zeros", "ones", "full", "zeros_like", "ones_like", "eye", "arange", "randn", "rand"]


def _shape(shape: tuple) -> tuple[int, ...]:
    """Accept ``zeros(2, 3)`` and ``zeros((2, 3))``."""
    if len(shape) == 1 and isinstance(shape[0], Sequence):
        shape = tuple(shape[0])
    for size in shape:
        # numbers.Integral takes NumPy integers too (a size read from an array's shape or a count).
        if not isinstance(size, numbers.Integral) or isinstance(size, bool) or size < 0:
            raise ValueError(f"shape must be non-negative ints, got {shape}")
    return tuple(int(size) for size in shape)


def _dtype(dtype: object) -> object:
    return backend.get_default_dtype() if dtype is None else dtype


def zeros(*shape: int, dtype: object = None, requires_grad: bool = False) -> Tensor:
    return Tensor(backend.xp().zeros(_shape(shape), dtype=_dtype(dtype)), requires_grad)


def ones(*shape: int, dtype: object = None, requires_grad: bool = False) -> Tensor:
    return Tensor(backend.xp().ones(_shape(shape), dtype=_dtype(dtype)), requires_grad)


def full(shape: Sequence[int], value: float, dtype: object = None, requires_grad: bool = False) -> Tensor:
    return Tensor(backend.xp().full(_shape((shape,)), value, dtype=_dtype(dtype)), requires_grad)


def zeros_like(x: Tensor, requires_grad: bool = False) -> Tensor:
    return Tensor(backend.array_module(x.data).zeros_like(x.data), requires_grad)


def ones_like(x: Tensor, requires_grad: bool = False) -> Tensor:
    return Tensor(backend.array_module(x.data).ones_like(x.data), requires_grad)


def eye(n: int, dtype: object = None) -> Tensor:
    return Tensor(backend.xp().eye(n, dtype=_dtype(dtype)))


def arange(*args: float, dtype: object = None) -> Tensor:
    """As ``numpy.arange`` (integer arguments give integers unless ``dtype`` is set)."""
    return Tensor(backend.xp().arange(*args, dtype=dtype))


def randn(*shape: int, dtype: object = None, requires_grad: bool = False) -> Tensor:
    """Standard normal draws from the backend generator."""
    draws = backend.rng().standard_normal(_shape(shape), dtype=_dtype(dtype))
    return Tensor(draws, requires_grad)


def rand(*shape: int, dtype: object = None, requires_grad: bool = False) -> Tensor:
    """Uniform draws on [0, 1) from the backend generator."""
    draws = backend.rng().random(_shape(shape), dtype=_dtype(dtype))
    return Tensor(draws, requires_grad)
