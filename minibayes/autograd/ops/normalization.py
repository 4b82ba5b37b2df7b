"""Batch normalisation in training mode as one fused op (Ioffe & Szegedy 2015, Algorithm 1).

Over every axis but the channel axis 1 (m values per channel):

    mu = mean(x),  sigma^2 = mean((x - mu)^2) (biased),  x_hat = (x - mu) / sqrt(sigma^2 + eps),
    y = gamma x_hat + beta.

Composed of graph ops this is about ten nodes forward and twenty backward, each a pass over the
whole activation. Fused, the forward is one node and the backward one more (``fused.py``) with
the closed-form gradient (Ioffe & Szegedy section 3, summed over the chain rule through mu and
sigma^2):

    dbeta = sum(g),   dgamma = sum(g x_hat),
    dx = gamma / sqrt(sigma^2 + eps) * (g - dbeta / m - x_hat dgamma / m).

``_batch_norm_twin`` is the same map in graph ops, the route of second derivatives.
"""

from __future__ import annotations

from ... import backend
from ..function import Function
from ..tensor import Tensor
from .fused import FusedGradient, unpack
from .elementwise import sqrt
from .reduce import mean
from .shape import reshape

__all__ = ["batch_norm_train"]

_xp = backend.array_module


def _layout(x) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(axes of the statistics, shape of a per-channel vector broadcast against x)."""
    return ((0,) if x.ndim == 2 else (0, 2, 3)), (1, x.shape[1]) + (1,) * (x.ndim - 2)


class BatchNormTrain(Function):
    """y = gamma (x - mu) / sqrt(sigma^2 + eps) + beta with the batch's mu, sigma^2 (kept as ``mean``, ``var``)."""

    def __init__(self, eps: float) -> None:
        self.eps = eps

    def forward(self, x, gamma, beta):
        xp = _xp(x)
        axes, view = _layout(x)
        self.mean = x.mean(axis=axes, keepdims=True)
        centred = x - self.mean
        self.var = xp.mean(centred * centred, axis=axes, keepdims=True)
        self.inv_std = 1.0 / xp.sqrt(self.var + x.dtype.type(self.eps))
        centred *= self.inv_std
        self.x_hat = centred
        return centred * gamma.reshape(view) + beta.reshape(view)

    def backward(self, g):
        flat = FusedGradient(self._closed_form, _twin(self.eps))(*self.inputs, g)
        return unpack(flat, [x.shape for x in self.inputs])

    def _closed_form(self, g):
        """(dx, dgamma, dbeta) packed flat, from the formulas in the module docstring."""
        xp = _xp(g)
        x_hat, gamma = self.x_hat, self.inputs[1].data
        axes, view = _layout(g)
        m = g.size // g.shape[1]
        channels = g.shape[1]
        flat = xp.empty(g.size + 2 * channels, dtype=g.dtype)
        dgamma, dbeta = flat[g.size: g.size + channels], flat[g.size + channels:]
        dbeta[...] = g.sum(axis=axes)
        dgamma[...] = (g * x_hat).sum(axis=axes)
        dx = flat[: g.size].reshape(g.shape)
        xp.multiply(x_hat, (dgamma / m).reshape(view), out=dx)
        dx += (dbeta / m).reshape(view)
        xp.subtract(g, dx, out=dx)
        dx *= gamma.reshape(view) * self.inv_std
        return flat


def _twin(eps: float):
    def batch_norm_graph(x: Tensor, gamma: Tensor, beta: Tensor) -> Tensor:
        """The same normalisation in graph ops (the definition; second derivatives go through it)."""
        axes, view = _layout(x)
        centred = x - mean(x, axis=axes, keepdims=True)
        x_hat = centred / sqrt(mean(centred * centred, axis=axes, keepdims=True) + eps)
        return x_hat * reshape(gamma, view) + reshape(beta, view)

    return batch_norm_graph


def batch_norm_train(x: Tensor, gamma: Tensor, beta: Tensor, eps: float) -> tuple[Tensor, object, object]:
    """Training-mode batch norm of x (N, C) or (N, C, H, W) with gamma, beta of shape (C,).

    Returns (y of the shape of x, the batch mean and the biased batch variance as arrays of shape (C,)).
    Inputs are trusted (``nn.batch_norm`` checks them).
    """
    node = BatchNormTrain(eps)
    y = node(x, gamma, beta)
    return y, node.mean.reshape(-1), node.var.reshape(-1)
