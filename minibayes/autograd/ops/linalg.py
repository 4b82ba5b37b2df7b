"""Linear algebra: matmul, Cholesky, triangular and general solves, inverse, log-determinant.

Matrices may come in stacks: an array of shape (..., n, n) is a batch of
n x n matrices, as in ``numpy.linalg``. The backward formulas are the standard
matrix-calculus results (Giles 2008, "An extended collection of matrix
derivative results"; Murray 2016, "Differentiation of the Cholesky
decomposition"), written with Tensor ops so they can be differentiated again.
"""

from __future__ import annotations

from ... import backend
from .. import numerics
from ..function import Function, is_grad_enabled
from ..tensor import Tensor
from .shape import getitem, reshape, unbroadcast, unsqueeze
from .reduce import sum as sum_

__all__ = [
    "matmul", "linear", "cholesky", "solve_triangular", "triangular_matmul", "solve", "inv", "slogdet", "logdet",
    "diag", "trace",
]

_xp = backend.array_module


def _as_tensor(x: object) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor.constant(x)


def _check_square(a: Tensor, op: str, name: str = "A") -> None:
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{op}: {name} must be a square matrix or a stack of them, shape (..., n, n); got {a.shape}")


# --------------------------------------------------------------------------- matmul
class Matmul(Function):
    """``a @ b`` with NumPy's rules: 1-D operands are promoted, batch axes broadcast."""

    def forward(self, a, b):
        return a @ b

    def backward(self, gy):
        a, b = self.inputs
        if a.ndim == 1 and b.ndim == 1:  # inner product: gy is a scalar
            return gy * b if a.requires_grad else None, gy * a if b.requires_grad else None
        if a.ndim == 2 and b.ndim == 2:  # the dense-layer case, kept free of reshapes
            ga = gy @ b.T if a.requires_grad else None
            gb = a.T @ gy if b.requires_grad else None
            return ga, gb
        # Promote 1-D operands to matrices, as the forward did implicitly.
        a2 = a if a.ndim > 1 else unsqueeze(a, 0)
        b2 = b if b.ndim > 1 else unsqueeze(b, 1)
        g2 = gy
        if a.ndim == 1:
            g2 = unsqueeze(g2, -2)
        if b.ndim == 1:
            g2 = unsqueeze(g2, -1)
        ga = gb = None
        if a.requires_grad:
            ga = reshape(unbroadcast(g2 @ b2.mT, a2.shape), a.shape)
        if b.requires_grad:
            if b2.ndim == 2 and a2.ndim > 2:
                # A matrix shared across a batch: fold the batch into one product.
                k, m = b2.shape
                gb = reshape(a2, (-1, k)).T @ reshape(g2, (-1, m))
            else:
                gb = unbroadcast(a2.mT @ g2, b2.shape)
            gb = reshape(gb, b.shape)
        return ga, gb


def matmul(a: object, b: object) -> Tensor:
    a, b = _as_tensor(a), _as_tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must have at least 1 dimension, got shapes {a.shape} and {b.shape}")
    return Matmul()(a, b)


class Linear(Function):
    """The dense-layer map x W + b in one node: one product, the bias added in place.

    Fusing saves the temporary of a separate addition and one graph node per
    layer; the backward is the three products of the chain rule.
    """

    def forward(self, x, weight, bias=None):
        y = x @ weight
        if bias is not None:
            y += bias  # in place: y is a fresh array, and nothing else sees it yet
        return y

    def backward(self, gy):
        x, weight = self.inputs[0], self.inputs[1]
        gx = gy @ weight.T if x.requires_grad else None
        gw = None
        if weight.requires_grad:
            # A batch with extra leading axes folds into one product.
            gw = reshape(x, (-1, x.shape[-1])).T @ reshape(gy, (-1, gy.shape[-1]))
        if len(self.inputs) == 2:
            return gx, gw
        gb = unbroadcast(gy, self.inputs[2].shape) if self.inputs[2].requires_grad else None
        return gx, gw, gb


