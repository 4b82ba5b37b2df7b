"""Gaussian mixture fitted by EM, PRML section 9.2.

    p(x) = sum_k pi_k N(x | mu_k, Sigma_k)                                 PRML (9.7)
    p(z) = prod_k pi_k^z_k,   p(x | z) = prod_k N(x | mu_k, Sigma_k)^z_k   PRML (9.10)-(9.11)
    ln p(X | theta) = sum_n ln sum_k pi_k N(x_n | mu_k, Sigma_k)           PRML (9.14)

E-step: the responsibilities gamma(z_nk) = p(z_k = 1 | x_n), PRML (9.23).
M-step: pi_k = N_k / N, mu_k and Sigma_k the responsibility-weighted mean and
covariance, PRML (9.24)-(9.27). Each EM cycle cannot decrease ln p(X | theta)
(PRML section 9.4). The E and M steps of ``fit`` are each one matrix product
(see ``_gaussian.GaussianStatistics``); ``predict`` and ``score_samples`` use
precision Cholesky factors.
"""

from __future__ import annotations

import math
import warnings

from .. import backend
from ..autograd import numerics
from ..autograd.numerics import logsumexp
from ._gaussian import (
    COVARIANCE_TYPES, GaussianStatistics, log_gaussian_prob, normalize_log,
    precision_cholesky_from_covariances, precision_cholesky_from_precisions, precisions_from_cholesky,
)
from ._estimator import DensityEstimator
from ._validation import (
    ComponentCollapseWarning, ConvergenceWarning, check_array, check_fitted_input, check_is_fitted,
    check_random_state, check_scalar,
)
from .kmeans import KMeans

__all__ = ["GaussianMixture", "check_mixture_hyperparameters", "initial_responsibilities", "sample_mixture"]


def check_mixture_hyperparameters(model: object, X: object) -> None:
    """Checks shared by GaussianMixture and BayesianGaussianMixture (called before any state changes)."""
    check_scalar(model.n_components, "n_components", int, min_value=1)
    if model.n_components > X.shape[0]:
        raise ValueError(
            f"n_components={model.n_components} must not exceed n_samples={X.shape[0]} (the number of rows of X)"
        )
    check_scalar(model.tol, "tol", float, min_value=0.0)
    check_scalar(model.reg_covar, "reg_covar", float, min_value=0.0)
    # max_iter = 0 would leave a model with no E-step behind its parameters and no lower bound.
    check_scalar(model.max_iter, "max_iter", int, min_value=1)
    check_scalar(model.n_init, "n_init", int, min_value=1)
    if model.init_params not in ("kmeans", "random"):
        raise ValueError(f"init_params must be 'kmeans' or 'random'; got {model.init_params!r}")


def initial_responsibilities(X: object, n_components: int, init_params: str, rng: object) -> object:
    """Starting responsibilities (N, K): one-hot K-means labels, or uniform random rows normalised to 1."""
    xp = backend.array_module(X)
    if init_params == "kmeans":
        labels = KMeans(n_components, n_init=1, random_state=rng).fit(X).labels_
        return (labels[:, None] == xp.arange(n_components)[None, :]).astype(X.dtype)
    resp = rng.random(size=(X.shape[0], n_components)).astype(X.dtype)
    return resp / resp.sum(axis=1, keepdims=True)


def sample_mixture(weights, means, covariances, covariance_type, n_samples, rng):
    """Ancestral sampling (PRML section 8.1.2): z_n ~ Cat(pi), then x_n ~ N(mu_z, Sigma_z).

    Returns X (n_samples, D) and the component labels (n_samples,), sorted by component.
    """
    xp = backend.array_module(means)
    # Categorical draw by inverting the cumulative weights (works on every backend's Generator).
    cumulative = xp.cumsum(weights)
    labels = xp.searchsorted(cumulative / cumulative[-1], rng.random(size=n_samples), side="right")
    labels = xp.sort(xp.minimum(labels, weights.shape[0] - 1))
    noise = rng.standard_normal(size=(n_samples, means.shape[1])).astype(means.dtype)
    if covariance_type == "full":
        factors = numerics.cholesky(covariances, "covariances")  # Sigma_k = L_k L_k^T, x = mu + L eps
        offsets = xp.einsum("nde,ne->nd", factors[labels], noise)
    else:
        scale = xp.sqrt(covariances if covariance_type == "diag" else covariances[:, None])
        offsets = noise * scale[labels]
    return means[labels] + offsets, labels


