"""Conjugate posteriors: prior x likelihood = a prior of the same family with updated parameters.

Observations run along axis 0; the prior's batch shape broadcasts with the
remaining axes. Each update only adds sufficient statistics to the prior's
parameters, which is why updating one observation at a time gives the same
posterior as updating on the whole batch (PRML §2.3.5, Figure 2.3).
"""

from __future__ import annotations

from ..autograd.numerics import LOG_2PI
from ..autograd.ops import digamma, log
from ..autograd.tensor import Tensor
from . import constraints
from .beta import Beta, Dirichlet
from .categorical import one_hot
from .distribution import Distribution, as_parameter, broadcast_parameters
from .gamma import Gamma
from .normal import Normal

__all__ = [
    "NormalGamma", "beta_bernoulli", "beta_binomial", "dirichlet_categorical", "dirichlet_multinomial",
    "normal_known_variance", "gamma_known_mean", "normal_gamma",
]


def _observations(x: object, prior: Distribution, name: str, owner: str) -> Tensor:
    x = as_parameter(x, like=prior._template)
    if x.ndim == 0:
        raise ValueError(f"{owner}: {name} must have observations along axis 0, got a scalar")
    return x


def beta_bernoulli(prior: Beta, x: object) -> Beta:
    """Beta(a, b) x prod_n Bern(x_n | mu) -> Beta(a + m, b + l), m ones and l zeros (PRML (2.18))."""
    x = _observations(x, prior, "x", "beta_bernoulli")
    constraints.boolean.check(x.data, "x", "beta_bernoulli")
    m = x.sum(axis=0)
    return Beta(prior.concentration1 + m, prior.concentration0 + (x.shape[0] - m))


def beta_binomial(prior: Beta, successes: object, total_count: int) -> Beta:
    """Beta(a, b) x prod_n Bin(m_n | N, mu) -> Beta(a + sum m_n, b + sum (N - m_n)) (seed Beta slides; PRML (2.18))."""
    m = _observations(successes, prior, "successes", "beta_binomial")
    constraints.IntegerInterval(0, total_count).check(m.data, "successes", "beta_binomial")
    return Beta(prior.concentration1 + m.sum(axis=0), prior.concentration0 + (total_count - m).sum(axis=0))


def dirichlet_multinomial(prior: Dirichlet, counts: object) -> Dirichlet:
    """Dir(alpha) x prod_n Mult(m_n | mu, N) -> Dir(alpha + sum_n m_n)  (PRML (2.41)). counts: (n_obs, ..., K)."""
    counts = _observations(counts, prior, "counts", "dirichlet_multinomial")
    constraints.IntegerInterval(0, float("inf")).check(counts.data, "counts", "dirichlet_multinomial")
    return Dirichlet(prior.concentration + counts.sum(axis=0))


def dirichlet_categorical(prior: Dirichlet, labels: object) -> Dirichlet:
    """Dir(alpha) x prod_n Cat(x_n | mu) -> Dir(alpha + N_k), N_k the count of label k."""
    k = prior.event_shape[0]
    labels = _observations(labels, prior, "labels", "dirichlet_categorical")
    constraints.IntegerInterval(0, k - 1).check(labels.data, "labels", "dirichlet_categorical")
    return Dirichlet(prior.concentration + one_hot(labels.data, k, labels.dtype).sum(axis=0))


def normal_known_variance(prior: Normal, x: object, variance: object) -> Normal:
    """Posterior of a Gaussian mean mu given N(mu | mu_0, sigma_0^2) and x_n ~ N(mu, sigma^2), sigma^2 known.

    1/sigma_N^2 = 1/sigma_0^2 + N/sigma^2                              (PRML (2.142))
    mu_N = sigma_N^2 (mu_0 / sigma_0^2 + sum_n x_n / sigma^2)          (PRML (2.141), rearranged)
    """
    x = _observations(x, prior, "x", "normal_known_variance")
    variance = as_parameter(variance, like=prior.loc)
    constraints.positive.check(variance.data, "variance", "normal_known_variance")
    precision_n = 1 / prior.variance + x.shape[0] / variance
    mean_n = (prior.loc / prior.variance + x.sum(axis=0) / variance) / precision_n
    return Normal(mean_n, (1 / precision_n).sqrt())


def gamma_known_mean(prior: Gamma, x: object, mean: object) -> Gamma:
    """Posterior of a Gaussian precision lambda given Gam(lambda | a_0, b_0) and x_n ~ N(mu, 1/lambda), mu known.

    a_N = a_0 + N/2,  b_N = b_0 + (1/2) sum_n (x_n - mu)^2             (PRML (2.150), (2.151))
    """
    x = _observations(x, prior, "x", "gamma_known_mean")
    return Gamma(prior.concentration + x.shape[0] / 2, prior.rate + 0.5 * ((x - mean) ** 2).sum(axis=0))


