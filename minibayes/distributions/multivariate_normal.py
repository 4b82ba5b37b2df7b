"""The multivariate Gaussian N(x | mu, Sigma), held through the Cholesky factor of Sigma.

With Sigma = L L^T every quantity needs only triangular solves, never an inverse:

    (x - mu)^T Sigma^-1 (x - mu) = |z|^2  with  L z = x - mu
    ln |Sigma| = 2 sum_i ln L_ii
    x = mu + L eps,  eps ~ N(0, I)           (the reparameterisation)
"""

from __future__ import annotations

import numpy

from .. import backend
from ..autograd.numerics import LOG_2PI, upper_cholesky
from ..autograd.ops import cholesky, log, solve, solve_triangular
from ..autograd.tensor import Tensor
from . import constraints
from .distribution import Distribution, as_parameter

__all__ = ["MultivariateNormal"]


def _diagonal(matrices: Tensor) -> Tensor:
    """The diagonals of a stack of square matrices, shape (..., D)."""
    index = backend.array_module(matrices.data).arange(matrices.shape[-1])
    return matrices[..., index, index]


def _identity_like(matrices: Tensor) -> Tensor:
    """Identity matrices of the shape (..., D, D) and dtype of ``matrices``, as a constant."""
    xp = backend.array_module(matrices.data)
    return Tensor(xp.broadcast_to(xp.eye(matrices.shape[-1], dtype=matrices.dtype), matrices.shape))


def _scale_tril_from_precision(precision: Tensor) -> Tensor:
    """Lower L with L L^T = P^-1, from P without forming P^-1.

    P = U U^T with U upper triangular (``numerics.upper_cholesky``, differentiable through
    the ``cholesky`` op), so Sigma = P^-1 = U^-T U^-1 and L = U^-T is lower triangular.
    """
    upper = upper_cholesky(precision, cholesky)
    return solve_triangular(upper, _identity_like(precision), lower=False).mT  # (U^-1)^T


