"""Constraints: the sets parameters and values must lie in, each with a check that names the culprit.

A check runs on raw backend arrays and raises ``ValueError`` saying which
argument of which distribution is wrong, what it should be, and an example of
an offending entry, e.g.::

    ValueError: Normal: scale must be positive (> 0); found -1.0 at index (2,)

Without validation a distribution evaluates its density at ``stand_in`` (a
point inside the set) wherever ``violations`` flags a value, and then returns
-inf there: the log-density of a value outside the support, with no read of
the device and no NaN leaking into the gradient.
"""

from __future__ import annotations

import numbers

import numpy

from .. import backend

__all__ = [
    "Constraint", "real", "positive", "unit_interval", "open_unit_interval", "boolean", "simplex",
    "positive_definite", "lower_cholesky", "mean_and_precision", "IntegerInterval", "NonnegativeIntegerVector",
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
    #: How many trailing axes one verdict covers (1 for vectors on the simplex, 2 for matrices).
    event_dims = 0

    def violations(self, x: object) -> object:
        """Boolean mask of the entries that break the constraint (x's shape less ``event_dims`` axes)."""
        xp = backend.array_module(x)
        return ~xp.isfinite(x)

    def stand_in(self, x: object) -> object:
        """A point inside the set, broadcastable to ``x``'s shape and of its dtype."""
        return backend.array_module(x).zeros((), dtype=x.dtype)

    def check(self, x: object, name: str, owner: str) -> None:
        bad = self.violations(x)
        if bool(bad.any()):
            raise ValueError(f"{owner}: {name} must be {self.description}; {_first_offender(bad, x)}")


class _Interval(Constraint):
    def __init__(self, low: float, high: float, closed: bool, description: str, inside: float) -> None:
        self.low, self.high, self.closed, self.description = low, high, closed, description
        self.inside = inside

    def stand_in(self, x):
        return backend.array_module(x).full((), self.inside, dtype=x.dtype)

    def violations(self, x):
        if self.closed:
            inside = (x >= self.low) & (x <= self.high)
        else:
            inside = (x > self.low) & (x < self.high)
        return ~inside  # NaN is never inside


real = Constraint()
positive = _Interval(0.0, numpy.inf, False, "positive (> 0)", 1.0)
unit_interval = _Interval(0.0, 1.0, True, "a probability in [0, 1]", 0.5)
open_unit_interval = _Interval(0.0, 1.0, False, "in the open interval (0, 1)", 0.5)


class _Boolean(Constraint):
    description = "0 or 1"

    def violations(self, x):
        return (x != 0) & (x != 1)


boolean = _Boolean()


class IntegerInterval(Constraint):
    """Integers k with low <= k <= high (``high`` may be an array broadcasting with x)."""

    def __init__(self, low: int, high: object) -> None:
        self.low, self.high = low, high
        # A bound held in an array (Binomial's total_count) is named, not printed: printing a device
        # array would read it back to the host.
        self.description = f"an integer in [{low}, {high if isinstance(high, numbers.Real) else 'total_count'}]"

    def violations(self, x):
        xp = backend.array_module(x)
        return (x != xp.floor(x)) | (x < self.low) | (x > self.high)

    def stand_in(self, x):
        return backend.array_module(x).full((), self.low, dtype=x.dtype)


class _Simplex(Constraint):
    """Vectors along the last axis with entries >= 0 summing to 1 (to a dtype-aware tolerance)."""

    description = "on the probability simplex (entries >= 0 along the last axis, summing to 1)"
    event_dims = 1

    def stand_in(self, x):
        return backend.array_module(x).full((), 1 / x.shape[-1], dtype=x.dtype)  # the uniform vector

    def violations(self, x):
        xp = backend.array_module(x)
        tolerance = 1e-6 if x.dtype == xp.float64 else 1e-4
        return xp.any(x < 0, axis=-1) | (xp.abs(x.sum(-1) - 1) > tolerance)


simplex = _Simplex()


class NonnegativeIntegerVector(Constraint):
    """Count vectors along the last axis: non-negative integers summing to ``total``."""

    event_dims = 1

    def __init__(self, total: int) -> None:
        self.total = total
        self.description = f"a vector of non-negative integer counts summing to total_count = {total}"

    def stand_in(self, x):
        xp = backend.array_module(x)
        counts = xp.zeros(x.shape[-1:], dtype=x.dtype)
        counts[0] = self.total  # every draw in the first class
        return counts

    def violations(self, x):
        xp = backend.array_module(x)
        not_counts = xp.any((x < 0) | (x != xp.floor(x)), axis=-1)
        return not_counts | (x.sum(-1) != self.total)


class _PositiveDefinite(Constraint):
    """Symmetric positive definite matrices (..., D, D), one verdict per matrix."""

    description = "a symmetric positive definite matrix"
    event_dims = 2

    def stand_in(self, x):
        return backend.array_module(x).eye(x.shape[-1], dtype=x.dtype)

    def violations(self, x):
        xp = backend.array_module(x)
        # eigvalsh cannot take NaN or inf: such matrices are flagged and replaced by I first.
        non_finite = ~xp.all(xp.isfinite(x), axis=(-2, -1))
        x = xp.where(non_finite[..., None, None], xp.eye(x.shape[-1], dtype=x.dtype), x)
        scale = xp.abs(x).max(axis=(-2, -1)) + 1
        tolerance = 1e-6 if x.dtype == xp.float64 else 1e-4
        asymmetric = xp.abs(x - xp.swapaxes(x, -1, -2)).max(axis=(-2, -1)) > tolerance * scale
        # Symmetric with all eigenvalues > 0 <=> positive definite; eigvalsh reads one triangle.
        not_positive = ~(xp.linalg.eigvalsh(x).min(axis=-1) > 0)
        return non_finite | asymmetric | not_positive


positive_definite = _PositiveDefinite()


class _LowerCholesky(Constraint):
    """Lower-triangular matrices with a positive diagonal, one verdict per matrix."""

    description = "lower triangular with a positive diagonal (a Cholesky factor)"
    event_dims = 2

    def stand_in(self, x):
        return backend.array_module(x).eye(x.shape[-1], dtype=x.dtype)

    def violations(self, x):
        xp = backend.array_module(x)
        upper = xp.abs(xp.triu(x, 1)).max(axis=(-2, -1)) > 0
        diagonal = xp.diagonal(x, axis1=-2, axis2=-1)
        return upper | ~xp.all(diagonal > 0, axis=-1) | ~xp.all(xp.isfinite(x), axis=(-2, -1))


lower_cholesky = _LowerCholesky()


class _MeanAndPrecision(Constraint):
    """Pairs (mu, lambda) on the last axis with mu real and lambda > 0: the values of a Normal-Gamma."""

    description = "a pair (mean, precision) on the last axis, the mean real and the precision positive (> 0)"
    event_dims = 1

    def stand_in(self, x):
        return backend.array_module(x).asarray([0.0, 1.0], dtype=x.dtype)

    def violations(self, x):
        xp = backend.array_module(x)
        return ~xp.isfinite(x[..., 0]) | ~(x[..., 1] > 0) | ~xp.isfinite(x[..., 1])


mean_and_precision = _MeanAndPrecision()
