"""minibayes: a readable NumPy/CuPy engine for Bayesian deep learning.

The public API in one place::

    import minibayes as mb
    mb.set_backend("cupy")                      # or "numpy" (the default)
    x = mb.tensor([1.0, 2.0], requires_grad=True)
    y = mb.logsumexp(x * x)
    y.backward()                                # x.grad now holds dy/dx
    mb.gradcheck(lambda t: mb.logsumexp(t * t), [mb.tensor([1.0, 2.0], dtype="float64", requires_grad=True)])

The submodules (``mb.nn``, ``mb.optim``, ``mb.train``, ``mb.data``, ``mb.distributions``,
``mb.models``, ``mb.flows``) and ``mb.save``/``mb.load`` are loaded on first use (PEP 562
module ``__getattr__``), so ``import minibayes`` stays fast and loads neither SciPy's
optimisers nor the estimators nor tqdm until they are asked for.
"""

import importlib

__version__ = "0.1.0"

from .backend import (
    BackendError, cupy_available, get_backend, get_default_dtype, rng, seed, set_backend, set_default_dtype,
    using, xp,
)
from .autograd import (
    Function, GradcheckError, GraphError, Tensor, as_tensor, detect_anomaly, enable_grad, grad,
    gradcheck, gradgradcheck, is_grad_enabled, jacobian, no_grad, set_grad_enabled, tensor,
)
from .autograd.transfer import asarray, to_numpy
from .autograd.creation import arange, eye, full, ones, ones_like, rand, randn, zeros, zeros_like
from .autograd.ops import (
    avg_pool2d, conv2d, conv_transpose2d, max_pool2d,
    abs, add, broadcast_to, cast, cholesky, clip, concatenate, cos, diag, digamma, div, erf, exp, flatten,
    getitem, inv, leaky_relu, lgamma, linear, log, log1p, log_sigmoid, log_softmax, logdet, logsumexp, matmul,
    max, maximum, mean, min, minimum, mul, neg, permute, polygamma, pow, relu, reshape, sigmoid, sin, slogdet,
    softmax, softplus, solve, solve_triangular, split, sqrt, squeeze, stack, sub, sum, sum_to,
    swapaxes, tanh, trace, transpose, triangular_matmul, unsqueeze, var, where,
)

# Loaded on first attribute access: the submodules by name, and the public names of ``io``.
_LAZY_SUBMODULES = ("nn", "optim", "train", "data", "distributions", "models", "flows")
_LAZY_FUNCTIONS = {"save": "io", "load": "io", "CheckpointError": "io"}


def __getattr__(name: str) -> object:
    if name in _LAZY_SUBMODULES:
        try:
            return importlib.import_module(f".{name}", __name__)  # the import binds it here too
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":  # a missing dependency inside it: say that
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r} (minibayes.{name} is not in this version)") from None
    if name in _LAZY_FUNCTIONS:
        value = getattr(importlib.import_module(f".{_LAZY_FUNCTIONS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_SUBMODULES) | set(_LAZY_FUNCTIONS))
