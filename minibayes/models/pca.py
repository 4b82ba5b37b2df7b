"""Principal component analysis, PRML section 12.1.

    x_bar = (1/N) sum_n x_n,   S = (1/N) sum_n (x_n - x_bar)(x_n - x_bar)^T     PRML (12.1)-(12.3)
    maximise u^T S u subject to u^T u = 1  =>  S u = lambda u                  PRML (12.4)-(12.5)

The M principal directions are the eigenvectors of S with the M largest
eigenvalues, and the variance along u_i is lambda_i. When D > N, S has rank
at most N - 1 and the N x D data matrix is cheaper to decompose directly
(the SVD X_c = U diag(s) V^T gives S = V diag(s^2 / N) V^T; PRML section 12.1.4).
"""

from __future__ import annotations

import math

from .. import backend
from ..autograd.numerics import LOG_2PI
from ._estimator import Estimator
from ._scaling import largest_magnitude, power_of_two_scale
from ._validation import check_array, check_fitted_input, check_scalar

__all__ = ["PCA", "principal_subspace"]

SOLVERS = ("auto", "eigh", "svd")
BLOCK_ROWS = 4096  # rows per block when S is accumulated


def principal_subspace(X: object, mean: object, n_components: int, solver: str = "auto") -> tuple:
    """The top ``n_components`` eigenpairs of S = (1/N) sum_n (x_n - x_bar)(x_n - x_bar)^T, and tr(S).

    Parameters
    ----------
    X : array of shape (N, D)
    mean : array of shape (D,), x_bar
    n_components : int
        M.
    solver : "auto", "eigh" or "svd"
        "eigh": form S (12.3) by products of centred blocks of rows and take its
        eigendecomposition (cost N D^2 / 2 + D^3); "svd": thin SVD of the centred
        X (cost N D min(N, D)); "auto" takes "eigh" when D <= N.

    Returns
    -------
    eigenvalues : array of shape (M,), decreasing, lambda_i of (12.5) divided by scale^2
    components : array of shape (M, D), the unit eigenvectors u_i as rows;
        the sign of each is fixed so that its largest-magnitude entry is positive
    total_variance : float, tr(S) = sum of all D eigenvalues, divided by scale^2
    scale : float, a power of two: the variances are those of X / scale, which are of order one
        when the true ones (times scale^2) underflow or overflow; ratios of them are exact
    """
    xp = backend.array_module(X)
    n_samples, n_features = X.shape
    # Work on (X - x_bar) / scale, a power of two (exact): S squares the data, which underflows at
    # 1e-160 and overflows at 1e160. The directions are unchanged; the variances are returned in
    # these units (the callers multiply by scale^2 what they report, and form ratios before).
    # max |x - x_bar| <= 2 max |x|, so the centred data stay below 2 in these units.
    scale = power_of_two_scale(largest_magnitude(X))
    if solver == "auto":
        solver = "eigh" if n_features <= n_samples else "svd"
    if solver == "eigh":
        # Centre block by block: no N x D copy, and never S = X^T X / N - x_bar x_bar^T,
        # which cancels when the mean is large compared with the spread.
        S = xp.zeros((n_features, n_features), dtype=X.dtype)
        for start in range(0, n_samples, BLOCK_ROWS):
            block = (X[start : start + BLOCK_ROWS] - mean) / scale
            S += block.T @ block  # NumPy runs a^T a as a symmetric rank-k update (half the flops)
        S /= n_samples                                   # (12.3)
        eigenvalues, vectors = xp.linalg.eigh(S)         # S u = lambda u (12.5), ascending
        eigenvalues = eigenvalues[::-1][:n_components]
        components = vectors[:, ::-1][:, :n_components].T
        total_variance = float(xp.trace(S))
    else:
        centered = (X - mean) / scale
        _, singular_values, Vt = xp.linalg.svd(centered, full_matrices=False)
        eigenvalues = singular_values[:n_components] ** 2 / n_samples
        components = Vt[:n_components]
        total_variance = float((centered * centered).sum()) / n_samples
    # Eigenvectors are defined up to sign; fix it so that results are reproducible across solvers and backends.
    largest = xp.abs(components).argmax(axis=1)
    signs = xp.sign(components[xp.arange(components.shape[0]), largest])
    components = components * signs[:, None]
    # eigh can return tiny negative eigenvalues for a rank-deficient S.
    return xp.maximum(eigenvalues, 0.0), xp.ascontiguousarray(components), total_variance, scale


