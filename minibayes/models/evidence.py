"""The evidence of Bayesian linear regression, ln p(t | alpha, beta) (PRML 3.86), and its spectrum.

``log_evidence`` evaluates (3.86) directly, through the Cholesky factor of A (3.81).
``EvidenceSpectrum`` forms Phi^T Phi once, eigendecomposes it, and then evaluates the posterior
mean, gamma (3.91), the evidence and the re-estimates of alpha and beta (3.92, 3.95) for any
(alpha, beta) in O(M) operations: the loop of evidence maximisation (PRML 3.5.2), shared by
``BayesianLinearRegression`` and ``BayesianRidge``.
"""

from __future__ import annotations

import math
from typing import Callable

from .. import backend
from ..autograd.numerics import LOG_2PI, cho_solve, cholesky, half_log_det_cholesky
from ._validation import check_inputs, check_precision, check_targets

__all__ = ["log_evidence", "EvidenceSpectrum"]


def eye_like(square: object) -> object:
    """The identity of a square array's size, dtype and backend."""
    return backend.array_module(square).eye(square.shape[0], dtype=square.dtype)


def log_evidence(Phi: object, t: object, alpha: float, beta: float) -> float:
    """ln p(t | alpha, beta) = M/2 ln alpha + N/2 ln beta - E(m_N) - 1/2 ln|A| - N/2 ln(2 pi) (PRML 3.86),

    where A = alpha I + beta Phi^T Phi (3.81), m_N = beta A^-1 Phi^T t (3.84) and
    E(m_N) = beta/2 ||t - Phi m_N||^2 + alpha/2 m_N^T m_N (3.82).
    Phi : array of shape (n_samples, M);  t : array of shape (n_samples,);  alpha, beta : precisions > 0.
    """
    Phi = check_inputs(Phi, "Phi")
    t = check_targets(t, Phi.shape[0])
    alpha, beta = check_precision(alpha, "alpha"), check_precision(beta, "beta")
    n, m = Phi.shape
    gram = Phi.T @ Phi
    L = cholesky(alpha * eye_like(gram) + beta * gram, "A")  # (3.81)
    m_N = beta * cho_solve(L, Phi.T @ t)  # (3.84)
    E = 0.5 * beta * float(((t - Phi @ m_N) ** 2).sum()) + 0.5 * alpha * float(m_N @ m_N)  # (3.82)
    return 0.5 * m * math.log(alpha) + 0.5 * n * math.log(beta) - E - float(half_log_det_cholesky(L)) - 0.5 * n * LOG_2PI


class EvidenceSpectrum:
    """Phi^T Phi = V diag(lam) V^T, formed and eigendecomposed once, and the evidence in that basis (PRML 3.87).

    For the prior N(0, alpha^-1 I), A = alpha I + beta Phi^T Phi = V diag(alpha + beta lam) V^T,
    so with z = V^T Phi^T t each new (alpha, beta) costs O(M), not a pass over the data:

        m_N = V u,   u_i = beta z_i / (alpha + beta lam_i)                 (3.84)
        gamma = sum_i beta lam_i / (alpha + beta lam_i)                    (3.91)
        ln|A| = sum_i ln(alpha + beta lam_i)
        ||t - Phi m_N||^2 = r_0 - 2 d^T h_0 + sum_i lam_i d_i^2,  d = u - u_0

    The last line is exact, not an approximation: ||t - Phi w||^2 is quadratic in w, so its
    expansion about one point w_0 = V u_0 (the posterior mean at the starting alpha_0, beta_0) is
    exact, with r_0 = ||t - Phi w_0||^2 from one pass over the data (``residual(w_0)``) and
    h_0 = V^T Phi^T (t - Phi w_0) = z - lam u_0 = alpha_0 z / (alpha_0 + beta_0 lam), written
    without the subtraction. About w = 0 it would lose digits to cancellation when the fit is
    good; about w_LS it would divide by the smallest eigenvalues, the least accurate ones.
    """

    def __init__(self, gram: object, moment: object, n_samples: int,
                 residual: Callable[[object], float], alpha: float, beta: float) -> None:
        xp = backend.array_module(gram)
        lam, V = xp.linalg.eigh(gram)
        self.lam = xp.maximum(lam, 0.0)  # Phi^T Phi is semi-definite; rounding leaves tiny negatives
        self.xp, self.V, self.z, self.n = xp, V, V.T @ moment, n_samples
        self.u_0 = self.coordinates(alpha, beta)
        self.r_0 = residual(V @ self.u_0)  # ||t - Phi w_0||^2
        self.h_0 = alpha * self.z / (alpha + beta * self.lam)  # V^T Phi^T (t - Phi w_0)

    def coordinates(self, alpha: float, beta: float) -> object:
        """u = V^T m_N, shape (M,)."""
        return beta * self.z / (alpha + beta * self.lam)

    def mean(self, alpha: float, beta: float) -> object:
        """m_N = beta A^-1 Phi^T t (3.84), shape (M,)."""
        return self.V @ self.coordinates(alpha, beta)

    def gamma(self, alpha: float, beta: float) -> float:
        """Effective number of well-determined parameters, gamma = sum_i lambda_i / (alpha + lambda_i) (3.91)."""
        return float((beta * self.lam / (alpha + beta * self.lam)).sum())

    def rss(self, alpha: float, beta: float) -> float:
        """||t - Phi m_N||^2 by the exact expansion about w_0 (see the class docstring)."""
        d = self.coordinates(alpha, beta) - self.u_0
        return max(self.r_0 - 2.0 * float(d @ self.h_0) + float((self.lam * d * d).sum()), 0.0)

    def condition(self, alpha: float, beta: float) -> float:
        """Condition number of A = alpha I + beta Phi^T Phi."""
        return float((alpha + beta * self.lam.max()) / (alpha + beta * self.lam.min()))

    def log_evidence(self, alpha: float, beta: float) -> float:
        """(3.86): the same number as ``log_evidence(Phi, t, alpha, beta)``, in O(M)."""
        u = self.coordinates(alpha, beta)
        E = 0.5 * beta * self.rss(alpha, beta) + 0.5 * alpha * float(u @ u)  # (3.82); ||m_N|| = ||u||
        log_det_A = float(self.xp.log(alpha + beta * self.lam).sum())
        m, n = len(self.lam), self.n
        return 0.5 * m * math.log(alpha) + 0.5 * n * math.log(beta) - E - 0.5 * log_det_A - 0.5 * n * LOG_2PI
