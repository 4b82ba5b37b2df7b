"""Layers: Dense written out by hand, activations as modules, Flatten, and Dropout (with MC mode)."""

from __future__ import annotations

import contextlib
import threading
from typing import Iterator

from .. import backend
from ..autograd import ops
from ..autograd.tensor import Tensor
from . import functional as F
from . import init as initializers
from .module import Module, Parameter

__all__ = [
    "Dense", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Softplus", "Flatten", "Dropout", "mc_dropout", "stochastic",
    "sampling_forced",
]


class Dense(Module):
    """Fully connected layer z = x W + b (the seeds' z = W x + b with x as a row vector).

    Parameters
    ----------
    in_features, out_features : int
        Sizes of the input and output vectors.
    bias : bool
        Whether to add a learned bias b of shape (out_features,).
    init : "he", "glorot" or callable (shape, dtype) -> array
        Initialiser of W, of shape (in_features, out_features). He suits ReLU, Glorot tanh/sigmoid.
    dtype : dtype, optional
        Parameter dtype; the default dtype (float32) when omitted.

    Shapes: x (..., in_features) -> z (..., out_features).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, init="he", dtype=None) -> None:
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Dense: {name} must be a positive int, got {value!r}")
        dtype = backend.get_default_dtype() if dtype is None else dtype
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(initializers.resolve(init)((in_features, out_features), dtype))
        self.bias = Parameter(backend.xp().zeros(out_features, dtype=dtype)) if bias else None

    def forward(self, x: object) -> Tensor:
        return ops.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, bias={self.bias is not None}"


class ReLU(Module):
    def forward(self, x: object) -> Tensor:
        return ops.relu(x)


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: object) -> Tensor:
        return ops.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Tanh(Module):
    def forward(self, x: object) -> Tensor:
        return ops.tanh(x)


class Sigmoid(Module):
    def forward(self, x: object) -> Tensor:
        return ops.sigmoid(x)


class Softplus(Module):
    def forward(self, x: object) -> Tensor:
        return ops.softplus(x)


class Flatten(Module):
    """(batch, d1, d2, ...) -> (batch, d1 * d2 * ...)."""

    def forward(self, x: object) -> Tensor:
        return ops.flatten(x, start_axis=1)


class _SamplingMode(threading.local):
    forced = False


_sampling_mode = _SamplingMode()


def sampling_forced() -> bool:
    """Whether a ``stochastic()`` block is active in this thread."""
    return _sampling_mode.forced


@contextlib.contextmanager
def stochastic() -> Iterator[None]:
    """Keep every stochastic layer sampling inside the block, in eval mode too: Dropout drops and
    Bayesian layers draw their weights. Outside it, eval mode is deterministic.

    This is how the T stochastic passes of MC dropout (Gal & Ghahramani 2016) and of a Bayes by
    Backprop network are taken (``models.uncertainty.predict_mc``), independently of train/eval mode.
    """
    previous = _sampling_mode.forced
    _sampling_mode.forced = True
    try:
        yield
    finally:
        _sampling_mode.forced = previous


def mc_dropout() -> contextlib.AbstractContextManager[None]:
    """Gal & Ghahramani's name for ``stochastic()``: dropout stays on at prediction time."""
    return stochastic()


class Dropout(Module):
    """Inverted dropout: zero each element with probability p, scale the rest by 1/(1-p).

    Parameters
    ----------
    p : float in [0, 1)
        Drop probability.
    mc : bool
        Monte Carlo dropout: keep dropping in eval mode too (Gal & Ghahramani 2016).
        ``stochastic()`` (or ``mc_dropout()``) does the same for every layer within a block.
    """

    def __init__(self, p: float = 0.5, mc: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p, self.mc = p, mc

    @property
    def active(self) -> bool:
        return self.training or self.mc or _sampling_mode.forced

    def forward(self, x: object) -> Tensor:
        return F.dropout(x, self.p, training=self.active)

    def extra_repr(self) -> str:
        return f"p={self.p}" + (", mc=True" if self.mc else "")
