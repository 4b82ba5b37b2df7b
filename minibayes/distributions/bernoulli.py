"""Bernoulli and Binomial: one coin flip, and the number of heads in N flips.

Both take the probability of heads either as ``probs`` (mu) or as ``logits``
(ln mu/(1 - mu)). Densities are evaluated in the logit form, where

    x ln mu + (1 - x) ln(1 - mu) = x * logit - softplus(logit),

which stays finite for any logit: no log of a probability that underflowed to 0.
"""

from __future__ import annotations

from .. import backend
from ..autograd.ops import clip, lgamma, log, log1p, sigmoid, softplus, where
from ..autograd.tensor import Tensor
from . import constraints
from .distribution import Distribution, as_parameter, broadcast_parameters

__all__ = ["Bernoulli", "Binomial", "probs_and_logits"]


def probs_and_logits(owner: str, probs: object, logits: object, validate: bool) -> tuple[Tensor, Tensor]:
    """(mu, ln mu/(1 - mu)) from whichever of the two was given; exactly one must be."""
    if (probs is None) == (logits is None):
        raise ValueError(f"{owner}: give exactly one of probs= or logits=")
    if probs is not None:
        probs = as_parameter(probs)
        if validate:
            constraints.unit_interval.check(probs.data, "probs", owner)
        # Clipping keeps the logit finite at mu = 0 or 1: below at the smallest normal number
        # (so tiny but valid probabilities keep their value and gradient), above at 1 - eps
        # (the largest float below 1 that 1 - mu can resolve).
        info = backend.array_module(probs.data).finfo(probs.dtype)
        safe = clip(probs, float(info.tiny), 1 - float(info.eps))
        return probs, log(safe) - log1p(-safe)
    logits = as_parameter(logits)
    if validate:
        constraints.real.check(logits.data, "logits", owner)
    return sigmoid(logits), logits


class Bernoulli(Distribution):
    """Bern(x | mu) = mu^x (1 - mu)^(1 - x), x in {0, 1} (seed Bernoulli slides; PRML (2.2)).

    Parameters
    ----------
    probs : array or Tensor of shape batch_shape, in [0, 1]
        mu = p(x = 1).
    logits : array or Tensor of shape batch_shape
        ln mu/(1 - mu); give this or ``probs``.
    """

    support = constraints.boolean

    def __init__(self, probs=None, logits=None, validate_args: bool = True) -> None:
        self.probs, self.logits = probs_and_logits("Bernoulli", probs, logits, validate_args)
        super().__init__(self.probs.shape, (), validate_args)

    @property
    def _template(self) -> Tensor:
        return self.logits

    @classmethod
    def fit_mle(cls, x: object) -> Bernoulli:
        """Maximum likelihood from observations x_n in {0, 1} along axis 0: mu_ML = (1/N) sum_n x_n (PRML (2.7))."""
        x = as_parameter(x)
        if x.ndim == 0 or x.shape[0] == 0:
            raise ValueError(f"Bernoulli.fit_mle: x must have at least one observation along axis 0, got shape {x.shape}")
        constraints.boolean.check(x.data, "x", "Bernoulli.fit_mle")
        return cls(probs=x.mean(axis=0))

    def _log_prob(self, x: Tensor) -> Tensor:
        """ln Bern(x | mu) = x ln mu + (1 - x) ln(1 - mu) = x * logit - softplus(logit)."""
        return x * self.logits - softplus(self.logits)

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)  # PRML (2.4)

    def entropy(self) -> Tensor:
        """H = -mu ln mu - (1 - mu) ln(1 - mu) = softplus(logit) - mu * logit."""
        return softplus(self.logits) - self.probs * self.logits

    def _sample(self, shape):
        return (self._rng.random(shape) < self.probs.data).astype(self.probs.dtype)


class Binomial(Distribution):
    """Bin(m | N, mu) = C(N, m) mu^m (1 - mu)^(N - m), m = 0..N heads in N flips (PRML (2.9)).

    Parameters
    ----------
    total_count : int or array of non-negative ints, broadcasting with ``probs``
        N, the number of flips.
    probs, logits : as for :class:`Bernoulli`.
    """

    def __init__(self, total_count=1, probs=None, logits=None, validate_args: bool = True) -> None:
        probs, logits = probs_and_logits("Binomial", probs, logits, validate_args)
        total_count = as_parameter(total_count, like=logits)
        if validate_args:
            constraints.IntegerInterval(0, float("inf")).check(total_count.data, "total_count", "Binomial")
        self.total_count, self.probs, self.logits = broadcast_parameters(total_count, probs, logits, owner="Binomial")
        self.support = constraints.IntegerInterval(0, self.total_count.data)
        super().__init__(self.probs.shape, (), validate_args)

    @property
    def _template(self) -> Tensor:
        return self.logits

    @classmethod
    def fit_mle(cls, successes: object, total_count: int) -> Binomial:
        """mu_ML = sum_n m_n / (N_obs * total_count): the Bernoulli estimate over all flips."""
        m = as_parameter(successes)
        if m.ndim == 0 or m.shape[0] == 0:
            raise ValueError(f"Binomial.fit_mle: successes must have at least one observation along axis 0, got shape {m.shape}")
        constraints.IntegerInterval(0, total_count).check(m.data, "successes", "Binomial.fit_mle")
        return cls(total_count, probs=m.mean(axis=0) / total_count)

    def _log_prob(self, m: Tensor) -> Tensor:
        """ln Bin(m | N, mu) = ln N! - ln m! - ln (N - m)! + m * logit - N softplus(logit)."""
        n = self.total_count
        log_binomial_coefficient = lgamma(n + 1) - lgamma(m + 1) - lgamma(n - m + 1)
        return log_binomial_coefficient + m * self.logits - n * softplus(self.logits)

    @property
    def mean(self) -> Tensor:
        return self.total_count * self.probs  # PRML (2.11)

    @property
    def variance(self) -> Tensor:
        return self.total_count * self.probs * (1 - self.probs)  # PRML (2.12)

    def entropy(self) -> Tensor:
        """H = -sum_{m=0}^{N} Bin(m) ln Bin(m), summed over the whole support (no closed form)."""
        xp = self._xp
        largest = int(self.total_count.data.max()) if self.total_count.size else 0
        # One row per candidate m, broadcast against the batch; m > N is masked out.
        m = xp.arange(largest + 1, dtype=self.logits.dtype).reshape((-1,) + (1,) * len(self.batch_shape))
        inside = Tensor(m <= self.total_count.data)
        n = self.total_count
        safe_m = Tensor(xp.minimum(m, n.data))
        log_pmf = (lgamma(n + 1) - lgamma(safe_m + 1) - lgamma(n - safe_m + 1)
                   + safe_m * self.logits - n * softplus(self.logits))
        return -where(inside, log_pmf.exp() * log_pmf, 0.0).sum(axis=0)

    def _sample(self, shape):
        xp = self._xp
        n = xp.broadcast_to(self.total_count.data, shape).astype(xp.int64)
        return self._rng.binomial(n, xp.broadcast_to(self.probs.data, shape)).astype(self.probs.dtype)
