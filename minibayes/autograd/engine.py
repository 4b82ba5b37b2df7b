"""The backward pass: one iterative walk over the recorded graph.

Every recorded Function carries a *generation*: one more than the newest of
its inputs' creators. Popping nodes from a max-heap on generation therefore
visits a node only after every node that consumed its output, which is a
reverse topological order, without recursion (a 100,000-op chain is fine) and
without first listing the graph.

Gradients of intermediate tensors live in a dictionary only until their
creator has been visited; leaves receive theirs in ``.grad`` at the end (or,
for :func:`grad`, they are returned instead).
"""

from __future__ import annotations

import heapq
from typing import Sequence

from .. import backend
from .function import Function, _mode, is_anomaly_enabled
from .tensor import Tensor

__all__ = ["backward", "grad", "GraphError"]


class GraphError(RuntimeError):
    """The graph cannot be walked: nothing requires grad, or it was already freed."""


def backward(
    outputs: Sequence[Tensor],
    grad_outputs: Sequence[object],
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Sequence[Tensor] | None = None,
) -> list[Tensor | None] | None:
    """Propagate ``grad_outputs`` from ``outputs`` back through the graph.

    Without ``inputs``, gradients are added to ``.grad`` of every leaf that
    requires grad (and of non-leaves that called ``retain_grad``). With
    ``inputs``, nothing is written: their gradients are returned in order.
    """
    if retain_graph is None:
        retain_graph = create_graph
    capture = None if inputs is None else {id(x) for x in inputs}
    captured: dict[int, Tensor] = {}
    # id(tensor) -> [tensor, gradient]; holding the tensor keeps its id unique.
    pending: dict[int, list] = {}
    # Max-heap on generation; id(node) breaks ties so that nodes are never compared.
    heap: list[tuple[int, int, Function]] = []
    queued: set[int] = set()
    anomaly = is_anomaly_enabled()

    previous_mode = _mode.enabled
    _mode.enabled = create_graph  # record the backward pass only when asked to
    try:
        seeds = [_initial_gradient(out, seed, i) for i, (out, seed) in enumerate(zip(outputs, grad_outputs))]
        arrivals = list(zip(outputs, seeds))
        while True:
            for tensor, gradient in arrivals:
                entry = pending.get(id(tensor))
                if entry is not None:
                    entry[1] = entry[1] + gradient
                    continue
                pending[id(tensor)] = [tensor, gradient]
                creator = tensor.creator
                if creator is not None and id(creator) not in queued:
                    queued.add(id(creator))
                    heapq.heappush(heap, (-creator.generation, id(creator), creator))
            if not heap:
                break
            node = heapq.heappop(heap)[2]
            arrivals = _visit(node, pending, capture, captured, anomaly)
            if not retain_graph:
                node.release()

        # What is left in `pending` are leaves (tensors without a creator).
        for leaf, gradient in pending.values():
            if capture is not None:
                if id(leaf) in capture:
                    captured[id(leaf)] = gradient
            elif leaf.requires_grad:
                leaf.grad = gradient if leaf.grad is None else leaf.grad + gradient
    finally:
        _mode.enabled = previous_mode

    if capture is None:
        return None
    return [captured.get(id(x)) for x in inputs]


