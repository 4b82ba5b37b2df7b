"""The mean-field Gaussian posterior of Bayes by Backprop, sigma = softplus(rho): log sigma and the KL.

Blundell et al. (2015) give every weight a posterior N(mu, sigma^2) with sigma = softplus(rho)
(eqs. 3-6). A training step needs, per weight, a draw w = mu + sigma * eps and the KL to the
prior, forward and backward: written with the elementwise ops that is some thirty passes over
the ~480,000 (mu, rho) pairs of a 784-400-400-10 network, softplus among them three times. The
layer computes sigma = ``softplus(rho)`` once per step (``nn.BayesianLayer``'s shared scales) and
these two ops take it from there, each one pass forward and a gradient from what its forward kept:

- ``log_softplus(rho)``: log sigma, finite for every finite rho (the Monte Carlo KL's log q);
- ``softplus_gaussian_kl(mu, rho, prior_sigma, sigma)``: KL(N(mu, sigma^2) || N(0, prior_sigma^2))
  per weight (PRML (1.113) for two Gaussians).

The backward passes use the kept arrays when they are not being recorded, and Tensor ops on the
inputs when they are (``create_graph=True``), so second derivatives stay exact.
"""

from __future__ import annotations

import math

from ... import backend
from .. import numerics
from ..function import Function, is_grad_enabled
from ..tensor import Tensor
from .elementwise import exp, log_sigmoid, softplus, where
from .shape import unbroadcast

__all__ = ["log_softplus", "softplus_gaussian_kl"]

# Below this rho, log softplus(rho) = rho + log(1 - e^rho / 2 + ...) equals rho to within
# e^-30 / 2 ~ 5e-14: take rho itself, because softplus(rho) underflows to 0 below rho ~ -103 in
# float32 (and its log to -inf) while log sigma is still a perfectly good number.
_LINEAR_BELOW = -30.0


def _log_softplus_arrays(rho: object, sigma: object) -> object:
    xp = backend.array_module(rho)
    tiny = xp.finfo(sigma.dtype).tiny
    return xp.where(rho < _LINEAR_BELOW, rho, xp.log(xp.maximum(sigma, tiny)))


def _log_softplus_slope(rho: object, sigma: object, slope: object) -> object:
    """d log softplus(rho) / d rho = sigmoid(rho) / softplus(rho), which tends to 1 as rho -> -inf."""
    xp = backend.array_module(rho)
    tiny = xp.finfo(sigma.dtype).tiny
    return xp.where(rho < _LINEAR_BELOW, 1, slope / xp.maximum(sigma, tiny))


def _log_softplus_slope_op(rho: Tensor) -> Tensor:
    # The same slope as a differentiable expression, exp(log sigmoid(rho) - log softplus(rho)).
    return exp(log_sigmoid(rho) - log_softplus(rho))


class LogSoftplus(Function):
    """log sigma = log softplus(rho), the log of the posterior's standard deviation."""

    def forward(self, rho):
        sigma, self.slope = numerics.softplus_and_sigmoid(rho)
        self.sigma = sigma
        return _log_softplus_arrays(rho, sigma)

    def backward(self, gy):
        rho = self.inputs[0]
        if is_grad_enabled():
            return gy * _log_softplus_slope_op(rho)
        return gy * Tensor(_log_softplus_slope(rho.data, self.sigma, self.slope))


class SoftplusGaussianKL(Function):
    """KL(N(mu, s^2) || N(0, s0^2)) = log s0 - log s + (s^2 + mu^2) / (2 s0^2) - 1/2, s = softplus(rho).

    Takes s already computed (a Tensor, ``softplus(rho)``) so that a training step computes it once
    for the weight draw and the KL; rho only decides log s = rho below -30, where s may underflow.
    d/dmu = mu / s0^2, d/ds = s / s0^2 - 1 / s (rho >= -30), d/drho = -1 (rho < -30; 0 elsewhere).
    """

    def __init__(self, prior_sigma: float) -> None:
        self.prior_precision = 1.0 / prior_sigma ** 2
        self.log_prior_sigma = math.log(prior_sigma)

    def forward(self, mu, rho, sigma):
        xp = backend.array_module(sigma)
        self.linear = rho < _LINEAR_BELOW       # where log s is rho itself
        self.safe_sigma = xp.maximum(sigma, xp.finfo(sigma.dtype).tiny)
        log_sigma = _log_softplus_arrays(rho, sigma)
        result = sigma * sigma + mu * mu        # broadcasts when the shapes differ
        result *= 0.5 * self.prior_precision
        result -= log_sigma
        result += self.log_prior_sigma - 0.5
        return result

    def backward(self, gy):
        mu, rho, sigma = self.inputs
        g_mu = unbroadcast(gy * mu * self.prior_precision, mu.shape) if mu.requires_grad else None
        g_rho = g_sigma = None
        linear = Tensor(self.linear.astype(gy.dtype))
        if rho.requires_grad:
            g_rho = unbroadcast(-gy * linear, rho.shape)
        if sigma.requires_grad:
            # -1/s only where log s = log(s); recorded through ``sigma`` for second derivatives.
            safe = where(self.linear, Tensor.constant(1.0, like=sigma), sigma) if is_grad_enabled() else Tensor(self.safe_sigma)
            g_sigma = unbroadcast(gy * (sigma * self.prior_precision - (1 - linear) / safe), sigma.shape)
        return g_mu, g_rho, g_sigma


def log_softplus(rho: object) -> Tensor:
    """log softplus(rho), finite for every finite rho (rho itself below -30)."""
    return LogSoftplus()(rho)


def softplus_gaussian_kl(mu: object, rho: object, prior_sigma: float, sigma: object = None) -> Tensor:
    """KL(N(mu, softplus(rho)^2) || N(0, prior_sigma^2)) elementwise (PRML (1.113)); shapes broadcast.

    ``sigma``: softplus(rho) when the caller already has it (the same step's weight draw), else
    computed here."""
    return SoftplusGaussianKL(prior_sigma)(mu, rho, softplus(rho) if sigma is None else sigma)
