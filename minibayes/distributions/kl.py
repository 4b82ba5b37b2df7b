"""KL(p || q) = E_p[ln p(x) - ln q(x)] >= 0 (PRML (1.113)): closed forms in a registry, Monte Carlo otherwise.

The registry maps a (type of p, type of q) pair to its closed form. Lookup
walks both classes' method resolution orders, so a subclass of Normal uses the
Normal-Normal form; results of the lookup are memoised per pair of types.
"""

from __future__ import annotations

import numbers
from typing import Callable, NamedTuple

import numpy

from ..autograd.function import no_grad
from ..autograd.ops import digamma, lgamma, log, log_sigmoid, solve_triangular
from ..autograd.tensor import Tensor
from .bernoulli import Bernoulli
from .beta import Beta, Dirichlet, log_beta_function
from .categorical import Categorical
from .distribution import Distribution
from .gamma import Gamma
from .multivariate_normal import MultivariateNormal, _diagonal
from .normal import Normal

__all__ = ["kl_divergence", "kl_divergence_mc", "register_kl", "registered_pairs", "MonteCarloEstimate"]

KLFunction = Callable[[Distribution, Distribution], Tensor]
_REGISTRY: dict[tuple[type, type], KLFunction] = {}
_MEMO: dict[tuple[type, type], KLFunction | None] = {}


def register_kl(type_p: type, type_q: type) -> Callable[[KLFunction], KLFunction]:
    """Decorator: register ``function(p, q)`` as the closed form of KL(p || q) for this pair of types."""

    def decorate(function: KLFunction) -> KLFunction:
        _REGISTRY[type_p, type_q] = function
        _MEMO.clear()
        return function

    return decorate


def registered_pairs() -> list[str]:
    return sorted(f"{p.__name__}-{q.__name__}" for p, q in _REGISTRY)


def _lookup(type_p: type, type_q: type) -> KLFunction | None:
    """The most specific registered pair: the first hit walking both MROs, p's first."""
    key = type_p, type_q
    if key not in _MEMO:
        _MEMO[key] = next(
            (_REGISTRY[p, q] for p in type_p.__mro__ for q in type_q.__mro__ if (p, q) in _REGISTRY), None
        )
    return _MEMO[key]


def kl_divergence(p: Distribution, q: Distribution) -> Tensor:
    """KL(p || q) in closed form, shape = the broadcast batch shape of p and q."""
    function = _lookup(type(p), type(q))
    if function is None:
        raise NotImplementedError(
            f"kl_divergence: no closed form registered for KL({type(p).__name__} || {type(q).__name__}). "
            f"Registered pairs: {', '.join(registered_pairs())}. For other pairs use the Monte Carlo "
            "estimate kl_divergence_mc(p, q, n_samples), which also returns its standard error."
        )
    if p.event_shape != q.event_shape:
        raise ValueError(f"kl_divergence: the event shapes of p {p.event_shape} and q {q.event_shape} differ")
    try:
        numpy.broadcast_shapes(p.batch_shape, q.batch_shape)
    except ValueError:
        raise ValueError(
            f"kl_divergence: the batch shapes of p {p.batch_shape} and q {q.batch_shape} do not broadcast; "
            "KL(p || q) pairs the distributions of p's batch with those of q's elementwise"
        ) from None
    return function(p, q)


class MonteCarloEstimate(NamedTuple):
    """A Monte Carlo mean and its standard error (sample standard deviation / sqrt(n))."""

    value: Tensor
    standard_error: Tensor


def kl_divergence_mc(p: Distribution, q: Distribution, n_samples: int = 1000) -> MonteCarloEstimate:
    """KL(p || q) ~= (1/S) sum_s [ln p(x_s) - ln q(x_s)], x_s ~ p  (PRML (11.2)).

    Uses ``rsample`` where p has one, so the estimate is differentiable in p's
    parameters (the SGVB route); otherwise ``sample`` (differentiable in q only).
    """
    if not isinstance(n_samples, numbers.Integral) or isinstance(n_samples, bool) or n_samples < 2:
        raise ValueError(f"kl_divergence_mc: n_samples must be an int >= 2 (for a standard error), got {n_samples!r}")
    x = p.rsample((n_samples,)) if p.has_rsample else p.sample((n_samples,))
    try:
        log_q = q.log_prob(x)
    except ValueError as exc:
        raise ValueError(
            f"kl_divergence_mc: a draw of {type(p).__name__} lies outside the support of {type(q).__name__}, "
            f"so KL(p || q) is infinite ({exc})"
        ) from exc
    log_ratio = p.log_prob(x) - log_q  # ln p - ln q, whose mean under p is KL(p || q) (PRML (1.113))
    with no_grad():
        standard_error = (log_ratio.var(axis=0, ddof=1) / n_samples).sqrt()
    return MonteCarloEstimate(log_ratio.mean(axis=0), standard_error)