def linear(x: object, weight: object, bias: object = None) -> Tensor:
    """x @ W + b for x of shape (..., in), W of shape (in, out) and b of shape (out,)."""
    x, weight = _as_tensor(x), _as_tensor(weight)
    if weight.ndim != 2 or x.ndim < 1 or x.shape[-1] != weight.shape[0]:
        raise ValueError(
            f"linear: x of shape (..., {weight.shape[0] if weight.ndim == 2 else 'in'}) and weight of "
            f"shape (in, out) expected; got x {x.shape} and weight {weight.shape}"
        )
    if bias is None:
        return Linear()(x, weight)
    bias = _as_tensor(bias)
    if bias.shape != (weight.shape[1],):
        raise ValueError(f"linear: bias must have shape ({weight.shape[1]},), got {bias.shape}")
    return Linear()(x, weight, bias)


# --------------------------------------------------------------------------- factorisations and solves
def _tril_mask(n: int, dtype: object, module: object, diagonal_weight: float = 1.0) -> Tensor:
    mask = module.tril(module.ones((n, n), dtype=dtype))
    if diagonal_weight != 1.0:
        mask[module.arange(n), module.arange(n)] = diagonal_weight
    return Tensor(mask)


class Cholesky(Function):
    """L with A = L L^T, L lower triangular.

    Only the lower triangle of A is read, but the gradient is returned in the
    symmetric convention (as PyTorch does): it is right for any function of a
    symmetric matrix, e.g. ``cholesky(0.5 * (A + A.mT))``.
    """

    def forward(self, a):
        # LinAlgError (a ValueError) on both backends: cuSOLVER does not raise, numerics checks.
        return numerics.cholesky(a, "A")

    def backward(self, g_lower):
        lower = self.output
        if not is_grad_enabled() and lower.ndim == 2:
            # A first-order backward of one matrix: Murray's blocked algorithm on raw arrays,
            # about a third of the flops of the formula below (a GP fit spends most of its time here).
            return Tensor(_cholesky_adjoint_blocked(lower.data, g_lower.data))
        # Murray (2016) eq. 10: dA = L^-T Phi(L^T dL) L^-1, Phi = lower triangle with half diagonal.
        # Written in Tensor ops, so that create_graph=True can differentiate it again.
        n = lower.shape[-1]
        phi = _tril_mask(n, g_lower.dtype, _xp(g_lower.data), diagonal_weight=0.5)
        p = triangular_matmul(lower, g_lower, lower=True, transpose=True) * phi  # L^T dL, as a triangular product
        left = solve_triangular(lower, p, lower=True, transpose=True)  # L^-T P
        s = solve_triangular(lower, left.mT, lower=True, transpose=True).mT  # (L^-T P) L^-1
        return 0.5 * (s + s.mT)


_CHOLESKY_BLOCK = 128


def _cholesky_adjoint_small(lower, inverse, g_lower):
    """Murray (2016) eq. 10 on raw arrays for one small block: sym(L^-T Phi(L^T dL) L^-1), given L^-1."""
    xp = _xp(lower)
    n = lower.shape[0]
    phi = xp.tril(xp.ones((n, n), dtype=lower.dtype))
    phi[xp.arange(n), xp.arange(n)] = 0.5
    s = inverse.T @ ((lower.T @ g_lower) * phi) @ inverse
    return 0.5 * (s + s.T)


def _cholesky_adjoint_blocked(lower, g_lower, block: int = _CHOLESKY_BLOCK):
    """The symmetric adjoint of A = L L^T from that of L, by Murray's blocked algorithm (2016, §3.3).

    Walks the block columns of L from the last to the first. With the block j:k of the
    factorisation written as D = chol(A_jj - R R^T) and C = (A_kj - B R^T) D^-T
    (R = L[j:k, :j], B = L[k:, :j]), each step reverses those two lines: the adjoint of C
    goes through D^-1 to A_kj, B, R and D; that of D through the small-block formula to
    A_jj and R. G collects the adjoint with respect to the lower triangle of A (an
    off-diagonal entry counted once), so the symmetric adjoint is (G + G^T)/2. Costs about
    n^3 flops where eq. 10 takes 3 n^3, all of it in matrix products.
    """
    xp = _xp(lower)
    n = lower.shape[0]
    G = xp.tril(g_lower)
    for k in range(n, 0, -block):
        j = max(0, k - block)
        R, D, B, C = lower[j:k, :j], lower[j:k, j:k], lower[k:, :j], lower[k:, j:k]
        # The inverse of a small diagonal block, once: it is applied three times below, and a
        # product keeps the work in the BLAS of the matrix products around it.
        D_inverse = numerics.solve_triangular(D, xp.eye(k - j, dtype=D.dtype), lower=True)  # D is lower triangular
        if k < n:
            Y = G[k:, j:k] @ D_inverse  # adjoint of A_kj: C_bar D^-1
            G[k:, j:k] = Y
            G[k:, :j] -= Y @ R
            G[j:k, :j] -= Y.T @ B
            G[j:k, j:k] -= xp.tril(Y.T @ C)
        symmetric = _cholesky_adjoint_small(D, D_inverse, G[j:k, j:k])
        G_D = xp.tril(symmetric) + xp.tril(symmetric, -1)  # lower-triangle convention: off-diagonal twice
        G[j:k, j:k] = G_D
        G[j:k, :j] -= (G_D + G_D.T) @ R
    return 0.5 * (G + G.T)


