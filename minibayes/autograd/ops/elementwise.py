"""Elementwise operations: arithmetic, transcendental functions and activations.

All binary operations broadcast like NumPy; their backward sums the incoming
gradient back to each operand's own shape (``unbroadcast``). Each local
derivative is written right under its forward.
"""

from __future__ import annotations

import math

from ... import backend
from .. import numerics
from ..function import Function, is_grad_enabled
from ..tensor import Tensor
from .shape import unbroadcast

__all__ = [
    "add", "sub", "mul", "div", "pow", "neg", "exp", "log", "log1p", "sqrt", "abs",
    "sin", "cos", "tanh", "sigmoid", "relu", "leaky_relu", "softplus", "log_sigmoid", "erf",
    "maximum", "minimum", "where", "clip", "cast",
]

_xp = backend.array_module


def _operands(a: object, b: object) -> tuple[Tensor, Tensor]:
    """Both operands as Tensors; a Python scalar takes the other operand's dtype and backend."""
    if not isinstance(a, Tensor):
        a = Tensor.constant(a, like=b if isinstance(b, Tensor) else None)
    if not isinstance(b, Tensor):
        b = Tensor.constant(b, like=a)
    return a, b


def _constant_like(values: object, like: Tensor) -> Tensor:
    """A mask or coefficient array as a constant Tensor of ``like``'s dtype."""
    return Tensor(values.astype(like.dtype, copy=False))


# --------------------------------------------------------------------------- arithmetic
class Add(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, gy):
        return unbroadcast(gy, self.shapes[0]), unbroadcast(gy, self.shapes[1])


class Sub(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, gy):
        return unbroadcast(gy, self.shapes[0]), unbroadcast(-gy, self.shapes[1])


class Mul(Function):
    def forward(self, a, b):
        return a * b

    def backward(self, gy):
        a, b = self.inputs
        ga = unbroadcast(gy * b, a.shape) if a.requires_grad else None
        gb = unbroadcast(gy * a, b.shape) if b.requires_grad else None
        return ga, gb


class Div(Function):
    def forward(self, a, b):
        return a / b

    def backward(self, gy):
        a, b = self.inputs
        ga = unbroadcast(gy / b, a.shape) if a.requires_grad else None
        # d(a/b)/db = -a/b^2 = -y/b
        gb = unbroadcast(-gy * self.output / b, b.shape) if b.requires_grad else None
        return ga, gb


class PowScalar(Function):
    """x ** p for a constant exponent p."""

    def __init__(self, exponent: float) -> None:
        self.exponent = exponent

    def forward(self, x):
        return x**self.exponent

    def backward(self, gy):
        (x,) = self.inputs
        p = self.exponent
        return gy * (p * x ** (p - 1)) if p != 2 else gy * (2 * x)


class Pow(Function):
    """a ** b for tensors a > 0 (when b needs a gradient) and b."""

    def forward(self, a, b):
        return a**b

    def backward(self, gy):
        a, b = self.inputs
        ga = unbroadcast(gy * b * a ** (b - 1), a.shape) if a.requires_grad else None
        # d(a^b)/db = a^b log a
        gb = unbroadcast(gy * self.output * log(a), b.shape) if b.requires_grad else None
        return ga, gb


class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


def add(a: object, b: object) -> Tensor:
    return Add()(*_operands(a, b))


def sub(a: object, b: object) -> Tensor:
    return Sub()(*_operands(a, b))


def mul(a: object, b: object) -> Tensor:
    return Mul()(*_operands(a, b))


def div(a: object, b: object) -> Tensor:
    return Div()(*_operands(a, b))


def pow(a: object, b: object) -> Tensor:  # noqa: A001 (mirrors operator.pow)
    """``a ** b``; a Python-number exponent takes the cheaper constant-exponent path."""
    if isinstance(b, (int, float)) and isinstance(a, Tensor):
        return PowScalar(b)(a)
    return Pow()(*_operands(a, b))


def neg(x: object) -> Tensor:
    return Neg()(x)


