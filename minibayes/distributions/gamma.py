"""The Gamma distribution, the conjugate prior of a Gaussian's precision."""

from __future__ import annotations

from ..autograd.ops import digamma, lgamma, log
from ..autograd.tensor import Tensor
from . import constraints
from .distribution import Distribution, as_parameter, broadcast_parameters, log_gamma_draws

__all__ = ["Gamma"]


class Gamma(Distribution):
    """Gam(lambda | a, b) = b^a lambda^(a-1) exp(-b lambda) / Gamma(a), lambda > 0  (PRML (2.146); seed fully-Bayesian slide).

    Parameters
    ----------
    concentration : array, positive
        a, the shape.
    rate : array, positive, broadcasting with a
        b, the inverse scale (mean a/b).
    """

    support = constraints.positive

    def __init__(self, concentration, rate, validate_args: bool = True) -> None:
        a = as_parameter(concentration)
        b = as_parameter(rate, like=a)
        if validate_args:
            constraints.positive.check(a.data, "concentration", "Gamma")
            constraints.positive.check(b.data, "rate", "Gamma")
        self.concentration, self.rate = broadcast_parameters(a, b, owner="Gamma")
        super().__init__(self.concentration.shape, (), validate_args)

    @property
    def _template(self) -> Tensor:
        return self.concentration

    def _log_prob(self, x: Tensor) -> Tensor:
        """a ln b + (a - 1) ln lambda - b lambda - ln Gamma(a)."""
        a, b = self.concentration, self.rate
        return a * log(b) + (a - 1) * log(x) - b * x - lgamma(a)

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.rate  # PRML (B.27)

    @property
    def variance(self) -> Tensor:
        return self.concentration / (self.rate * self.rate)  # PRML (B.28)

    def entropy(self) -> Tensor:
        """H = ln Gamma(a) - (a - 1) psi(a) - ln b + a  (PRML (B.31))."""
        a = self.concentration
        return lgamma(a) - (a - 1) * digamma(a) - log(self.rate) + a

    def _sample(self, shape):
        # Drawn in log space and kept above the smallest normal number: for a small shape a
        # plain draw underflows to 0, outside the support.
        xp = self._xp
        g = xp.exp(log_gamma_draws(self.concentration.data, self._rng, shape)) / self.rate.data
        return xp.maximum(g, xp.finfo(self.concentration.dtype).tiny).astype(self.concentration.dtype)