class PCA(Estimator):
    """Projection onto the M directions of maximum variance, PRML (12.1)-(12.5).

    Parameters
    ----------
    n_components : int or None
        M; None keeps min(n_samples, n_features).
    solver : "auto", "eigh" or "svd"
        See ``principal_subspace``.

    Attributes
    ----------
    mean_ : (D,)  x_bar (12.1)
    components_ : (M, D)  u_1 ... u_M as rows
    explained_variance_ : (M,)  lambda_i, the variance of the data along u_i (divisor N as in 12.3;
        scikit-learn divides by N - 1)
    explained_variance_ratio_ : (M,)  lambda_i / tr(S)
    noise_variance_ : float  mean of the D - M discarded eigenvalues (the PPCA sigma^2 of 12.46)
    n_components_, n_features_in_, n_samples_
    """

    _is_transformer = True  # has transform: scikit-learn's Pipeline may chain it

    def __init__(self, n_components=None, *, solver="auto"):
        self.n_components = n_components
        self.solver = solver

    def fit(self, X, y=None):
        """Fit on X (n_samples, n_features); returns self."""
        X = check_array(X, "X", min_samples=2)
        n_samples, n_features = X.shape
        n_components = min(n_samples, n_features) if self.n_components is None else self.n_components
        check_scalar(n_components, "n_components", int, min_value=1)
        if n_components > min(n_samples, n_features):
            raise ValueError(f"n_components={n_components} must be <= min(n_samples, n_features) = "
                             f"{min(n_samples, n_features)} for X of shape {tuple(X.shape)}")
        if self.solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}; got {self.solver!r}")
        mean = X.mean(axis=0)
        eigenvalues, components, total, scale = principal_subspace(X, mean, n_components, self.solver)
        discarded = n_features - n_components
        squared_scale = scale * scale  # inf or 0 past 1e+-154: then so are the variances, but not their ratios
        self.mean_, self.components_, self.explained_variance_ = mean, components, eigenvalues * squared_scale
        self.explained_variance_ratio_ = eigenvalues / total if total > 0 else eigenvalues * 0.0
        noise = max(total - float(eigenvalues.sum()), 0.0) / discarded if discarded else 0.0
        self.noise_variance_ = noise * squared_scale
        self.n_components_, self.n_features_in_, self.n_samples_ = n_components, n_features, n_samples
        return self

    def transform(self, X):
        """Projections z_ni = u_i^T (x_n - x_bar), shape (n_samples, M)."""
        X = check_fitted_input(self, "components_", X)
        return (X - self.mean_) @ self.components_.T

    def inverse_transform(self, Z):
        """Reconstructions x_bar + sum_i z_ni u_i (PRML 12.20 with the optimal coefficients), shape (n_samples, D)."""
        Z = check_fitted_input(self, "components_", Z, "Z", self.n_components_)
        return Z @ self.components_ + self.mean_

    def fit_transform(self, X, y=None):
        """Fit, then the projections of X, shape (n_samples, M)."""
        return self.fit(X).transform(X)

    def score_samples(self, X):
        """ln N(x_n | x_bar, C) under the PPCA model of the fitted subspace, shape (n_samples,).

        C = W W^T + sigma^2 I with W = U_M (L_M - sigma^2 I)^(1/2) and sigma^2 = ``noise_variance_``, the
        maximum-likelihood PPCA of the same data (PRML 12.45-12.46), so that PCA, like scikit-learn's,
        can be scored and cross-validated. C has the eigenvalues lambda_i along u_i and sigma^2 on the
        rest, so with z_i = u_i^T (x - x_bar):
            ln p(x) = -1/2 (D ln 2pi + sum_i ln lambda_i + (D - M) ln sigma^2
                            + sum_i z_i^2 / lambda_i + (||x - x_bar||^2 - ||z||^2) / sigma^2)
        (the sigma^2 terms vanish when M = D, where C = S).
        """
        X = check_fitted_input(self, "components_", X)
        xp = backend.array_module(X)
        n_features, n_components = self.n_features_in_, self.n_components_
        discarded, sigma2 = n_features - n_components, self.noise_variance_
        if not float(self.explained_variance_.min()) > 0 or (discarded and not sigma2 > 0):
            raise ValueError("score needs a non-singular covariance C, but the data lie in a subspace of fewer "
                             "dimensions than n_features (a zero eigenvalue of S); keep fewer components")
        centred = X - self.mean_
        Z = centred @ self.components_.T
        log_det = float(xp.log(self.explained_variance_).sum())
        mahalanobis = ((Z * Z) / self.explained_variance_).sum(axis=1)
        if discarded:
            log_det += discarded * math.log(sigma2)
            mahalanobis = mahalanobis + ((centred * centred).sum(axis=1) - (Z * Z).sum(axis=1)) / sigma2
        return -0.5 * (n_features * LOG_2PI + log_det + mahalanobis)

    def score(self, X, y=None):
        """Mean of ``score_samples``: ln p(X) / N under the PPCA model of the fitted subspace (PRML 12.44)."""
        return float(self.score_samples(X).mean())
