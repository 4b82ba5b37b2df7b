"""Function: one differentiable operation, its forward and its backward side by side.

An op is a small subclass::

    class Exp(Function):
        def forward(self, x):            # raw arrays in, raw array out
            return xp.exp(x)
        def backward(self, gy):          # Tensors in, Tensors out
            return gy * self.output      # d exp(x)/dx = exp(x)

``forward`` works on backend arrays, so it is as fast as NumPy/CuPy allow.
``backward`` is written with Tensor operations, so when the backward pass is
itself recorded (``create_graph=True``) it builds a graph that can be
differentiated again: Hessian-vector products and gradient penalties come for
free. With ``create_graph=False`` the backward pass runs under ``no_grad`` and
records nothing.

Calling an instance (``Exp()(x)``) runs ``forward`` and, when gradients are
being recorded and some input requires them, remembers the inputs and links
the output to this node. That link is the whole graph.
"""

from __future__ import annotations

import contextlib
import threading
import traceback
import weakref
from typing import TYPE_CHECKING, Iterator

from numpy.linalg import LinAlgError

from ..backend import backend_name_of

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = [
    "Function",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
    "detect_anomaly",
    "is_anomaly_enabled",
]


class _GradMode(threading.local):
    """Whether operations are recorded, and whether anomaly detection is on (per thread)."""

    enabled = True
    anomaly = False


_mode = _GradMode()


def is_grad_enabled() -> bool:
    return _mode.enabled


@contextlib.contextmanager
def set_grad_enabled(enabled: bool) -> Iterator[None]:
    """Record operations (``True``) or not (``False``) inside the block."""
    previous = _mode.enabled
    _mode.enabled = bool(enabled)
    try:
        yield
    finally:
        _mode.enabled = previous


def no_grad() -> contextlib.AbstractContextManager[None]:
    """Context manager: nothing inside is recorded for backward (inference, optimiser updates)."""
    return set_grad_enabled(False)


def enable_grad() -> contextlib.AbstractContextManager[None]:
    """Context manager: record operations even inside ``no_grad``."""
    return set_grad_enabled(True)


def is_anomaly_enabled() -> bool:
    return _mode.anomaly


@contextlib.contextmanager
def detect_anomaly() -> Iterator[None]:
    """Check every gradient the backward pass produces for NaN/inf.

    The first non-finite gradient raises ``FloatingPointError`` naming the op
    whose backward produced it and where that op was called in the forward
    pass. Costs a finiteness check per node: a debugging tool, off by default.
    """
    previous = _mode.anomaly
    _mode.anomaly = True
    try:
        yield
    finally:
        _mode.anomaly = previous


class Function:
    """Base class of every differentiable operation.

    Attributes set when the call is recorded
    ----------------------------------------
    inputs : tuple of Tensor
        The operands, kept for backward. ``None`` once the graph is freed.
    generation : int
        1 + the largest generation among the inputs' creators; the backward
        walk visits higher generations first, which is a topological order.
    """

    inputs: tuple[Tensor, ...] | None = None
    generation = 0
    forward_trace: str | None = None

    @property
    def name(self) -> str:
        return type(self).__name__.lower()

    def __call__(self, *operands: object) -> Tensor:
        inputs = operands
        for x in operands:
            if not isinstance(x, Tensor):
                inputs = tuple(x if isinstance(x, Tensor) else Tensor.constant(x) for x in operands)
                break
        arrays = [x.data for x in inputs]
        if len(arrays) > 1:
            _check_same_backend(self, arrays)
        try:
            result = self.forward(*arrays)
        except ValueError as exc:
            shapes = ", ".join(str(tuple(a.shape)) for a in arrays)
            # A LinAlgError (a ValueError) keeps its type: callers catch it to step away from a
            # singular matrix (a GP's line search), on both backends.
            kind = LinAlgError if isinstance(exc, LinAlgError) else ValueError
            raise kind(f"{self.name}: {exc} (input shapes: {shapes})") from exc
        output = Tensor(result)
        if _mode.enabled and output.data.dtype.kind in "fc":
            # Record only when some input needs a gradient; integer results never carry one.
            for x in inputs:
                if x.requires_grad:
                    self._record(inputs, output)
                    break
        return output

    def _record(self, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        """Link ``output`` to this node and keep what backward needs."""
        newest = 0
        for x in inputs:
            creator = x.creator
            if creator is not None and creator.generation > newest:
                newest = creator.generation
        self.generation = newest + 1
        self.inputs = inputs
        self._output_ref = weakref.ref(output)
        output.requires_grad = True
        output.creator = self
        if _mode.anomaly:
            self.forward_trace = "".join(traceback.format_stack(limit=9)[:-2])

    @property
    def output(self) -> Tensor:
        """The Tensor this call produced (held weakly: the graph points backwards only)."""
        return self._output_ref()

    def forward(self, *xs: object) -> object:
        """Compute the result from raw backend arrays."""
        raise NotImplementedError

    def backward(self, gy: Tensor) -> Tensor | tuple[Tensor | None, ...] | None:
        """Turn the output's gradient into one gradient per input, with Tensor ops.

        Return a Tensor for a single input, or a tuple with one entry per input
        (``None`` for an input that has no gradient, such as a mask).
        """
        raise NotImplementedError

    def release(self) -> None:
        """Free the graph below this node: inputs and anything saved for backward."""
        self.__dict__.clear()


def _check_same_backend(function: Function, arrays: list[object]) -> None:
    """Refuse operands from two backends, naming the op and where each operand lives."""
    first = type(arrays[0])
    for array in arrays:
        if type(array) is not first:
            break
    else:
        return
    names = [backend_name_of(a) for a in arrays]
    if len(set(names)) > 1:
        where = ", ".join(f"input {i} on {n}" for i, n in enumerate(names))
        raise TypeError(
            f"{function.name}: operands live on different backends ({where}); move them to one "
            "backend first with mb.asarray(...) or mb.tensor(...) inside mb.using(name)"
        )


# Imported last: tensor.py uses Function, and Function.__call__ wraps outputs in Tensor.
from .tensor import Tensor  # noqa: E402
