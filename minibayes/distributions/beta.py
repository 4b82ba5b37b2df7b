"""Beta and Dirichlet: distributions over probabilities, the conjugate priors of coin flips and dice.

Both are sampled through Gamma draws: if g_k ~ Gamma(alpha_k, 1) then
g / sum_k g_k ~ Dir(alpha) (and g_1 / (g_1 + g_2) ~ Beta(a, b)).
"""

from __future__ import annotations

from ..autograd import numerics
from ..autograd.ops import digamma, lgamma, log, log1p
from ..autograd.tensor import Tensor
from . import constraints
from .distribution import Distribution, as_parameter, broadcast_parameters, log_gamma_draws

__all__ = ["Beta", "Dirichlet", "log_beta_function"]


def log_beta_function(a: Tensor, b: Tensor) -> Tensor:
    """ln B(a, b) = ln Gamma(a) + ln Gamma(b) - ln Gamma(a + b)."""
    return lgamma(a) + lgamma(b) - lgamma(a + b)


class Beta(Distribution):
    """Beta(mu | a, b) = Gamma(a + b) / (Gamma(a) Gamma(b)) mu^(a-1) (1 - mu)^(b-1), 0 < mu < 1  (PRML (2.13)).

    Parameters
    ----------
    concentration1 : array, positive
        a (the prior's pseudo-count of ones).
    concentration0 : array, positive, broadcasting with a
        b (the pseudo-count of zeros).
    """

    support = constraints.open_unit_interval

    def __init__(self, concentration1, concentration0, validate_args: bool = True) -> None:
        a = as_parameter(concentration1)
        b = as_parameter(concentration0, like=a)
        if validate_args:
            constraints.positive.check(a.data, "concentration1 (a)", "Beta")
            constraints.positive.check(b.data, "concentration0 (b)", "Beta")
        self.concentration1, self.concentration0 = broadcast_parameters(a, b, owner="Beta")
        super().__init__(self.concentration1.shape, (), validate_args)

    @property
    def _template(self) -> Tensor:
        return self.concentration1

    def _log_prob(self, mu: Tensor) -> Tensor:
        """(a - 1) ln mu + (b - 1) ln(1 - mu) - ln B(a, b)."""
        a, b = self.concentration1, self.concentration0
        return (a - 1) * log(mu) + (b - 1) * log1p(-mu) - log_beta_function(a, b)

    @property
    def mean(self) -> Tensor:
        return self.concentration1 / (self.concentration1 + self.concentration0)  # PRML (2.15)

    @property
    def variance(self) -> Tensor:
        a, b = self.concentration1, self.concentration0
        return a * b / ((a + b) ** 2 * (a + b + 1))  # PRML (2.16)

    def entropy(self) -> Tensor:
        """H = ln B(a, b) - (a - 1) psi(a) - (b - 1) psi(b) + (a + b - 2) psi(a + b)."""
        a, b = self.concentration1, self.concentration0
        return log_beta_function(a, b) - (a - 1) * digamma(a) - (b - 1) * digamma(b) + (a + b - 2) * digamma(a + b)

    def _sample(self, shape):
        # mu = g1 / (g1 + g0) = sigmoid(ln g1 - ln g0) with g_i ~ Gamma; clamped into the open
        # interval, since in float32 a draw near 1 rounds to exactly 1.
        xp, rng = self._xp, self._rng
        log_ratio = log_gamma_draws(self.concentration1.data, rng, shape) - log_gamma_draws(self.concentration0.data, rng, shape)
        mu = numerics.special(log_ratio).expit(log_ratio).astype(self.concentration1.dtype)
        info = xp.finfo(mu.dtype)
        return xp.clip(mu, info.tiny, 1 - info.eps)


class Dirichlet(Distribution):
    """Dir(mu | alpha) = Gamma(alpha_0) / prod_k Gamma(alpha_k) prod_k mu_k^(alpha_k - 1), alpha_0 = sum_k alpha_k  (PRML (2.38)).

    Parameters
    ----------
    concentration : array of shape batch_shape + (K,), positive
        alpha. Values mu lie on the simplex (event shape (K,)).
    """

    support = constraints.simplex

    def __init__(self, concentration, validate_args: bool = True) -> None:
        alpha = as_parameter(concentration)
        if alpha.ndim < 1:
            raise ValueError("Dirichlet: concentration must have shape (..., K), got a scalar")
        if validate_args:
            constraints.positive.check(alpha.data, "concentration", "Dirichlet")
        self.concentration = alpha
        super().__init__(alpha.shape[:-1], alpha.shape[-1:], validate_args)

    @property
    def _template(self) -> Tensor:
        return self.concentration

    def _log_normaliser(self) -> Tensor:
        """ln B(alpha) = sum_k ln Gamma(alpha_k) - ln Gamma(alpha_0)."""
        alpha = self.concentration
        return lgamma(alpha).sum(axis=-1) - lgamma(alpha.sum(axis=-1))

    def _log_prob(self, mu: Tensor) -> Tensor:
        """sum_k (alpha_k - 1) ln mu_k - ln B(alpha)."""
        return ((self.concentration - 1) * log(mu)).sum(axis=-1) - self._log_normaliser()

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.concentration.sum(axis=-1, keepdims=True)

    @property
    def variance(self) -> Tensor:
        alpha = self.concentration
        alpha_0 = alpha.sum(axis=-1, keepdims=True)
        return alpha * (alpha_0 - alpha) / (alpha_0 ** 2 * (alpha_0 + 1))  # PRML (B.18)

    def entropy(self) -> Tensor:
        """H = ln B(alpha) + (alpha_0 - K) psi(alpha_0) - sum_k (alpha_k - 1) psi(alpha_k)  (PRML (B.22))."""
        alpha = self.concentration
        alpha_0 = alpha.sum(axis=-1)
        k = alpha.shape[-1]
        return self._log_normaliser() + (alpha_0 - k) * digamma(alpha_0) - ((alpha - 1) * digamma(alpha)).sum(axis=-1)

    def _sample(self, shape):
        # mu_k = g_k / sum_j g_j with g ~ Gamma(alpha_k, 1), normalised in log space (a softmax).
        xp = self._xp
        log_g = log_gamma_draws(self.concentration.data, self._rng, shape)
        mu = xp.exp(log_g - log_g.max(axis=-1, keepdims=True))
        mu /= mu.sum(axis=-1, keepdims=True)
        return xp.clip(mu.astype(self.concentration.dtype), xp.finfo(self.concentration.dtype).tiny, None)
