"""Categorical and Multinomial: one draw from K classes, and the class counts of N draws.

Probabilities live on the last axis (K classes); ``probs`` are normalised to
sum to one, ``logits`` are unnormalised log-probabilities (any real vector).
Internally both keep ``logits`` as normalised log-probabilities ln mu_k.
"""

from __future__ import annotations

import numbers

from .. import backend
from ..autograd.ops import clip, lgamma, log, log_softmax, softmax
from ..autograd.tensor import Tensor
from . import constraints
from .distribution import Distribution, as_parameter

__all__ = ["Categorical", "Multinomial", "one_hot"]


def _probs_and_log_probs(owner: str, probs: object, logits: object, validate: bool) -> tuple[Tensor, Tensor]:
    if (probs is None) == (logits is None):
        raise ValueError(f"{owner}: give exactly one of probs= or logits=")
    if probs is not None:
        probs = as_parameter(probs)
        if probs.ndim == 0:
            raise ValueError(f"{owner}: probs must have shape (..., K) with the K classes last, got a scalar")
        if validate:
            constraints.simplex.check(probs.data, "probs", owner)
        probs = probs / probs.sum(axis=-1, keepdims=True)
        tiny = backend.array_module(probs.data).finfo(probs.dtype).tiny
        # A class of probability 0 gets ln(tiny) instead of -inf: 0 * ln(tiny) = 0 where 0 * -inf is NaN.
        return probs, log(clip(probs, tiny, None))
    logits = as_parameter(logits)
    if logits.ndim == 0:
        raise ValueError(f"{owner}: logits must have shape (..., K) with the K classes last, got a scalar")
    if validate:
        constraints.real.check(logits.data, "logits", owner)
    return softmax(logits, axis=-1), log_softmax(logits, axis=-1)


def expected_log_factorial(n: int, probs: Tensor) -> Tensor:
    """E[ln m!] for m ~ Bin(n, mu), elementwise in mu, by summing over m = 0..n."""
    xp = backend.array_module(probs.data)
    tiny = xp.finfo(probs.dtype).tiny
    m = Tensor(xp.arange(n + 1, dtype=probs.dtype).reshape((-1,) + (1,) * probs.ndim))
    log_mu, log_one_minus_mu = log(clip(probs, tiny, None)), log(clip(1 - probs, tiny, None))
    log_pmf = lgamma(Tensor.constant(n + 1.0, like=probs)) - lgamma(m + 1) - lgamma(n - m + 1) + m * log_mu + (n - m) * log_one_minus_mu
    return (log_pmf.exp() * lgamma(m + 1)).sum(axis=0)


def one_hot(labels: object, num_classes: int, dtype: object) -> Tensor:
    """Integer labels of shape S as a one-hot Tensor of shape S + (num_classes,)."""
    xp = backend.array_module(labels)
    return Tensor((xp.arange(num_classes) == xp.asarray(labels)[..., None]).astype(dtype))


class Categorical(Distribution):
    """Cat(x | mu) = prod_k mu_k^{x_k} for one-hot x, i.e. p(x = k) = mu_k (seed Categorical slides; PRML (2.26)).

    Values are class indices k in {0, ..., K - 1} (not one-hot vectors), as in torch.

    Parameters
    ----------
    probs : array of shape batch_shape + (K,), on the simplex
    logits : array of shape batch_shape + (K,), unnormalised log-probabilities
    """

    def __init__(self, probs=None, logits=None, validate_args: bool = True) -> None:
        self.probs, self.logits = _probs_and_log_probs("Categorical", probs, logits, validate_args)
        self.num_classes = self.probs.shape[-1]
        self.support = constraints.IntegerInterval(0, self.num_classes - 1)
        super().__init__(self.probs.shape[:-1], (), validate_args)

    @property
    def _template(self) -> Tensor:
        return self.logits

    @classmethod
    def fit_mle(cls, labels: object, num_classes: int) -> Categorical:
        """mu_k = N_k / N, the maximiser of sum_k N_k ln mu_k under sum_k mu_k = 1 (seed: Lagrange multiplier; PRML (2.33))."""
        labels = backend.asarray(labels)
        if labels.ndim != 1 or labels.shape[0] == 0:
            raise ValueError(f"Categorical.fit_mle: labels must be a non-empty 1-D array of class indices, got shape {labels.shape}")
        constraints.IntegerInterval(0, num_classes - 1).check(labels, "labels", "Categorical.fit_mle")
        counts = one_hot(labels, num_classes, backend.get_default_dtype()).sum(axis=0)  # N_k
        return cls(probs=counts / labels.shape[0])

    def _log_prob(self, k: Tensor) -> Tensor:
        """ln p(x = k) = ln mu_k, picked by a one-hot mask so that batches broadcast like any op."""
        return (one_hot(k.data, self.num_classes, self.logits.dtype) * self.logits).sum(axis=-1)

    def entropy(self) -> Tensor:
        return -(self.probs * self.logits).sum(axis=-1)  # H = -sum_k mu_k ln mu_k

    def _sample(self, shape):
        xp = self._xp
        # Inverse CDF: the class is the number of cumulative probabilities below a uniform draw.
        cdf = xp.cumsum(self.probs.data, axis=-1)
        u = self._rng.random(shape + (1,), dtype=cdf.dtype)
        return xp.minimum((u > cdf).sum(axis=-1), self.num_classes - 1).astype(xp.int64)


