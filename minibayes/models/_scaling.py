"""Exact rescaling by powers of two, for estimators that must work on data scaled by 1e-150 or 1e150.

Squared distances, Gram matrices and kernel matrices square the data: at 1e-160 they underflow
(to subnormals, then to 0) and at 1e160 they overflow. Dividing the data by a power of two near
their largest magnitude brings them to order one *exactly* (only the exponent changes), so an
estimator can compute in those units and map its results back (lengths times the scale, squared
quantities times its square) with no rounding from the rescaling itself. LAPACK's drivers scale
their input for the same reason (e.g. dgesvd when max |a_ij| leaves [smlnum, bignum]).
"""

from __future__ import annotations

import math

__all__ = ["power_of_two_scale", "largest_magnitude"]


def power_of_two_scale(largest: float) -> float:
    """2^e with largest / 2^e in [0.5, 1): dividing by it is exact and brings ``largest`` to order one.

    1.0 for 0 (nothing to scale) and for a non-finite value (left to the caller's own checks).
    """
    if not largest > 0 or not math.isfinite(largest):
        return 1.0
    return math.ldexp(1.0, math.frexp(largest)[1])


def largest_magnitude(array: object) -> float:
    """max |a_ij| as a host float, without an |array| temporary (two reductions, two syncs)."""
    return max(float(array.max()), -float(array.min()))
