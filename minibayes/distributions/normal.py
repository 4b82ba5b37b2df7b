"""The univariate Gaussian N(x | mu, sigma^2)."""

from __future__ import annotations

import math

from ..autograd.numerics import HALF_LOG_2PI
from ..autograd.ops import erf, log
from ..autograd.tensor import Tensor
from . import constraints
from .distribution import Distribution, as_parameter, broadcast_parameters

__all__ = ["Normal"]



class Normal(Distribution):
    """N(x | mu, sigma^2) = (2 pi sigma^2)^(-1/2) exp(-(x - mu)^2 / (2 sigma^2))  (PRML (1.46)).

    Parameters
    ----------
    loc : array or Tensor, broadcasting with ``scale``
        mu, the mean.
    scale : array or Tensor, positive
        sigma, the standard deviation (not the variance).
    """

    has_rsample = True

    def __init__(self, loc, scale, validate_args: bool = True) -> None:
        loc = as_parameter(loc)
        scale = as_parameter(scale, like=loc)
        if validate_args:
            constraints.real.check(loc.data, "loc", "Normal")
            constraints.positive.check(scale.data, "scale", "Normal")
        self.loc, self.scale = broadcast_parameters(loc, scale, owner="Normal")
        super().__init__(self.loc.shape, (), validate_args)

    @property
    def _template(self) -> Tensor:
        return self.loc

    @classmethod
    def fit_mle(cls, x: object) -> Normal:
        """mu_ML = (1/N) sum_n x_n, sigma^2_ML = (1/N) sum_n (x_n - mu_ML)^2 along axis 0 (PRML (1.55), (1.56)).

        sigma^2_ML is the biased estimate: E[sigma^2_ML] = (N - 1)/N sigma^2 (PRML (1.58)).
        """
        x = as_parameter(x)
        if x.ndim == 0 or x.shape[0] < 1:
            raise ValueError(f"Normal.fit_mle: x must have at least one observation along axis 0, got shape {x.shape}")
        constraints.real.check(x.data, "x", "Normal.fit_mle")
        mu = x.mean(axis=0)
        return cls(mu, ((x - mu) ** 2).mean(axis=0).sqrt())

    def _log_prob(self, x: Tensor) -> Tensor:
        """ln N(x | mu, sigma^2) = -ln sigma - ln(2 pi)/2 - (x - mu)^2 / (2 sigma^2)."""
        z = (x - self.loc) / self.scale
        return -log(self.scale) - HALF_LOG_2PI - 0.5 * z * z

    def cdf(self, value: object) -> Tensor:
        """P(X <= x) = (1 + erf((x - mu) / (sigma sqrt 2))) / 2."""
        x = self._value(value, "cdf")
        return 0.5 * (1 + erf((x - self.loc) / (self.scale * math.sqrt(2))))

    def rsample(self, sample_shape=()) -> Tensor:
        """x = mu + sigma * eps, eps ~ N(0, 1): the reparameterisation trick (Kingma & Welling (2014) §2.4)."""
        shape = self._extended_shape(sample_shape)
        eps = Tensor(self._rng.standard_normal(shape, dtype=self.loc.dtype))
        return self.loc + self.scale * eps

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        return self.scale * self.scale

    @property
    def stddev(self) -> Tensor:
        return self.scale

    def entropy(self) -> Tensor:
        """H = (1 + ln(2 pi sigma^2)) / 2  (PRML (1.110))."""
        return 0.5 + HALF_LOG_2PI + log(self.scale)
