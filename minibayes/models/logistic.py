"""Bayesian logistic regression by the Laplace approximation (PRML 4.4-4.5).

    p(C_1 | phi) = y = sigma(w^T phi),  t_n in {0, 1}                          (4.87)
    p(w) = N(w | 0, alpha^-1 I)                                                 (4.140, m_0 = 0, S_0 = alpha^-1 I)
    ln p(w | t) = -alpha/2 w^T w + sum_n {t_n ln y_n + (1 - t_n) ln(1 - y_n)} + const          (4.142)
    q(w) = N(w | w_MAP, S_N),  S_N^-1 = alpha I + sum_n y_n (1 - y_n) phi_n phi_n^T           (4.143-4.145)
    p(C_1 | phi, t) = int sigma(a) N(a | mu_a, sigma_a^2) da ~= sigma(kappa(sigma_a^2) mu_a)  (4.151-4.155)
        mu_a = w_MAP^T phi,  sigma_a^2 = phi^T S_N phi,  kappa(s^2) = (1 + pi s^2 / 8)^(-1/2)

w_MAP is found by Newton's method on the log posterior (IRLS, PRML 4.92-4.99 with the prior
added), whose Hessian at the mode is the posterior precision of the Laplace approximation.
"""

from __future__ import annotations

import math
import warnings

import numpy

from .. import backend
from ..autograd import numerics
from ._estimator import Classifier
from ._validation import (
    ConvergenceWarning, check_array, check_binary_targets, check_fitted_inputs, check_inputs, check_is_fitted,
    check_precision, check_random_state, check_scalar,
)
from .basis import IdentityBasis

__all__ = [
    "log_posterior", "log_posterior_gradient", "log_posterior_hessian", "probit_predictive",
    "BayesianLogisticRegression",
]

# Monte Carlo draws are evaluated this many activations at a time, to bound memory.
_MC_BLOCK = 2**22


def _softplus(a: object) -> object:
    """ln(1 + e^a) without overflow."""
    return backend.array_module(a).logaddexp(0.0, a)


def encode_binary_labels(y: object, n_samples: int, like: object) -> tuple[numpy.ndarray, object]:
    """The two class labels of ``y`` and its targets t_n in {0, 1} (t_n = 1 for the larger label, class C_1).

    y : array-like of shape (n_samples,) holding exactly two distinct labels (numbers or strings).
    Returns ``classes`` (host array of the two sorted labels) and t, a float64 vector on ``like``'s backend.
    One host copy of y: the labels are counted on the host (strings live only there).
    """
    if y is None:
        raise ValueError("this estimator requires y to be passed, but the target y is None")
    labels = numpy.asarray(backend.to_numpy(y) if hasattr(y, "dtype") else y)
    if labels.ndim != 1:
        raise ValueError(f"y must be a 1-D array of class labels of shape (n_samples,); got shape {labels.shape}")
    if labels.shape[0] != n_samples:
        raise ValueError(f"X and y have different numbers of samples: {n_samples} and {labels.shape[0]}")
    kind = labels.dtype.kind
    if kind == "c" or (kind == "O" and any(isinstance(v, (complex, dict, list)) for v in labels)):
        raise TypeError(f"y must hold class labels (numbers or strings); got dtype {labels.dtype}")
    if kind == "f":
        if not numpy.isfinite(labels).all():
            bad = "NaN" if numpy.isnan(labels).any() else "infinity"
            raise ValueError(f"y contains {bad}; class labels must be finite")
        if not (labels == numpy.round(labels)).all():
            raise ValueError("Unknown label type: continuous. y must hold class labels, not continuous values "
                             "(this is a classifier)")
    try:
        classes = numpy.unique(labels)
    except TypeError as exc:  # mixed strings and numbers
        raise TypeError(f"y must hold class labels of one kind (numbers or strings): {exc}") from exc
    if classes.shape[0] != 2:
        raise ValueError(f"Only binary classification is supported: y must hold exactly two classes; "
                         f"got {classes.shape[0]} class(es) {classes.tolist()[:5]}")
    return classes, backend.on_backend_of(like, (labels == classes[1]).astype(numpy.float64))


def _check_weights(w: object, Phi: object, t: object | None = None) -> tuple:
    Phi = check_inputs(Phi, "Phi")
    w = check_array(w, "w", ndim=1, dtype=numpy.float64)
    if w.shape[0] != Phi.shape[1]:
        raise ValueError(f"w has {w.shape[0]} entries but Phi has {Phi.shape[1]} columns")
    return (w, Phi) if t is None else (w, Phi, check_binary_targets(t, Phi.shape[0]))


def log_posterior(w: object, Phi: object, t: object, alpha: float) -> float:
    """ln p(w | t) up to its constant: -alpha/2 w^T w + sum_n {t_n ln y_n + (1 - t_n) ln(1 - y_n)} (PRML 4.142).

    With a = w^T phi, t ln sigma(a) + (1 - t) ln sigma(-a) = t a - ln(1 + e^a): one stable softplus.
    w : (M,);  Phi : (n_samples, M);  t : (n_samples,) in {0, 1};  alpha : prior precision.
    """
    w, Phi, t = _check_weights(w, Phi, t)
    return _log_posterior(w, Phi, t, check_precision(alpha, "alpha"))