class Multinomial(Distribution):
    """Mult(m_1..m_K | mu, N) = N! / (m_1! ... m_K!) prod_k mu_k^{m_k}, sum_k m_k = N (seed Multinomial slide; PRML (2.34)).

    Parameters
    ----------
    total_count : int
        N, the number of draws (one N for the whole batch, as in torch).
    probs, logits : as for :class:`Categorical`; the event is a count vector of shape (K,).
    """

    def __init__(self, total_count: int = 1, probs=None, logits=None, validate_args: bool = True) -> None:
        # numbers.Integral takes NumPy integers too (a count read from an array).
        if not isinstance(total_count, numbers.Integral) or isinstance(total_count, bool) or total_count < 0:
            raise ValueError(f"Multinomial: total_count must be a non-negative int, got {total_count!r}")
        self.total_count = int(total_count)
        self.probs, self.logits = _probs_and_log_probs("Multinomial", probs, logits, validate_args)
        self.support = constraints.NonnegativeIntegerVector(self.total_count)
        super().__init__(self.probs.shape[:-1], self.probs.shape[-1:], validate_args)

    @property
    def _template(self) -> Tensor:
        return self.logits

    def _log_prob(self, m: Tensor) -> Tensor:
        """ln N! - sum_k ln m_k! + sum_k m_k ln mu_k."""
        return lgamma(Tensor.constant(self.total_count + 1.0, like=m)) - lgamma(m + 1).sum(axis=-1) + (m * self.logits).sum(axis=-1)

    @property
    def mean(self) -> Tensor:
        return self.total_count * self.probs

    @property
    def variance(self) -> Tensor:
        return self.total_count * self.probs * (1 - self.probs)

    def entropy(self) -> Tensor:
        """H = -ln N! - N sum_k mu_k ln mu_k + sum_k E[ln m_k!], with m_k ~ Bin(N, mu_k) marginally."""
        n = self.total_count
        log_n_factorial = lgamma(Tensor.constant(n + 1.0, like=self.logits))
        expected_log_factorials = expected_log_factorial(n, self.probs).sum(axis=-1)
        return -log_n_factorial - n * (self.probs * self.logits).sum(axis=-1) + expected_log_factorials

    def _sample(self, shape):
        # Counts one class at a time: m_k ~ Bin(N - m_1 - ... - m_{k-1}, mu_k / (1 - mu_1 - ... - mu_{k-1})).
        xp = self._xp
        probs = xp.broadcast_to(self.probs.data.astype(xp.float64), shape)  # float64: 1e-300 is 0 in float32
        counts = xp.zeros(shape, dtype=xp.int64)
        remaining = xp.full(shape[:-1], self.total_count, dtype=xp.int64)
        mass_left = xp.ones(shape[:-1], dtype=probs.dtype)
        for k in range(shape[-1] - 1):
            conditional = xp.clip(probs[..., k] / xp.maximum(mass_left, 1e-300), 0.0, 1.0)
            counts[..., k] = self._rng.binomial(remaining, conditional)
            remaining -= counts[..., k]
            mass_left -= probs[..., k]
        counts[..., -1] = remaining
        return counts.astype(self.probs.dtype)
