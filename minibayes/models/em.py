"""General EM: the decomposition ln p(X) = L(q, theta) + KL(q || p(Z | X)), PRML section 9.4.

For any distribution q(Z) over the latent variables (the seeds' General EM slides):

    ln p(X | theta) = L(q, theta) + KL(q || p(Z | X, theta))                PRML (9.70)
    L(q, theta) = sum_Z q(Z) ln { p(X, Z | theta) / q(Z) }                 PRML (9.71)
    KL(q || p)  = -sum_Z q(Z) ln { p(Z | X, theta) / q(Z) }  >= 0          PRML (9.72)

L = Q(theta) + H[q], with Q the expected complete-data log-likelihood
(9.40) and H the entropy of q. The E-step sets q = p(Z | X, theta_old), so
KL = 0 and L touches ln p(X); the M-step maximises Q over theta with q
fixed, so L rises, and ln p(X) rises by at least as much (KL >= 0 again).

Each function below computes its quantity by its own formula, so the
identity (9.70) is a check, not a definition. Two models:

GMM, q(Z) = prod_n q(z_n) with q an (N, K) array of rows on the simplex, and
theta = (weights (K,), means (K, D), covariances (K, D, D)).
PPCA, q(Z) = prod_n N(z_n | m_n, S_n) with q_means (N, M) and q_covariances
(N, M, M) or one shared (M, M), and theta = (mean (D,), W (D, M), sigma2).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from .. import backend
from ..autograd import numerics
from ..autograd.numerics import LOG_2PI, logsumexp
from ._gaussian import log_gaussian_prob, precision_cholesky_from_covariances
from .ppca import latent_precision, ppca_log_likelihood

__all__ = [
    "Decomposition",
    "categorical_entropy", "gmm_log_joint", "gmm_posterior", "gmm_log_likelihood",
    "gmm_expected_complete_log_likelihood", "gmm_elbo", "gmm_kl_to_posterior", "gmm_decomposition", "gmm_m_step",
    "gaussian_entropy", "ppca_expected_complete_log_likelihood", "ppca_elbo", "ppca_kl_to_posterior",
    "ppca_decomposition", "ppca_m_step",
]


class Decomposition(NamedTuple):
    """The three terms of (9.70), each computed on its own."""

    log_likelihood: float  # ln p(X | theta)
    elbo: float            # L(q, theta)
    kl: float              # KL(q || p(Z | X, theta))


# --------------------------------------------------------------------------- GMM
def categorical_entropy(q):
    """H[q] = -sum_n sum_k q_nk ln q_nk (PRML 1.98), with 0 ln 0 = 0; q of shape (N, K)."""
    xp = backend.array_module(q)
    safe = xp.where(q > 0, q, 1.0)
    return -float((q * xp.log(safe)).sum())


def gmm_log_joint(X, weights, means, covariances):
    """ln p(x_n, z_nk = 1 | theta) = ln pi_k + ln N(x_n | mu_k, Sigma_k), PRML (9.10)-(9.11); shape (N, K)."""
    xp = backend.array_module(X)
    precisions_cholesky = precision_cholesky_from_covariances(covariances, "full")
    return log_gaussian_prob(X, means, precisions_cholesky, "full") + xp.log(weights)


def gmm_posterior(X, weights, means, covariances):
    """p(z_nk = 1 | x_n, theta) = gamma(z_nk), PRML (9.13) / (9.23); shape (N, K)."""
    xp = backend.array_module(X)
    log_joint = gmm_log_joint(X, weights, means, covariances)
    return xp.exp(log_joint - logsumexp(log_joint, axis=1)[:, None])


def gmm_log_likelihood(X, weights, means, covariances):
    """ln p(X | theta) = sum_n ln sum_k pi_k N(x_n | mu_k, Sigma_k), PRML (9.14)."""
    return float(logsumexp(gmm_log_joint(X, weights, means, covariances), axis=1).sum())


def gmm_expected_complete_log_likelihood(X, q, weights, means, covariances):
    """E_q[ln p(X, Z | theta)] = sum_n sum_k q_nk {ln pi_k + ln N(x_n | mu_k, Sigma_k)}.

    With one-hot q this is the complete-data log-likelihood (9.36); with
    q = gamma(theta_old) it is Q(theta, theta_old), PRML (9.40).
    """
    return float((q * gmm_log_joint(X, weights, means, covariances)).sum())


def gmm_elbo(X, q, weights, means, covariances):
    """L(q, theta) = E_q[ln p(X, Z | theta)] + H[q], PRML (9.71)."""
    return gmm_expected_complete_log_likelihood(X, q, weights, means, covariances) + categorical_entropy(q)


def gmm_kl_to_posterior(X, q, weights, means, covariances):
    """KL(q || p(Z | X, theta)) = sum_n sum_k q_nk ln {q_nk / gamma(z_nk)}, PRML (9.72).

    The log posterior is ln p(x, z) - ln p(x), taken in log space (not ln of gamma), so that it stays finite.
    """
    xp = backend.array_module(q)
    log_joint = gmm_log_joint(X, weights, means, covariances)
    log_posterior = log_joint - logsumexp(log_joint, axis=1)[:, None]
    safe = xp.where(q > 0, q, 1.0)
    return float((q * (xp.log(safe) - log_posterior)).sum())


def gmm_decomposition(X, q, weights, means, covariances):
    """(ln p(X), L(q, theta), KL(q || p)) of (9.70) for a GMM and any q (N, K)."""
    args = (weights, means, covariances)
    return Decomposition(gmm_log_likelihood(X, *args), gmm_elbo(X, q, *args), gmm_kl_to_posterior(X, q, *args))


def gmm_m_step(X, q):
    """argmax over theta of E_q[ln p(X, Z | theta)]: pi_k = N_k / N, mu_k, Sigma_k, PRML (9.24)-(9.27).

    The textbook form, one component at a time, without regularisation; returns (weights, means, covariances).
    """
    xp = backend.array_module(X)
    nk = q.sum(axis=0)
    means = (q.T @ X) / nk[:, None]                                           # (9.24)
    covariances = xp.stack([((q[:, k] * (X - means[k]).T) @ (X - means[k])) / nk[k]  # (9.25)
                            for k in range(q.shape[1])])
    return nk / X.shape[0], means, covariances                                # (9.26)


# --------------------------------------------------------------------------- PPCA
def _per_sample_covariances(q_covariances, n_samples):
    xp = backend.array_module(q_covariances)
    if q_covariances.ndim == 2:
        return xp.broadcast_to(q_covariances, (n_samples,) + q_covariances.shape)
    return q_covariances


def gaussian_entropy(covariances):
    """sum_n H[N(m_n, S_n)] = sum_n {M/2 (1 + ln 2pi) + 1/2 ln|S_n|}, PRML (B.41); covariances (N, M, M)."""
    xp = backend.array_module(covariances)
    n_latent = covariances.shape[-1]
    log_det = xp.linalg.slogdet(covariances)[1]
    return float((0.5 * n_latent * (1.0 + LOG_2PI) + 0.5 * log_det).sum())


def ppca_expected_complete_log_likelihood(X, q_means, q_covariances, mean, W, sigma2):
    """E_q[ln p(X, Z | theta)] for q(z_n) = N(m_n, S_n); with q the posterior under theta_old, PRML (12.53).

    sum_n { -M/2 ln 2pi - 1/2 (||m_n||^2 + tr S_n)                                     (E ln p(z_n))
            - D/2 ln(2 pi sigma^2) - 1/(2 sigma^2) (||x_n - mu - W m_n||^2 + tr(W^T W S_n)) }   (E ln p(x_n | z_n))
    """
    n_samples, n_features = X.shape
    n_latent = W.shape[1]
    S = _per_sample_covariances(q_covariances, n_samples)
    trace_S = float(backend.array_module(S).trace(S, axis1=1, axis2=2).sum())
    trace_WtWS = float((S * (W.T @ W)[None]).sum())
    residual = X - mean - q_means @ W.T
    log_prior = -0.5 * n_samples * n_latent * LOG_2PI - 0.5 * (float((q_means * q_means).sum()) + trace_S)
    log_lik = (-0.5 * n_samples * n_features * (LOG_2PI + math.log(sigma2))
               - 0.5 / sigma2 * (float((residual * residual).sum()) + trace_WtWS))
    return log_prior + log_lik


def ppca_elbo(X, q_means, q_covariances, mean, W, sigma2):
    """L(q, theta) = E_q[ln p(X, Z | theta)] + H[q], PRML (9.71) for PPCA."""
    S = _per_sample_covariances(q_covariances, X.shape[0])
    return ppca_expected_complete_log_likelihood(X, q_means, q_covariances, mean, W, sigma2) + gaussian_entropy(S)


def ppca_kl_to_posterior(X, q_means, q_covariances, mean, W, sigma2):
    """sum_n KL(N(m_n, S_n) || p(z_n | x_n)), with p(z | x) = N(M^-1 W^T (x - mu), sigma^2 M^-1) (12.42).

    KL(N(m, S) || N(m_p, S_p)) = 1/2 {tr(S_p^-1 S) + (m_p - m)^T S_p^-1 (m_p - m) - M + ln|S_p| - ln|S|}
    (PRML 2.44 integrated, cf. exercise 2.13), and S_p^-1 = M / sigma^2 needs no inverse.
    """
    xp = backend.array_module(X)
    n_samples, n_latent = q_means.shape
    M_matrix, L = latent_precision(W, sigma2)
    S = _per_sample_covariances(q_covariances, n_samples)
    posterior_means = numerics.solve(M_matrix, ((X - mean) @ W).T).T  # M^-1 W^T (x - mu), (N, M)
    diff = posterior_means - q_means
    trace_term = float((S * M_matrix[None]).sum()) / sigma2
    quadratic = float(((diff @ M_matrix) * diff).sum()) / sigma2
    log_det_posterior = n_latent * math.log(sigma2) - 2.0 * float(xp.log(xp.diagonal(L)).sum())  # ln|sigma^2 M^-1|
    log_det_q = float(xp.linalg.slogdet(S)[1].sum())
    return 0.5 * (trace_term + quadratic - n_samples * n_latent + n_samples * log_det_posterior - log_det_q)


def ppca_m_step(X, q_means, q_covariances):
    """argmax over theta of E_q[ln p(X, Z | theta)] for Gaussian q(z_n), PRML (12.56)-(12.57).

    Returns (mean, W, sigma2).

    With E[z_n] = m_n and E[z_n z_n^T] = S_n + m_n m_n^T (12.55):
    W = [sum_n (x_n - x_bar) m_n^T] [sum_n E[z_n z_n^T]]^-1 and
    sigma^2 = 1/(N D) sum_n {||x_n - x_bar||^2 - 2 m_n^T W^T (x_n - x_bar) + tr(E[z_n z_n^T] W^T W)}.
    """
    xp = backend.array_module(X)
    n_samples, n_features = X.shape
    mean = X.mean(axis=0)
    centered = X - mean
    S = _per_sample_covariances(q_covariances, n_samples)
    sum_Ezz = S.sum(axis=0) + q_means.T @ q_means
    W = numerics.solve(sum_Ezz, (centered.T @ q_means).T).T                        # (12.56)
    sigma2 = (float((centered * centered).sum()) - 2.0 * float(((centered @ W) * q_means).sum())
              + float((sum_Ezz * (W.T @ W)).sum())) / (n_samples * n_features)     # (12.57)
    return mean, W, sigma2


def ppca_decomposition(X, q_means, q_covariances, mean, W, sigma2):
    """(ln p(X), L(q, theta), KL(q || p)) of (9.70) for PPCA and any Gaussian q."""
    args = (mean, W, sigma2)
    return Decomposition(float(ppca_log_likelihood(X, *args).sum()),
                         ppca_elbo(X, q_means, q_covariances, *args),
                         ppca_kl_to_posterior(X, q_means, q_covariances, *args))
