"""Gradient checks by central differences, in float64.

``gradcheck(fn, inputs)`` draws a random cotangent u of fn's output shape and
compares, for every element x_j of every input, the analytic vector-Jacobian
product (u^T J)_j from one backward pass with the central difference

    (u . fn(x + eps e_j) - u . fn(x - eps e_j)) / (2 eps),

whose error is O(eps^2). A random u makes every column of J count: a wrong
entry anywhere shows up unless u is exactly orthogonal to it, which has
probability zero.

``gradgradcheck`` applies the same test to the function that maps the inputs
to their first-order gradients (computed with ``create_graph=True``), which
checks every backward formula's own derivative.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy

from .. import backend
from .engine import grad
from .ops import concatenate, reshape
from .tensor import Tensor

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with its central-difference estimate."""


def _function_name(fn: Callable) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def _prepare(inputs: Sequence[object], check: str) -> list[Tensor]:
    tensors = []
    for index, x in enumerate(inputs):
        data = x.data if isinstance(x, Tensor) else backend.asarray(x)
        requires_grad = x.requires_grad if isinstance(x, Tensor) else False
        # A private copy: the check perturbs elements in place.
        x = Tensor(data.copy(), requires_grad=requires_grad)
        if x.dtype.kind == "f" and x.dtype != numpy.float64:
            raise TypeError(
                f"{check}: input {index} is {x.dtype}; central differences need float64 inputs "
                "(convert with mb.tensor(x, dtype='float64', requires_grad=True))"
            )
        tensors.append(x)
    if not any(x.requires_grad for x in tensors):
        raise ValueError(f"{check}: no input has requires_grad=True, so there is nothing to check")
    return tensors


def _as_output(value: object, fn: Callable) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"gradcheck: {_function_name(fn)} must return a Tensor, got {type(value).__name__}")
    return value


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[object],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
    raise_exception: bool = True,
) -> bool:
    """Check the gradients of ``fn`` at ``inputs`` against central differences.

    Parameters
    ----------
    fn : callable
        Maps the input Tensors to one output Tensor (any shape).
    inputs : sequence of Tensors
        float64 tensors; those with ``requires_grad=True`` are checked.
    eps : float
        Step of the central difference.
    atol, rtol : float
        Each element passes when |analytic - numeric| <= atol + rtol |numeric|.
    seed : int
        Seed of the random cotangent.
    raise_exception : bool
        Raise :class:`GradcheckError` on failure (else return False).

    Returns
    -------
    True when every element agrees.
    """
    tensors = _prepare(inputs, "gradcheck")
    output = _as_output(fn(*tensors), fn)
    module = backend.array_module(output.data)
    cotangent = numpy.random.default_rng(seed).standard_normal(output.shape)
    cotangent = module.asarray(cotangent, dtype=output.dtype)

    checked = [x for x in tensors if x.requires_grad]
    if not output.requires_grad:
        analytic = [module.zeros_like(x.data) for x in checked]
    else:
        gradients = grad(output, checked, grad_outputs=Tensor(cotangent), allow_unused=True)
        analytic = [
            module.zeros_like(x.data) if g is None else g.data for x, g in zip(checked, gradients)
        ]

    def projected() -> float:
        # Evaluated with recording on: fn may itself differentiate (as in gradgradcheck).
        return float((fn(*tensors).data * cotangent).sum())

    positions = [i for i, x in enumerate(tensors) if x.requires_grad]
    for index_of_input, x, analytic_grad in zip(positions, checked, analytic):
        data = x.data
        numeric = module.zeros(data.shape, dtype=numpy.float64)
        for position in numpy.ndindex(*data.shape):
            original = data[position].item()
            data[position] = original + eps
            plus = projected()
            data[position] = original - eps
            minus = projected()
            data[position] = original
            numeric[position] = (plus - minus) / (2 * eps)
        error = module.abs(analytic_grad - numeric) - (atol + rtol * module.abs(numeric))
        if data.size and float(error.max()) > 0:
            worst = numpy.unravel_index(int(backend.to_numpy(error).argmax()), data.shape)
            message = (
                f"gradcheck failed for {_function_name(fn)}: input {index_of_input} "
                f"(shape {data.shape}), worst element {tuple(int(i) for i in worst)}: "
                f"analytic {float(analytic_grad[worst]):.10g} vs numeric {float(numeric[worst]):.10g} "
                f"(atol={atol}, rtol={rtol}, eps={eps})"
            )
            if raise_exception:
                raise GradcheckError(message)
            return False
    return True


def gradgradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[object],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
    raise_exception: bool = True,
) -> bool:
    """Check second derivatives: gradcheck of x -> (u^T J(x)) for a fixed random u.

    Arguments as for :func:`gradcheck`.
    """
    tensors = _prepare(inputs, "gradgradcheck")
    probe = _as_output(fn(*tensors), fn)
    module = backend.array_module(probe.data)
    cotangent = numpy.random.default_rng(seed + 1).standard_normal(probe.shape)
    cotangent = Tensor(module.asarray(cotangent, dtype=probe.dtype))

    def first_derivatives(*xs: Tensor) -> Tensor:
        output = fn(*xs)
        wrt = [x for x in xs if x.requires_grad]
        gradients = grad(output, wrt, grad_outputs=cotangent, create_graph=True, allow_unused=True)
        flat = [
            reshape(Tensor(module.zeros_like(x.data)) if g is None else g, (-1,))
            for x, g in zip(wrt, gradients)
        ]
        return concatenate(flat)

    first_derivatives.__qualname__ = f"first derivatives of {_function_name(fn)}"
    return gradcheck(first_derivatives, tensors, eps, atol, rtol, seed, raise_exception)
