"""Losses and stateless layer functions, each written as its formula.

All losses reduce with ``reduction="mean"`` (over every element, as PyTorch), ``"sum"`` or ``"none"``.
"""

from __future__ import annotations

import math

import numpy

from .. import backend
from ..autograd import ops
from ..autograd.numerics import HALF_LOG_2PI
from ..autograd.tensor import Tensor, as_tensor

__all__ = [
    "mse_loss", "bce_with_logits", "cross_entropy", "gaussian_nll", "softmax", "log_softmax",
    "dropout", "linear",
]

softmax = ops.softmax
log_softmax = ops.log_softmax
linear = ops.linear

_REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return ops.mean(loss)
    if reduction == "sum":
        return ops.sum(loss)
    return loss


def _check(reduction: str, op: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _same_shape(a: Tensor, b: Tensor, op: str, names: tuple[str, str]) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{op}: {names[0]} {a.shape} and {names[1]} {b.shape} must have the same shape")


def mse_loss(prediction: object, target: object, reduction: str = "mean") -> Tensor:
    """(prediction - target)^2: the autoencoder's L2 reconstruction loss (seed Auto-Encoder slides)."""
    _check(reduction, "mse_loss")
    prediction, target = as_tensor(prediction), as_tensor(target)
    _same_shape(prediction, target, "mse_loss", ("prediction", "target"))
    difference = prediction - target
    return _reduce(difference * difference, reduction)


def bce_with_logits(logits: object, targets: object, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of targets t in [0, 1] under Bernoulli(sigmoid(x)).

    -[t log sigma(x) + (1 - t) log(1 - sigma(x))] = softplus(x) - t x, which never
    evaluates log(0) or exp of a large number (stable at |x| = 1000).
    """
    _check(reduction, "bce_with_logits")
    logits, targets = as_tensor(logits), as_tensor(targets)
    _same_shape(logits, targets, "bce_with_logits", ("logits", "targets"))
    return _reduce(ops.softplus(logits) - targets * logits, reduction)


def cross_entropy(logits: object, labels: object, reduction: str = "mean") -> Tensor:
    """-log softmax(logits)[label] per row: the Categorical negative log-likelihood.

    Parameters
    ----------
    logits : Tensor of shape (n, k)
    labels : integer array of shape (n,), values in [0, k)
        Labels on the host (NumPy) are range-checked (ValueError). Labels already on
        the device are not read back, since that would stall every training step:
        a row whose label is outside [0, k) gets a NaN loss instead (never a finite
        wrong number), which ``train.fit``'s guard reports.
    """
    _check(reduction, "cross_entropy")
    logits = as_tensor(logits)
    labels = labels.data if isinstance(labels, Tensor) else labels
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy: logits must have shape (n, k), got {logits.shape}")
    on_host = backend.backend_name_of(labels) == "numpy"
    if on_host:
        labels = numpy.asarray(labels)
    if labels.shape != (logits.shape[0],) or labels.dtype.kind not in "iu":
        raise ValueError(
            f"cross_entropy: labels must be integers of shape ({logits.shape[0]},), got {labels.dtype} {labels.shape}"
        )
    k = logits.shape[1]
    if on_host and labels.size and (labels.min() < 0 or labels.max() >= k):
        raise ValueError(f"cross_entropy: labels must lie in [0, {k}), got [{labels.min()}, {labels.max()}]")
    module = backend.array_module(logits.data)
    labels = module.asarray(backend.on_backend_of(logits.data, labels))
    log_probabilities = ops.log_softmax(logits, axis=1)
    if on_host:
        picked = log_probabilities[module.arange(logits.shape[0]), labels]
    else:
        # Device labels: index with clipped labels (CuPy does not bounds-check fancy indexing)
        # and turn the rows with an out-of-range label into NaN.
        inside = (labels >= 0) & (labels < k)
        picked = log_probabilities[module.arange(logits.shape[0]), module.clip(labels, 0, k - 1)]
        picked = ops.where(inside, picked, float("nan"))
    return _reduce(-picked, reduction)


def gaussian_nll(target: object, mean: object, log_var: object, reduction: str = "mean", full: bool = False) -> Tensor:
    """Heteroscedastic regression loss, Kendall & Gal (2017) eq. 5:

        1/(2 sigma^2) ||y - f||^2 + 1/2 log sigma^2,   log sigma^2 = ``log_var``

    predicting log sigma^2 keeps the variance positive without constraints. With
    ``full=True`` the constant 1/2 log 2 pi is added, giving the exact Gaussian
    negative log-density. The loss and its gradient are finite for any finite
    ``log_var`` down to the dtype's limit, wherever the true value is representable.
    """
    _check(reduction, "gaussian_nll")
    target, mean, log_var = as_tensor(target), as_tensor(mean), as_tensor(log_var)
    _same_shape(target, mean, "gaussian_nll", ("target", "mean"))
    residual = target - mean
    # (y - f)^2 exp(-s) is formed as exp(2 ln|y - f| - s): exp(-s) alone overflows below
    # s = -88.7 in float32 (-709 in float64) and a zero residual then gives inf * 0 = NaN,
    # while in log space the product is inf only where its true value overflows the dtype.
    # Where the residual is exactly 0 the term is exactly 0: the log is taken of a stand-in 1
    # and the exponent set to -inf, so that neither the value nor the gradient (masked by
    # `where`) meets ln 0 or 0 * inf.
    zero = residual.data == 0
    stand_in = ops.where(zero, 1.0, residual)
    exponent = ops.where(zero, -math.inf, 2 * ops.log(ops.abs(stand_in)) - log_var)
    loss = 0.5 * ops.exp(exponent) + 0.5 * log_var
    if full:
        loss = loss + HALF_LOG_2PI
    return _reduce(loss, reduction)


def dropout(x: object, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: keep each element with probability 1 - p and scale it by 1/(1 - p),
    so that E[dropout(x)] = x and nothing changes at evaluation."""
    x = as_tensor(x)
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout: p must be in [0, 1), got {p}")
    if not training or p == 0.0:
        return x
    keep = backend.rng(x.backend).random(x.shape, dtype=x.dtype) >= p
    # One multiply: the mask already carries the 1/(1-p) scale.
    return x * Tensor(keep * x.dtype.type(1.0 / (1.0 - p)))
