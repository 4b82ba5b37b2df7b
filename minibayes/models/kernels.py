"""Covariance functions for Gaussian processes (PRML 6.2, 6.4.2), parameters on a log scale.

    RBF(variance=s^2, length_scale=l):       k(x, x') = s^2 exp(-||x - x'||^2 / (2 l^2))   (PRML 6.23)
    Linear(bias_variance=c^2, variance=v^2): k(x, x') = c^2 + v^2 x^T x'   (6.63: theta_2 + theta_3 x^T x')

Each kernel evaluates two ways: on raw backend arrays (``kernel(X, Y)``, for prediction) and on
a Tensor theta of its log-parameters (``kernel.matrix(theta, X)``, for the objective whose
gradient the autograd takes). The positive parameters are optimised as theta = ln(parameter):
the optimiser runs unconstrained, and scale parameters move by factors, not by steps.
Two kernels add: ``RBF() + Linear()`` is their sum, with theta the concatenation.
"""

from __future__ import annotations

import numpy

from .. import backend
from ..autograd.ops import exp, getitem
from ..autograd.tensor import Tensor
from ._validation import check_precision

__all__ = ["RBF", "Linear", "Sum"]


def squared_distances(X: object, Y: object) -> object:
    """||x_n - y_m||^2 for X (n, D) and Y (m, D), shape (n, m).

    Summed feature by feature from exact differences, not as ||x||^2 + ||y||^2 - 2 x^T y,
    whose cancellation loses digits for close points far from the origin. A host Y is moved
    to X's backend (a CuPy-fitted GP asked about NumPy points).
    """
    Y = backend.on_backend_of(X, Y)
    xp = backend.array_module(X)
    out = xp.zeros((X.shape[0], Y.shape[0]), dtype=X.dtype)
    for d in range(X.shape[1]):
        out += (X[:, d, None] - Y[None, :, d]) ** 2
    return out


class _Kernel:
    """Shared plumbing: parameters by name, theta = their logs, and ``+``."""

    param_names: tuple[str, ...] = ()

    @property
    def theta(self) -> numpy.ndarray:
        """ln of the parameters, host array of shape (n_params,)."""
        return numpy.log([getattr(self, name) for name in self.param_names])

    def rescaled(self, x_unit: float, y_unit: float) -> _Kernel:
        """This kernel in units where x is divided by ``x_unit`` and f by ``y_unit``:
        k'(x', z') = k(x_unit x', x_unit z') / y_unit^2. Powers of two make the change exact."""
        raise NotImplementedError

    def with_theta(self, theta: object) -> _Kernel:
        """A kernel of this kind with parameters exp(theta)."""
        values = numpy.exp(numpy.asarray(backend.to_numpy(theta), dtype=numpy.float64))
        return type(self)(*(float(v) for v in values))

    @property
    def n_params(self) -> int:
        return len(self.param_names)

    def __add__(self, other: _Kernel) -> Sum:
        return Sum(self, other)

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name):.4g}" for name in self.param_names)
        return f"{type(self).__name__}({args})"


class RBF(_Kernel):
    """Squared-exponential kernel k(x, x') = variance exp(-||x - x'||^2 / (2 length_scale^2)) (PRML 6.23).

    Parameters
    ----------
    variance : float
        s^2 > 0, the prior variance of f(x).
    length_scale : float
        l > 0, the distance over which f varies.
    """

    param_names = ("variance", "length_scale")

    def __init__(self, variance: float = 1.0, length_scale: float = 1.0) -> None:
        self.variance = check_precision(variance, "variance")
        self.length_scale = check_precision(length_scale, "length_scale")

    def __call__(self, X: object, Y: object | None = None) -> object:
        """K[n, m] = k(x_n, y_m) for X (n, D) and Y (m, D) (Y = X by default), shape (n, m).

        The distances are taken between x / l and y / l: squaring x - y first would underflow (or
        overflow) for inputs and length scales near 1e-160 (or 1e160), where the ratio is fine.
        """
        Y = X if Y is None else backend.on_backend_of(X, Y)
        D2 = squared_distances(X / self.length_scale, Y / self.length_scale)
        return self.variance * backend.array_module(D2).exp(-0.5 * D2)

    def rescaled(self, x_unit: float, y_unit: float) -> RBF:
        return RBF(self.variance / (y_unit * y_unit), self.length_scale / x_unit)

    def diag(self, X: object) -> object:
        """k(x_n, x_n) = variance, shape (n,)."""
        return backend.array_module(X).full(X.shape[0], self.variance, dtype=X.dtype)

    def matrix(self, theta: Tensor, X: object) -> Tensor:
        """K(theta) as a Tensor, shape (n, n): exp(theta_0) exp(-||x - x'||^2 exp(-2 theta_1) / 2)."""
        X = backend.on_backend_of(theta.data, X)  # the parameters' backend
        D2 = Tensor(squared_distances(X, X))
        log_variance, log_length = getitem(theta, 0), getitem(theta, 1)
        return exp(log_variance - 0.5 * D2 * exp(-2.0 * log_length))