# --------------------------------------------------------------------------- transcendental
class Exp(Function):
    def forward(self, x):
        return _xp(x).exp(x)

    def backward(self, gy):
        return gy * self.output


class Log(Function):
    def forward(self, x):
        return _xp(x).log(x)

    def backward(self, gy):
        return gy / self.inputs[0]


class Log1p(Function):
    def forward(self, x):
        return _xp(x).log1p(x)

    def backward(self, gy):
        return gy / (1 + self.inputs[0])


class Sqrt(Function):
    def forward(self, x):
        return _xp(x).sqrt(x)

    def backward(self, gy):
        return gy / (2 * self.output)


class Abs(Function):
    def forward(self, x):
        self.sign = _xp(x).sign(x)
        return _xp(x).abs(x)

    def backward(self, gy):
        return gy * _constant_like(self.sign, gy)


class Sin(Function):
    def forward(self, x):
        return _xp(x).sin(x)

    def backward(self, gy):
        return gy * cos(self.inputs[0])


class Cos(Function):
    def forward(self, x):
        return _xp(x).cos(x)

    def backward(self, gy):
        return -gy * sin(self.inputs[0])


class Erf(Function):
    def forward(self, x):
        return numerics.erf(x)

    def backward(self, gy):
        x = self.inputs[0]
        # d erf(x)/dx = 2/sqrt(pi) exp(-x^2)
        return gy * (2 / math.sqrt(math.pi)) * exp(-(x * x))


def exp(x: object) -> Tensor:
    return Exp()(x)


def log(x: object) -> Tensor:
    return Log()(x)


def log1p(x: object) -> Tensor:
    """log(1 + x), accurate for small x."""
    return Log1p()(x)


def sqrt(x: object) -> Tensor:
    return Sqrt()(x)


def abs(x: object) -> Tensor:  # noqa: A001 (mirrors numpy.abs)
    return Abs()(x)


def sin(x: object) -> Tensor:
    return Sin()(x)


def cos(x: object) -> Tensor:
    return Cos()(x)


def erf(x: object) -> Tensor:
    return Erf()(x)


# --------------------------------------------------------------------------- activations
class Tanh(Function):
    def forward(self, x):
        return _xp(x).tanh(x)

    def backward(self, gy):
        y = self.output
        return gy * (1 - y * y)


class Sigmoid(Function):
    def forward(self, x):
        # 1/(1+e^-x) overflows e^-x for x << 0; this form never does and keeps the left tail.
        return numerics.sigmoid(x)

    def backward(self, gy):
        y = self.output
        return gy * y * (1 - y)


class ReLU(Function):
    """relu(x) = x [x > 0]."""

    def forward(self, x):
        # Multiplying by a mask of x's own dtype is about twice as fast in NumPy as
        # maximum(x, 0) (which must handle NaN) or a float-by-bool product.
        self.active = (x > 0).astype(x.dtype)
        return x * self.active

    def backward(self, gy):
        return gy * Tensor(self.active)


class LeakyReLU(Function):
    def __init__(self, negative_slope: float) -> None:
        self.negative_slope = negative_slope

    def forward(self, x):
        xp = _xp(x)
        self.slope = xp.where(x > 0, 1.0, self.negative_slope).astype(x.dtype, copy=False)
        return x * self.slope

    def backward(self, gy):
        return gy * Tensor(self.slope)


class Softplus(Function):
    """log(1 + e^x), computed as max(x, 0) + log1p(e^-|x|) so that |x| = 1000 is fine."""

    def forward(self, x):
        output, self.slope = numerics.softplus_and_sigmoid(x)  # the slope comes with the same exp
        return output

    def backward(self, gy):
        # d softplus(x)/dx = sigmoid(x): kept from the forward unless this backward is differentiated.
        slope = sigmoid(self.inputs[0]) if is_grad_enabled() else Tensor(self.slope)
        return gy * slope


