"""Gaussian-process regression (PRML 6.4.2-6.4.3; Rasmussen & Williams, Algorithm 2.1).

    f ~ GP(0, k),  t_n = f(x_n) + eps_n,  eps_n ~ N(0, sigma_n^2)   (sigma_n^2 = beta^-1, the ``noise``)
    C_N = K + sigma_n^2 I,  K[n, m] = k(x_n, x_m)                                  (6.62)
    m(x) = k^T C_N^-1 t,                 k[n] = k(x_n, x)                         (6.66)
    sigma^2(x) = c - k^T C_N^-1 k,       c = k(x, x) + sigma_n^2                  (6.67)
    ln p(t | theta) = -1/2 ln|C_N| - 1/2 t^T C_N^-1 t - N/2 ln(2 pi)               (6.69)

Everything goes through C_N = L L^T: ln|C_N| = 2 sum_n ln L_nn, t^T C_N^-1 t = ||L^-1 t||^2, and
k^T C_N^-1 k = ||L^-1 k||^2. The hyperparameters theta = (ln kernel parameters, ln sigma_n^2) are
fitted by L-BFGS-B (SciPy, on the host) on -ln p(t | theta), whose gradient comes from
minibayes' autograd: the objective is written with the Tensor ops ``cholesky`` and
``solve_triangular``, and one ``backward()`` gives d ln p / d theta (6.70 without writing it).
"""

from __future__ import annotations

import math

import numpy
import scipy.optimize

from .. import backend
from ..autograd import numerics
from ..autograd.ops import cholesky, diag, exp, getitem, log, solve_triangular
from ..autograd.tensor import Tensor
from ._estimator import Regressor
from ._scaling import largest_magnitude, power_of_two_scale
from ._validation import (
    check_fitted_inputs, check_inputs, check_is_fitted, check_precision, check_random_state, check_scalar,
    check_targets,
)
from .kernels import RBF, _Kernel

__all__ = ["GaussianProcessRegressor", "log_marginal_likelihood"]

# Every parameter is kept in [1e-5, 1e5] during the fit (scikit-learn's default bounds):
# far outside, C_N is numerically singular or the kernel is flat and the gradient vanishes.
_LOG_BOUNDS = (math.log(1e-5), math.log(1e5))


def log_marginal_likelihood(theta: Tensor, kernel: _Kernel, X: object, t: object) -> Tensor:
    """ln p(t | theta) = -sum_n ln L_nn - 1/2 ||L^-1 t||^2 - N/2 ln(2 pi), C_N = L L^T (PRML 6.69), a 0-d Tensor.

    Parameters
    ----------
    theta : Tensor of shape (kernel.n_params + 1,)
        ln of the kernel's parameters, then ln sigma_n^2.
    kernel : kernel from ``minibayes.models.kernels``
        Only its kind matters; its parameters come from theta.
    X : array of shape (n_samples, n_features)
    t : array of shape (n_samples,)
    """
    if theta.shape != (kernel.n_params + 1,):
        raise ValueError(f"theta must have shape ({kernel.n_params + 1},) for {kernel!r} plus the noise; "
                         f"got {theta.shape}")
    # Host data meet device parameters: move X and t to theta's backend (as backend.asarray would).
    X, t = backend.on_backend_of(theta.data, X), backend.on_backend_of(theta.data, t)
    n = X.shape[0]
    xp = backend.array_module(X)
    eye = Tensor(xp.eye(n, dtype=X.dtype))
    C = kernel.matrix(getitem(theta, slice(0, -1)), X) + exp(getitem(theta, -1)) * eye  # (6.62)
    L = cholesky(C)
    a = solve_triangular(L, Tensor(t), lower=True)  # L^-1 t
    return -log(diag(L)).sum() - 0.5 * (a * a).sum() - 0.5 * n * numerics.LOG_2PI


