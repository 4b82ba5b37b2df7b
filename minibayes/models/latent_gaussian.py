"""The closed forms behind a VAE with a Gaussian encoder: KL to N(0, I), decoder log-likelihoods,
log importance weights. Each works elementwise on Tensors, so every gradient comes from autograd.

Notation (Kingma & Welling 2014, section 3 and appendices B-C): the encoder gives, per data
point, mu and log sigma^2 of q(z | x) = N(mu, diag sigma^2); z = mu + sigma * eps with
eps ~ N(0, I) (eq. 4 and the line under eq. 9); the prior is p(z) = N(0, I).
"""

from __future__ import annotations

from ..autograd import ops
from ..autograd.tensor import Tensor
from ..nn import functional as F

__all__ = [
    "kl_to_standard_normal", "bernoulli_log_likelihood", "gaussian_log_likelihood",
    "log_prior_minus_log_posterior",
]


def kl_to_standard_normal(mean: Tensor, log_var: Tensor) -> Tensor:
    """KL(N(mu, sigma^2) || N(0, 1)) per latent dimension, K&W appendix B (the first sum of eq. 10):

        -KL = 1/2 (1 + log sigma^2 - mu^2 - sigma^2),

    returned with the sign of a KL (>= 0), elementwise, shape of ``mean``.
    """
    return 0.5 * (ops.exp(log_var) + mean * mean - 1.0 - log_var)


def bernoulli_log_likelihood(x: object, logits: Tensor) -> Tensor:
    """log Bernoulli(x | sigmoid(logits)) = x log y + (1 - x) log(1 - y), K&W appendix C.1, elementwise.

    Written from the logits as x * logits - softplus(logits) (the negative of a stable binary
    cross-entropy), so that a saturated decoder never takes log(0). For x in [0, 1] that are not
    binary (grey levels) it is the continuous cross-entropy the course uses, not a normalised density.
    """
    # Written out rather than as -bce_with_logits: one pass fewer over (batch, pixels).
    return x * logits - ops.softplus(logits)


def gaussian_log_likelihood(x: object, mean: Tensor, log_var: Tensor) -> Tensor:
    """log N(x | mu, sigma^2) with log sigma^2 given, K&W appendix C.2, elementwise (the full density)."""
    return -F.gaussian_nll(x, mean, log_var, reduction="none", full=True)


def log_prior_minus_log_posterior(z: Tensor, noise: Tensor, log_var: Tensor) -> Tensor:
    """log p(z) - log q(z | x) per latent dimension, for z = mu + sigma * eps:

        log N(z | 0, 1) - log N(z | mu, sigma^2) = -z^2 / 2 + eps^2 / 2 + log sigma^2 / 2,

    since (z - mu) / sigma = eps exactly; the two 1/2 log 2 pi constants cancel. Its negative
    is the one-sample Monte Carlo KL of SGVB estimator A (K&W eq. 6); it is also the
    prior-over-posterior part of an importance weight (Burda et al. 2016, eq. 8).
    """
    return 0.5 * (noise * noise + log_var - z * z)
