"""Reverse-mode automatic differentiation on NumPy/CuPy arrays.

Read in this order: ``function.py`` (what one op is), ``tensor.py`` (the
array handle), ``engine.py`` (the backward walk), ``ops/`` (the operations),
``gradcheck.py`` (how each gradient is proven).
"""

# function.py must be imported first: it completes tensor.py's import at its end.
from .function import (
    Function, detect_anomaly, enable_grad, is_anomaly_enabled, is_grad_enabled, no_grad,
    set_grad_enabled,
)
from .tensor import Tensor, as_tensor, tensor
from .engine import GraphError, grad
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .jacobian import jacobian
from . import ops

__all__ = [
    "Function", "Tensor", "tensor", "as_tensor", "grad", "GraphError", "no_grad", "enable_grad",
    "set_grad_enabled", "is_grad_enabled", "detect_anomaly", "is_anomaly_enabled", "gradcheck",
    "gradgradcheck", "GradcheckError", "jacobian", "ops",
]
