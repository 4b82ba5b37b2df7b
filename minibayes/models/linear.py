"""Bayesian linear regression: posterior, predictive distribution and evidence (PRML 3.1-3.5).

With M basis functions and the design matrix Phi[n, j] = phi_j(x_n) (PRML 3.16):

    p(t | w, beta) = prod_n N(t_n | w^T phi(x_n), beta^-1)             (3.10)
    p(w)           = N(w | m_0, S_0), or N(w | 0, alpha^-1 I)           (3.48, 3.52)
    p(w | t)       = N(w | m_N, S_N)                                     (3.49)
        S_N^-1 = S_0^-1 + beta Phi^T Phi,  m_N = S_N (S_0^-1 m_0 + beta Phi^T t)   (3.50, 3.51)
    p(t | x, t)    = N(t | m_N^T phi(x), 1/beta + phi(x)^T S_N phi(x))   (3.58, 3.59)
    ln p(t | alpha, beta), the evidence                                  (3.86)

The code keeps the posterior by its precision S_N^-1 = L L^T and the Cholesky factor L:
conditioning on more data adds to the precision (the posterior becomes the next prior,
PRML Figure 3.7), and phi^T S_N phi = ||L^-1 phi||^2 needs a triangular solve, never S_N.
Evidence maximisation works, as PRML does (3.87), in the eigenbasis of Phi^T Phi, formed once.
"""

from __future__ import annotations

import math
import warnings
from typing import Callable, NamedTuple

import numpy

from .. import backend
from ..autograd import numerics
from ._estimator import Regressor
from ._validation import (
    ConvergenceWarning, check_array, check_fitted_inputs, check_inputs, check_is_fitted, check_precision,
    check_random_state, check_scalar, check_targets,
)
from .basis import IdentityBasis
from .evidence import EvidenceSpectrum, eye_like, log_evidence

__all__ = [
    "least_squares", "linear_gaussian_marginal", "linear_gaussian_conditional", "log_evidence",
    "BayesianLinearRegression",
]



# --------------------------------------------------------------------------- the formulas
def least_squares(Phi: object, t: object) -> tuple[object, float]:
    """Maximum likelihood: w_ML = (Phi^T Phi)^-1 Phi^T t (PRML 3.15), 1/beta_ML = mean squared residual (3.21).

    Phi : array of shape (n_samples, M);  t : array of shape (n_samples,).
    Returns w_ML of shape (M,) and beta_ML (``inf`` for an exact fit, as when n_samples <= M).
    Solved by ``lstsq`` (an SVD of Phi) rather than the normal equations: the same w_ML without
    squaring the condition number (a polynomial of order 9 on [0, 1] has cond(Phi^T Phi) ~ 1e14).
    """
    Phi = check_inputs(Phi, "Phi")
    t = check_targets(t, Phi.shape[0])
    xp = backend.array_module(Phi)
    w = xp.linalg.lstsq(Phi, t, rcond=None)[0]
    mean_square = float(((t - Phi @ w) ** 2).mean())
    return w, (1.0 / mean_square if mean_square > 0 else math.inf)


def linear_gaussian_marginal(mean, precision, A, b, noise_precision) -> tuple[object, object]:
    """p(y) = N(y | A mu + b, L^-1 + A Lambda^-1 A^T) (PRML 2.115)

    for p(x) = N(x | mu, Lambda^-1) (2.113) and p(y | x) = N(y | A x + b, L^-1) (2.114), with
    mean mu (M,), precision Lambda (M, M), A (K, M), b (K,), noise_precision L (K, K).
    Returns the mean (K,) and covariance (K, K) of y. The covariance is the output, so both
    precisions are inverted here (through their Cholesky factors).
    """
    mu, Lam, A, b, L = _linear_gaussian_args(mean, precision, A, b, noise_precision)
    eye_m, eye_k = eye_like(Lam), eye_like(L)
    Lam_inv = numerics.cho_solve(numerics.cholesky(Lam, "precision"), eye_m)
    L_inv = numerics.cho_solve(numerics.cholesky(L, "noise_precision"), eye_k)
    return A @ mu + b, L_inv + A @ Lam_inv @ A.T


