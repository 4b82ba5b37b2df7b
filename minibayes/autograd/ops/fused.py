"""Fused ops: one node for a whole formula, with a closed-form gradient and a graph-op twin.

An op made of many small graph ops (an LSTM unrolled over 50 steps, batch normalisation) pays
the engine's per-op Python cost at every one of them, forward and backward. A fused op computes
its forward on raw arrays in one ``Function``, and its backward is one more node,
``FusedGradient``: the vector-Jacobian product J(p)^T g from a closed form, also on raw arrays,
packed into one flat array (the engine's nodes have one output) and sliced back per input.

Double backprop stays exact without a second closed form: the op keeps a *twin*, the same
forward written with ordinary graph ops (the readable definition), and ``FusedGradient``
differentiates the twin's recorded first derivative when its own derivative is asked for
(``create_graph=True``: gradient penalties, Hessian-vector products). The op table checks both:
the closed form against central differences of the forward, the twin against central
differences of the closed form (``gradgradcheck``).
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

from ... import backend
from ..engine import grad
from ..function import Function, enable_grad, is_grad_enabled
from ..tensor import Tensor
from .shape import concatenate, getitem, reshape

__all__ = ["FusedGradient", "unpack"]


def unpack(flat: Tensor, shapes: Sequence[tuple[int, ...]]) -> tuple[Tensor, ...]:
    """Consecutive pieces of a flat Tensor, reshaped: views of its array, graph ops on its Tensor."""
    pieces, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        pieces.append(reshape(getitem(flat, (slice(start, start + size),)), shape))
        start += size
    return tuple(pieces)


def _twin_gradient(twin: Callable[..., Tensor], primals: Sequence[Tensor], cotangent: Tensor) -> Tensor:
    """J(p)^T g of the twin, recorded (differentiable in p and g), packed flat like the closed form.

    Primals that need no gradient get zeros: the closed form fills their slots too.
    """
    wanted = [p for p in primals if p.requires_grad]
    xp = backend.array_module(cotangent.data)
    with enable_grad():  # recorded even inside a backward pass that records nothing
        output = twin(*primals)
        found = grad(output, wanted, cotangent, create_graph=True, allow_unused=True) if wanted else ()
        gradients = dict(zip(map(id, wanted), found))
        flat = [reshape(Tensor(xp.zeros(p.shape, dtype=p.dtype)) if gradients.get(id(p)) is None
                        else gradients[id(p)], (-1,)) for p in primals]
        return concatenate(flat)


class FusedGradient(Function):
    """y = J(p)^T g, packed flat, for inputs (p_1, ..., p_k, g): the backward node of a fused op.

    Parameters
    ----------
    closed_form : callable(g array) -> flat array
        The fused op's own VJP on raw arrays (it may use what the op's forward kept).
    twin : callable(*primals as Tensors) -> Tensor
        The op's forward in graph ops; only differentiated for second and higher derivatives.
    """

    def __init__(self, closed_form: Callable[[object], object], twin: Callable[..., Tensor]) -> None:
        self.closed_form, self.twin = closed_form, twin

    def forward(self, *arrays):
        return self.closed_form(arrays[-1])

    def backward(self, gg):
        *primals, cotangent = self.inputs
        wanted = [x for x in self.inputs if x.requires_grad]
        recording = is_grad_enabled()
        # d<gg, J(p)^T g>/d(p, g): differentiate the twin's recorded first derivative once more.
        first = _twin_gradient(self.twin, primals, cotangent)
        if not first.requires_grad:  # J^T g depends on nothing that needs a gradient
            return (None,) * len(self.inputs)
        found = grad(first, wanted, gg, create_graph=recording, allow_unused=True)
        gradients = dict(zip(map(id, wanted), found))
        return tuple(gradients.get(id(x)) for x in self.inputs)