def _visit(
    node: Function,
    pending: dict[int, list],
    capture: set[int] | None,
    captured: dict[int, Tensor],
    anomaly: bool,
) -> list[tuple[Tensor, Tensor]]:
    """Run one node's backward; return (input, gradient) pairs for the inputs that need one."""
    inputs = node.inputs
    if inputs is None:
        raise GraphError(
            f"backward through '{node.name}' a second time: its graph was freed by the "
            "first backward. Pass retain_graph=True to the first call to keep it."
        )
    output = node._output_ref()
    gy = pending.pop(id(output))[1]
    if capture is not None:
        if id(output) in capture:
            captured[id(output)] = gy
    elif output.retains_grad:
        output.grad = gy if output.grad is None else output.grad + gy

    input_grads = node.backward(gy)
    if not isinstance(input_grads, tuple):
        input_grads = (input_grads,)
    arrivals = []
    for position, x in enumerate(inputs):
        gx = input_grads[position]
        if gx is None or not x.requires_grad:
            continue
        if gx.data.shape != x.data.shape:
            raise RuntimeError(
                f"internal error: backward of '{node.name}' gave a gradient of shape "
                f"{gx.shape} for input {position} of shape {x.shape}"
            )
        if anomaly:
            _check_finite(node, position, gx)
        arrivals.append((x, gx))
    return arrivals


def _initial_gradient(output: Tensor, seed: object, index: int) -> Tensor:
    """The gradient that starts the walk: 1 for a one-element output, else ``seed``."""
    if not isinstance(output, Tensor):
        raise TypeError(f"outputs[{index}] must be a Tensor, got {type(output).__name__}")
    if not output.requires_grad:
        raise GraphError(
            f"outputs[{index}] does not require grad: no input of its computation had "
            "requires_grad=True (or it was computed under mb.no_grad())"
        )
    module = backend.array_module(output.data)
    if seed is None:
        if output.size != 1:
            raise ValueError(
                f"backward() of a non-scalar output (shape {output.shape}) needs `grad`, the "
                "gradient with respect to that output, of the same shape; or reduce the output "
                "to a scalar first (e.g. .sum())"
            )
        return Tensor(module.ones_like(output.data))
    seed_tensor = seed if isinstance(seed, Tensor) else Tensor.constant(seed, like=output)
    if seed_tensor.shape != output.shape:
        raise ValueError(
            f"grad for outputs[{index}] has shape {seed_tensor.shape}, but the output has shape "
            f"{output.shape}; they must match"
        )
    return seed_tensor


def _check_finite(node: Function, position: int, gradient: Tensor) -> None:
    module = backend.array_module(gradient.data)
    if bool(module.isfinite(gradient.data).all()):
        return
    where = f"\nThe forward call of '{node.name}' was made at:\n{node.forward_trace}" if node.forward_trace else ""
    raise FloatingPointError(
        f"detect_anomaly: backward of '{node.name}' produced NaN or inf in the gradient for its "
        f"input {position} (shape {gradient.shape}).{where}"
    )


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: object = None,
    create_graph: bool = False,
    retain_graph: bool | None = None,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned, not stored in ``.grad``.

    Parameters
    ----------
    outputs : Tensor or sequence of Tensors
        What to differentiate. One-element outputs need no ``grad_outputs``.
    inputs : Tensor or sequence of Tensors
        With respect to what; leaves or intermediate tensors.
    grad_outputs : Tensor, array or sequence of them, optional
        The vector in the vector-Jacobian product, one per output.
    create_graph : bool
        Record the computation of the gradients so they can be differentiated again.
    retain_graph : bool, optional
        Keep the graph for another backward; defaults to ``create_graph``.
    allow_unused : bool
        Return ``None`` for an input the outputs do not depend on, instead of raising.

    Returns
    -------
    tuple of Tensor (or None where unused), one per input.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor) or hasattr(grad_outputs, "shape"):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad_outputs has {len(grad_outputs)} entries for {len(outputs)} outputs")
    for index, x in enumerate(inputs):
        if not isinstance(x, Tensor) or not x.requires_grad:
            raise ValueError(f"inputs[{index}] must be a Tensor with requires_grad=True")
    gradients = backward(outputs, grad_outputs, retain_graph, create_graph, inputs=inputs)
    if not allow_unused:
        unused = [i for i, g in enumerate(gradients) if g is None]
        if unused:
            raise ValueError(
                f"inputs {unused} were not used to compute the outputs; pass allow_unused=True "
                "to get None for them"
            )
    return tuple(gradients)
