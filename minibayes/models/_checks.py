"""Boundary checks shared by the gradient-trained models (VAE, Bayes by Backprop, MC dropout, ...):
each raises a ValueError or TypeError that names the caller, the argument and the expected form."""

from __future__ import annotations

import math

from .. import backend
from ..autograd.tensor import Tensor
from ..nn._checks import positive_int

__all__ = ["positive_int", "positive_number", "check_batch", "match_target"]


def positive_number(value: object, name: str, caller: str) -> float:
    """``value`` as a finite float > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{caller}: {name} must be a positive finite number, got {value!r}")
    return float(value)


def check_batch(x: object, n_features: int, dtype: object, caller: str, *, name: str = "x",
                unit_interval: bool = False, validate: bool = True) -> Tensor:
    """x as a constant Tensor of shape (batch, n_features) and ``dtype``.

    With ``validate``, one device reduction checks finiteness (and x in [0, 1] when
    ``unit_interval``): the one host read it costs is the price of a clear error instead of a NaN loss.
    """
    data = x.data if isinstance(x, Tensor) else x
    if not hasattr(data, "shape") or not hasattr(data, "dtype"):
        raise TypeError(f"{caller}: {name} must be an array or Tensor of shape (batch, {n_features}), "
                        f"got {type(x).__name__}")
    if data.ndim != 2 or data.shape[1] != n_features or data.shape[0] < 1:
        raise ValueError(f"{caller}: {name} must have shape (batch, {n_features}) (flatten images first), "
                         f"got {tuple(data.shape)}")
    if data.dtype.kind not in "fiub":
        raise TypeError(f"{caller}: {name} must hold numbers, got dtype {data.dtype}")
    data = backend.asarray(data, dtype=dtype)
    if validate:
        xp = backend.array_module(data)
        bad = ~xp.isfinite(data)
        if unit_interval:
            bad |= (data < 0) | (data > 1)
        if bool(bad.any()):
            if not bool(xp.isfinite(data).all()):
                raise ValueError(f"{caller}: {name} contains NaN or inf")
            raise ValueError(f"{caller}: {name} must lie in [0, 1] (scale pixels by 1/255), got values in "
                             f"[{float(data.min())}, {float(data.max())}]")
    return Tensor(data)


def match_target(y: object, output: Tensor, caller: str) -> Tensor:
    """y as a constant Tensor shaped like ``output`` (n, d): y of shape (n, d), or (n,) when d = 1.

    Anything else (for instance y of shape (d, n)) is refused rather than silently reshaped.
    """
    target = y if isinstance(y, Tensor) else Tensor(backend.asarray(y, dtype=output.dtype))
    if target.shape == output.shape:
        return target
    if output.ndim == 2 and output.shape[1] == 1 and target.shape == (output.shape[0],):
        return target.reshape(output.shape)
    expected = f"{output.shape}" + (f" or ({output.shape[0]},)" if output.ndim == 2 and output.shape[1] == 1 else "")
    raise ValueError(f"{caller}: y must have shape {expected} to match the model's output, got {target.shape}")
