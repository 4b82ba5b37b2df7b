"""The differentiable operations, one module per family.

``elementwise``: arithmetic, transcendental functions, activations, selection.
``reduce``: sums, means, variances, extrema, log-sum-exp and softmax.
``shape``: reshape, transpose, broadcast, indexing, joining and splitting.
``special``: log-gamma, digamma and polygamma (normalising constants of distributions).
``linalg``: matmul, Cholesky, solves, inverse, log-determinant, diagonal.
``conv``: 2-D convolution and its transpose (NCHW); ``pool``: max and average pooling.
``gaussian_posterior``: Bayes by Backprop's log sigma and KL from (mu, rho), each one fused op.
``recurrent``: the LSTM recursion over a sequence as one fused op (``fused``: how such ops work).
"""

from .conv import conv2d, conv_transpose2d
from .pool import avg_pool2d, max_pool2d
from .elementwise import (
    abs, add, cast, clip, cos, div, erf, exp, leaky_relu, log, log1p, log_sigmoid, maximum,
    minimum, mul, neg, pow, relu, sigmoid, sin, softplus, sqrt, sub, tanh, where,
)
from .gaussian_posterior import log_softplus, softplus_gaussian_kl
from .linalg import (
    cholesky, diag, inv, linear, logdet, matmul, slogdet, solve, solve_triangular, trace, triangular_matmul,
)
from .recurrent import lstm
from .special import digamma, lgamma, polygamma
from .reduce import log_softmax, logsumexp, max, mean, min, softmax, sum, var
from .shape import (
    broadcast_to, concatenate, flatten, getitem, reshape, split, squeeze, stack, sum_to, swapaxes,
    transpose, unsqueeze,
)

permute = transpose

__all__ = [
    "avg_pool2d", "conv2d", "conv_transpose2d", "max_pool2d",
    "abs", "add", "cast", "clip", "cos", "div", "erf", "exp", "leaky_relu", "log", "log1p",
    "log_sigmoid", "maximum", "minimum", "mul", "neg", "pow", "relu", "sigmoid", "sin", "softplus",
    "sqrt", "sub", "tanh", "where",
    "cholesky", "diag", "inv", "linear", "logdet", "matmul", "slogdet", "solve", "solve_triangular", "trace",
    "triangular_matmul",
    "lstm",
    "digamma", "lgamma", "polygamma",
    "log_softplus", "softplus_gaussian_kl",
    "log_softmax", "logsumexp", "max", "mean", "min", "softmax", "sum", "var",
    "broadcast_to", "concatenate", "flatten", "getitem", "permute", "reshape", "split", "squeeze",
    "stack", "sum_to", "swapaxes", "transpose", "unsqueeze",
]
