"""Bare-array numerics that NumPy and CuPy share: the one home for the maths under the ops.

The Tensor ops (``ops/linalg.py``, ``ops/reduce.py``, ``ops/special.py``), the
distributions and the closed-form estimators all come here for the same few
routines, so each is written, and made to behave the same on both backends, once:

- constants: ``LOG_2PI`` = ln 2 pi and ``HALF_LOG_2PI``;
- ``special(x)``: SciPy's ``special`` for host arrays, ``cupyx.scipy.special`` for device ones;
  ``erf``; ``scatter_add``;
- ``logsumexp``: ln sum exp, shifted by the maximum so that exp never overflows;
- ``sigmoid``, and ``softplus_and_sigmoid``: log(1 + e^x) and 1 / (1 + e^-x) from one exp and one log;
- ``cholesky`` (and ``cholesky_with_failures`` for stacks), ``upper_cholesky`` (the
  precision-Cholesky trick), ``cho_solve``, ``half_log_det_cholesky``;
- ``solve_triangular``, ``triangular_matmul``, ``solve`` and ``inv`` with batch axes that broadcast.

Failure is uniform. NumPy's LAPACK raises ``numpy.linalg.LinAlgError`` on a matrix
that is not positive definite or is singular; cuSOLVER raises nothing and leaves NaNs
or, for a Cholesky factorisation that stopped at a non-positive pivot, finite garbage
in the output. Every routine here therefore checks its result the same way on both
backends (a Cholesky factor must be finite with a positive diagonal; a solve or an
inverse of finite input must be finite) and raises ``LinAlgError``, a ``ValueError``,
with a message naming the matrix. The check is one reduction on the device and one
device-to-host read of a single boolean.

Everything takes and returns arrays of the backend its input lives on; nothing here
knows about Tensors.
"""

from __future__ import annotations

import math
from types import ModuleType

import numpy

from .. import backend

__all__ = [
    "LOG_2PI", "HALF_LOG_2PI", "LinAlgError",
    "special", "erf", "scatter_add", "logsumexp", "sigmoid", "softplus_and_sigmoid",
    "cholesky", "cholesky_with_failures", "upper_cholesky", "cho_solve", "half_log_det_cholesky",
    "solve_triangular", "triangular_matmul", "solve", "inv",
]

LOG_2PI = math.log(2.0 * math.pi)
HALF_LOG_2PI = 0.5 * LOG_2PI

# NumPy's exception, a ValueError: code that catches it (a line search stepping away from
# a singular matrix) works on both backends.
LinAlgError = numpy.linalg.LinAlgError

_xp = backend.array_module


def _on_device(array: object) -> bool:
    return backend.backend_name_of(array) == "cupy"


# --------------------------------------------------------------------------- special functions
def special(array: object) -> ModuleType:
    """SciPy's ``special`` module for ``array``'s backend (``cupyx.scipy.special`` for CuPy).

    Gives ``gammaln``, ``digamma``, ``polygamma``, ``erf``, ``expit``, ``ndtr`` ... on either backend.
    """
    if _on_device(array):
        from cupyx.scipy import special as module  # noqa: PLC0415 (CuPy only when it is used)
    else:
        from scipy import special as module  # noqa: PLC0415
    return module


def erf(x: object) -> object:
    """The error function, elementwise, on either backend."""
    return special(x).erf(x)


def scatter_add(target: object, index: object, values: object) -> None:
    """``target[index] += values`` with repeated indices accumulated (in place)."""
    _xp(target).add.at(target, index, values)