# --------------------------------------------------------------------------- closed forms
@register_kl(Normal, Normal)
def _kl_normal_normal(p: Normal, q: Normal) -> Tensor:
    """ln(sigma_q/sigma_p) + (sigma_p^2 + (mu_p - mu_q)^2) / (2 sigma_q^2) - 1/2."""
    ratio = p.scale / q.scale
    z = (p.loc - q.loc) / q.scale
    return -log(ratio) + 0.5 * (ratio * ratio + z * z) - 0.5


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_mvn_mvn(p: MultivariateNormal, q: MultivariateNormal) -> Tensor:
    """(Tr(Sigma_q^-1 Sigma_p) + (mu_q - mu_p)^T Sigma_q^-1 (mu_q - mu_p) - D + ln |Sigma_q|/|Sigma_p|) / 2.

    With Sigma = L L^T: Tr(Sigma_q^-1 Sigma_p) = |L_q^-1 L_p|_F^2 and the quadratic term is |L_q^-1 (mu_q - mu_p)|^2.
    """
    d = p.event_shape[0]
    trace = solve_triangular(q.scale_tril, p.scale_tril)
    trace = (trace * trace).sum(axis=(-2, -1))
    diff = (q.loc - p.loc).unsqueeze(-1)
    z = solve_triangular(q.scale_tril, diff)
    quadratic = (z * z).sum(axis=(-2, -1))
    log_det_ratio = 2 * (log(_diagonal(q.scale_tril)).sum(axis=-1) - log(_diagonal(p.scale_tril)).sum(axis=-1))
    return 0.5 * (trace + quadratic - d + log_det_ratio)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p: Bernoulli, q: Bernoulli) -> Tensor:
    """mu_p ln(mu_p/mu_q) + (1 - mu_p) ln((1 - mu_p)/(1 - mu_q)), with ln mu = log_sigmoid(logit)."""
    return (p.probs * (log_sigmoid(p.logits) - log_sigmoid(q.logits))
            + (1 - p.probs) * (log_sigmoid(-p.logits) - log_sigmoid(-q.logits)))


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p: Categorical, q: Categorical) -> Tensor:
    """sum_k mu_pk (ln mu_pk - ln mu_qk): PRML (1.113) with the integral a sum over the K classes."""
    return (p.probs * (p.logits - q.logits)).sum(axis=-1)


@register_kl(Beta, Beta)
def _kl_beta_beta(p: Beta, q: Beta) -> Tensor:
    """ln B(a_q, b_q) - ln B(a_p, b_p) + (a_p - a_q) psi(a_p) + (b_p - b_q) psi(b_p) + (a_q - a_p + b_q - b_p) psi(a_p + b_p)."""
    a1, b1, a2, b2 = p.concentration1, p.concentration0, q.concentration1, q.concentration0
    return (log_beta_function(a2, b2) - log_beta_function(a1, b1) + (a1 - a2) * digamma(a1)
            + (b1 - b2) * digamma(b1) + (a2 - a1 + b2 - b1) * digamma(a1 + b1))


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p: Dirichlet, q: Dirichlet) -> Tensor:
    """ln Gamma(alpha_0) - sum ln Gamma(alpha_k) - ln Gamma(beta_0) + sum ln Gamma(beta_k) + sum (alpha_k - beta_k)(psi(alpha_k) - psi(alpha_0))."""
    alpha, beta = p.concentration, q.concentration
    alpha_0, beta_0 = alpha.sum(axis=-1), beta.sum(axis=-1)
    return (lgamma(alpha_0) - lgamma(alpha).sum(axis=-1) - lgamma(beta_0) + lgamma(beta).sum(axis=-1)
            + ((alpha - beta) * (digamma(alpha) - digamma(alpha_0).unsqueeze(-1))).sum(axis=-1))


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p: Gamma, q: Gamma) -> Tensor:
    """(a_p - a_q) psi(a_p) - ln Gamma(a_p) + ln Gamma(a_q) + a_q (ln b_p - ln b_q) + a_p (b_q - b_p)/b_p."""
    a1, b1, a2, b2 = p.concentration, p.rate, q.concentration, q.rate
    return (a1 - a2) * digamma(a1) - lgamma(a1) + lgamma(a2) + a2 * (log(b1) - log(b2)) + a1 * (b2 - b1) / b1
