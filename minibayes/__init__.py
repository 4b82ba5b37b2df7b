"""minibayes: a readable NumPy/CuPy engine for Bayesian deep learning.

The public API in one place::

    import minibayes as mb
    mb.set_backend("cupy")                      # or "numpy" (the default)
    x = mb.tensor([1.0, 2.0], requires_grad=True)
    y = mb.logsumexp(x * x)
    y.backward()                                # x.grad now holds dy/dx
    mb.gradcheck(lambda t: mb.logsumexp(t * t), [mb.tensor([1.0, 2.0], dtype="float64", requires_grad=True)])
"""

__version__ = "0.1.0"

from .backend import (
    BackendError, asarray, cupy_available, get_backend, get_default_dtype, rng, seed, set_backend,
    set_default_dtype, to_numpy, using, xp,
)
from .autograd import (
    Function, GradcheckError, GraphError, Tensor, as_tensor, detect_anomaly, enable_grad, grad,
    gradcheck, gradgradcheck, is_grad_enabled, jacobian, no_grad, set_grad_enabled, tensor,
)
from .autograd.creation import arange, eye, full, ones, ones_like, rand, randn, zeros, zeros_like
from .autograd.ops import (
    avg_pool2d, conv2d, conv_transpose2d, max_pool2d,
    abs, add, broadcast_to, cast, cholesky, clip, concatenate, cos, diag, digamma, div, erf, exp, flatten,
    getitem, inv, leaky_relu, lgamma, linear, log, log1p, log_sigmoid, log_softmax, logdet, logsumexp, matmul,
    max, maximum, mean, min, minimum, mul, neg, permute, polygamma, pow, relu, reshape, sigmoid, sin, slogdet,
    softmax, softplus, solve, solve_triangular, split, sqrt, squeeze, stack, sub, sum, sum_to,
    swapaxes, tanh, trace, transpose, triangular_matmul, unsqueeze, var, where,
)
from . import nn, optim, train
from .io import CheckpointError, load, save