def logsumexp(a: object, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> object:
    """ln sum_i exp(a_i) = m + ln sum_i exp(a_i - m), m = max_i a_i: no overflow at |a| = 1000.

    An infinite maximum is replaced by 0 in the shift, so that a slice of all -inf gives
    -inf (not NaN) and one +inf gives +inf.
    """
    xp = _xp(a)
    shift = a.max(axis=axis, keepdims=True)
    shift = xp.where(xp.isfinite(shift), shift, 0)
    kept = xp.log(xp.exp(a - shift).sum(axis=axis, keepdims=True)) + shift
    if keepdims:
        return kept
    return kept.reshape(()) if axis is None else xp.squeeze(kept, axis=axis)


# --------------------------------------------------------------------------- Cholesky
def sigmoid(x: object) -> object:
    """1 / (1 + e^-x) to full relative precision in both tails: u / (1 + u) for x < 0 and
    1 - u / (1 + u) otherwise, with u = e^-|x| <= 1, so nothing overflows. (The tanh form
    (tanh(x/2) + 1) / 2 loses the left tail: exactly 0 below x ~ -17 in float32.)"""
    xp = _xp(x)
    if x.ndim == 0:
        return sigmoid(x.reshape(1)).reshape(())
    u = xp.abs(x)
    xp.negative(u, out=u)
    xp.exp(u, out=u)
    ratio = xp.divide(u, u + 1, out=u)
    result = 1 - ratio
    xp.copyto(result, ratio, where=x < 0)
    return result


def softplus_and_sigmoid(x: object) -> tuple[object, object]:
    """softplus(x) = log(1 + e^x) and sigmoid(x) = 1 / (1 + e^-x), both from u = e^-|x| <= 1.

    softplus(x) = max(x, 0) + log1p(u) never overflows. log1p is not vectorised for float32 in
    NumPy (about 5x the cost of log), so it is taken as log(w) - ((w - 1) - u) / w with w = 1 + u:
    the second term corrects the rounding of 1 + u to first order (Goldberg 1991, "What every
    computer scientist should know about floating-point arithmetic", Theorem 4), accurate to a
    few ulp, and exactly u where 1 + u rounds to 1. sigmoid(x) is u / w for x < 0 and 1 - u / w
    otherwise, reusing w. Shapes and dtype are those of ``x``.
    """
    xp = _xp(x)
    if x.ndim == 0:     # NumPy turns 0-d results into scalars, which cannot be written in place
        softplus, sigmoid = softplus_and_sigmoid(x.reshape(1))
        return softplus.reshape(()), sigmoid.reshape(())
    u = xp.abs(x)       # in place from here on: each line one pass, three scratch arrays in all
    xp.negative(u, out=u)
    xp.exp(u, out=u)
    w = u + 1
    softplus = xp.log(w)
    correction = w - 1
    correction -= u
    correction /= w
    softplus -= correction
    softplus += xp.maximum(x, 0, out=correction)
    ratio = xp.divide(u, w, out=u)
    sigmoid = xp.subtract(1, ratio, out=w)
    xp.copyto(sigmoid, ratio, where=x < 0)
    return softplus, sigmoid


def _cholesky_failed(lower: object, floor: float = 0.0) -> object:
    """Per matrix of a stack: True where L is not a valid factor (a non-finite entry, or L_ii^2 <= floor).

    A positive diagonal and not finiteness alone: cuSOLVER's potrf stops at the first
    non-positive pivot and leaves finite numbers behind it.
    """
    xp = _xp(lower)
    pivots = xp.diagonal(lower, axis1=-2, axis2=-1)
    valid = xp.isfinite(lower).all(axis=(-2, -1)) & (pivots * pivots > floor).all(axis=-1) & (pivots > 0).all(axis=-1)
    return ~valid


def _raw_cholesky(a: object) -> object:
    """Lower factors of a stack, with NaNs for the matrices that have none (the CuPy convention on both)."""
    if _on_device(a):
        return _xp(a).linalg.cholesky(a)
    if a.ndim == 2 and a.dtype.kind == "f":
        # SciPy's LAPACK, the library that also runs solve_triangular and triangular_matmul:
        # code that alternates the three (the Cholesky backward, a GP fit) keeps to one BLAS
        # thread pool instead of waking NumPy's and SciPy's in turn.
        from scipy.linalg import cholesky as scipy_cholesky  # noqa: PLC0415

        try:
            return scipy_cholesky(a, lower=True, check_finite=False)
        except LinAlgError:
            return numpy.full(a.shape, numpy.nan, dtype=a.dtype)
    try:
        return numpy.linalg.cholesky(a)
    except LinAlgError:  # NumPy fails for the whole stack: factor the matrices one by one
        out = numpy.empty(a.shape, dtype=numpy.result_type(a.dtype, numpy.float32))
        for index in numpy.ndindex(*a.shape[:-2]):
            try:
                out[index] = numpy.linalg.cholesky(a[index])
            except LinAlgError:
                out[index] = numpy.nan
        return out


def cholesky_with_failures(a: object, floor: float = 0.0) -> tuple[object, object]:
    """(L, failed): lower factors A = L L^T of a stack (..., n, n) and which matrices have none.

    ``failed`` has the batch shape of ``a`` and stays on the device (no sync): True where
    A is not positive definite, or a pivot L_ii^2 (the variance of x_i given x_1..x_i-1)
    is at or below ``floor``. The factors of failed matrices are unspecified.
    """
    lower = _raw_cholesky(a)
    return lower, _cholesky_failed(lower, floor)


def cholesky(a: object, name: str = "the matrix") -> object:
    """Lower L with A = L L^T for a symmetric positive definite A of shape (..., n, n).

    Raises ``LinAlgError`` (a ``ValueError``) "<name> is not positive definite" on both backends.
    """
    lower, failed = cholesky_with_failures(a)
    if bool(failed.any()):
        raise LinAlgError(f"{name} is not positive definite")
    return lower


def upper_cholesky(a: object, factor=cholesky) -> object:
    """Upper-triangular U with A = U U^T, from A itself (the precision-Cholesky trick).

    With J the exchange matrix (ones on the anti-diagonal), chol(J A J) = M gives
    A = (J M J)(J M J)^T, and J M J is upper triangular (scikit-learn #26415). For a
    precision Lambda = U U^T, U^-T is a lower factor of the covariance Lambda^-1: no
    inverse is formed. ``factor`` is the lower-Cholesky routine to use: this one for
    arrays, the Tensor op ``cholesky`` for a differentiable factor (reversing the axes
    with basic slices works on both).
    """
    return factor(a[..., ::-1, ::-1])[..., ::-1, ::-1]


def half_log_det_cholesky(lower: object) -> object:
    """1/2 ln|A| = sum_i ln L_ii for A = L L^T; shape: the batch shape of L."""
    xp = _xp(lower)
    return xp.log(xp.diagonal(lower, axis1=-2, axis2=-1)).sum(axis=-1)


def cho_solve(lower: object, b: object) -> object:
    """A^-1 B for A = L L^T: two triangular solves, O(n^2) per column, no inverse."""
    return solve_triangular(lower, solve_triangular(lower, b, lower=True), lower=True, transpose=True)


# --------------------------------------------------------------------------- solves
def solve_triangular(a: object, b: object, lower: bool = True, transpose: bool = False) -> object:
    """Solve ``a x = b`` (or ``a^T x = b``) for a triangular ``a`` of shape (..., n, n).

    ``b`` has shape (..., n, k); the batch axes of ``a`` and ``b`` broadcast. Only the
    ``lower`` (or upper) triangle of ``a`` is read. One matrix ``a`` uses the O(n^2 k)
    triangular solver, with the batch of ``b`` folded into its columns (older SciPy and
    CuPy take only 2-D right-hand sides); stacks of matrices fall back to a general
    batched solve of the masked triangle.
    """
    xp = _xp(a)
    if a.ndim == 2:
        if _on_device(a):
            from cupyx.scipy.linalg import solve_triangular as triangular  # noqa: PLC0415
        else:
            from scipy.linalg import solve_triangular as triangular  # noqa: PLC0415
        n, batch = a.shape[-1], b.shape[:-2]
        columns = xp.moveaxis(b, -2, 0).reshape(n, -1) if batch else b
        x = triangular(a, columns, lower=lower, trans=1 if transpose else 0, check_finite=False)
        return xp.moveaxis(x.reshape((n,) + batch + b.shape[-1:]), 0, -2) if batch else x
    triangle = xp.tril(a) if lower else xp.triu(a)
    if transpose:
        triangle = xp.swapaxes(triangle, -1, -2)
    return _batched_solve(triangle, b)


def triangular_matmul(a: object, b: object, lower: bool = True, transpose: bool = False) -> object:
    """T b (or T^T b) with T the lower (or upper) triangle of ``a``; a (..., n, n), b (..., n, k).

    One NumPy matrix uses BLAS trmm, half the flops of a general product; stacks,
    and CuPy, multiply the masked triangle.
    """
    if a.ndim == 2 and b.ndim == 2 and not _on_device(a) and a.dtype == b.dtype and a.dtype.kind == "f":
        from scipy.linalg.blas import get_blas_funcs  # noqa: PLC0415

        trmm = get_blas_funcs("trmm", (a, b))
        return trmm(1.0, a, b, lower=int(lower), trans_a=int(transpose))
    xp = _xp(a)
    triangle = xp.tril(a) if lower else xp.triu(a)
    return (xp.swapaxes(triangle, -1, -2) if transpose else triangle) @ b


def _batched_solve(a: object, b: object) -> object:
    """``linalg.solve`` on operands broadcast to one batch shape: CuPy's solve does not broadcast."""
    xp = _xp(a)
    batch = numpy.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    if a.shape[:-2] != batch:
        a = xp.broadcast_to(a, batch + a.shape[-2:])
    if b.shape[:-2] != batch:
        b = xp.broadcast_to(b, batch + b.shape[-2:])
    return xp.linalg.solve(a, b)


def _check_invertible(result: object, operands: tuple, op: str, name: str) -> object:
    """Raise where a device solve or inverse of finite operands came back non-finite (a singular matrix).

    NumPy raises on its own (and its message is replaced by the same one); cuSOLVER
    leaves NaNs. Non-finite input gives non-finite output on both backends, without an error.
    """
    if _on_device(result):
        xp = _xp(result)
        finite_in = xp.stack([xp.isfinite(x).all() for x in operands]).all()
        if bool(finite_in & ~xp.isfinite(result).all()):
            raise LinAlgError(f"{op}: {name} is singular")
    return result


def solve(a: object, b: object, name: str = "A", check: bool = True) -> object:
    """X with A X = B; A of shape (..., n, n), B of shape (..., n, k), batch axes broadcast.

    Raises ``LinAlgError`` (a ``ValueError``) "solve: <name> is singular" on both backends.
    ``check=False`` skips the device read that finds a singular A on CuPy (for a hot path
    whose A cannot be singular, e.g. a validated Cholesky factor); NumPy still raises.
    """
    try:
        x = _batched_solve(a, b)
    except LinAlgError as exc:
        raise LinAlgError(f"solve: {name} is singular") from exc
    return _check_invertible(x, (a, b), "solve", name) if check else x


def inv(a: object, name: str = "A") -> object:
    """A^-1 for A of shape (..., n, n); raises ``LinAlgError`` "inv: <name> is singular" on both backends."""
    try:
        y = _xp(a).linalg.inv(a)
    except LinAlgError as exc:
        raise LinAlgError(f"inv: {name} is singular") from exc
    return _check_invertible(y, (a,), "inv", name)
