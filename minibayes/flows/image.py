"""Flows on images: uniform dequantisation, the logit transform, and bits per dimension.

Pixels are integers k in {0, ..., 255}. A density model of real numbers would put unbounded
density on those points, so they are dequantised: y = (k + u) / 256 with u ~ U[0, 1)^D
(Theis, van den Oord & Bethge 2016, section 3.1; Dinh et al. 2017, section 4.1). Then for any
continuous density p on [0, 1)^D,

    E_u[log p(y)] - D log 256 <= log P(k),

so the model's average log-density on dequantised pixels, less D log 256 nats, lower-bounds the
discrete log-likelihood. The logit transform (Dinh et al. section 4.1) maps [0, 1] to the real line:

    y' = alpha + (1 - 2 alpha) y,   z = logit(y') = log y' - log(1 - y'),
    log |det dz/dy| = sum_j [log(1 - 2 alpha) - log y'_j - log(1 - y'_j)],

with alpha (0.05 by default) keeping y' away from 0 and 1, where the logit is infinite.
Bits per dimension report the negative log-likelihood of the discrete pixels in bits:

    bpd = (NLL_[0,1] + D log 256) / (D log 2) = NLL_[0,1] / (D log 2) + 8,

where NLL_[0,1] = -log p(y) is the density of the dequantised pixels on [0, 1)^D. A flow that
models z = logit(y') has NLL_[0,1] = NLL_z - log |det dz/dy|; ``LogitTransform`` as the flow's
first bijector adds that term inside ``Flow.log_prob``, or pass it to ``bits_per_dim``.
"""

from __future__ import annotations

import math

import numpy

from .. import backend
from ..autograd import ops
from ..autograd.tensor import Tensor
from .bijector import Bijector, sum_event

__all__ = ["dequantize", "LogitTransform", "bits_per_dim"]


def dequantize(pixels: object, n_bins: int = 256, dtype: object = None) -> object:
    """y = (k + u) / n_bins, u ~ U[0, 1): integer pixels k in {0..n_bins-1} to reals in [0, 1)  (Theis et al. 3.1).

    Parameters
    ----------
    pixels : integer array of shape (n, D) (or any shape)
        Raw pixel values, e.g. Fashion-MNIST's uint8 images flattened.
    n_bins : int
        Number of pixel levels (256 for 8 bits).
    dtype : floating dtype, optional (the default dtype)

    Returns
    -------
    backend array of the shape of ``pixels``; the noise comes from the backend generator (``mb.seed``).
    """
    data = backend.asarray(pixels.data if isinstance(pixels, Tensor) else pixels)
    if data.dtype.kind not in "iu":
        raise TypeError(f"dequantize: pixels must be integers in [0, {n_bins - 1}] (the raw uint8 values, "
                        f"not scaled floats), got dtype {data.dtype}")
    if data.size and (int(data.min()) < 0 or int(data.max()) >= n_bins):
        raise ValueError(f"dequantize: pixels must lie in [0, {n_bins - 1}], got [{int(data.min())}, {int(data.max())}]")
    dtype = numpy.dtype(backend.get_default_dtype() if dtype is None else dtype)
    noise = backend.rng(backend.backend_name_of(data)).random(data.shape, dtype=dtype)
    return (data.astype(dtype) + noise) / dtype.type(n_bins)


class LogitTransform(Bijector):
    """z = logit(alpha + (1 - 2 alpha) y) for y in [0, 1]^D, with its log-determinant  (Dinh et al. section 4.1).

    Parameters
    ----------
    dim : int
    alpha : float in [0, 0.5)
        Squeeze towards 0.5 before the logit so that y = 0 or 1 stays finite.

    forward's log_det = sum_j [log(1 - 2 alpha) - log y'_j - log(1 - y'_j)] with y' = alpha + (1 - 2 alpha) y;
    inverse: y = (sigmoid(z) - alpha) / (1 - 2 alpha).
    """

    def __init__(self, dim: int, alpha: float = 0.05) -> None:
        super().__init__(dim)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha < 0.5:
            raise ValueError(f"LogitTransform: alpha must be a number in [0, 0.5), got {alpha!r}")
        self.alpha = float(alpha)

    def _template(self) -> Tensor | None:
        return None

    def _forward(self, y: Tensor) -> tuple[Tensor, Tensor]:
        squeezed = self.alpha + (1 - 2 * self.alpha) * y
        log_inside, log_outside = ops.log(squeezed), ops.log1p(-squeezed)
        log_det = sum_event(-log_inside - log_outside) + self.event_dim * math.log1p(-2 * self.alpha)
        return log_inside - log_outside, log_det

    def _inverse(self, z: Tensor) -> tuple[Tensor, Tensor]:
        # dy/dz = sigmoid(z) (1 - sigmoid(z)) / (1 - 2 alpha); log sigmoid keeps large |z| finite.
        log_det = sum_event(ops.log_sigmoid(z) + ops.log_sigmoid(-z)) - self.event_dim * math.log1p(-2 * self.alpha)
        return (ops.sigmoid(z) - self.alpha) / (1 - 2 * self.alpha), log_det

    def extra_repr(self) -> str:
        return f"event_dim={self.event_dim}, alpha={self.alpha}"


def bits_per_dim(nll: object, n_dims: int, n_bins: int = 256, logit_log_det: object = None) -> object:
    """bpd = (NLL + D log n_bins) / (D log 2), NLL the negative log-density of pixels scaled to [0, 1)  (see module).

    Parameters
    ----------
    nll : float, array or Tensor
        Negative log-likelihood in nats per image (average it first for the data set's bpd).
        Of the density on [0, 1)^D, i.e. with the logit transform's log-det already included,
        unless ``logit_log_det`` is given.
    n_dims : int
        D, dimensions per image (784 for 28 x 28).
    n_bins : int
        Pixel levels: the dequantisation's scaling by 1/n_bins adds D log n_bins nats.
    logit_log_det : float, array or Tensor, optional
        log |det dz/dy| of a logit transform applied outside the flow, when ``nll`` is the
        negative log-density of z: then NLL_[0,1] = nll - logit_log_det.

    Returns
    -------
    Bits per dimension, of the shape of ``nll`` (a Tensor if ``nll`` is one).
    """
    if isinstance(n_dims, bool) or not isinstance(n_dims, (int, numpy.integer)) or n_dims < 1:
        raise ValueError(f"bits_per_dim: n_dims must be a positive int, got {n_dims!r}")
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, numpy.integer)) or n_bins < 2:
        raise ValueError(f"bits_per_dim: n_bins must be an int >= 2, got {n_bins!r}")
    if logit_log_det is not None:
        nll = nll - logit_log_det
    return (nll + n_dims * math.log(n_bins)) / (n_dims * math.log(2))