class NormalGamma(Distribution):
    """p(mu, lambda) = N(mu | mu_0, (kappa lambda)^-1) Gam(lambda | a, b)  (PRML (2.154)).

    The joint conjugate prior of a Gaussian's mean and precision. A value is
    the pair (mu, lambda) on the last axis (event shape (2,)).

    Parameters
    ----------
    loc : mu_0.   mean_precision : kappa (beta in PRML (2.154)) > 0.
    concentration : a > 0.   rate : b > 0.   All broadcast to one batch shape.
    """

    support = constraints.mean_and_precision

    def __init__(self, loc, mean_precision, concentration, rate, validate_args: bool = True) -> None:
        loc = as_parameter(loc)
        kappa, a, b = (as_parameter(v, like=loc) for v in (mean_precision, concentration, rate))
        if validate_args:
            constraints.real.check(loc.data, "loc", "NormalGamma")
            for name, value in (("mean_precision", kappa), ("concentration", a), ("rate", b)):
                constraints.positive.check(value.data, name, "NormalGamma")
        self.loc, self.mean_precision, self.concentration, self.rate = broadcast_parameters(loc, kappa, a, b, owner="NormalGamma")
        super().__init__(self.loc.shape, (2,), validate_args)

    @property
    def _template(self) -> Tensor:
        return self.loc

    def precision_marginal(self) -> Gamma:
        """p(lambda) = Gam(lambda | a, b)."""
        return Gamma(self.concentration, self.rate, validate_args=self.validate_args)

    def mean_conditional(self, precision: object) -> Normal:
        """p(mu | lambda) = N(mu | mu_0, (kappa lambda)^-1)."""
        return Normal(self.loc, (1 / (self.mean_precision * precision)).sqrt(), validate_args=self.validate_args)

    def _log_prob(self, value: Tensor) -> Tensor:
        """ln N(mu | mu_0, (kappa lambda)^-1) + ln Gam(lambda | a, b), for value = (mu, lambda)."""
        mu, precision = value[..., 0], value[..., 1]
        return self.mean_conditional(precision).log_prob(mu) + self.precision_marginal().log_prob(precision)

    @property
    def mean(self) -> Tensor:
        from ..autograd.ops import stack  # noqa: PLC0415

        return stack([self.loc, self.concentration / self.rate], axis=-1)

    def entropy(self) -> Tensor:
        """H[lambda] + E_lambda[H[mu | lambda]], with E[ln lambda] = psi(a) - ln b."""
        expected_log_precision = digamma(self.concentration) - log(self.rate)
        conditional = 0.5 * (1 + LOG_2PI - log(self.mean_precision) - expected_log_precision)
        return self.precision_marginal().entropy() + conditional

    def _sample(self, shape):
        # shape = sample + batch + (2,): the precision first, then the mean given it, both of
        # the full sample + batch shape (the conditional Normal broadcasts over the batch).
        precision = Tensor(self.precision_marginal()._sample(shape[:-1]))
        mu = self.mean_conditional(precision).sample()
        return self._xp.stack([mu.data, precision.data], axis=-1)


def normal_gamma(prior: NormalGamma, x: object) -> NormalGamma:
    """Posterior of (mu, lambda) after x_n ~ N(mu, 1/lambda), n = 1..N, with x_bar the sample mean:

    kappa_N = kappa_0 + N,   mu_N = (kappa_0 mu_0 + N x_bar) / kappa_N,   a_N = a_0 + N/2,
    b_N = b_0 + (1/2) sum_n (x_n - x_bar)^2 + kappa_0 N (x_bar - mu_0)^2 / (2 kappa_N)
    (completing the square in mu; Bernardo & Smith (1994), Murphy (2007) eqs. 86-89).
    """
    x = _observations(x, prior, "x", "normal_gamma")
    n = x.shape[0]
    x_bar = x.mean(axis=0)
    kappa_0, mu_0 = prior.mean_precision, prior.loc
    kappa_n = kappa_0 + n
    scatter = ((x - x_bar) ** 2).sum(axis=0)
    return NormalGamma(
        (kappa_0 * mu_0 + n * x_bar) / kappa_n,
        kappa_n,
        prior.concentration + n / 2,
        prior.rate + 0.5 * scatter + kappa_0 * n * (x_bar - mu_0) ** 2 / (2 * kappa_n),
    )
