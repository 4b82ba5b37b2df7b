"""Constraints: the sets parameters and values must lie in, each with a check that names the culprit.

A check runs on raw backend arrays and raises ``ValueError`` saying which
argument of which distribution is wrong, what it should be, and an example of
an offending entry, e.g.::

    ValueError: Normal: scale must be positive (> 0); found -1.0 at index (2,)
"""

from __future__ import annotations

import numpy

from .. import backend

__all__ = [
    "Constraint", "real", "positive", "unit_interval", "open_unit_interval", "boolean", "simplex",
    "positive_definite", "lower_cholesky", "IntegerInterval", "NonnegativeIntegerVector",
]


def _first_offender(bad: object, values: object) -> str:
    """ "found V at index I" for the first True entry of the mask ``bad``.

    For checks with one verdict per vector or matrix (simplex, positive definite)
    the mask has fewer axes than the values, and V is the whole offending vector or matrix.
    """
    bad, values = backend.to_numpy(bad), backend.to_numpy(values)
    index = tuple(int(i) for i in numpy.argwhere(bad)[0])
    extra_axes = values.ndim - bad.ndim
    if extra_axes > 0:
        value = numpy.broadcast_to(values, bad.shape + values.shape[bad.ndim:])[index]
        value = numpy.array2string(value, precision=4, separator=", ")
    else:
        value = repr(numpy.broadcast_to(values, bad.shape)[index].item())
    return f"found {value} at index {index}" if index else f"found {value}"


class Constraint:
    """A set of allowed arrays; ``check`` raises ``ValueError`` for anything outside."""

    description = "a real number"

    def violations(self, x: object) -> object:
        """Boolean mask of the entries that break the constraint (same shape as x, or a batch shape)."""
        xp = backend.array_module(x)
        return ~xp.isfinite(x)

    def check(self, x: object, name: str, owner: str) -> None:
        bad = self.violations(x)
        if bool(bad.any()):
            raise ValueError(f"{owner}: {name} must be {self.description}; {_first_offender(bad, x)}")


class _Interval(Constraint):
    def __init__(self, low: float, high: float, closed: bool, description: str) -> None:
        self.low, self.high, self.closed, self.description = low, high, closed, description

    def violations(self, x):
        if self.closed:
            inside = (x >= self.low) & (x <= self.high)
        else:
            inside = (x > self.low) & (x < self.high)
        return ~inside  # NaN is never inside


real = Constraint()
positive = _Interval(0.0, numpy.inf, False, "positive (> 0)")
unit_interval = _Interval(0.0, 1.0, True, "a probability in [0, 1]")
open_unit_interval = _Interval(0.0, 1.0, False, "in the open interval (0, 1)")


class _Boolean(Constraint):
    description = "0 or 1"

    def violations(self, x):
        return (x != 0) & (x != 1)


boolean = _Boolean()


class IntegerInterval(Constraint):
    """Integers k with low <= k <= high (``high`` may be an array broadcasting with x)."""

    def __init__(self, low: int, high: object) -> None:
        self.low, self.high = low, high
        self.description = f"an integer in [{low}, {high if numpy.ndim(high) == 0 else 'total_count'}]"

    def violations(self, x):
        xp = backend.array_module(x)
        return (x != xp.floor(x)) | (x < self.low) | (x > self.high)


class _Simplex(Constraint):
    """Vectors along the last axis with entries >= 0 summing to 1 (to a dtype-aware tolerance)."""

    description = "on the probability simplex (entries >= 0 along the last axis, summing to 1)"

    def violations(self, x):
        xp = backend.array_module(x)
        tolerance = 1e-6 if x.dtype == xp.float64 else 1e-4
        return xp.any(x < 0, axis=-1) | (xp.abs(x.sum(-1) - 1) > tolerance)


simplex = _Simplex()


class NonnegativeIntegerVector(Constraint):
    """Count vectors along the last axis: non-negative integers summing to ``total``."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.description = f"a vector of non-negative integer counts summing to total_count = {total}"

    def violations(self, x):
        xp = backend.array_module(x)
        not_counts = xp.any((x < 0) | (x != xp.floor(x)), axis=-1)
        return not_counts | (x.sum(-1) != self.total)


class _PositiveDefinite(Constraint):
    """Symmetric positive definite matrices (..., D, D), one verdict per matrix."""

    description = "a symmetric positive definite matrix"

    def violations(self, x):
        xp = backend.array_module(x)
        scale = xp.abs(x).max(axis=(-2, -1)) + 1
        tolerance = 1e-6 if x.dtype == xp.float64 else 1e-4
        asymmetric = xp.abs(x - xp.swapaxes(x, -1, -2)).max(axis=(-2, -1)) > tolerance * scale
        # Symmetric with all eigenvalues > 0 <=> positive definite; eigvalsh reads one triangle.
        not_positive = ~(xp.linalg.eigvalsh(x).min(axis=-1) > 0)
        return asymmetric | not_positive


positive_definite = _PositiveDefinite()


class _LowerCholesky(Constraint):
    """Lower-triangular matrices with a positive diagonal, one verdict per matrix."""

    description = "lower triangular with a positive diagonal (a Cholesky factor)"

    def violations(self, x):
        xp = backend.array_module(x)
        upper = xp.abs(xp.triu(x, 1)).max(axis=(-2, -1)) > 0
        diagonal = xp.diagonal(x, axis1=-2, axis2=-1)
        return upper | ~xp.all(diagonal > 0, axis=-1) | ~xp.all(xp.isfinite(x), axis=(-2, -1))


lower_cholesky = _LowerCholesky()
