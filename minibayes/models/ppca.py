"""Probabilistic PCA, PRML section 12.2 (Tipping and Bishop, 1999).

    p(z) = N(z | 0, I_M),   p(x | z) = N(x | W z + mu, sigma^2 I_D)            PRML (12.31)-(12.33)
    p(x) = N(x | mu, C),    C = W W^T + sigma^2 I_D                            PRML (12.35)-(12.36)
    ln p(X) = -N/2 (D ln 2pi + ln|C| + tr(C^-1 S))                             PRML (12.43)-(12.44)
    p(z | x) = N(z | M^-1 W^T (x - mu), sigma^2 M^-1),  M = W^T W + sigma^2 I_M   PRML (12.41)-(12.42)

Maximum likelihood in closed form (12.45)-(12.46): W = U_M (L_M - sigma^2 I)^(1/2) R
with sigma^2 the mean of the D - M discarded eigenvalues of S (here R = I);
or by EM (12.54)-(12.57), which never forms S. C is D x D but never built:
C^-1 = sigma^-2 (I - W M^-1 W^T) (Woodbury, 12.41 context) and
|C| = sigma^(2 (D - M)) |M| (matrix determinant lemma), so every step costs
O(N D M) plus M x M algebra.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

from .. import backend
from ..autograd import numerics
from ..autograd.numerics import LOG_2PI
from ._estimator import DensityEstimator
from ._validation import (
    ConvergenceWarning, check_array, check_fitted_input, check_is_fitted, check_random_state, check_scalar,
)
from .pca import SOLVERS, principal_subspace

__all__ = ["PPCA", "GaussianPosterior", "latent_precision", "ppca_log_likelihood", "ppca_posterior"]


class GaussianPosterior(NamedTuple):
    """p(z_n | x_n) = N(z_n | mean[n], covariance): one mean per row, one shared covariance."""

    mean: object        # (N, M)
    covariance: object  # (M, M)


def latent_precision(W, sigma2):
    """M = W^T W + sigma^2 I (12.41) and its lower Cholesky factor."""
    xp = backend.array_module(W)
    M = W.T @ W + sigma2 * xp.eye(W.shape[1], dtype=W.dtype)
    return M, numerics.cholesky(M, "M = W^T W + sigma^2 I")


def ppca_posterior(X, mean, W, sigma2):
    """p(z | x) = N(M^-1 W^T (x - mu), sigma^2 M^-1), PRML (12.42); returns GaussianPosterior."""
    xp = backend.array_module(X)
    M, _ = latent_precision(W, sigma2)
    M_inv = numerics.inv(M)  # M x M only: the posterior covariance is reported, so it is formed
    return GaussianPosterior((X - mean) @ W @ M_inv, sigma2 * M_inv)


def ppca_log_likelihood(X, mean, W, sigma2):
    """ln N(x_n | mu, C) for each row, C = W W^T + sigma^2 I (12.35-12.36), shape (N,).

    With y = W^T (x - mu): (x - mu)^T C^-1 (x - mu) = (||x - mu||^2 - y^T M^-1 y) / sigma^2 (Woodbury)
    and ln|C| = (D - M) ln sigma^2 + ln|M| (determinant lemma): only M x M systems, no D x D matrix.
    """
    xp = backend.array_module(X)
    n_features, n_latent = W.shape
    M, L = latent_precision(W, sigma2)
    centered = X - mean
    Y = centered @ W
    mahalanobis = ((centered * centered).sum(axis=1) - (Y * numerics.solve(M, Y.T).T).sum(axis=1)) / sigma2
    log_det_C = (n_features - n_latent) * math.log(sigma2) + 2.0 * float(xp.log(xp.diagonal(L)).sum())
    return -0.5 * (n_features * LOG_2PI + log_det_C + mahalanobis)


class PPCA(DensityEstimator):
    """Probabilistic PCA by maximum likelihood, PRML (12.31)-(12.57).

    Parameters
    ----------
    n_components : int
        M, the latent dimension (1 <= M < D, M <= N).
    method : "closed_form" or "em"
        Eigendecomposition (12.45)-(12.46), or EM (12.54)-(12.57).
    max_iter, tol : int, float
        EM stops when ln p(X) / N changes by less than ``tol``.
    solver : "auto", "eigh" or "svd"
        For the closed form; see ``pca.principal_subspace``.
    random_state : int, Generator or None
        The random starting W of EM.

    Attributes
    ----------
    mean_ : (D,)  mu_ML = x_bar
    components_ : (M, D)  W^T (so W = components_.T)
    noise_variance_ : float  sigma^2
    log_likelihoods_ : list of float  ln p(X | theta) / N at every EM iteration (E-step on the previous M-step's theta)
    n_iter_, converged_ (EM only; 0 and True for the closed form), n_features_in_
    """

    _is_transformer = True  # has transform: scikit-learn's Pipeline may chain it

    def __init__(self, n_components, *, method="closed_form", max_iter=1000, tol=1e-8, solver="auto",
                 random_state=None):
        self.n_components = n_components
        self.method = method
        self.max_iter = max_iter
        self.tol = tol
        self.solver = solver
        self.random_state = random_state

    def _check_fit_arguments(self, X):
        X = check_array(X, "X", min_samples=2, min_features=2)
        n_samples, n_features = X.shape
        check_scalar(self.n_components, "n_components", int, min_value=1)
        if self.n_components >= n_features or self.n_components > n_samples:
            raise ValueError(f"n_components={self.n_components} must be < n_features={n_features} and "
                             f"<= n_samples={n_samples}")
        if self.method not in ("closed_form", "em"):
            raise ValueError(f"method must be 'closed_form' or 'em'; got {self.method!r}")
        if self.solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}; got {self.solver!r}")
        check_scalar(self.max_iter, "max_iter", int, min_value=1)
        check_scalar(self.tol, "tol", float, min_value=0.0)
        return X

    def _closed_form(self, X, mean):
        """W = U_M (L_M - sigma^2 I)^(1/2) (12.45) with R = I; sigma^2 = mean discarded eigenvalue (12.46)."""
        xp = backend.array_module(X)
        n_features = X.shape[1]
        eigenvalues, U, total, scale = principal_subspace(X, mean, self.n_components, self.solver)
        # tr(S) minus the kept eigenvalues: the discarded ones need not be computed (12.46). In the units
        # of X / scale (see principal_subspace): W scales by scale, sigma^2 and tr(S) by scale^2.
        sigma2 = max(total - float(eigenvalues.sum()), 0.0) / (n_features - self.n_components)
        W = U.T * (xp.sqrt(xp.maximum(eigenvalues - sigma2, 0.0)) * scale)[None, :]
        return W, sigma2 * scale * scale, total * scale * scale

    def _em(self, centered, rng):
        """EM from a random W: E-step (12.54)-(12.55), M-step (12.56)-(12.57)."""
        xp = backend.array_module(centered)
        n_samples, n_features = centered.shape
        n_latent = self.n_components
        trace_S = float((centered * centered).sum()) / n_samples
        sigma2 = trace_S / n_features
        W = rng.standard_normal(size=(n_features, n_latent)).astype(centered.dtype) * math.sqrt(sigma2 / n_features)
        history, converged = [], False
        for _ in range(self.max_iter):
            M, L = latent_precision(W, sigma2)                       # (12.41)
            Y = centered @ W                                          # W^T (x_n - x_bar) for all n, (N, M)
            M_inv = numerics.inv(M)                                  # M x M
            Ez = Y @ M_inv                                            # E[z_n] = M^-1 W^T (x_n - x_bar)   (12.54)
            sum_Ezz = n_samples * sigma2 * M_inv + Ez.T @ Ez          # sum_n E[z_n z_n^T]              (12.55)
            # ln p(X | theta_old) / N (12.44) from the same pieces: tr(C^-1 S) = (tr S - tr(M^-1 W^T S W)) / sigma^2.
            log_det_C = (n_features - n_latent) * math.log(sigma2) + 2.0 * float(xp.log(xp.diagonal(L)).sum())
            trace_CinvS = (trace_S - float((Ez * Y).sum()) / n_samples) / sigma2
            history.append(-0.5 * (n_features * LOG_2PI + log_det_C + trace_CinvS))
            B = centered.T @ Ez                                       # sum_n (x_n - x_bar) E[z_n]^T, (D, M)
            W = numerics.solve(sum_Ezz, B.T).T                       # W_new = B (sum E[z z^T])^-1      (12.56)
            sigma2 = (n_samples * trace_S - 2.0 * float((W * B).sum())
                      + float((sum_Ezz * (W.T @ W)).sum())) / (n_samples * n_features)   # (12.57)
            if len(history) > 1 and abs(history[-1] - history[-2]) < self.tol:
                converged = True
                break
        return W, sigma2, history, converged, trace_S

    def fit(self, X, y=None):
        """Fit mu, W, sigma^2 by maximum likelihood on X (n_samples, n_features); returns self."""
        X = self._check_fit_arguments(X)
        mean = X.mean(axis=0)                                          # mu_ML = x_bar
        if self.method == "closed_form":
            (W, sigma2, trace_S), history, converged = self._closed_form(X, mean), [], True
        else:
            rng = check_random_state(self.random_state, X)
            W, sigma2, history, converged, trace_S = self._em(X - mean, rng)
            if not converged:
                warnings.warn(f"PPCA EM did not converge in max_iter={self.max_iter} iterations (tol={self.tol})",
                              ConvergenceWarning, stacklevel=2)
        # sigma^2 within rounding of zero: C = W W^T + sigma^2 I is singular and ln p(X) unbounded.
        if not sigma2 > 1e3 * float(backend.array_module(X).finfo(X.dtype).eps) * trace_S / X.shape[1]:
            raise ValueError("X lies exactly in an n_components-dimensional subspace (sigma^2 = 0): "
                             "C is singular; use fewer components")
        self.mean_, self.noise_variance_ = mean, sigma2
        self.components_ = backend.array_module(W).ascontiguousarray(W.T)
        self.log_likelihoods_, self.n_iter_, self.converged_ = history, len(history), converged
        self.n_features_in_ = X.shape[1]
        return self

    # ------------------------------------------------------------------ inference
    def posterior(self, X):
        """p(z_n | x_n), PRML (12.42): GaussianPosterior(mean (N, M), covariance (M, M))."""
        return ppca_posterior(check_fitted_input(self, "components_", X), self.mean_, self.components_.T, self.noise_variance_)

    def transform(self, X):
        """E[z_n | x_n] = M^-1 W^T (x_n - mu), shape (n_samples, M)."""
        return self.posterior(X).mean

    def fit_transform(self, X, y=None):
        """Fit, then E[z_n | x_n] for the rows of X, shape (n_samples, M)."""
        return self.fit(X).transform(X)

    def inverse_transform(self, Z):
        """E[x | z] = W z + mu (12.33), shape (n_samples, D)."""
        Z = check_fitted_input(self, "components_", Z, "Z", self.n_components)
        return Z @ self.components_ + self.mean_

    def score_samples(self, X):
        """ln p(x_n) = ln N(x_n | mu, C), PRML (12.43), shape (n_samples,)."""
        return ppca_log_likelihood(check_fitted_input(self, "components_", X), self.mean_, self.components_.T, self.noise_variance_)

    def score(self, X, y=None):
        """ln p(X) / N, PRML (12.44) divided by N."""
        return float(self.score_samples(X).mean())

    def get_covariance(self):
        """C = W W^T + sigma^2 I (12.36), shape (D, D); for inspection (the model itself never builds it)."""
        check_is_fitted(self, "components_")
        xp = backend.array_module(self.components_)
        W = self.components_.T
        return W @ W.T + self.noise_variance_ * xp.eye(W.shape[0], dtype=W.dtype)

    def sample(self, n_samples=1, random_state=None):
        """x = W z + mu + sigma eps with z, eps standard normal (ancestral sampling of 12.31-12.33), (n, D)."""
        check_is_fitted(self, "components_")
        check_scalar(n_samples, "n_samples", int, min_value=1)
        rng = check_random_state(self.random_state if random_state is None else random_state, self.components_)
        dtype = self.components_.dtype
        z = rng.standard_normal(size=(n_samples, self.n_components)).astype(dtype)
        noise = rng.standard_normal(size=(n_samples, self.components_.shape[1])).astype(dtype)
        return z @ self.components_ + self.mean_ + math.sqrt(self.noise_variance_) * noise