class GaussianMixture(DensityEstimator):
    """Maximum-likelihood Gaussian mixture by EM, PRML (9.7), (9.23)-(9.27).

    Parameters
    ----------
    n_components : int
        K, the number of Gaussians.
    covariance_type : "full", "diag" or "spherical"
        Sigma_k a full (D, D) matrix, a diagonal (D,) or one variance times I.
    reg_covar : float
        Added to the diagonal of every Sigma_k. It keeps a component that
        collapses onto a point or subspace (PRML section 9.2.1, where the
        likelihood is unbounded) finite; such components are reported with a
        ``ComponentCollapseWarning``. With 0, a collapse raises ValueError.
    max_iter, tol : int, float
        EM stops when the per-sample log-likelihood changes by less than ``tol``.
    n_init : int
        Number of initialisations; the run with the highest final lower bound is kept.
    init_params : "kmeans" or "random"
        Initial responsibilities: one-hot K-means labels, or random rows.
    weights_init, means_init, precisions_init : arrays, optional
        Starting pi (K,), mu (K, D), and precisions Sigma^-1 ((K, D, D), (K, D) or (K,)).
        Given all three, the initial responsibilities are not needed.
    random_state : int, Generator or None

    Attributes
    ----------
    weights_ : (K,)   means_ : (K, D)
    covariances_ : (K, D, D), (K, D) or (K,)   precisions_ and precisions_cholesky_ : same shapes
    lower_bound_ : float
        ln p(X | theta) / N of the best run at its last E-step. Per sample, as in
        scikit-learn, so ``tol`` means the same in both; multiply by N for PRML (9.14).
    lower_bounds_ : list of float
        That quantity at every iteration (each E-step evaluates the parameters of the previous M-step).
    converged_ : bool   n_iter_ : int   n_features_in_ : int
    """

    def __init__(self, n_components=1, *, covariance_type="full", reg_covar=1e-6, max_iter=100, tol=1e-3,
                 n_init=1, init_params="kmeans", weights_init=None, means_init=None, precisions_init=None,
                 random_state=None):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.tol = tol
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state

    # ------------------------------------------------------------------ checks
    def _check_initial_values(self, X):
        """The given starting values as arrays of X's backend and dtype, shapes checked."""
        K, D = self.n_components, X.shape[1]
        values = {}
        if self.weights_init is not None:
            weights = check_array(self.weights_init, "weights_init", ndim=1, dtype=X.dtype)
            if weights.shape != (K,) or bool((weights < 0).any()) or abs(float(weights.sum()) - 1) > 1e-6:
                raise ValueError(f"weights_init must be {K} non-negative numbers summing to 1; got {weights!r}")
            values["weights"] = weights
        if self.means_init is not None:
            means = check_array(self.means_init, "means_init", dtype=X.dtype)
            if means.shape != (K, D):
                raise ValueError(f"means_init must have shape {(K, D)}; got {tuple(means.shape)}")
            values["means"] = means
        if self.precisions_init is not None:
            shape = {"full": (K, D, D), "diag": (K, D), "spherical": (K,)}[self.covariance_type]
            precisions = check_array(self.precisions_init, "precisions_init", ndim=len(shape), dtype=X.dtype)
            if precisions.shape != shape:
                raise ValueError(f"precisions_init must have shape {shape} for covariance_type="
                                 f"{self.covariance_type!r}; got {tuple(precisions.shape)}")
            xp = backend.array_module(precisions)
            if self.covariance_type == "full":
                symmetric = bool(xp.allclose(precisions, xp.swapaxes(precisions, 1, 2), atol=1e-10))
                if not symmetric or bool((xp.linalg.eigvalsh(precisions) <= 0).any()):
                    raise ValueError("precisions_init must hold symmetric positive-definite matrices")
            elif bool((precisions <= 0).any()):
                raise ValueError("precisions_init must be positive")
            values["precisions"] = precisions
        return values

    def _check_fit_arguments(self, X):
        X = check_array(X, "X", min_samples=2)
        check_mixture_hyperparameters(self, X)
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}; got {self.covariance_type!r}")
        return X, self._check_initial_values(X)

    # ------------------------------------------------------------------ EM
    def _m_step(self, stats, resp, floor):
        """pi_k = N_k / N (9.26), mu_k (9.24), Sigma_k (9.25) + reg_covar I from resp (K, N).

        Returns (pi, mu, Sigma, P) with P the precision Cholesky factors.

        A variance at or below ``floor`` (a few thousand rounding errors of the data's
        variance) is a collapse that reg_covar did not prevent: an error, not a NaN later.
        """
        nk, means, covariances = stats.moments(resp)
        covariances = _add_to_diagonal(covariances, self.reg_covar, self.covariance_type)
        precisions_chol = precision_cholesky_from_covariances(covariances, self.covariance_type, floor)
        return nk / nk.sum(), means, covariances, precisions_chol

    def _initialize(self, X, stats, initial, rng, floor):
        """Starting theta: the given values; what is missing comes from an M-step on initial responsibilities."""
        if len(initial) < 3:
            resp = initial_responsibilities(X, self.n_components, self.init_params, rng)
            weights, means, covariances, precisions_chol = self._m_step(stats, resp.T, floor)
        weights = initial["weights"] if "weights" in initial else weights
        means = initial["means"] if "means" in initial else means
        if "precisions" in initial:
            precisions_chol = precision_cholesky_from_precisions(initial["precisions"], self.covariance_type)
            covariances = _covariances_from_cholesky(precisions_chol, self.covariance_type)
        return weights, means, covariances, precisions_chol

    def _run_em(self, X, stats, initial, rng):
        """One EM run: E-step (9.23) on the current theta, then the M-step (9.24)-(9.27)."""
        xp = backend.array_module(X)
        floor = 1e3 * float(xp.finfo(X.dtype).eps) * float(X.var(axis=0).mean())
        weights, means, covariances, precisions_chol = self._initialize(X, stats, initial, rng, floor)
        lower_bounds, converged = [], False
        for _ in range(self.max_iter):
            # E-step (9.23), component-major (K, N): see GaussianStatistics.
            log_norm, resp = normalize_log(stats.log_gaussian(means, precisions_chol, bias=xp.log(weights)), axis=0)
            weights, means, covariances, precisions_chol = self._m_step(stats, resp, floor)
            lower_bounds.append(float(log_norm.mean()))  # ln p(X | theta_old) / N, PRML (9.14)
            if len(lower_bounds) > 1 and abs(lower_bounds[-1] - lower_bounds[-2]) < self.tol:
                converged = True
                break
        return (weights, means, covariances, precisions_chol), lower_bounds, converged

    def fit(self, X, y=None):
        """Fit by EM from ``n_init`` starts; returns self.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        y : ignored
        """
        X, initial = self._check_fit_arguments(X)
        rng = check_random_state(self.random_state, X)
        stats = GaussianStatistics(X, self.covariance_type)
        best = None
        for _ in range(self.n_init):
            params, lower_bounds, converged = self._run_em(X, stats, initial, rng)
            score = lower_bounds[-1]
            if best is None or score > best[0]:
                best = (score, params, lower_bounds, converged)
        score, params, lower_bounds, converged = best
        if not converged:
            warnings.warn(f"EM did not converge in max_iter={self.max_iter} iterations (tol={self.tol}); "
                          "increase max_iter or tol", ConvergenceWarning, stacklevel=2)
        self._warn_collapsed(params, X)
        # All state is assigned here, after every check and computation has passed.
        self.weights_, self.means_, self.covariances_, self.precisions_cholesky_ = params
        self.precisions_ = precisions_from_cholesky(self.precisions_cholesky_, self.covariance_type)
        self.lower_bound_, self.lower_bounds_ = score, lower_bounds
        self.converged_, self.n_iter_, self.n_features_in_ = converged, len(lower_bounds), X.shape[1]
        return self

    def _warn_collapsed(self, params, X):
        """Report components whose variance in some direction is mostly reg_covar (a collapse)."""
        xp = backend.array_module(X)
        weights, _, covariances, _ = params
        if self.covariance_type == "full":
            smallest = xp.linalg.eigvalsh(covariances)[:, 0]
        else:
            smallest = covariances.min(axis=1) if covariances.ndim == 2 else covariances
        floor = 2 * self.reg_covar + 1e-12 * float(X.var(axis=0).mean())
        collapsed = backend.to_numpy(xp.nonzero((smallest <= floor) | (weights * X.shape[0] < 1))[0]).tolist()
        if collapsed:
            warnings.warn(f"component(s) {collapsed} collapsed onto a point or subspace (variance down to "
                          f"reg_covar={self.reg_covar}, or under one sample): their likelihood is held finite "
                          "only by reg_covar (PRML section 9.2.1)", ComponentCollapseWarning, stacklevel=3)

    def fit_predict(self, X, y=None):
        """Fit, then the most responsible component of each row of X, shape (n_samples,)."""
        return self.fit(X).predict(X)

    # ------------------------------------------------------------------ inference
    def _log_joint(self, X):
        """ln pi_k + ln N(x_n | mu_k, Sigma_k), shape (n_samples, K)."""
        X = check_fitted_input(self, "means_", X)
        xp = backend.array_module(X)
        return log_gaussian_prob(X, self.means_, self.precisions_cholesky_, self.covariance_type) + xp.log(
            self.weights_)

    def predict_proba(self, X):
        """Responsibilities gamma(z_nk), PRML (9.23); shape (n_samples, n_components)."""
        return normalize_log(self._log_joint(X))[1]

    def predict(self, X):
        """argmax_k gamma(z_nk) for each row of X, shape (n_samples,)."""
        return self._log_joint(X).argmax(axis=1)

    def score_samples(self, X):
        """ln p(x_n) = ln sum_k pi_k N(x_n | mu_k, Sigma_k), PRML (9.7); shape (n_samples,)."""
        return logsumexp(self._log_joint(X), axis=1)

    def score(self, X, y=None):
        """Mean log-likelihood per sample, ln p(X) / N (PRML 9.14 divided by N)."""
        return float(self.score_samples(X).mean())

    def sample(self, n_samples=1):
        """Draw (X (n_samples, D), labels (n_samples,)) from the fitted mixture."""
        check_is_fitted(self, "means_")
        check_scalar(n_samples, "n_samples", int, min_value=1)
        rng = check_random_state(self.random_state, self.means_)
        return sample_mixture(self.weights_, self.means_, self.covariances_, self.covariance_type, n_samples, rng)

    def _n_parameters(self):
        """Free parameters: K - 1 weights, K D means and the covariances."""
        K, D = self.means_.shape
        covariance = {"full": K * D * (D + 1) // 2, "diag": K * D, "spherical": K}[self.covariance_type]
        return K - 1 + K * D + covariance

    def bic(self, X):
        """Bayesian information criterion -2 ln p(X) + n_params ln N, PRML (4.139) (lower is better)."""
        X = check_array(X, "X")
        return -2 * self.score(X) * X.shape[0] + self._n_parameters() * math.log(X.shape[0])

    def aic(self, X):
        """Akaike information criterion -2 ln p(X) + 2 n_params, PRML (1.73) (lower is better)."""
        X = check_array(X, "X")
        return -2 * self.score(X) * X.shape[0] + 2 * self._n_parameters()


def _add_to_diagonal(covariances, value, covariance_type):
    """Sigma_k + value I (a new array)."""
    if covariance_type != "full":
        return covariances + value
    xp = backend.array_module(covariances)
    return covariances + value * xp.eye(covariances.shape[-1], dtype=covariances.dtype)


def _covariances_from_cholesky(precisions_chol, covariance_type):
    """Sigma_k = (P_k P_k^T)^-1 = P_k^-T P_k^-1, through the triangular factor."""
    xp = backend.array_module(precisions_chol)
    if covariance_type != "full":
        return 1.0 / precisions_chol**2
    eye = xp.eye(precisions_chol.shape[-1], dtype=precisions_chol.dtype)
    identity = xp.broadcast_to(eye, precisions_chol.shape).copy()
    inverse = numerics.solve_triangular(precisions_chol, identity, lower=False)  # P^-1
    return xp.swapaxes(inverse, 1, 2) @ inverse