class Linear(_Kernel):
    """Linear kernel k(x, x') = bias_variance + variance x^T x' (PRML 6.63, Bayesian linear regression as a GP).

    Parameters
    ----------
    bias_variance : float
        c^2 > 0, the prior variance of the intercept.
    variance : float
        v^2 > 0, the prior variance of each slope.
    """

    param_names = ("bias_variance", "variance")

    def __init__(self, bias_variance: float = 1.0, variance: float = 1.0) -> None:
        self.bias_variance = check_precision(bias_variance, "bias_variance")
        self.variance = check_precision(variance, "variance")

    def __call__(self, X: object, Y: object | None = None) -> object:
        """K[n, m] = k(x_n, y_m), shape (n, m); a host Y is moved to X's backend."""
        Y = X if Y is None else backend.on_backend_of(X, Y)
        return self.bias_variance + self.variance * (X @ Y.T)

    def rescaled(self, x_unit: float, y_unit: float) -> Linear:
        return Linear(self.bias_variance / (y_unit * y_unit), self.variance * (x_unit / y_unit) * (x_unit / y_unit))

    def diag(self, X: object) -> object:
        """k(x_n, x_n) = bias_variance + variance ||x_n||^2, shape (n,)."""
        return self.bias_variance + self.variance * (X**2).sum(axis=1)

    def matrix(self, theta: Tensor, X: object) -> Tensor:
        """K(theta) as a Tensor, shape (n, n): exp(theta_0) + exp(theta_1) X X^T."""
        X = backend.on_backend_of(theta.data, X)  # the parameters' backend
        return exp(getitem(theta, 0)) + exp(getitem(theta, 1)) * Tensor(X @ X.T)


class Sum(_Kernel):
    """k(x, x') = k_1(x, x') + k_2(x, x'); theta is theta_1 followed by theta_2."""

    def __init__(self, first: _Kernel, second: _Kernel) -> None:
        if not (isinstance(first, _Kernel) and isinstance(second, _Kernel)):
            raise TypeError("both terms of a kernel sum must be kernels from minibayes.models.kernels")
        self.first, self.second = first, second

    @property
    def theta(self) -> numpy.ndarray:
        return numpy.concatenate([self.first.theta, self.second.theta])

    @property
    def n_params(self) -> int:
        return self.first.n_params + self.second.n_params

    def with_theta(self, theta: object) -> Sum:
        theta = numpy.asarray(backend.to_numpy(theta), dtype=numpy.float64)
        split = self.first.n_params
        return Sum(self.first.with_theta(theta[:split]), self.second.with_theta(theta[split:]))

    def rescaled(self, x_unit: float, y_unit: float) -> Sum:
        return Sum(self.first.rescaled(x_unit, y_unit), self.second.rescaled(x_unit, y_unit))

    def __call__(self, X: object, Y: object | None = None) -> object:
        return self.first(X, Y) + self.second(X, Y)

    def diag(self, X: object) -> object:
        return self.first.diag(X) + self.second.diag(X)

    def matrix(self, theta: Tensor, X: object) -> Tensor:
        split = self.first.n_params
        return (self.first.matrix(getitem(theta, slice(0, split)), X)
                + self.second.matrix(getitem(theta, slice(split, None)), X))

    def __repr__(self) -> str:
        return f"{self.first!r} + {self.second!r}"

