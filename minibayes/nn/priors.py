"""Priors over network weights for Bayes by Backprop (Blundell et al. 2015, section 3.3).

Each prior is an object with ``log_prob(w)`` (elementwise, a Tensor) and, where one exists, the
closed-form ``kl(mu, sigma)`` = KL(N(mu, sigma^2) || prior) per weight. The variational
posterior of every weight is N(mu, sigma^2) with sigma = softplus(rho) (eq. 3-6).
"""

from __future__ import annotations

import math

from ..autograd import ops
from ..autograd.numerics import HALF_LOG_2PI
from ..autograd.tensor import Tensor

__all__ = ["GaussianPrior", "ScaleMixturePrior"]


def _positive(value: object, name: str, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{owner}: {name} must be a positive finite number, got {value!r}")
    return float(value)


def _gaussian_log_density(w: Tensor, sigma: float) -> Tensor:
    return -0.5 * (w * w) * (1.0 / sigma ** 2) - (math.log(sigma) + HALF_LOG_2PI)


class GaussianPrior:
    """P(w) = N(w | 0, sigma^2) for every weight.

    Its KL from a Gaussian posterior is closed-form (PRML (1.113) for two Gaussians):
    KL(N(mu, s^2) || N(0, sigma^2)) = log(sigma / s) + (s^2 + mu^2) / (2 sigma^2) - 1/2.
    """

    has_closed_form_kl = True

    def __init__(self, sigma: float = 1.0) -> None:
        self.sigma = _positive(sigma, "sigma", "GaussianPrior")

    def log_prob(self, w: Tensor) -> Tensor:
        return _gaussian_log_density(w, self.sigma)

    def kl(self, mu: Tensor, sigma: Tensor, log_sigma: Tensor | None = None) -> Tensor:
        """KL(N(mu, sigma_q^2) || N(0, sigma^2)) elementwise, from sigma_q = ``sigma`` (and its log,
        when the caller has a stabler one than log(sigma))."""
        variance_ratio = (sigma * sigma + mu * mu) * (1.0 / self.sigma ** 2)
        log_sigma = ops.log(sigma) if log_sigma is None else log_sigma
        return math.log(self.sigma) - log_sigma + 0.5 * variance_ratio - 0.5

    def kl_from_rho(self, mu: Tensor, rho: Tensor, sigma: Tensor | None = None) -> Tensor:
        """The same KL with sigma_q = softplus(rho) (Bayes by Backprop's parameters) as one fused op;
        ``sigma``: softplus(rho) when the caller has it already."""
        return ops.softplus_gaussian_kl(mu, rho, self.sigma, sigma)

    def __repr__(self) -> str:
        return f"GaussianPrior(sigma={self.sigma:g})"


class ScaleMixturePrior:
    """P(w) = pi N(w | 0, sigma1^2) + (1 - pi) N(w | 0, sigma2^2), Blundell et al. (2015) eq. 7.

    Blundell et al. take sigma1 > sigma2 and sigma2 << 1: a heavy tail and a spike at zero.
    ``log_prob`` is a logsumexp of the two weighted log-densities, so it stays finite where
    both densities underflow (|w| of 1e3 with sigma2 = e^-7) and exact near zero. The KL to a
    Gaussian has no closed form: Bayes by Backprop estimates it from the sampled weights (eq. 2).
    """

    has_closed_form_kl = False

    def __init__(self, pi: float = 0.5, sigma1: float = 1.0, sigma2: float = math.exp(-6)) -> None:
        if isinstance(pi, bool) or not isinstance(pi, (int, float)) or not 0.0 <= pi <= 1.0:
            raise ValueError(f"ScaleMixturePrior: pi must be a number in [0, 1], got {pi!r}")
        self.pi = float(pi)
        self.sigma1 = _positive(sigma1, "sigma1", "ScaleMixturePrior")
        self.sigma2 = _positive(sigma2, "sigma2", "ScaleMixturePrior")

    def log_prob(self, w: Tensor) -> Tensor:
        # A component of weight 0 contributes exp(-inf) = 0: leave it out rather than form log(0).
        if self.pi == 1.0:
            return _gaussian_log_density(w, self.sigma1)
        if self.pi == 0.0:
            return _gaussian_log_density(w, self.sigma2)
        first = _gaussian_log_density(w, self.sigma1) + math.log(self.pi)
        second = _gaussian_log_density(w, self.sigma2) + math.log1p(-self.pi)
        return ops.logsumexp(ops.stack([first, second]), axis=0)

    def kl(self, mu: Tensor, sigma: Tensor, log_sigma: Tensor | None = None) -> Tensor:
        raise NotImplementedError("ScaleMixturePrior has no closed-form KL; use kl='monte_carlo' (Blundell eq. 2)")

    def kl_from_rho(self, mu: Tensor, rho: Tensor, sigma: Tensor | None = None) -> Tensor:
        raise NotImplementedError("ScaleMixturePrior has no closed-form KL; use kl='monte_carlo' (Blundell eq. 2)")

    def __repr__(self) -> str:
        return f"ScaleMixturePrior(pi={self.pi:g}, sigma1={self.sigma1:g}, sigma2={self.sigma2:g})"
