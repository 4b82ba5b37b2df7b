"""Tensor: a backend array, its gradient, and the Function that created it.

A Tensor is a thin handle: ``data`` is a NumPy or CuPy array, ``grad`` the
accumulated gradient (a Tensor, filled for leaves by ``backward``), and
``creator`` the recorded Function that produced it (``None`` for leaves and
constants). Operators and methods forward to the functional ops in
``minibayes.autograd.ops``, which is where the mathematics lives.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy

from .. import backend
from .function import Function

__all__ = ["Tensor", "tensor", "as_tensor"]

Axis = int | Sequence[int] | None


class Tensor:
    """An n-dimensional array that remembers how it was computed.

    Parameters
    ----------
    data : backend array
        Taken as is, without a copy; use :func:`tensor` to convert lists,
        scalars or arrays of the other backend.
    requires_grad : bool
        Whether gradients should flow to this tensor. Only floating tensors can.
    """

    __slots__ = ("data", "grad", "requires_grad", "creator", "retains_grad", "name", "__weakref__")
    # Make NumPy hand `ndarray <op> Tensor` to our reflected operators.
    __array_ufunc__ = None

    def __init__(self, data: object, requires_grad: bool = False, name: str | None = None) -> None:
        # NumPy reductions of 0-d arrays return NumPy scalars; keep `data` an ndarray.
        if type(data) is not numpy.ndarray and backend.backend_name_of(data) == "numpy":
            data = numpy.asarray(data)
        self.data = data
        self.grad: Tensor | None = None
        self.creator: Function | None = None
        self.retains_grad = False
        self.name = name
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def constant(cls, value: object, like: Tensor | None = None) -> Tensor:
        """A Tensor that never requires grad; Python scalars take ``like``'s dtype and backend."""
        if isinstance(value, Tensor):
            return value
        if like is not None and not hasattr(value, "dtype"):
            module = backend.array_module(like.data)
            dtype = like.dtype if like.dtype.kind == "f" else None
            return cls(module.asarray(value, dtype=dtype))
        return cls(backend.asarray(value))

    # ------------------------------------------------------------------ properties
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> numpy.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def T(self) -> Tensor:
        """All axes reversed (the matrix transpose for 2-D tensors), as ``numpy.ndarray.T``."""
        return ops.transpose(self)

    @property
    def mT(self) -> Tensor:
        """The last two axes swapped: the transpose of each matrix in a stack."""
        return ops.swapaxes(self, -1, -2)

    @property
    def is_leaf(self) -> bool:
        return self.creator is None

    @property
    def backend(self) -> str:
        return backend.backend_name_of(self.data)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place (only floating tensors may require grad)."""
        if requires_grad and self.data.dtype.kind not in "fc":
            raise TypeError(
                f"requires_grad=True needs a floating dtype (float32 or float64); this tensor is "
                f"{self.data.dtype}. Convert first, e.g. mb.tensor(x, dtype='float64', requires_grad=True)"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward (leaves always keep it)."""
        self.retains_grad = True

    # ------------------------------------------------------------------ conversion
    def item(self) -> float | int | bool:
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, this one has shape {self.shape}")
        return self.data.item()

    def numpy(self) -> numpy.ndarray:
        """The data as a host NumPy array (a copy from the GPU on the CuPy backend)."""
        return backend.to_numpy(self.data)

    def tolist(self) -> object:
        return self.numpy().tolist()

    def detach(self) -> Tensor:
        """The same data, cut from the graph."""
        return Tensor(self.data)

    def astype(self, dtype: object) -> Tensor:
        """A differentiable cast to another floating dtype (or a plain cast for others)."""
        return ops.cast(self, dtype)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous; use .all() or .any() "
                "on .data, or compare with mb.max/mb.min"
            )
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __array__(self, dtype: object = None, copy: object = None) -> numpy.ndarray:
        array = self.numpy()
        return array if dtype is None else array.astype(dtype)

    def __repr__(self) -> str:
        body = numpy.array2string(self.numpy(), prefix="tensor(", precision=4, threshold=20)
        extras = [f"dtype={self.dtype}"]
        if self.backend != "numpy":
            extras.append(f"backend={self.backend}")
        if self.creator is not None:
            extras.append(f"grad_fn={type(self.creator).__name__}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"tensor({body}, {', '.join(extras)})"

    __hash__ = object.__hash__

    # ------------------------------------------------------------------ autograd
    def backward(
        self, grad: object = None, retain_graph: bool | None = None, create_graph: bool = False
    ) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        Parameters
        ----------
        grad : array or Tensor of self's shape, optional
            The gradient of some scalar with respect to ``self``. May be omitted
            only when ``self`` has one element (then it is 1).
        retain_graph : bool, optional
            Keep the graph so backward can run through it again. Defaults to ``create_graph``.
        create_graph : bool
            Record the backward pass itself, so that the gradients can be differentiated.
        """
        from .engine import backward as run_backward  # noqa: PLC0415

        run_backward([self], [grad], retain_graph=retain_graph, create_graph=create_graph)

    def zero_grad_(self) -> None:
        self.grad = None

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, other: object) -> Tensor:
        return ops.add(self, other)

    def __radd__(self, other: object) -> Tensor:
        return ops.add(other, self)

    def __sub__(self, other: object) -> Tensor:
        return ops.sub(self, other)

    def __rsub__(self, other: object) -> Tensor:
        return ops.sub(other, self)

    def __mul__(self, other: object) -> Tensor:
        return ops.mul(self, other)

    def __rmul__(self, other: object) -> Tensor:
        return ops.mul(other, self)

    def __truediv__(self, other: object) -> Tensor:
        return ops.div(self, other)

    def __rtruediv__(self, other: object) -> Tensor:
        return ops.div(other, self)

    def __pow__(self, other: object) -> Tensor:
        return ops.pow(self, other)

    def __rpow__(self, other: object) -> Tensor:
        return ops.pow(other, self)

    def __matmul__(self, other: object) -> Tensor:
        return ops.matmul(self, other)

    def __rmatmul__(self, other: object) -> Tensor:
        return ops.matmul(other, self)

    def __neg__(self) -> Tensor:
        return ops.neg(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return ops.abs(self)

    # Comparisons give boolean tensors outside the graph (they have no gradient).
    def _compare(self, other: object, compare: str) -> Tensor:
        other_data = other.data if isinstance(other, Tensor) else other
        return Tensor(getattr(self.data, compare)(other_data))

    def __lt__(self, other: object) -> Tensor:
        return self._compare(other, "__lt__")

    def __le__(self, other: object) -> Tensor:
        return self._compare(other, "__le__")

    def __gt__(self, other: object) -> Tensor:
        return self._compare(other, "__gt__")

    def __ge__(self, other: object) -> Tensor:
        return self._compare(other, "__ge__")

    def __eq__(self, other: object) -> Tensor:  # type: ignore[override]
        return self._compare(other, "__eq__")

    def __ne__(self, other: object) -> Tensor:  # type: ignore[override]
        return self._compare(other, "__ne__")

    # ------------------------------------------------------------------ methods
    def __getitem__(self, index: object) -> Tensor:
        return ops.getitem(self, index)

    def exp(self) -> Tensor:
        return ops.exp(self)

    def log(self) -> Tensor:
        return ops.log(self)

    def sqrt(self) -> Tensor:
        return ops.sqrt(self)

    def tanh(self) -> Tensor:
        return ops.tanh(self)

    def sigmoid(self) -> Tensor:
        return ops.sigmoid(self)

    def relu(self) -> Tensor:
        return ops.relu(self)

    def clip(self, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
        return ops.clip(self, min, max)

    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return ops.sum(self, axis, keepdims)

    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return ops.mean(self, axis, keepdims)

    def var(self, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        return ops.var(self, axis, keepdims, ddof)

    def max(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return ops.max(self, axis, keepdims)

    def min(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return ops.min(self, axis, keepdims)

    def logsumexp(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return ops.logsumexp(self, axis, keepdims)

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        return ops.reshape(self, _shape_arg(shape))

    def transpose(self, *axes: int | Sequence[int]) -> Tensor:
        return ops.transpose(self, _shape_arg(axes) if axes else None)

    def permute(self, *axes: int | Sequence[int]) -> Tensor:
        return ops.transpose(self, _shape_arg(axes))

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        return ops.swapaxes(self, axis1, axis2)

    def broadcast_to(self, shape: Sequence[int]) -> Tensor:
        return ops.broadcast_to(self, shape)

    def squeeze(self, axis: Axis = None) -> Tensor:
        return ops.squeeze(self, axis)

    def unsqueeze(self, axis: int) -> Tensor:
        return ops.unsqueeze(self, axis)

    def flatten(self, start_axis: int = 0, end_axis: int = -1) -> Tensor:
        return ops.flatten(self, start_axis, end_axis)


def _shape_arg(args: tuple) -> tuple[int, ...]:
    """Accept both ``t.reshape(2, 3)`` and ``t.reshape((2, 3))``."""
    if len(args) == 1 and isinstance(args[0], Iterable):
        return tuple(args[0])
    return tuple(args)


def tensor(data: object, requires_grad: bool = False, dtype: object = None) -> Tensor:
    """Make a Tensor on the active backend.

    Parameters
    ----------
    data : array_like, Tensor, NumPy or CuPy array
        Python floats and lists of floats take the default dtype (float32
        unless changed by ``mb.set_default_dtype``); arrays keep their dtype.
    requires_grad : bool
        Track operations on this tensor for differentiation (floating dtypes only).
    dtype : dtype, optional
        Convert to this dtype.
    """
    if isinstance(data, Tensor):
        data = data.data
    try:
        array = backend.asarray(data, dtype=dtype)
    except (TypeError, ValueError) as error:  # ragged lists, strings that are not numbers, ...
        # CuPy refuses strings and objects itself, with its own words: say what NumPy would have made.
        host_dtype = _host_dtype(data)
        if host_dtype is not None and host_dtype.kind not in "biufc":
            raise _not_numbers(host_dtype, data) from None
        raise TypeError(
            f"tensor: data must be numbers (bool, int or float), as a scalar, a (nested) list of equal-length "
            f"rows, or an array; got {type(data).__name__}: {error}"
        ) from None
    if array.dtype.kind not in "biufc":
        raise _not_numbers(array.dtype, data)
    return Tensor(array, requires_grad=requires_grad)


def _host_dtype(data: object):
    """The dtype NumPy gives ``data``, or None where it cannot make an array of it (ragged lists)."""
    try:
        return numpy.asarray(data).dtype
    except (TypeError, ValueError):
        return None


def _not_numbers(dtype, data: object) -> TypeError:
    return TypeError(
        f"tensor: data must be numbers (bool, int or float), got an array of dtype {dtype} "
        f"from {type(data).__name__}; convert strings or objects first, e.g. numpy.asarray(data, dtype=float)"
    )


def as_tensor(value: object) -> Tensor:
    """``value`` if it is already a Tensor, else a constant Tensor on the active backend."""
    return value if isinstance(value, Tensor) else Tensor.constant(value)


# Imported last: the ops build on Tensor, and Tensor's operators forward to them.
from . import ops  # noqa: E402