def _log_posterior(w: object, Phi: object, t: object, alpha: float) -> float:
    a = Phi @ w
    return float((t * a - _softplus(a)).sum()) - 0.5 * alpha * float(w @ w)


def log_posterior_gradient(w: object, Phi: object, t: object, alpha: float) -> object:
    """nabla ln p(w | t) = Phi^T (t - y) - alpha w (PRML 4.91 with the prior), shape (M,)."""
    w, Phi, t = _check_weights(w, Phi, t)
    return _gradient(w, Phi, t, check_precision(alpha, "alpha"))


def _gradient(w: object, Phi: object, t: object, alpha: float) -> object:
    return Phi.T @ (t - numerics.special(w).expit(Phi @ w)) - alpha * w


def log_posterior_hessian(w: object, Phi: object, alpha: float) -> object:
    """nabla nabla ln p(w | t) = -(alpha I + Phi^T R Phi), R = diag(y_n (1 - y_n)) (PRML 4.97, 4.143), shape (M, M).

    Minus it is S_N^-1, the precision of the Laplace approximation (4.143).
    """
    w, Phi = _check_weights(w, Phi)
    return -_precision(w, Phi, check_precision(alpha, "alpha"))


def _precision(w: object, Phi: object, alpha: float) -> object:
    y = numerics.special(w).expit(Phi @ w)
    xp = backend.array_module(Phi)
    return alpha * xp.eye(Phi.shape[1], dtype=Phi.dtype) + (Phi.T * (y * (1.0 - y))) @ Phi


def probit_predictive(mu: object, variance: object) -> object:
    """int sigma(a) N(a | mu, variance) da ~= sigma(kappa(variance) mu), kappa(s^2) = (1 + pi s^2/8)^(-1/2).

    PRML 4.153-4.155; ``mu`` and ``variance`` are arrays of one shape (or broadcast).

    The logistic sigmoid is approximated by the probit Phi(lambda a) with lambda^2 = pi / 8 (4.152),
    whose Gaussian convolution is exact (4.152-4.153). ``mu`` and ``variance`` broadcast.
    """
    xp = backend.array_module(mu)
    kappa = 1.0 / xp.sqrt(1.0 + math.pi * variance / 8.0)  # (4.154)
    return numerics.special(mu).expit(kappa * mu)  # (4.155)