class LogSigmoid(Function):
    """log sigma(x) = -softplus(-x) = min(x, 0) - log1p(e^-|x|)."""

    def forward(self, x):
        xp = _xp(x)
        return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, gy):
        return gy * sigmoid(-self.inputs[0])


def tanh(x: object) -> Tensor:
    return Tanh()(x)


def sigmoid(x: object) -> Tensor:
    return Sigmoid()(x)


def relu(x: object) -> Tensor:
    return ReLU()(x)


def leaky_relu(x: object, negative_slope: float = 0.01) -> Tensor:
    return LeakyReLU(negative_slope)(x)


def softplus(x: object) -> Tensor:
    return Softplus()(x)


def log_sigmoid(x: object) -> Tensor:
    return LogSigmoid()(x)


# --------------------------------------------------------------------------- selection
class Maximum(Function):
    """Elementwise max(a, b); at ties the gradient is split evenly, as in PyTorch."""

    def __init__(self, take_larger: bool = True) -> None:
        self.take_larger = take_larger

    def forward(self, a, b):
        xp = _xp(a)
        wins = (a > b) if self.take_larger else (a < b)
        self.share_a = wins + 0.5 * (a == b)  # 1 where a is chosen, 0.5 at ties, else 0
        return xp.maximum(a, b) if self.take_larger else xp.minimum(a, b)

    def backward(self, gy):
        a, b = self.inputs
        share_a = _constant_like(self.share_a, gy)
        ga = unbroadcast(gy * share_a, a.shape) if a.requires_grad else None
        gb = unbroadcast(gy * (1 - share_a), b.shape) if b.requires_grad else None
        return ga, gb


class Where(Function):
    def __init__(self, condition: object) -> None:
        self.condition = condition

    def forward(self, a, b):
        return _xp(a).where(self.condition, a, b)

    def backward(self, gy):
        a, b = self.inputs
        chosen = _constant_like(_xp(gy.data).broadcast_to(self.condition, gy.shape), gy)
        ga = unbroadcast(gy * chosen, a.shape) if a.requires_grad else None
        gb = unbroadcast(gy * (1 - chosen), b.shape) if b.requires_grad else None
        return ga, gb


class Clip(Function):
    def __init__(self, lower: float | None, upper: float | None) -> None:
        self.lower, self.upper = lower, upper

    def forward(self, x):
        xp = _xp(x)
        inside = xp.ones(x.shape, dtype=bool)
        if self.lower is not None:
            inside &= x >= self.lower
        if self.upper is not None:
            inside &= x <= self.upper
        self.inside = inside
        return xp.clip(x, self.lower, self.upper)

    def backward(self, gy):
        return gy * _constant_like(self.inside, gy)


class Cast(Function):
    def __init__(self, dtype: object) -> None:
        self.dtype = dtype

    def forward(self, x):
        self.source_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, gy):
        return cast(gy, self.source_dtype)


def maximum(a: object, b: object) -> Tensor:
    return Maximum(take_larger=True)(*_operands(a, b))


def minimum(a: object, b: object) -> Tensor:
    return Maximum(take_larger=False)(*_operands(a, b))


def where(condition: object, a: object, b: object) -> Tensor:
    """``a`` where ``condition`` holds, else ``b`` (the condition carries no gradient)."""
    a, b = _operands(a, b)
    condition = condition.data if isinstance(condition, Tensor) else condition
    condition = _xp(a.data).asarray(condition, dtype=bool)
    return Where(condition)(a, b)


def clip(x: object, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
    """Limit ``x`` to [min, max]; the gradient is 1 inside, 0 where clipped."""
    if min is None and max is None:
        raise ValueError("clip: give at least one of min and max")
    if min is not None and max is not None and min > max:
        raise ValueError(f"clip: min ({min}) must not exceed max ({max})")
    return Clip(min, max)(x)


def cast(x: object, dtype: object) -> Tensor:
    """``x`` converted to ``dtype``; differentiable between floating dtypes."""
    x = x if isinstance(x, Tensor) else Tensor.constant(x)
    if x.dtype == dtype:
        return x
    return Cast(dtype)(x)
