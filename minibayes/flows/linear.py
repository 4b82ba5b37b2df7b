"""Linear bijectors: a fixed permutation, and an invertible linear map in LU form (Glow's 1x1 convolution).

Permutation: z = x[..., order], log |det| = 0 (a permutation matrix has determinant +-1).

InvertibleLinear (Kingma & Dhariwal 2018, section 3.2, eq. 10), for row vectors:

    z = x W,   W = P L (U + diag(sign * exp(log_s))),   log |det dz/dx| = sum_j log_s_j

with P a fixed permutation, L unit lower triangular, U strictly upper triangular: the
determinant is the product of the triangles' diagonals, so it costs O(D) instead of O(D^3),
and W stays invertible whatever values training gives the parameters (exp(log_s) > 0).
The inverse is two triangular solves.
"""

from __future__ import annotations

import numpy
import scipy.linalg

from .. import backend
from ..autograd import ops
from ..autograd.tensor import Tensor
from ..nn.module import Parameter
from .bijector import Bijector, broadcast_log_det

__all__ = ["Permutation", "InvertibleLinear"]

PERMUTATION_KINDS = ("reverse", "random")


def _host_generator(random_state: object) -> numpy.random.Generator:
    """A NumPy generator for host-side initialisation: ``random_state`` (an int) or one seeded from the backend."""
    if random_state is None:
        return numpy.random.default_rng(int(backend.to_numpy(backend.rng().integers(0, 2**31, size=()))))
    if isinstance(random_state, bool) or not isinstance(random_state, (int, numpy.integer)) or random_state < 0:
        raise ValueError(f"random_state must be a non-negative int or None, got {random_state!r}")
    return numpy.random.default_rng(int(random_state))


class Permutation(Bijector):
    """z = x[..., order] with order the reversal of 0..D-1 or a random permutation; log_det = 0.

    Parameters
    ----------
    dim : int
    kind : "reverse" or "random"
        Reversal is what MAF stacks between its layers (Papamakarios et al. section 3.1).
    random_state : int, optional
        Seed of the random order; from the backend generator (``mb.seed``) when omitted.

    The order is a buffer, so a saved and loaded flow keeps its permutation.
    """

    def __init__(self, dim: int, kind: str = "reverse", random_state: object = None) -> None:
        super().__init__(dim)
        if kind not in PERMUTATION_KINDS:
            raise ValueError(f"Permutation: kind must be one of {PERMUTATION_KINDS}, got {kind!r}")
        self.kind = kind
        order = numpy.arange(self.event_dim)[::-1] if kind == "reverse" else \
            _host_generator(random_state).permutation(self.event_dim)
        self.register_buffer("order", backend.asarray(numpy.ascontiguousarray(order)))
        self.register_buffer("inverse_order", backend.asarray(numpy.argsort(order)))

    def _permute(self, x: Tensor, order: object) -> Tensor:
        if self.kind == "reverse":
            return x[:, ::-1]  # a basic slice: its gradient is a slice too, not a scatter-add
        return ops.getitem(x, (slice(None), order))

    def _forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self._permute(x, self.order), Tensor(backend.array_module(x.data).zeros(x.shape[0], dtype=x.dtype))

    def _inverse(self, z: Tensor) -> tuple[Tensor, Tensor]:
        return self._permute(z, self.inverse_order), Tensor(backend.array_module(z.data).zeros(z.shape[0], dtype=z.dtype))

    def _template(self) -> Tensor | None:
        return None

    def extra_repr(self) -> str:
        return f"event_dim={self.event_dim}, kind={self.kind!r}"


class InvertibleLinear(Bijector):
    """z = x P L (U + diag(sign exp(log_s))), log_det = sum log_s  (Glow section 3.2, LU form).

    Parameters
    ----------
    dim : int
    random_state : int, optional
        Seed of the initial W, a random rotation (Glow's initialisation), factorised once on the host.
    dtype : dtype, optional

    Attributes
    ----------
    lower, upper : Parameter (D, D)
        Only their strict lower / upper triangles are used.
    log_s : Parameter (D,)
    permutation, sign : buffers; fixed after initialisation.
    """

    def __init__(self, dim: int, random_state: object = None, dtype: object = None) -> None:
        super().__init__(dim)
        dtype = numpy.dtype(backend.get_default_dtype() if dtype is None else dtype)
        d = self.event_dim
        rotation, _ = numpy.linalg.qr(_host_generator(random_state).standard_normal((d, d)))
        p, lower, upper = scipy.linalg.lu(rotation)  # rotation = p @ lower @ upper
        diagonal = numpy.diag(upper)
        self.lower = Parameter(backend.asarray(numpy.tril(lower, -1), dtype=dtype))
        self.upper = Parameter(backend.asarray(numpy.triu(upper, 1), dtype=dtype))
        self.log_s = Parameter(backend.asarray(numpy.log(numpy.abs(diagonal)), dtype=dtype))
        self.register_buffer("permutation", backend.asarray(p, dtype=dtype))
        self.register_buffer("sign", backend.asarray(numpy.sign(diagonal), dtype=dtype))
        self.register_buffer("strict_lower", backend.asarray(numpy.tril(numpy.ones((d, d)), -1), dtype=dtype))
        self.register_buffer("identity", backend.asarray(numpy.eye(d), dtype=dtype))

    def factors(self) -> tuple[Tensor, Tensor]:
        """(L, U'): L unit lower triangular, U' = U + diag(sign exp(log_s)) upper triangular."""
        L = self.lower * self.strict_lower + self.identity
        U = self.upper * self.strict_lower.T + ops.diag(self.sign * ops.exp(self.log_s))
        return L, U

    def weight(self) -> Tensor:
        """W = P L U', the (D, D) matrix of z = x W."""
        L, U = self.factors()
        return ops.matmul(ops.matmul(self.permutation, L), U)

    def _forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        L, U = self.factors()
        # Three (batch, D) x (D, D) products: cheaper than forming W when batch < D.
        z = ops.matmul(ops.matmul(ops.matmul(x, self.permutation), L), U)
        return z, broadcast_log_det(ops.sum(self.log_s), x.shape[0])

    def _inverse(self, z: Tensor) -> tuple[Tensor, Tensor]:
        # x = z U'^-1 L^-1 P^T; for columns: U'^T a = z^T, L^T b = a, x^T = P b.
        L, U = self.factors()
        a = ops.solve_triangular(U, z.T, lower=False, transpose=True)
        b = ops.solve_triangular(L, a, lower=True, transpose=True)
        return ops.matmul(b.T, self.permutation.T), broadcast_log_det(-ops.sum(self.log_s), z.shape[0])