class MultivariateNormal(Distribution):
    """N(x | mu, Sigma) = (2 pi)^(-D/2) |Sigma|^(-1/2) exp(-(x - mu)^T Sigma^-1 (x - mu) / 2)  (PRML (2.43)).

    Give exactly one of ``covariance_matrix`` (Sigma), ``precision_matrix``
    (Lambda = Sigma^-1) or ``scale_tril`` (L, lower triangular with positive
    diagonal, Sigma = L L^T).

    Parameters
    ----------
    loc : array of shape batch_shape + (D,)
    covariance_matrix, precision_matrix, scale_tril : array of shape batch_shape + (D, D)
    """

    has_rsample = True
    support = constraints.real

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args: bool = True):
        given = [m is not None for m in (covariance_matrix, precision_matrix, scale_tril)]
        if sum(given) != 1:
            raise ValueError("MultivariateNormal: give exactly one of covariance_matrix=, precision_matrix= or scale_tril=")
        loc = as_parameter(loc)
        if loc.ndim < 1:
            raise ValueError(f"MultivariateNormal: loc must have shape (..., D), got a scalar")
        if validate_args:
            constraints.real.check(loc.data, "loc", "MultivariateNormal")
        name, matrix = next((n, m) for n, m in zip(("covariance_matrix", "precision_matrix", "scale_tril"),
                                                   (covariance_matrix, precision_matrix, scale_tril)) if m is not None)
        matrix = as_parameter(matrix, like=loc)
        d = loc.shape[-1]
        if matrix.ndim < 2 or matrix.shape[-2:] != (d, d):
            raise ValueError(f"MultivariateNormal: {name} must have shape (..., {d}, {d}) to match loc {loc.shape}, got {matrix.shape}")
        if validate_args:
            check = constraints.lower_cholesky if name == "scale_tril" else constraints.positive_definite
            check.check(matrix.data, name, "MultivariateNormal")
        if name == "covariance_matrix":
            scale_tril = cholesky(matrix)
        elif name == "precision_matrix":
            scale_tril = _scale_tril_from_precision(matrix)
        else:
            scale_tril = matrix
        self.loc, self.scale_tril = loc, scale_tril
        try:
            batch_shape = numpy.broadcast_shapes(loc.shape[:-1], scale_tril.shape[:-2])
        except ValueError:
            raise ValueError(
                f"MultivariateNormal: the batch shapes of loc {loc.shape[:-1]} (from shape {loc.shape}) and of "
                f"{name} {matrix.shape[:-2]} (from shape {matrix.shape}) do not broadcast to one batch shape"
            ) from None
        super().__init__(batch_shape, (d,), validate_args)

    @property
    def _template(self) -> Tensor:
        return self.loc

    @classmethod
    def fit_mle(cls, X: object) -> MultivariateNormal:
        """mu_ML = (1/N) sum_n x_n, Sigma_ML = (1/N) sum_n (x_n - mu_ML)(x_n - mu_ML)^T  (PRML (2.121), (2.122)).

        X has shape (N, D); Sigma_ML must be positive definite (N > D and data not on a hyperplane).
        """
        X = as_parameter(X)
        if X.ndim != 2 or X.shape[0] < 1:
            raise ValueError(f"MultivariateNormal.fit_mle: X must have shape (N, D) with N >= 1, got {X.shape}")
        constraints.real.check(X.data, "X", "MultivariateNormal.fit_mle")
        mu = X.mean(axis=0)
        centred = X - mu
        return cls(mu, covariance_matrix=centred.T @ centred / X.shape[0])

    # ------------------------------------------------------------------ derived matrices
    @property
    def covariance_matrix(self) -> Tensor:
        return self.scale_tril @ self.scale_tril.mT

    @property
    def precision_matrix(self) -> Tensor:
        inverse_tril = solve_triangular(self.scale_tril, _identity_like(self.scale_tril))  # L^-1
        return inverse_tril.mT @ inverse_tril  # Sigma^-1 = L^-T L^-1

    def _half_log_det(self) -> Tensor:
        """ln |Sigma|^(1/2) = sum_i ln L_ii."""
        return log(_diagonal(self.scale_tril)).sum(axis=-1)

    def mahalanobis(self, value: object) -> Tensor:
        """(x - mu)^T Sigma^-1 (x - mu) = |L^-1 (x - mu)|^2, shape sample_shape + batch_shape."""
        return self._mahalanobis(self._value(value, "mahalanobis"))

    def _mahalanobis(self, x: Tensor) -> Tensor:
        # Subtract mu first: whitening x and mu separately would cancel catastrophically
        # when |mu| is large against the scale.
        diff = x - self.loc
        if self.scale_tril.ndim == 2:
            # One factor for every point: z = (x - mu) L^-T, so the N points go through a single
            # matrix product (scipy.stats whitens the same way). L^-1 comes from a D x D general
            # solve rather than a triangular one: on NumPy that keeps the solve and the product in
            # NumPy's BLAS, where SciPy's triangular solver would wake a second thread pool that
            # then competes with the product (2x slower on 2 cores; benchmarks/distributions.py).
            # check=False: L is a Cholesky factor, never singular; the check would read the device.
            z = diff @ solve(self.scale_tril, _identity_like(self.scale_tril), check=False).mT
            return (z * z).sum(axis=-1)
        shape = backend.array_module(diff.data).broadcast_shapes(diff.shape, self.scale_tril.shape[:-1])
        z = solve_triangular(self.scale_tril, diff.broadcast_to(shape).unsqueeze(-1))[..., 0]
        return (z * z).sum(axis=-1)

    def _log_prob(self, x: Tensor) -> Tensor:
        """ln N(x | mu, Sigma) = -D/2 ln(2 pi) - ln |Sigma|^(1/2) - (x - mu)^T Sigma^-1 (x - mu) / 2."""
        d = self.event_shape[0]
        return -0.5 * d * LOG_2PI - self._half_log_det() - 0.5 * self._mahalanobis(x)

    def rsample(self, sample_shape=()) -> Tensor:
        """x = mu + L eps, eps ~ N(0, I): then Cov[x] = L L^T = Sigma."""
        shape = self._extended_shape(sample_shape)
        eps = Tensor(self._rng.standard_normal(shape, dtype=self.loc.dtype))
        return self.loc + (eps.unsqueeze(-2) @ self.scale_tril.mT)[..., 0, :]

    @property
    def mean(self) -> Tensor:
        return self.loc.broadcast_to(self.batch_shape + self.event_shape)

    @property
    def variance(self) -> Tensor:
        """The diagonal of Sigma: Sigma_ii = sum_j L_ij^2."""
        return (self.scale_tril * self.scale_tril).sum(axis=-1).broadcast_to(self.batch_shape + self.event_shape)

    def entropy(self) -> Tensor:
        """H = D/2 (1 + ln 2 pi) + ln |Sigma|^(1/2)  (PRML (B.41))."""
        d = self.event_shape[0]
        return (0.5 * d * (1 + LOG_2PI) + self._half_log_det()).broadcast_to(self.batch_shape)