def _read_triangle(gradient: Tensor, lower: bool, shape: tuple[int, ...]) -> Tensor:
    """The gradient of an op that reads only the ``lower`` (or upper) triangle of A, reduced to A's shape."""
    mask = _tril_mask(gradient.shape[-1], gradient.dtype, _xp(gradient.data))
    return unbroadcast(gradient * (mask if lower else mask.mT), shape)


class SolveTriangular(Function):
    """X with A X = B (or A^T X = B), A triangular (only its ``lower`` or upper triangle is read)."""

    def __init__(self, lower: bool, transpose: bool) -> None:
        self.lower, self.transpose = lower, transpose

    def forward(self, a, b):
        return numerics.solve_triangular(a, b, lower=self.lower, transpose=self.transpose)

    def backward(self, gx):
        a, b = self.inputs
        x = self.output
        gb = solve_triangular(a, gx, lower=self.lower, transpose=not self.transpose)
        ga = None
        if a.requires_grad:
            # A X = B: dA = -dB X^T.   A^T X = B: dA = -(dB X^T)^T = -X dB^T.
            outer = -(x @ gb.mT) if self.transpose else -(gb @ x.mT)
            ga = _read_triangle(outer, self.lower, a.shape)
        return ga, unbroadcast(gb, b.shape) if b.requires_grad else None


class TriangularMatmul(Function):
    """Y = T B (or T^T B), T the lower (or upper) triangle of A: half the flops of a general product."""

    def __init__(self, lower: bool, transpose: bool) -> None:
        self.lower, self.transpose = lower, transpose

    def forward(self, a, b):
        return numerics.triangular_matmul(a, b, lower=self.lower, transpose=self.transpose)

    def backward(self, gy):
        a, b = self.inputs
        # Y = T B: dB = T^T dY.   Y = T^T B: dB = T dY.
        gb = triangular_matmul(a, gy, lower=self.lower, transpose=not self.transpose) if b.requires_grad else None
        ga = None
        if a.requires_grad:
            # Y = T B: dT = dY B^T.   Y = T^T B: dT = (dY B^T)^T = B dY^T. Only the triangle counts.
            outer = b @ gy.mT if self.transpose else gy @ b.mT
            ga = _read_triangle(outer, self.lower, a.shape)
        return ga, unbroadcast(gb, b.shape) if gb is not None else None


class Solve(Function):
    """X with A X = B; the batch axes of A and B broadcast, on both backends."""

    def __init__(self, check: bool = True) -> None:
        self.check = check

    def forward(self, a, b):
        return numerics.solve(a, b, check=self.check)

    def backward(self, gx):
        a, b = self.inputs
        gb = solve(a.mT, gx, check=False)  # dB = A^-T dX; the forward has checked A
        ga = unbroadcast(-(gb @ self.output.mT), a.shape) if a.requires_grad else None
        return ga, unbroadcast(gb, b.shape) if b.requires_grad else None


class Inv(Function):
    def forward(self, a):
        return numerics.inv(a)

    def backward(self, gy):
        y = self.output
        return -(y.mT @ gy @ y.mT)  # d(A^-1) = -A^-1 dA A^-1


class LogAbsDet(Function):
    """log |det A|, whose gradient is A^-T."""

    def forward(self, a):
        self.sign, logabs = _xp(a).linalg.slogdet(a)
        return logabs

    def backward(self, gy):
        a = self.inputs[0]
        return unsqueeze(unsqueeze(gy, -1), -1) * inv(a).mT