class GaussianProcessRegressor(Regressor):
    """GP regression with a kernel plus white noise, hyperparameters by maximising the evidence (PRML 6.4.3).

    Parameters
    ----------
    kernel : kernel, optional
        By default RBF(1, 1) in the units where max |x| and max |t| are of order one (see ``optimize``); ``Linear()``, or a sum ``RBF() + Linear()``. Its parameters are the
        starting point of the fit (or the values used when ``optimize`` is False).
    noise : float
        sigma_n^2 = 1/beta > 0, the noise variance (starting value when ``optimize``).
    optimize : bool
        Fit theta by L-BFGS-B on ln p(t | theta), every parameter kept in [1e-5, 1e5] in the units where
        max |x| and max |t| are of order one (the data divided by powers of two), so that the fit is the
        same, scaled, for data scaled by any factor.
    max_iter : int
        Most L-BFGS-B iterations.

    Attributes
    ----------
    kernel_ : kernel
        The kernel with the fitted parameters.
    noise_ : float
        The fitted sigma_n^2.
    theta_ : numpy array of shape (n_params + 1,)
        ln of the fitted parameters (kernel's, then the noise).
    log_marginal_likelihood_value_ : float
        ln p(t | theta_).
    X_train_ : array of shape (n_samples, n_features)
    t_train_ : array of shape (n_samples,)
    L_ : array of shape (n_samples, n_samples)
        Lower Cholesky factor of C_N.
    alpha_ : array of shape (n_samples,)
        C_N^-1 t, the weights of the predictive mean (6.66).
    n_iter_ : int
        L-BFGS-B iterations (0 when not optimising).

    Notes
    -----
    X of shape (n,) is read as one feature. Bad input raises before any attribute changes.
    """

    def __init__(self, kernel: _Kernel | None = None, *, noise: float = 0.1, optimize: bool = True,
                 max_iter: int = 200) -> None:
        self.kernel = kernel
        self.noise = noise
        self.optimize = optimize
        self.max_iter = max_iter

    def _kernel(self) -> _Kernel:
        kernel = RBF() if self.kernel is None else self.kernel
        if not isinstance(kernel, _Kernel):
            raise TypeError(f"kernel must be a kernel from minibayes.models.kernels; got {type(kernel).__name__}")
        return kernel

    @staticmethod
    def _objective(theta: numpy.ndarray, kernel: _Kernel, X: object, t: object) -> tuple[float, numpy.ndarray]:
        """(ln p(t | theta), its gradient) for host theta: one forward and one backward pass of the autograd."""
        xp = backend.array_module(X)
        theta_t = Tensor(xp.asarray(theta, dtype=X.dtype), requires_grad=True)
        value = log_marginal_likelihood(theta_t, kernel, X, t)
        value.backward()
        return float(value.item()), backend.to_numpy(theta_t.grad.data).astype(numpy.float64)

    def fit(self, X: object, y: object) -> GaussianProcessRegressor:
        """Fit theta (if ``optimize``) and factor C_N.

        X : array of shape (n_samples, n_features) or (n_samples,);  t : array of shape (n_samples,).
        """
        kernel = self._kernel()
        noise = check_precision(self.noise, "noise")
        check_scalar(self.max_iter, "max_iter", int, min_value=1)
        X = check_inputs(X)
        t = check_targets(y, X.shape[0], "y")
        # theta is fitted in units where max |x| and max |t| are of order one (X / x_unit, t / y_unit, powers
        # of two: exact). On data scaled by 1e150 the length scale must reach 1e150 and the variances
        # 1e300, far outside the bounds, and at 1e-150 the distances underflow and the gradient vanishes.
        x_unit, y_unit = power_of_two_scale(largest_magnitude(X)), power_of_two_scale(largest_magnitude(t))
        X_unit, t_unit = X / x_unit, t / y_unit
        # The default kernel is RBF(1, 1) in these units: a length scale and a variance of the data's own size.
        kernel_unit = RBF() if self.kernel is None else kernel.rescaled(x_unit, y_unit)
        theta = numpy.append(kernel_unit.theta, math.log(noise) - 2 * math.log(y_unit))
        n_iter = 0
        if self.optimize:
            def negative(theta_host: numpy.ndarray) -> tuple[float, numpy.ndarray]:
                try:
                    value, grad = self._objective(theta_host, kernel_unit, X_unit, t_unit)
                except numpy.linalg.LinAlgError:  # C_N numerically singular here: steer the line search away
                    return math.inf, numpy.zeros_like(theta_host)
                return -value, -grad

            # A start outside the bounds starts from 1 (the data's own scale), not from the bound, where an
            # RBF is flat or a spike and the gradient vanishes.
            start = numpy.where((theta < _LOG_BOUNDS[0]) | (theta > _LOG_BOUNDS[1]), 0.0, theta)
            result = scipy.optimize.minimize(negative, start, jac=True, method="L-BFGS-B",
                                             bounds=[_LOG_BOUNDS] * len(theta),
                                             options={"maxiter": self.max_iter})
            theta, n_iter = numpy.asarray(result.x, dtype=numpy.float64), int(result.nit)
        fitted_kernel = kernel_unit.with_theta(theta[:-1]).rescaled(1.0 / x_unit, 1.0 / y_unit)
        fitted_noise = float(numpy.exp(theta[-1] + 2 * math.log(y_unit)))
        theta = numpy.append(fitted_kernel.theta, math.log(fitted_noise))
        xp = backend.array_module(X)
        C = fitted_kernel(X) + fitted_noise * xp.eye(X.shape[0], dtype=X.dtype)  # (6.62)
        L = numerics.cholesky(C, "C_N = K + noise I")
        a = numerics.solve_triangular(L, t, lower=True)
        alpha = numerics.solve_triangular(L, a, lower=True, transpose=True)  # C_N^-1 t
        log_ml = (-float(xp.log(xp.diagonal(L)).sum()) - 0.5 * float(a @ a)
                  - 0.5 * X.shape[0] * numerics.LOG_2PI)  # (6.69)

        self.kernel_, self.noise_, self.theta_ = fitted_kernel, fitted_noise, theta
        self.X_train_, self.t_train_, self.L_, self.alpha_ = X, t, L, alpha
        self.log_marginal_likelihood_value_, self.n_iter_ = log_ml, n_iter
        self.n_features_in_ = X.shape[1]
        return self

    def log_marginal_likelihood(self, theta: object = None, eval_gradient: bool = False) -> object:
        """ln p(t_train | theta) (PRML 6.69) at ``theta`` (default: the fitted ``theta_``).

        theta : array of shape (n_params + 1,), ln of the kernel's parameters then ln sigma_n^2.
        With ``eval_gradient`` returns (value, gradient of shape (n_params + 1,)), the gradient by the autograd.
        """
        check_is_fitted(self, "theta_")
        if theta is None:
            theta = self.theta_
        theta = numpy.asarray(backend.to_numpy(theta), dtype=numpy.float64)
        if theta.shape != self.theta_.shape or not numpy.isfinite(theta).all():
            raise ValueError(f"theta must be a finite vector of shape {self.theta_.shape}; got {theta!r}")
        value, grad = self._objective(theta, self.kernel_, self.X_train_, self.t_train_)
        return (value, grad) if eval_gradient else value

    def _posterior(self, X: object) -> tuple[object, object, object]:
        """Mean (6.66), shape (m,); v = L^-1 K(X_train, X), shape (n, m); the query points X (m, D)."""
        check_is_fitted(self, "alpha_")
        X = check_fitted_inputs(X, self.n_features_in_, owner=type(self).__name__)
        # check_fitted_inputs puts X on the active backend; the fitted state may live on another
        # (fitted under mb.using("cupy"), asked with NumPy points): X goes where the parameters are.
        X = backend.on_backend_of(self.alpha_, X)
        K_star = self.kernel_(self.X_train_, X)
        return K_star.T @ self.alpha_, numerics.solve_triangular(self.L_, K_star, lower=True), X

    def predict(self, X: object, return_std: bool = False, return_cov: bool = False,
                include_noise: bool = True) -> object:
        """Predictive mean (PRML 6.66), shape (m,); with ``return_std`` the standard deviation (6.67), shape (m,),
        or with ``return_cov`` the covariance, shape (m, m).

        ``include_noise``: the predictive of a target t (6.67, c includes sigma_n^2), or, when False, of f(x).
        """
        if return_std and return_cov:
            raise ValueError("ask for return_std or return_cov, not both")
        mean, v, X = self._posterior(X)
        xp = backend.array_module(mean)
        noise = self.noise_ if include_noise else 0.0
        if return_cov:
            return mean, self.kernel_(X) - v.T @ v + noise * xp.eye(X.shape[0], dtype=X.dtype)
        if return_std:
            # Rounding can push k(x, x) - ||v||^2 a hair below zero far inside the data.
            variance = xp.maximum(self.kernel_.diag(X) - (v**2).sum(axis=0), 0.0) + noise
            return mean, xp.sqrt(variance)
        return mean

    def sample_functions(self, X: object, n_samples: int = 1, random_state: object = None) -> object:
        """Draws of f at the points X, shape (n_samples, m): from the posterior when fitted, else from the prior.

        f = mean + U diag(sqrt(d)) eps with Sigma = U diag(d) U^T: the eigendecomposition takes a
        covariance that is only semi-definite to rounding (a smooth kernel on a fine grid), where a
        Cholesky factorisation would need a hand-tuned jitter.
        """
        n_samples = check_scalar(n_samples, "n_samples", int, min_value=1)
        if hasattr(self, "alpha_"):
            mean, cov = self.predict(X, return_cov=True, include_noise=False)
        else:
            X = check_inputs(X)
            mean, cov = backend.array_module(X).zeros(X.shape[0], dtype=X.dtype), self._kernel()(X)
        xp = backend.array_module(cov)
        d, U = xp.linalg.eigh(0.5 * (cov + cov.T))
        eps = check_random_state(random_state, like=cov).standard_normal((len(d), n_samples))
        return (mean[:, None] + (U * xp.sqrt(xp.maximum(d, 0.0))) @ eps).T
