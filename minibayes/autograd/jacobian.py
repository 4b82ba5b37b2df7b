"""The full Jacobian of a function by reverse mode: one vector-Jacobian product per output element.

J[i, j] = d f_i / d x_j is assembled row by row: row i is the gradient of f_i, i.e. the
vector-Jacobian product e_i^T J with the i-th unit vector. That costs one backward pass per
output element, which is what a test of a small map (D <= a few dozen) can afford and what
makes the result an independent check of hand-derived log-determinants (flows:
log |det df/dx| = ``slogdet(jacobian(f, x))``).
"""

from __future__ import annotations

from typing import Callable

from .. import backend
from .engine import grad
from .ops import reshape, stack
from .tensor import Tensor

__all__ = ["jacobian"]


def jacobian(fn: Callable[[Tensor], Tensor], x: object, create_graph: bool = False) -> Tensor:
    """J = df/dx of shape ``f(x).shape + x.shape``.

    Parameters
    ----------
    fn : callable Tensor -> Tensor
        The map; it must return a Tensor of floating dtype.
    x : array or Tensor
        The point; taken as a fresh leaf (a Tensor's graph is not followed further back).
    create_graph : bool
        Record the Jacobian's computation so that it can itself be differentiated.

    Returns
    -------
    Tensor of shape ``y.shape + x.shape``; an output element that does not depend on x has a zero row.
    """
    if not callable(fn):
        raise TypeError(f"jacobian: fn must be callable, got {type(fn).__name__}")
    data = x.data if isinstance(x, Tensor) else backend.asarray(x)
    if data.dtype.kind != "f":
        raise TypeError(f"jacobian: x must hold floating-point numbers, got dtype {data.dtype}")
    leaf = Tensor(data, requires_grad=True)
    y = fn(leaf)
    if not isinstance(y, Tensor):
        raise TypeError(f"jacobian: fn must return a Tensor, got {type(y).__name__}")
    flat = reshape(y, (-1,))
    xp = backend.array_module(data)
    rows = []
    for i in range(flat.shape[0]):
        (row,) = grad(flat[i], leaf, retain_graph=True, create_graph=create_graph, allow_unused=True)
        rows.append(Tensor(xp.zeros_like(data)) if row is None else row)
    if not rows:
        return Tensor(xp.zeros(y.shape + leaf.shape, dtype=data.dtype))
    return reshape(stack(rows, axis=0), y.shape + leaf.shape)
