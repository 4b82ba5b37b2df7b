"""Basis functions phi(x) for linear models: y(x, w) = w^T phi(x) (PRML 3.3).

Each basis is a small object; calling it on inputs X gives the design matrix

    Phi[n, j] = phi_j(x_n),   Phi of shape (n_samples, n_basis)          (PRML 3.16)

with the bias phi_0(x) = 1 in the first column where the basis has one. The
centres and scales live on the host; they are moved to the backend of X when
the basis is applied, so one basis object serves NumPy and CuPy data alike.

    IdentityBasis()                 phi(x) = (1, x_1, ..., x_D)               (PRML 3.1)
    PolynomialBasis(degree)         phi_j(x) = x^j, j = 0..degree             (PRML 1.1, 3.3)
    GaussianBasis(centers, scale)   phi_j(x) = exp(-||x - mu_j||^2 / 2s^2)    (PRML 3.4)
    SigmoidalBasis(centers, scale)  phi_j(x) = sigma((x - mu_j) / s)          (PRML 3.5)
"""

from __future__ import annotations

import numpy

from .. import backend
from ..autograd import numerics
from ._validation import check_inputs, check_precision, check_scalar

__all__ = ["IdentityBasis", "PolynomialBasis", "GaussianBasis", "SigmoidalBasis"]


def _with_bias(Phi: object, bias: bool) -> object:
    """Prepend the column phi_0 = 1 (the bias w_0 of PRML 3.2) when asked."""
    if not bias:
        return Phi
    xp = backend.array_module(Phi)
    return xp.concatenate([xp.ones((Phi.shape[0], 1), dtype=Phi.dtype), Phi], axis=1)


def _check_centers(centers: object, ndim: int) -> numpy.ndarray:
    """Finite float64 host centres: shape (n_centers,) or, for ``ndim`` 2, (n_centers, n_features)."""
    try:
        values = numpy.asarray(backend.to_numpy(centers), dtype=numpy.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"centers must be an array of numbers: {exc}") from exc
    if values.ndim == 0 or values.ndim > ndim or values.shape[0] == 0:
        shape = "(n_centers,)" + (" or (n_centers, n_features)" if ndim == 2 else "")
        raise ValueError(f"centers must have shape {shape} with at least one centre; got {values.shape}")
    if not numpy.isfinite(values).all():
        raise ValueError("centers must be finite")
    return values


class IdentityBasis:
    """phi(x) = (1, x_1, ..., x_D): the plain linear model y = w_0 + sum_d w_d x_d (PRML 3.1).

    Parameters
    ----------
    bias : bool
        Prepend the constant phi_0 = 1.
    """

    def __init__(self, bias: bool = True) -> None:
        self.bias = bool(bias)

    def __call__(self, X: object) -> object:
        """Design matrix of shape (n_samples, n_features + bias) for X of shape (n_samples, n_features)."""
        return _with_bias(check_inputs(X), self.bias)

    def __repr__(self) -> str:
        return f"IdentityBasis(bias={self.bias})"


class PolynomialBasis:
    """phi_j(x) = x^j for j = 0..degree (PRML 1.1): the polynomial curve fitting of chapter 1.

    A polynomial of order M has M + 1 weights w_0..w_M; PRML's Figures 1.5 and 3.14
    index models by this order M. With several input features each feature gets its
    own powers x_d^1..x_d^M (no cross terms) after the shared bias column.

    Parameters
    ----------
    degree : int
        The order M >= 0.
    """

    def __init__(self, degree: int) -> None:
        self.degree = int(check_scalar(degree, "degree", int, min_value=0))

    def __call__(self, X: object) -> object:
        """Design matrix of shape (n_samples, 1 + n_features * degree)."""
        X = check_inputs(X)
        xp = backend.array_module(X)
        powers = xp.arange(1, self.degree + 1, dtype=X.dtype)
        # (n, D, 1) ** (M,) -> (n, D, M); feature-major columns x_1, x_1^2, ..., x_2, x_2^2, ...
        Phi = (X[:, :, None] ** powers).reshape(X.shape[0], -1)
        return _with_bias(Phi, True)

    def __repr__(self) -> str:
        return f"PolynomialBasis(degree={self.degree})"


class GaussianBasis:
    """phi_j(x) = exp(-||x - mu_j||^2 / (2 s^2)) (PRML 3.4), with phi_0 = 1 first when ``bias``.

    Parameters
    ----------
    centers : array of shape (n_centers,) or (n_centers, n_features)
        The locations mu_j; a 1-D array is for one-feature inputs.
    scale : float
        The width s > 0 shared by all functions.
    bias : bool
        Prepend the constant phi_0 = 1.
    """

    def __init__(self, centers: object, scale: float, bias: bool = True) -> None:
        self.centers = _check_centers(centers, ndim=2)
        self.scale = check_precision(scale, "scale")
        self.bias = bool(bias)

    def __call__(self, X: object) -> object:
        """Design matrix of shape (n_samples, n_centers + bias)."""
        X = check_inputs(X)
        mu = backend.on_backend_of(X, self.centers.reshape(len(self.centers), -1))
        if mu.shape[1] != X.shape[1]:
            raise ValueError(f"X has {X.shape[1]} features but the centres have {mu.shape[1]}")
        xp = backend.array_module(X)
        # ||x - mu||^2 by broadcasting: (n, 1, D) - (1, J, D); J and D are small for a basis.
        squared = ((X[:, None, :] - mu[None, :, :]) ** 2).sum(axis=2)
        return _with_bias(xp.exp(-squared / (2.0 * self.scale**2)), self.bias)

    def __repr__(self) -> str:
        return f"GaussianBasis(n_centers={len(self.centers)}, scale={self.scale}, bias={self.bias})"


class SigmoidalBasis:
    """phi_j(x) = sigma((x - mu_j) / s) with the logistic sigmoid sigma(a) = 1 / (1 + e^-a) (PRML 3.5, 3.6).

    With several input features each feature gets every centre (no cross terms).

    Parameters
    ----------
    centers : array of shape (n_centers,)
        The locations mu_j.
    scale : float
        The width s > 0.
    bias : bool
        Prepend the constant phi_0 = 1.
    """

    def __init__(self, centers: object, scale: float, bias: bool = True) -> None:
        self.centers = _check_centers(centers, ndim=1)
        self.scale = check_precision(scale, "scale")
        self.bias = bool(bias)

    def __call__(self, X: object) -> object:
        """Design matrix of shape (n_samples, n_features * n_centers + bias)."""
        X = check_inputs(X)
        mu = backend.on_backend_of(X, self.centers)
        # expit is the overflow-free sigmoid: it never evaluates exp of a large positive number.
        Phi = numerics.special(X).expit((X[:, :, None] - mu) / self.scale).reshape(X.shape[0], -1)
        return _with_bias(Phi, self.bias)

    def __repr__(self) -> str:
        return f"SigmoidalBasis(n_centers={len(self.centers)}, scale={self.scale}, bias={self.bias})"