def _solve_args(a: object, b: object, op: str) -> tuple[Tensor, Tensor, bool]:
    """Check shapes and promote a vector right-hand side to a one-column matrix."""
    a, b = _as_tensor(a), _as_tensor(b)
    _check_square(a, op)
    vector = b.ndim == 1
    if vector:
        b = unsqueeze(b, -1)
    if b.ndim < 2 or b.shape[-2] != a.shape[-1]:
        raise ValueError(
            f"{op}: b must have shape (n,) or (..., n, k) with n = {a.shape[-1]} to match A {a.shape}; got {b.shape}"
        )
    return a, b, vector


def cholesky(a: object) -> Tensor:
    """Lower Cholesky factor L of a symmetric positive definite A = L L^T (shape (..., n, n))."""
    a = _as_tensor(a)
    _check_square(a, "cholesky")
    return Cholesky()(a)


def solve_triangular(a: object, b: object, lower: bool = True, transpose: bool = False) -> Tensor:
    """Solve A x = b (``transpose``: A^T x = b) for triangular A of shape (..., n, n); b is (n,) or (..., n, k)."""
    a, b, vector = _solve_args(a, b, "solve_triangular")
    x = SolveTriangular(lower, transpose)(a, b)
    return x[..., 0] if vector else x


def triangular_matmul(a: object, b: object, lower: bool = True, transpose: bool = False) -> Tensor:
    """T b (``transpose``: T^T b), T the lower (or upper) triangle of A (..., n, n); b is (n,) or (..., n, k)."""
    a, b, vector = _solve_args(a, b, "triangular_matmul")
    y = TriangularMatmul(lower, transpose)(a, b)
    return y[..., 0] if vector else y


def solve(a: object, b: object, check: bool = True) -> Tensor:
    """Solve A x = b for square A of shape (..., n, n); b is (n,) or (..., n, k); batch axes broadcast.

    A singular A raises ``LinAlgError`` on both backends; on CuPy that costs one device read.
    ``check=False`` skips it where A cannot be singular (a Cholesky factor in a hot path):
    a singular A then gives non-finite numbers on CuPy.
    """
    a, b, vector = _solve_args(a, b, "solve")
    x = Solve(check)(a, b)
    return x[..., 0] if vector else x


def inv(a: object) -> Tensor:
    """Matrix inverse. Prefer ``solve`` or ``cholesky`` where the inverse is only applied."""
    a = _as_tensor(a)
    _check_square(a, "inv")
    return Inv()(a)


def slogdet(a: object) -> tuple[Tensor, Tensor]:
    """(sign, log |det A|) for A of shape (..., n, n); only the second carries a gradient."""
    a = _as_tensor(a)
    _check_square(a, "slogdet")
    function = LogAbsDet()
    logabs = function(a)
    return Tensor(function.sign), logabs


def logdet(a: object) -> Tensor:
    """log det A for a matrix with positive determinant (e.g. a covariance); use slogdet otherwise."""
    sign, logabs = slogdet(a)
    if not bool((sign.data > 0).all()):
        raise ValueError("logdet: the determinant is not positive; use slogdet for the sign and log |det|")
    return logabs


# --------------------------------------------------------------------------- diagonal
class DiagEmbed(Function):
    """A vector of length n placed on the diagonal of an n x n zero matrix."""

    def forward(self, v):
        return _xp(v).diag(v)

    def backward(self, gy):
        index = _xp(gy.data).arange(gy.shape[0])
        return getitem(gy, (index, index))


def diag(x: object) -> Tensor:
    """As ``numpy.diag``: the diagonal of a matrix, or a diagonal matrix from a vector."""
    x = _as_tensor(x)
    if x.ndim == 1:
        return DiagEmbed()(x)
    if x.ndim == 2:
        index = _xp(x.data).arange(min(x.shape))
        return getitem(x, (index, index))
    raise ValueError(f"diag: x must be 1-D or 2-D, got shape {x.shape}")


def trace(x: object) -> Tensor:
    """Sum of the diagonal of a matrix."""
    x = _as_tensor(x)
    if x.ndim != 2:
        raise ValueError(f"trace: x must be a 2-D matrix, got shape {x.shape}")
    return sum_(diag(x))