class BayesianLogisticRegression(Classifier):
    """Two-class logistic regression with a Gaussian prior on w and a Laplace posterior (PRML 4.5).

    Parameters
    ----------
    basis : callable, optional
        Maps X (n_samples, n_features) to Phi (n_samples, M); ``IdentityBasis()`` by default.
    alpha : float
        Precision of the prior N(w | 0, alpha^-1 I).
    max_iter : int
        Most Newton steps.
    tol : float
        Newton stops when max_j |step_j| <= tol (1 + max_j |w_j|).

    Attributes
    ----------
    classes_ : host array of shape (2,)
        The two labels of y, sorted; classes_[1] is C_1 (t = 1), classes_[0] is C_2 (t = 0).
    coef_ : array of shape (M,)
        w_MAP, the mode of the posterior.
    posterior_precision_ : array of shape (M, M)
        S_N^-1 = alpha I + Phi^T R Phi at w_MAP (4.143).
    posterior_covariance_ : array of shape (M, M)
        S_N (4.144).
    precision_cholesky_ : array of shape (M, M)
        Lower L with S_N^-1 = L L^T.
    log_posterior_ : float
        ln p(w_MAP | t) up to its constant.
    n_iter_ : int
    converged_ : bool
    n_features_in_ : int

    Notes
    -----
    X of shape (n,) is read as one feature; y holds any two labels (numbers or strings). Bad input raises
    before any state changes.
    """

    def __init__(self, basis=None, *, alpha: float = 1.0, max_iter: int = 100, tol: float = 1e-10) -> None:
        self.basis = basis
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol

    def _design(self, X: object) -> object:
        Phi = (self.basis if self.basis is not None else IdentityBasis())(X)
        return check_array(Phi, "basis(X)", dtype=numpy.float64)

    def fit(self, X: object, y: object) -> BayesianLogisticRegression:
        """w_MAP by Newton's method, then the Hessian there as the posterior precision (PRML 4.142-4.145).

        X : array of shape (n_samples, n_features) or (n_samples,);  t : array of shape (n_samples,) in {0, 1}.
        """
        alpha = check_precision(self.alpha, "alpha")
        check_scalar(self.max_iter, "max_iter", int, min_value=1)
        check_scalar(self.tol, "tol", float, min_value=0.0)
        X = check_inputs(X)
        classes, t = encode_binary_labels(y, X.shape[0], like=X)
        Phi = self._design(X)
        xp = backend.array_module(Phi)
        w = xp.zeros(Phi.shape[1], dtype=Phi.dtype)
        value, converged = _log_posterior(w, Phi, t, alpha), False
        for n_iter in range(1, self.max_iter + 1):
            # Newton: w <- w + H^-1 g with H = -Hessian = S_N^-1 at w and g the gradient (4.92, 4.96-4.99).
            step = numerics.cho_solve(numerics.cholesky(_precision(w, Phi, alpha), "the Hessian"), _gradient(w, Phi, t, alpha))
            # The log posterior is concave, so a full step nearly always helps; halving it when it does
            # not makes the ascent monotone even from far away (e.g. nearly separable data).
            for _ in range(50):
                candidate = _log_posterior(w + step, Phi, t, alpha)
                if candidate >= value:
                    break
                step = 0.5 * step
            else:  # no step up left at the level of rounding: w is the mode
                converged = True
                break
            w, value = w + step, candidate
            if float(xp.abs(step).max()) <= self.tol * (1.0 + float(xp.abs(w).max())):
                converged = True
                break
        if not converged:
            warnings.warn(f"Newton's method did not converge in max_iter={self.max_iter} steps", ConvergenceWarning)
        precision = _precision(w, Phi, alpha)  # the Hessian at the mode (4.143)
        L = numerics.cholesky(precision, "the posterior precision")
        covariance = numerics.cho_solve(L, xp.eye(L.shape[0], dtype=L.dtype))  # S_N is asked for; predict uses L
        self.classes_ = classes
        self.coef_, self.posterior_precision_, self.precision_cholesky_ = w, precision, L
        self.posterior_covariance_ = 0.5 * (covariance + covariance.T)
        self.log_posterior_, self.n_iter_, self.converged_ = value, n_iter, converged
        self.n_features_in_ = X.shape[1]
        return self

    def _fitted_design(self, X: object) -> object:
        check_is_fitted(self, "coef_")
        return self._design(check_fitted_inputs(X, self.n_features_in_, owner=type(self).__name__))

    def activation_moments(self, X: object) -> tuple[object, object]:
        """Mean and variance of a = w^T phi under q(w): mu_a = w_MAP^T phi (4.149), sigma_a^2 = phi^T S_N phi (4.150).

        Both of shape (n_samples,); sigma_a^2 = ||L^-1 phi||^2 by one triangular solve.
        """
        Phi = self._fitted_design(X)
        v = numerics.solve_triangular(self.precision_cholesky_, Phi.T, lower=True)
        return Phi @ self.coef_, (v**2).sum(axis=0)

    def predict_proba(self, X: object, method: str = "probit", n_samples: int = 10000,
                      random_state: object = None) -> object:
        """Predictive class probabilities, shape (n_samples_X, 2): columns p(C_2 | x) and p(C_1 | x) (t = 0, 1).

        method : "probit"
            sigma(kappa(sigma_a^2) mu_a) (4.155).
        method : "monte_carlo"
            (1/S) sum_s sigma(w_s^T phi) with w_s ~ N(w_MAP, S_N), w_s = w_MAP + L^-T eps (4.151 by sampling);
            ``n_samples`` draws S from ``random_state`` (None: the backend generator, an int or a Generator).
        """
        if method not in ("probit", "monte_carlo"):
            raise ValueError(f"method must be 'probit' or 'monte_carlo'; got {method!r}")
        if method == "probit":
            p = probit_predictive(*self.activation_moments(X))
        else:
            n_samples = check_scalar(n_samples, "n_samples", int, min_value=1)
            Phi = self._fitted_design(X)
            generator = check_random_state(random_state, like=Phi)
            expit, L = numerics.special(Phi).expit, self.precision_cholesky_
            block = max(1, _MC_BLOCK // max(1, Phi.shape[0]))
            p = backend.array_module(Phi).zeros(Phi.shape[0], dtype=Phi.dtype)
            for start in range(0, n_samples, block):
                eps = generator.standard_normal((L.shape[0], min(block, n_samples - start)))
                W = self.coef_[:, None] + numerics.solve_triangular(L, eps, lower=True, transpose=True)  # (M, S)
                p += expit(Phi @ W).sum(axis=1)
            p = p / n_samples
        return backend.array_module(p).stack([1.0 - p, p], axis=1)

    def predict(self, X: object) -> object:
        """Class labels from ``classes_``, shape (n_samples,): C_1 = classes_[1] where p(C_1 | x) > 1/2,
        i.e. w_MAP^T phi > 0 (kappa > 0 keeps the sign)."""
        mean, _ = self.activation_moments(X)
        index = (mean > 0).astype(numpy.int64)
        if self.classes_.dtype.kind in "biuf":  # numeric labels stay on the device
            return backend.on_backend_of(mean, self.classes_)[index]
        return self.classes_[backend.to_numpy(index)]  # strings exist only on the host
