"""The Wishart distribution over D x D precision matrices, the conjugate prior of a Gaussian's precision."""

from __future__ import annotations

import math

import numpy

from .. import backend
from ..autograd.ops import cholesky, digamma, lgamma, log, solve_triangular
from ..autograd.tensor import Tensor
from . import constraints
from .distribution import Distribution, as_parameter
from .multivariate_normal import _diagonal

__all__ = ["Wishart"]


class Wishart(Distribution):
    """W(Lambda | W, nu) = B(W, nu) |Lambda|^((nu - D - 1)/2) exp(-Tr(W^-1 Lambda)/2)  (PRML (B.78)-(B.79)),

    B(W, nu) = |W|^(-nu/2) (2^(nu D/2) pi^(D(D-1)/4) prod_{i=1}^D Gamma((nu + 1 - i)/2))^-1.

    Parameters
    ----------
    df : float or array of shape batch_shape, > D - 1
        nu, the degrees of freedom.
    covariance_matrix : array of shape batch_shape + (D, D), symmetric positive definite
        The scale matrix W (E[Lambda] = nu W); or give its Cholesky factor as ``scale_tril``.
    """

    support = constraints.positive_definite

    def __init__(self, df, covariance_matrix=None, scale_tril=None, validate_args: bool = True) -> None:
        if (covariance_matrix is None) == (scale_tril is None):
            raise ValueError("Wishart: give exactly one of covariance_matrix= (the scale matrix W) or scale_tril=")
        name, matrix = ("covariance_matrix", covariance_matrix) if scale_tril is None else ("scale_tril", scale_tril)
        matrix = as_parameter(matrix)
        if matrix.ndim < 2 or matrix.shape[-1] != matrix.shape[-2]:
            raise ValueError(f"Wishart: {name} must have shape (..., D, D), got {matrix.shape}")
        d = matrix.shape[-1]
        nu = as_parameter(df, like=matrix)
        if validate_args:
            check = constraints.lower_cholesky if name == "scale_tril" else constraints.positive_definite
            check.check(matrix.data, name, "Wishart")
            if not bool((nu.data > d - 1).all()):  # written so that NaN fails too
                raise ValueError(f"Wishart: df must be greater than D - 1 = {d - 1}; got {backend.to_numpy(nu.data)}")
        self.df = nu
        self.scale_tril = cholesky(matrix) if name == "covariance_matrix" else matrix
        try:
            batch_shape = numpy.broadcast_shapes(nu.shape, self.scale_tril.shape[:-2])
        except ValueError:
            raise ValueError(
                f"Wishart: the batch shapes of df {nu.shape} and of {name} {matrix.shape[:-2]} (from shape "
                f"{matrix.shape}) do not broadcast to one batch shape"
            ) from None
        super().__init__(batch_shape, (d, d), validate_args)

    @property
    def _template(self) -> Tensor:
        return self.scale_tril

    @property
    def _dimension(self) -> int:
        return self.event_shape[0]

    def _log_det_scale(self) -> Tensor:
        """ln |W| = 2 sum_i ln L_ii."""
        return 2 * log(_diagonal(self.scale_tril)).sum(axis=-1)

    def _half_df_steps(self) -> Tensor:
        """(nu + 1 - i)/2 for i = 1..D, shape batch_shape + (D,): the arguments of (B.79) and (B.81)."""
        steps = Tensor(self._xp.arange(self._dimension, dtype=self.df.dtype) * -0.5)
        return (self.df / 2).unsqueeze(-1) + steps

    def _log_normaliser(self) -> Tensor:
        """ln B(W, nu)  (PRML (B.79)), with ln Gamma_D(nu/2) = D(D-1)/4 ln pi + sum_i ln Gamma((nu + 1 - i)/2)."""
        nu, d = self.df, self._dimension
        log_multivariate_gamma = d * (d - 1) / 4 * math.log(math.pi) + lgamma(self._half_df_steps()).sum(axis=-1)
        return -nu / 2 * self._log_det_scale() - nu * d / 2 * math.log(2) - log_multivariate_gamma

    def expected_log_det(self) -> Tensor:
        """E[ln |Lambda|] = sum_{i=1}^D psi((nu + 1 - i)/2) + D ln 2 + ln |W|  (PRML (B.81))."""
        return digamma(self._half_df_steps()).sum(axis=-1) + self._dimension * math.log(2) + self._log_det_scale()

    def _log_prob(self, precision: Tensor) -> Tensor:
        """ln B(W, nu) + (nu - D - 1)/2 ln |Lambda| - Tr(W^-1 Lambda)/2."""
        root = cholesky(precision)  # Lambda = C C^T
        log_det = 2 * log(_diagonal(root)).sum(axis=-1)
        # Tr(W^-1 Lambda) = Tr(C^T L^-T L^-1 C) = |L^-1 C|_F^2
        whitened = solve_triangular(self.scale_tril, root)
        trace = (whitened * whitened).sum(axis=(-2, -1))
        return self._log_normaliser() + (self.df - self._dimension - 1) / 2 * log_det - trace / 2

    @property
    def mean(self) -> Tensor:
        return self.df.unsqueeze(-1).unsqueeze(-1) * (self.scale_tril @ self.scale_tril.mT)  # PRML (B.80)

    @property
    def variance(self) -> Tensor:
        """Var[Lambda_ij] = nu (W_ij^2 + W_ii W_jj)."""
        scale = self.scale_tril @ self.scale_tril.mT
        diagonal = _diagonal(scale)
        return self.df.unsqueeze(-1).unsqueeze(-1) * (scale * scale + diagonal.unsqueeze(-1) * diagonal.unsqueeze(-2))

    def entropy(self) -> Tensor:
        """H = -ln B(W, nu) - (nu - D - 1)/2 E[ln |Lambda|] + nu D / 2  (PRML (B.82))."""
        nu, d = self.df, self._dimension
        return -self._log_normaliser() - (nu - d - 1) / 2 * self.expected_log_det() + nu * d / 2

    def _sample(self, shape):
        # Bartlett decomposition: Lambda = L A A^T L^T with A lower triangular,
        # A_ii = sqrt(chi^2 with nu - i degrees of freedom) (i = 0..D-1), A_ij ~ N(0, 1) below.
        xp, rng, d = self._xp, self._rng, self._dimension
        dtype = self.scale_tril.dtype
        nu = xp.broadcast_to(self.df.data, shape[:-2])[..., None]
        chi_square = 2 * rng.standard_gamma((nu - xp.arange(d)) / 2, size=shape[:-2] + (d,))
        a = xp.tril(rng.standard_normal(shape), -1)
        index = xp.arange(d)
        a[..., index, index] = xp.sqrt(chi_square)
        la = self.scale_tril.data @ a
        return (la @ xp.swapaxes(la, -1, -2)).astype(dtype)
