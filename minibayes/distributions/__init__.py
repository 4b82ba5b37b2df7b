"""Probability distributions written out as in the seeds (Day 1), with KL divergences and conjugate updates.

Names follow ``torch.distributions``: ``log_prob``, ``sample``, ``rsample``,
``mean``, ``variance``, ``entropy()``, ``batch_shape``, ``event_shape``, and
``kl_divergence(p, q)``. Maximum-likelihood fits are ``fit_mle`` class methods.
"""

from .bernoulli import Bernoulli, Binomial
from .beta import Beta, Dirichlet
from .categorical import Categorical, Multinomial
from .conjugate import (
    NormalGamma, beta_bernoulli, beta_binomial, dirichlet_categorical, dirichlet_multinomial,
    gamma_known_mean, normal_gamma, normal_known_variance,
)
from .distribution import Distribution
from .gamma import Gamma
from .kl import MonteCarloEstimate, kl_divergence, kl_divergence_mc, register_kl, registered_pairs
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .tables import bayes_rule, conditional, marginal
from .wishart import Wishart

__all__ = [
    "Distribution", "Bernoulli", "Binomial", "Categorical", "Multinomial", "Normal", "MultivariateNormal",
    "Beta", "Dirichlet", "Gamma", "Wishart", "NormalGamma",
    "kl_divergence", "kl_divergence_mc", "register_kl", "registered_pairs", "MonteCarloEstimate",
    "beta_bernoulli", "beta_binomial", "dirichlet_categorical", "dirichlet_multinomial",
    "normal_known_variance", "gamma_known_mean", "normal_gamma", "marginal", "conditional", "bayes_rule",
]