def linear_gaussian_conditional(y, mean, precision, A, b, noise_precision) -> tuple[object, object]:
    """p(x | y) = N(x | Sigma {A^T L (y - b) + Lambda mu}, Sigma), Sigma = (Lambda + A^T L A)^-1 (PRML 2.116, 2.117).

    The model and shapes are those of ``linear_gaussian_marginal``; y has shape (K,). Returns the
    mean (M,) and covariance (M, M) of x. Bayesian linear regression is the case x = w, A = Phi,
    b = 0, L = beta I (3.49-3.51).
    """
    mu, Lam, A, b, L = _linear_gaussian_args(mean, precision, A, b, noise_precision)
    y = check_targets(y, A.shape[0], "y")
    chol = numerics.cholesky(Lam + A.T @ L @ A, "precision + A^T noise_precision A")  # Sigma^-1 (2.117)
    return numerics.cho_solve(chol, A.T @ (L @ (y - b)) + Lam @ mu), numerics.cho_solve(chol, eye_like(Lam))


def _linear_gaussian_args(mean, precision, A, b, noise_precision) -> tuple:
    """Check the shapes of the linear-Gaussian model: mu (M,), Lambda (M, M), A (K, M), b (K,), L (K, K)."""
    A = check_array(A, "A", ndim=2, dtype=numpy.float64)
    k, m = A.shape
    mu = check_array(mean, "mean", ndim=1, dtype=numpy.float64)
    b = check_array(b, "b", ndim=1, dtype=numpy.float64)
    Lam = check_array(precision, "precision", ndim=2, dtype=numpy.float64)
    L = check_array(noise_precision, "noise_precision", ndim=2, dtype=numpy.float64)
    for name, value, shape in (("mean", mu, (m,)), ("b", b, (k,)), ("precision", Lam, (m, m)),
                               ("noise_precision", L, (k, k))):
        if value.shape != shape:
            raise ValueError(f"{name} must have shape {shape} to match A of shape {A.shape}; got {value.shape}")
    return mu, Lam, A, b, L


# --------------------------------------------------------------------------- conditioning
class _Gaussian(NamedTuple):
    """A Gaussian over the weights by its mean (M,), precision (M, M) and the precision's Cholesky factor."""

    mean: object
    precision: object
    cholesky: object


def _condition(prior: _Gaussian, Phi: object, t: object, beta: float) -> tuple[_Gaussian, float]:
    """The posterior after the data (Phi, t) (PRML 3.49-3.51) and ln p(t) under ``prior``.

    The evidence is (3.86) for a general prior N(m_0, S_0), from (2.115) and the matrix determinant lemma:
        ln p(t) = N/2 ln beta + 1/2 ln|S_0^-1| - 1/2 ln|S_N^-1| - beta/2 ||t - Phi m_N||^2
                  - 1/2 (m_N - m_0)^T S_0^-1 (m_N - m_0) - N/2 ln(2 pi)
    """
    n = Phi.shape[0]
    precision = prior.precision + beta * (Phi.T @ Phi)  # (3.51)
    shift = prior.precision @ prior.mean + beta * (Phi.T @ t)  # S_N^-1 m_N (3.50)
    L = numerics.cholesky(precision, "the posterior precision")
    # m_N is also the mode: with the prior N(0, alpha^-1 I) it maximises ln p(w | t) of (3.55), i.e. it is
    # least squares with the L2 penalty lambda = alpha / beta (MAP = ridge).
    mean = numerics.cho_solve(L, shift)
    residual, offset = t - Phi @ mean, mean - prior.mean
    half_log_det = numerics.half_log_det_cholesky
    log_ev = (0.5 * n * math.log(beta) + float(half_log_det(prior.cholesky)) - float(half_log_det(L))
              - 0.5 * beta * float(residual @ residual) - 0.5 * float(offset @ (prior.precision @ offset))
              - 0.5 * n * numerics.LOG_2PI)
    return _Gaussian(mean, precision, L), log_ev


