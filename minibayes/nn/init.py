"""Weight initialisers: draws from the backend generator with the variance each activation wants.

He et al. (2015), "Delving deep into rectifiers", eq. 10: Var[w] = 2 / fan_in keeps the
variance of ReLU activations constant from layer to layer.
Glorot & Bengio (2010), eq. 16: w ~ U[-a, a], a = sqrt(6 / (fan_in + fan_out)), for tanh/sigmoid.
"""

from __future__ import annotations

import math
from typing import Callable

from .. import backend

__all__ = ["he_normal", "glorot_uniform", "zeros", "resolve"]

Initializer = Callable[[tuple[int, ...], object], object]


def he_normal(shape: tuple[int, ...], dtype: object) -> object:
    """N(0, 2 / fan_in) for a weight of shape (fan_in, fan_out)."""
    std = math.sqrt(2.0 / shape[0])
    return backend.rng().standard_normal(shape, dtype=dtype) * std


def glorot_uniform(shape: tuple[int, ...], dtype: object) -> object:
    """U[-a, a] with a = sqrt(6 / (fan_in + fan_out))."""
    limit = math.sqrt(6.0 / (shape[0] + shape[1]))
    return (backend.rng().random(shape, dtype=dtype) * 2 - 1) * limit


def zeros(shape: tuple[int, ...], dtype: object) -> object:
    return backend.xp().zeros(shape, dtype=dtype)


_NAMED = {"he": he_normal, "glorot": glorot_uniform, "zeros": zeros}


def resolve(init: str | Initializer) -> Initializer:
    """A named initialiser ("he", "glorot", "zeros") or a callable ``(shape, dtype) -> array``."""
    if callable(init):
        return init
    if init not in _NAMED:
        raise ValueError(f"init must be one of {sorted(_NAMED)} or a callable (shape, dtype) -> array, got {init!r}")
    return _NAMED[init]
