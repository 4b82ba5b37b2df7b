"""Special functions: log-gamma and its derivatives, the polygamma family.

The normalising constants of the Beta, Dirichlet, Gamma, Wishart, Binomial and
Multinomial distributions are ratios of Gamma functions, so their log-densities
need ``lgamma`` differentiable in the parameters::

    d/dx ln Gamma(x) = psi(x)                (digamma)
    d/dx psi^(n)(x)  = psi^(n+1)(x)          (polygamma of order n + 1)

Each backward is again a polygamma, so derivatives of every order exist
(``create_graph=True`` gives the Fisher information of a Gamma's shape, say).
The forward passes come from ``scipy.special`` or ``cupyx.scipy.special``.
"""

from __future__ import annotations

from ... import backend
from .. import numerics
from ..function import Function
from ..tensor import Tensor

__all__ = ["lgamma", "digamma", "polygamma"]


class LGamma(Function):
    def forward(self, x):
        return numerics.special(x).gammaln(x)

    def backward(self, gy):
        # d ln Gamma(x)/dx = psi(x)
        return gy * digamma(self.inputs[0])


class Polygamma(Function):
    """psi^(n)(x), the n-th derivative of the digamma function (n = 0: digamma itself)."""

    def __init__(self, order: int) -> None:
        self.order = order

    @property
    def name(self) -> str:
        return "digamma" if self.order == 0 else f"polygamma({self.order})"

    def forward(self, x):
        special = numerics.special(x)
        if self.order == 0:
            return special.digamma(x)
        # The order as an array: CuPy's polygamma calls array methods on it. SciPy's returns
        # float64 for float32 input; keep the input's dtype.
        order = backend.array_module(x).full(x.shape, self.order)
        return special.polygamma(order, x).astype(x.dtype, copy=False)

    def backward(self, gy):
        # d psi^(n)(x)/dx = psi^(n+1)(x)
        return gy * polygamma(self.order + 1, self.inputs[0])


def lgamma(x: object) -> Tensor:
    """ln Gamma(x), elementwise (for x > 0 the log of the Gamma function)."""
    return LGamma()(x)


def digamma(x: object) -> Tensor:
    """psi(x) = d ln Gamma(x)/dx, elementwise."""
    return Polygamma(0)(x)


def polygamma(n: int, x: object) -> Tensor:
    """psi^(n)(x), the n-th derivative of the digamma function, elementwise (n = 0, 1, 2, ...)."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError(f"polygamma: order n must be a non-negative int, got {n!r}")
    return Polygamma(n)(x)