# --------------------------------------------------------------------------- the estimator
class BayesianLinearRegression(Regressor):
    """Bayesian linear regression y(x, w) = w^T phi(x), t = y + N(0, 1/beta), prior on w (PRML 3.3).

    Parameters
    ----------
    basis : callable, optional
        Maps X of shape (n_samples, n_features) to Phi of shape (n_samples, M); ``IdentityBasis()``
        (a bias and the raw features) by default. See ``minibayes.models.basis``.
    alpha : float
        Precision of the isotropic prior N(w | 0, alpha^-1 I) (3.52); the starting value when
        ``fit_hyperparameters``. Unused when ``prior_covariance`` is given.
    beta : float
        Precision of the noise (3.8); the starting value when ``fit_hyperparameters``.
    prior_mean : array of shape (M,), optional
        m_0 of the prior (3.48); zero by default.
    prior_covariance : array of shape (M, M), optional
        S_0 of a general Gaussian prior (3.48), symmetric positive definite; alpha^-1 I by default.
    fit_hyperparameters : bool
        Maximise the evidence over alpha and beta by re-estimation (3.91, 3.92, 3.95) in ``fit``.
        Needs the zero-mean isotropic prior of (3.52).
    max_iter : int
        Most re-estimation steps.
    tol : float
        Re-estimation stops when alpha and beta both change by less than ``tol`` relatively.

    Attributes
    ----------
    posterior_mean_, posterior_covariance_ : arrays of shape (M,) and (M, M)
        m_N (3.50) and S_N (3.51).
    posterior_precision_, precision_cholesky_ : arrays of shape (M, M)
        S_N^-1 and its lower Cholesky factor L (S_N^-1 = L L^T).
    alpha_, beta_ : float
        The precisions used (re-estimated with ``fit_hyperparameters``); alpha_ is None for a general prior.
    gamma_ : float
        Effective number of parameters, M - tr(S_0^-1 S_N): (3.91) for the isotropic prior.
    log_evidence_ : float
        ln p(t) of all data seen (3.86; for a general prior, its generalisation in ``_condition``).
    evidence_history_ : list of float
        ln p(t | alpha, beta) at the start and after each re-estimation step (one entry without).
    n_iter_, converged_ : int, bool
        Re-estimation steps taken (0 without) and whether they converged.
    n_features_in_, n_samples_seen_ : int

    Notes
    -----
    X of shape (n,) is read as n samples of one feature. Bad input raises ``ValueError`` or
    ``TypeError`` naming the argument before any attribute changes.
    """

    def __init__(self, basis: Callable | None = None, *, alpha: float = 1.0, beta: float = 1.0,
                 prior_mean: object = None, prior_covariance: object = None,
                 fit_hyperparameters: bool = False, max_iter: int = 1000, tol: float = 1e-8) -> None:
        self.basis = basis
        self.alpha = alpha
        self.beta = beta
        self.prior_mean = prior_mean
        self.prior_covariance = prior_covariance
        self.fit_hyperparameters = fit_hyperparameters
        self.max_iter = max_iter
        self.tol = tol

    # ------------------------------------------------------------------ fitting
    def fit(self, X: object, y: object) -> BayesianLinearRegression:
        """Posterior of w given all of (X, y), after evidence maximisation if asked.

        X : array of shape (n_samples, n_features) or (n_samples,);  y : array of shape (n_samples,),
        PRML's targets t (named y, as every scikit-learn estimator names them).
        """
        Phi, t, n_features = self._design_and_targets(X, y)
        self._check_hyperparameters(Phi.shape[1])
        beta = check_precision(self.beta, "beta")
        alpha = None if self.prior_covariance is not None else check_precision(self.alpha, "alpha")
        history, n_iter, converged = None, 0, True
        if self.fit_hyperparameters:
            if self.prior_mean is not None or self.prior_covariance is not None:
                raise ValueError("fit_hyperparameters=True re-estimates the isotropic prior N(0, alpha^-1 I) "
                                 "(PRML 3.52); leave prior_mean and prior_covariance as None")
            alpha, beta, history, n_iter, converged = self._maximise_evidence(Phi, t, alpha, beta)
        prior = self._prior(Phi, alpha)
        posterior, log_ev = _condition(prior, Phi, t, beta)
        self._set_state(posterior, prior, alpha, beta, log_ev, Phi.shape[0], n_features)
        self.evidence_history_ = history if history is not None else [log_ev]
        self.n_iter_, self.converged_ = n_iter, converged
        return self

    def partial_fit(self, X: object, y: object) -> BayesianLinearRegression:
        """Condition the current posterior on a new batch: the posterior becomes the prior (PRML Figure 3.7).

        Any split of the data into batches gives the batch posterior of ``fit`` and the same
        ``log_evidence_`` (the chain rule p(t_1, t_2) = p(t_1) p(t_2 | t_1)). alpha and beta stay fixed.
        """
        if self.fit_hyperparameters:
            raise ValueError("partial_fit keeps alpha and beta fixed; fit_hyperparameters=True needs the "
                             "whole data set at once (use fit)")
        fitted = hasattr(self, "posterior_mean_")
        Phi, t, n_features = self._design_and_targets(X, y, self.n_features_in_ if fitted else None)
        self._check_hyperparameters(Phi.shape[1])
        beta = self.beta_ if fitted else check_precision(self.beta, "beta")
        alpha = self.alpha_ if fitted else (None if self.prior_covariance is not None
                                             else check_precision(self.alpha, "alpha"))
        original_prior = self._prior(Phi, alpha)
        current = (_Gaussian(self.posterior_mean_, self.posterior_precision_, self.precision_cholesky_)
                   if fitted else original_prior)
        posterior, log_ev = _condition(current, Phi, t, beta)
        previous_ev, previous_n = (self.log_evidence_, self.n_samples_seen_) if fitted else (0.0, 0)
        self._set_state(posterior, original_prior, alpha, beta, previous_ev + log_ev,
                        previous_n + Phi.shape[0], n_features)
        self.evidence_history_ = [self.log_evidence_]
        self.n_iter_, self.converged_ = 0, True
        return self

    def _design_and_targets(self, X: object, t: object, n_features: int | None = None) -> tuple:
        """Checked Phi (n_samples, M), t (n_samples,) and the number of input features."""
        X = check_inputs(X) if n_features is None else check_fitted_inputs(X, n_features, owner=type(self).__name__)
        t = check_targets(t, X.shape[0], "y")
        Phi = (self.basis if self.basis is not None else IdentityBasis())(X)
        return check_array(Phi, "basis(X)", dtype=numpy.float64), t, X.shape[1]

    def _check_hyperparameters(self, m: int) -> None:
        check_scalar(self.max_iter, "max_iter", int, min_value=1)
        check_scalar(self.tol, "tol", float, min_value=0.0)
        for name, value, shape in (("prior_mean", self.prior_mean, (m,)),
                                   ("prior_covariance", self.prior_covariance, (m, m))):
            if value is not None:
                array = check_array(value, name, ndim=len(shape), dtype=numpy.float64)
                if array.shape != shape:
                    raise ValueError(f"{name} must have shape {shape} for a basis of {m} functions; "
                                     f"got {array.shape}")

    def _prior(self, Phi: object, alpha: float | None) -> _Gaussian:
        """N(m_0, S_0) as mean, precision S_0^-1 and its Cholesky factor (alpha I, sqrt(alpha) I if isotropic)."""
        xp, m = backend.array_module(Phi), Phi.shape[1]
        eye = xp.eye(m, dtype=Phi.dtype)
        mean = (xp.zeros(m, dtype=Phi.dtype) if self.prior_mean is None
                else check_array(self.prior_mean, "prior_mean", ndim=1, dtype=numpy.float64))
        if self.prior_covariance is None:
            return _Gaussian(mean, alpha * eye, math.sqrt(alpha) * eye)
        S_0 = check_array(self.prior_covariance, "prior_covariance", ndim=2, dtype=numpy.float64)
        # The conditioning (3.51) adds to the prior's precision, so S_0 is inverted once, here.
        precision = numerics.cho_solve(numerics.cholesky(S_0, "prior_covariance"), eye)
        precision = 0.5 * (precision + precision.T)
        return _Gaussian(mean, precision, numerics.cholesky(precision, "the inverse of prior_covariance"))

    def _set_state(self, posterior: _Gaussian, prior: _Gaussian, alpha, beta, log_ev, n_seen, n_features) -> None:
        """Assign every fitted attribute at once, after all checks and computations succeeded."""
        L = posterior.cholesky
        covariance = numerics.cho_solve(L, eye_like(L))  # S_N itself is asked for (contours, sampling); predict uses L
        self.posterior_mean_, self.posterior_precision_, self.precision_cholesky_ = posterior
        self.posterior_covariance_ = 0.5 * (covariance + covariance.T)
        self.alpha_, self.beta_ = alpha, beta
        self.gamma_ = L.shape[0] - float((prior.precision * self.posterior_covariance_).sum())  # (3.91)
        self.log_evidence_ = log_ev
        self.n_features_in_, self.n_samples_seen_ = n_features, n_seen

    def _maximise_evidence(self, Phi: object, t: object, alpha: float, beta: float) -> tuple:
        """Re-estimate alpha and beta until they settle (PRML section 3.5.2).

        Each step takes m_N and gamma at the current (alpha, beta) (3.84, 3.91), then
            alpha = gamma / m_N^T m_N                                  (3.92)
            1/beta = ||t - Phi m_N||^2 / (N - gamma)                    (3.95)
        """
        def residual(w: object) -> float:
            r = t - Phi @ w
            return float(r @ r)

        spectrum = EvidenceSpectrum(Phi.T @ Phi, Phi.T @ t, Phi.shape[0], residual, alpha, beta)
        history = [spectrum.log_evidence(alpha, beta)]
        for step in range(1, self.max_iter + 1):
            gamma = spectrum.gamma(alpha, beta)
            u = spectrum.coordinates(alpha, beta)
            mTm, rss = float(u @ u), spectrum.rss(alpha, beta)
            n_minus_gamma = Phi.shape[0] - gamma
            if mTm == 0.0 or rss == 0.0 or n_minus_gamma <= 0.0:
                # m_N = 0, or an exact fit (N <= M): the evidence grows without bound along alpha or beta.
                warnings.warn("evidence maximisation stopped: alpha or beta has no finite maximiser "
                              "(m_N = 0 or the data are fitted exactly)", ConvergenceWarning)
                return alpha, beta, history, step - 1, False
            new_alpha, new_beta = gamma / mTm, n_minus_gamma / rss  # (3.92), (3.95)
            if spectrum.condition(new_alpha, new_beta) > 1e13:
                # Running away (an exact fit drives beta up): A would be singular to rounding.
                warnings.warn("evidence maximisation stopped: alpha or beta is running away and "
                              "A = alpha I + beta Phi^T Phi is singular to rounding", ConvergenceWarning)
                return alpha, beta, history, step - 1, False
            history.append(spectrum.log_evidence(new_alpha, new_beta))
            change = max(abs(new_alpha - alpha) / alpha, abs(new_beta - beta) / beta)
            alpha, beta = new_alpha, new_beta
            if change < self.tol:
                return alpha, beta, history, step, True
        warnings.warn(f"evidence maximisation did not converge in max_iter={self.max_iter} steps",
                      ConvergenceWarning)
        return alpha, beta, history, self.max_iter, False

    # ------------------------------------------------------------------ prediction
    def _fitted_design(self, X: object) -> object:
        check_is_fitted(self, "posterior_mean_")
        X = check_fitted_inputs(X, self.n_features_in_, owner=type(self).__name__)
        return (self.basis if self.basis is not None else IdentityBasis())(X)

    def predictive_variance_terms(self, X: object) -> tuple[object, object]:
        """The two terms of sigma_N^2(x) = 1/beta + phi(x)^T S_N phi(x) (PRML 3.59).

        Returns
        -------
        noise : array of shape (n_samples,)
            1/beta, the noise on the targets.
        model : array of shape (n_samples,)
            phi^T S_N phi = ||L^-1 phi||^2 (S_N = L^-T L^-1), the uncertainty about w; shrinks near data.
        """
        Phi = self._fitted_design(X)
        v = numerics.solve_triangular(self.precision_cholesky_, Phi.T, lower=True)  # (M, n)
        xp = backend.array_module(v)
        return xp.full(Phi.shape[0], 1.0 / self.beta_), (v**2).sum(axis=0)

    def predict(self, X: object, return_std: bool = False) -> object:
        """Predictive mean m_N^T phi(x) (PRML 3.58), shape (n_samples,); with ``return_std`` also sigma_N(x) (3.59)."""
        Phi = self._fitted_design(X)
        mean = Phi @ self.posterior_mean_
        if not return_std:
            return mean
        noise, model = self.predictive_variance_terms(X)
        return mean, backend.array_module(mean).sqrt(noise + model)

    def sample_weights(self, n_samples: int = 1, random_state: object = None) -> object:
        """Draws w ~ N(m_N, S_N), shape (n_samples, M): w = m_N + L^-T eps, eps ~ N(0, I).

        L^-T eps has covariance L^-T L^-1 = S_N. ``random_state``: None (the backend generator), an int or a Generator.
        """
        check_is_fitted(self, "posterior_mean_")
        n_samples = check_scalar(n_samples, "n_samples", int, min_value=1)
        L = self.precision_cholesky_
        eps = check_random_state(random_state, like=L).standard_normal((L.shape[0], n_samples))
        return (self.posterior_mean_[:, None] + numerics.solve_triangular(L, eps, lower=True, transpose=True)).T

    def sample_functions(self, X: object, n_samples: int = 1, random_state: object = None) -> object:
        """y(x, w) for w drawn from the posterior (PRML Figure 3.9), shape (n_samples, n_points)."""
        Phi = self._fitted_design(X)
        return self.sample_weights(n_samples, random_state) @ Phi.T
