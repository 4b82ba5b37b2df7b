"""One table of ops, one property test: forward against NumPy/SciPy, backward against central differences.

Each row builds, from hypothesis draws, the op to test (on Tensors), its float64
inputs and the reference forward result. Adding an op means adding a row.
Rows marked ``second_order`` also go through ``gradgradcheck``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
import scipy.linalg
import scipy.special
from hypothesis import assume, given, strategies as st

import minibayes as mb
from tests import strategies as S
from tests.autograd import conv_cases

Built = tuple[Callable[..., mb.Tensor], list[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class OpCase:
    name: str
    build: Callable[[st.DataObject, np.random.Generator], Built]
    second_order: bool = False


def unary(name, op, reference, domain=S.real, second_order=False):
    def build(data, rng):
        x = domain(rng, data.draw(S.shapes(), label="shape"))
        return op, [x], reference(x)

    return OpCase(name, build, second_order)


def binary(name, op, reference, domains=(S.real, S.real), second_order=False, min_gap=None):
    def build(data, rng):
        shape_a, shape_b = data.draw(S.broadcastable_shapes(2), label="shapes")
        a, b = domains[0](rng, shape_a), domains[1](rng, shape_b)
        if min_gap is not None:  # keep max/min away from ties, where they have no derivative
            assume(np.all(np.abs(a - b) > min_gap))
        return op, [a, b], reference(a, b)

    return OpCase(name, build, second_order)


def reduction(name, op, reference, second_order=False, single_axis=False):
    def build(data, rng):
        x = S.real(rng, data.draw(S.shapes(min_dims=1 if single_axis else 0), label="shape"))
        if single_axis:
            axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
            return (lambda t: op(t, axis=axis)), [x], reference(x, axis=axis)
        axis = data.draw(S.reduction_axes(x.ndim), label="axis")
        keepdims = data.draw(st.booleans(), label="keepdims")
        return (lambda t: op(t, axis=axis, keepdims=keepdims)), [x], reference(x, axis=axis, keepdims=keepdims)

    return OpCase(name, build, second_order)


# --------------------------------------------------------------------------- builders with structure
def build_pow_scalar(data, rng):
    x = S.positive(rng, data.draw(S.shapes(), label="shape"))
    p = data.draw(st.sampled_from([-1.5, -1, 0.5, 2, 3]), label="exponent")
    return (lambda t: t**p), [x], x**p


def build_polygamma(data, rng):
    x = S.positive(rng, data.draw(S.shapes(), label="shape"))
    n = data.draw(st.integers(0, 3), label="order")
    return (lambda t: mb.polygamma(n, t)), [x], scipy.special.polygamma(n, x)


def build_where(data, rng):
    shape_c, shape_a, shape_b = data.draw(S.broadcastable_shapes(3), label="shapes")
    condition = rng.random(shape_c) < 0.5
    a, b = S.real(rng, shape_a), S.real(rng, shape_b)
    return (lambda s, t: mb.where(condition, s, t)), [a, b], np.where(condition, a, b)


def build_clip(data, rng):
    x = rng.uniform(-2, 2, size=data.draw(S.shapes(), label="shape"))
    assume(np.all(np.abs(np.abs(x) - 1.0) > 1e-3))
    return (lambda t: mb.clip(t, -1.0, 1.0)), [x], np.clip(x, -1.0, 1.0)


def build_var(data, rng):
    x = S.real(rng, data.draw(S.shapes(), label="shape"))
    axis = data.draw(S.reduction_axes(x.ndim), label="axis")
    keepdims, ddof = data.draw(st.booleans()), data.draw(st.sampled_from([0, 1]), label="ddof")
    count = x.size if axis is None else int(np.prod([x.shape[a] for a in np.atleast_1d(axis)]))
    assume(count - ddof > 0)
    return (lambda t: mb.var(t, axis, keepdims, ddof)), [x], np.var(x, axis=axis, keepdims=keepdims, ddof=ddof)


def build_reshape(data, rng):
    x = S.real(rng, data.draw(S.shapes(), label="shape"))
    target = data.draw(st.sampled_from([(x.size,), (1, x.size), (x.size, 1, 1), (-1,)]), label="target")
    return (lambda t: mb.reshape(t, target)), [x], x.reshape(target)


def build_transpose(data, rng):
    x = S.real(rng, data.draw(S.shapes(), label="shape"))
    axes = tuple(data.draw(st.permutations(range(x.ndim)), label="axes"))
    return (lambda t: mb.transpose(t, axes)), [x], np.transpose(x, axes)


def build_swapaxes(data, rng):
    x = S.real(rng, data.draw(S.shapes(min_dims=1), label="shape"))
    i, j = data.draw(st.integers(-x.ndim, x.ndim - 1)), data.draw(st.integers(-x.ndim, x.ndim - 1))
    return (lambda t: mb.swapaxes(t, i, j)), [x], np.swapaxes(x, i, j)


def build_broadcast_to(data, rng):
    small, large = data.draw(S.broadcastable_shapes(2), label="shapes")
    target = np.broadcast_shapes(small, large)
    x = S.real(rng, small)
    return (lambda t: mb.broadcast_to(t, target)), [x], np.broadcast_to(x, target)


def build_sum_to(data, rng):
    small, large = data.draw(S.broadcastable_shapes(2), label="shapes")
    full = np.broadcast_shapes(small, large)
    x = S.real(rng, full)
    lead = len(full) - len(small)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(small) if n == 1 and full[lead + i] != 1)
    return (lambda t: mb.sum_to(t, small)), [x], x.sum(axis=axes, keepdims=True).reshape(small)


def build_squeeze(data, rng):
    x = S.real(rng, data.draw(S.shapes(), label="shape"))
    ones = [i for i, n in enumerate(x.shape) if n == 1]
    axis = data.draw(st.sampled_from([None] + ones), label="axis")
    return (lambda t: mb.squeeze(t, axis)), [x], np.squeeze(x, axis)


def build_unsqueeze(data, rng):
    x = S.real(rng, data.draw(S.shapes(), label="shape"))
    axis = data.draw(st.integers(-x.ndim - 1, x.ndim), label="axis")
    return (lambda t: mb.unsqueeze(t, axis)), [x], np.expand_dims(x, axis)


def build_flatten(data, rng):
    x = S.real(rng, data.draw(S.shapes(min_dims=1), label="shape"))
    start = data.draw(st.integers(0, x.ndim - 1), label="start")
    end = data.draw(st.integers(start, x.ndim - 1), label="end")
    expected = x.reshape(x.shape[:start] + (-1,) + x.shape[end + 1 :])
    return (lambda t: mb.flatten(t, start, end)), [x], expected


@st.composite
def indices(draw, shape):
    """Basic slices, integer arrays with repeats, boolean masks, and mixtures."""
    kind = draw(st.sampled_from(["slice", "int", "integer_array", "mask", "mixed"]))
    n = shape[0]
    if kind == "slice":
        start, stop = draw(st.integers(-n, n)), draw(st.integers(-n, n))
        return slice(start, stop, draw(st.sampled_from([1, 2, -1])))
    if kind == "int":
        return draw(st.integers(-n, n - 1))
    if kind == "integer_array":
        return np.array(draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=5)))
    if kind == "mask":
        return np.array(draw(st.lists(st.booleans(), min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))).reshape(shape)
    return (Ellipsis, draw(st.integers(-shape[-1], shape[-1] - 1)))


def build_getitem(data, rng):
    x = S.real(rng, data.draw(S.shapes(min_dims=1), label="shape"))
    index = data.draw(indices(x.shape), label="index")
    return (lambda t: t[index]), [x], x[index]


def build_concatenate(data, rng):
    base = data.draw(S.shapes(min_dims=1), label="shape")
    axis = data.draw(st.integers(-len(base), len(base) - 1), label="axis")
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3), label="sizes")
    arrays = []
    for size in sizes:
        shape = list(base)
        shape[axis] = size
        arrays.append(S.real(rng, tuple(shape)))
    return (lambda *ts: mb.concatenate(ts, axis)), arrays, np.concatenate(arrays, axis)


def build_stack(data, rng):
    shape = data.draw(S.shapes(), label="shape")
    count = data.draw(st.integers(1, 3), label="count")
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)), label="axis")
    arrays = [S.real(rng, shape) for _ in range(count)]
    return (lambda *ts: mb.stack(ts, axis)), arrays, np.stack(arrays, axis)


def build_split(data, rng):
    shape = list(data.draw(S.shapes(min_dims=1), label="shape"))
    sections = data.draw(st.integers(1, 3), label="sections")
    shape[0] *= sections
    x = S.real(rng, tuple(shape))

    def weighted_pieces(t):  # distinct weights, so a piece sent to the wrong place shows
        return mb.concatenate([mb.reshape(p, (-1,)) * (i + 1) for i, p in enumerate(mb.split(t, sections))])

    expected = np.concatenate([p.reshape(-1) * (i + 1) for i, p in enumerate(np.split(x, sections))])
    return weighted_pieces, [x], expected


MATMUL_SHAPES = [
    ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 3), (3, 4)), ((1, 1), (1, 1)),
    ((2, 2, 3), (3, 2)), ((2, 3), (2, 3, 2)), ((2, 2, 3), (2, 3, 1)), ((1, 2, 3), (2, 3, 2)),
    ((2, 1, 2, 3), (3, 3, 1)), ((2, 2, 3), (3,)), ((3,), (2, 3, 2)),
]


def build_matmul(data, rng):
    shape_a, shape_b = data.draw(st.sampled_from(MATMUL_SHAPES), label="shapes")
    a, b = S.real(rng, shape_a), S.real(rng, shape_b)
    return mb.matmul, [a, b], a @ b


def build_linear(data, rng):
    batch = data.draw(st.sampled_from([(), (1,), (3,), (2, 2)]), label="batch")
    n_in, n_out = data.draw(st.integers(1, 3), label="in"), data.draw(st.integers(1, 3), label="out")
    x, w = S.real(rng, batch + (n_in,)), S.real(rng, (n_in, n_out))
    if data.draw(st.booleans(), label="bias"):
        b = S.real(rng, (n_out,))
        return mb.linear, [x, w, b], x @ w + b
    return mb.linear, [x, w], x @ w


def build_cholesky(data, rng):
    a = S.spd(rng, data.draw(S.matrix_stacks(), label="shape"))
    # The gradient is defined for symmetric matrices: check through the symmetrisation.
    return (lambda t: mb.cholesky(0.5 * (t + t.mT))), [a], np.linalg.cholesky(a)


def triangular_operands(data, rng):
    """lower, transpose, A (junk in its other triangle), b (vector or matrix) and op(T) = T or T^T."""
    lower, transpose = data.draw(st.booleans(), label="lower"), data.draw(st.booleans(), label="transpose")
    shape = data.draw(S.matrix_stacks(), label="shape")
    a = S.triangular(rng, shape, lower)
    vector = len(shape) == 2 and data.draw(st.booleans(), label="vector")
    b = S.real(rng, (shape[-1],) if vector else shape[:-1] + (data.draw(st.integers(1, 3)),))
    triangle = np.tril(a) if lower else np.triu(a)
    return lower, transpose, a, b, np.swapaxes(triangle, -1, -2) if transpose else triangle


def build_solve_triangular(data, rng):
    lower, transpose, a, b, op_triangle = triangular_operands(data, rng)
    expected = np.linalg.solve(op_triangle, b)
    if a.ndim == 2:  # and SciPy's solver for the 2-D case, an independent route
        np.testing.assert_allclose(scipy.linalg.solve_triangular(a, b, lower=lower, trans=int(transpose)), expected)
    return (lambda s, t: mb.solve_triangular(s, t, lower=lower, transpose=transpose)), [a, b], expected


def build_triangular_matmul(data, rng):
    lower, transpose, a, b, op_triangle = triangular_operands(data, rng)
    expected = op_triangle @ b
    return (lambda s, t: mb.triangular_matmul(s, t, lower=lower, transpose=transpose)), [a, b], expected


def build_solve(data, rng):
    shape = data.draw(S.matrix_stacks(), label="shape")
    a = S.well_conditioned(rng, shape)
    vector = len(shape) == 2 and data.draw(st.booleans(), label="vector")
    b = S.real(rng, (shape[-1],) if vector else shape[:-1] + (2,))
    return mb.solve, [a, b], np.linalg.solve(a, b)


def build_inv(data, rng):
    a = S.well_conditioned(rng, data.draw(S.matrix_stacks(), label="shape"))
    return mb.inv, [a], np.linalg.inv(a)


def build_slogdet(data, rng):
    a = S.well_conditioned(rng, data.draw(S.matrix_stacks(), label="shape"))
    a[..., 0, :] *= data.draw(st.sampled_from([-1.0, 1.0]), label="sign")  # negative determinants too
    return (lambda t: mb.slogdet(t)[1]), [a], np.linalg.slogdet(a)[1]


def build_logdet(data, rng):
    a = S.spd(rng, data.draw(S.matrix_stacks(), label="shape"))
    return mb.logdet, [a], np.log(np.linalg.det(a))


def build_diag(data, rng):
    shape = data.draw(st.one_of(S.shapes(min_dims=1, max_dims=1), S.shapes(min_dims=2, max_dims=2)), label="shape")
    x = S.real(rng, shape)
    return mb.diag, [x], np.diag(x)


def build_trace(data, rng):
    n = data.draw(st.integers(1, 4), label="n")
    x = S.real(rng, (n, n))
    return mb.trace, [x], np.trace(x)


def build_conv2d(data, rng):
    n, c, h, w, o, kernel, stride, padding, dilation, groups = data.draw(conv_cases.conv_geometries(), label="geometry")
    x, weight = S.real(rng, (n, c, h, w)), S.real(rng, (o, c // groups) + kernel)
    expected = conv_cases.conv2d_loops(x, weight, None, stride, padding, dilation, groups)
    if data.draw(st.booleans(), label="bias"):
        bias = S.real(rng, (o,))
        expected = expected + bias.reshape(1, -1, 1, 1)
        return (lambda a, b, d: mb.conv2d(a, b, d, stride, padding, dilation, groups)), [x, weight, bias], expected
    return (lambda a, b: mb.conv2d(a, b, None, stride, padding, dilation, groups)), [x, weight], expected


def build_conv_transpose2d(data, rng):
    n, c, h, w, o, kernel, stride, padding, dilation, groups = data.draw(conv_cases.conv_geometries(), label="geometry")
    extra = tuple(data.draw(st.integers(0, s - 1), label="output_padding") for s in stride)
    out = [(size - 1) * s - 2 * p + d * (k - 1) + e + 1 for size, s, p, d, k, e in zip((h, w), stride, padding, dilation, kernel, extra)]
    assume(min(out) >= 1)
    y, weight = S.real(rng, (n, c, h, w)), S.real(rng, (c, o // groups) + kernel)
    expected = conv_cases.conv_transpose2d_loops(y, weight, stride, padding, extra, dilation, groups)
    return (lambda a, b: mb.conv_transpose2d(a, b, None, stride, padding, extra, dilation, groups)), [y, weight], expected


def build_pool(op, reduce):
    def build(data, rng):
        shape, kernel, stride, padding = data.draw(conv_cases.pool_geometries(), label="geometry")
        # Distinct values a grid step apart, shuffled: no ties within 1e-2, where max has no derivative.
        x = rng.permutation(np.arange(np.prod(shape)) * 0.05 - 1.0).reshape(shape) if reduce is np.max else S.real(rng, shape)
        return (lambda t: op(t, kernel, stride, padding)), [x], conv_cases.pool2d_loops(x, kernel, stride, padding, reduce)

    return build


def build_batch_norm(data, rng):
    shape = data.draw(st.sampled_from([(2, 3), (4, 1), (2, 2, 3, 2), (1, 3, 2, 2), (3, 2, 1, 1)]), label="shape")
    x, gamma, beta = S.real(rng, shape), S.real(rng, (shape[1],)), S.real(rng, (shape[1],))
    axes = (0,) if len(shape) == 2 else (0, 2, 3)
    view = (1, shape[1]) + (1,) * (len(shape) - 2)
    expected = (x - x.mean(axes, keepdims=True)) / np.sqrt(x.var(axes, keepdims=True) + 1e-5)
    expected = expected * gamma.reshape(view) + beta.reshape(view)
    return (lambda a, g, b: mb.nn.batch_norm(a, None, None, g, b, training=True)), [x, gamma, beta], expected


def _softplus(x):
    return np.logaddexp(0, x)


def build_log_softplus(data, rng):
    # Scale 20 reaches rho far below -30, where the op switches to rho itself; scale 1 the usual range.
    x = S.real(rng, data.draw(S.shapes(), label="shape")) * data.draw(st.sampled_from([1.0, 20.0]), label="scale")
    return mb.autograd.ops.log_softplus, [x], np.log(np.log1p(np.exp(x)))


def build_softplus_gaussian_kl(data, rng):
    shapes = data.draw(S.broadcastable_shapes(2), label="shapes")
    mu, rho = (S.real(rng, shape) for shape in shapes)
    prior_sigma = data.draw(st.sampled_from([0.5, 1.0, 3.0]), label="prior_sigma")
    # rho down to -60 reaches the branch log sigma = rho; sigma given or computed inside give one result.
    rho = rho * data.draw(st.sampled_from([1.0, 30.0]), label="scale")
    sigma = _softplus(rho)
    expected = np.log(prior_sigma) - np.log(np.log1p(np.exp(rho))) + (sigma ** 2 + mu ** 2) / (2 * prior_sigma ** 2) - 0.5
    if data.draw(st.booleans(), label="sigma given"):
        return (lambda m, r: mb.autograd.ops.softplus_gaussian_kl(m, r, prior_sigma, mb.softplus(r))), [mu, rho], expected
    return (lambda m, r: mb.autograd.ops.softplus_gaussian_kl(m, r, prior_sigma)), [mu, rho], expected


def lstm_loops(inputs, h, c, weight):
    """The LSTM recursion step by step in NumPy (gate order i, f, g, o): hc[t] = [h_t, c_t]."""
    hidden, out = h.shape[1], []
    for a_x in inputs:
        a = a_x + h @ weight
        i, f, o = (scipy.special.expit(a[:, k * hidden: (k + 1) * hidden]) for k in (0, 1, 3))
        c = f * c + i * np.tanh(a[:, 2 * hidden: 3 * hidden])
        h = o * np.tanh(c)
        out.append(np.concatenate([h, c], axis=1))
    return np.stack(out)


def build_lstm(data, rng):
    steps, batch, hidden = (data.draw(st.integers(1, 4), label=label) for label in ("steps", "batch", "hidden"))
    inputs, h, c = S.real(rng, (steps, batch, 4 * hidden)), S.real(rng, (batch, hidden)), S.real(rng, (batch, hidden))
    weight = S.real(rng, (hidden, 4 * hidden))
    return mb.autograd.ops.lstm, [inputs, h, c, weight], lstm_loops(inputs, h, c, weight)


CASES = [
    # arithmetic, with broadcasting
    binary("add", mb.add, np.add),
    binary("sub", mb.sub, np.subtract),
    binary("mul", mb.mul, np.multiply, second_order=True),
    binary("div", mb.div, np.divide, domains=(S.real, S.away_from_zero), second_order=True),
    binary("pow", mb.pow, np.power, domains=(S.positive, S.real), second_order=True),
    OpCase("pow_scalar", build_pow_scalar, second_order=True),
    unary("neg", mb.neg, np.negative),
    # transcendental
    unary("exp", mb.exp, np.exp, second_order=True),
    unary("log", mb.log, np.log, S.positive, second_order=True),
    unary("log1p", mb.log1p, np.log1p, S.above_minus_one),
    unary("sqrt", mb.sqrt, np.sqrt, S.positive, second_order=True),
    unary("abs", mb.abs, np.abs, S.away_from_zero),
    unary("sin", mb.sin, np.sin, second_order=True),
    unary("cos", mb.cos, np.cos),
    unary("erf", mb.erf, scipy.special.erf, second_order=True),
    # special functions (normalising constants of distributions)
    unary("lgamma", mb.lgamma, scipy.special.gammaln, S.positive, second_order=True),
    unary("digamma", mb.digamma, scipy.special.digamma, S.positive, second_order=True),
    OpCase("polygamma", build_polygamma, second_order=True),
    # activations
    unary("tanh", mb.tanh, np.tanh, second_order=True),
    unary("sigmoid", mb.sigmoid, scipy.special.expit, second_order=True),
    unary("relu", mb.relu, lambda x: np.maximum(x, 0), S.away_from_zero),
    unary("leaky_relu", lambda t: mb.leaky_relu(t, 0.1), lambda x: np.where(x > 0, x, 0.1 * x), S.away_from_zero),
    unary("softplus", mb.softplus, lambda x: np.logaddexp(0, x), second_order=True),
    unary("log_sigmoid", mb.log_sigmoid, lambda x: -np.logaddexp(0, -x), second_order=True),
    # selection
    binary("maximum", mb.maximum, np.maximum, min_gap=1e-3),
    binary("minimum", mb.minimum, np.minimum, min_gap=1e-3),
    OpCase("where", build_where),
    OpCase("clip", build_clip),
    # reductions
    reduction("sum", mb.sum, np.sum, second_order=True),
    reduction("mean", mb.mean, np.mean),
    OpCase("var", build_var),
    reduction("max", mb.max, np.max),
    reduction("min", mb.min, np.min),
    reduction("logsumexp", mb.logsumexp, lambda x, axis, keepdims: np.reshape(  # SciPy gives 0-d input shape (1,)
        scipy.special.logsumexp(x, axis=axis, keepdims=keepdims), np.sum(x, axis, keepdims=keepdims).shape
    ), second_order=True),
    reduction("softmax", mb.softmax, scipy.special.softmax, single_axis=True, second_order=True),
    reduction("log_softmax", mb.log_softmax, scipy.special.log_softmax, single_axis=True, second_order=True),
    # shape
    OpCase("reshape", build_reshape),
    OpCase("transpose", build_transpose),
    OpCase("swapaxes", build_swapaxes),
    OpCase("broadcast_to", build_broadcast_to),
    OpCase("sum_to", build_sum_to),
    OpCase("squeeze", build_squeeze),
    OpCase("unsqueeze", build_unsqueeze),
    OpCase("flatten", build_flatten),
    OpCase("getitem", build_getitem, second_order=True),
    OpCase("concatenate", build_concatenate),
    OpCase("stack", build_stack),
    OpCase("split", build_split),
    # linear algebra
    OpCase("matmul", build_matmul, second_order=True),
    OpCase("linear", build_linear, second_order=True),
    OpCase("cholesky", build_cholesky, second_order=True),
    OpCase("solve_triangular", build_solve_triangular, second_order=True),
    OpCase("triangular_matmul", build_triangular_matmul, second_order=True),
    OpCase("solve", build_solve, second_order=True),
    OpCase("inv", build_inv, second_order=True),
    OpCase("slogdet", build_slogdet, second_order=True),
    OpCase("logdet", build_logdet),
    OpCase("diag", build_diag),
    OpCase("trace", build_trace),
    # convolution and pooling (NCHW)
    OpCase("conv2d", build_conv2d, second_order=True),
    OpCase("conv_transpose2d", build_conv_transpose2d, second_order=True),
    OpCase("max_pool2d", build_pool(mb.max_pool2d, np.max), second_order=True),
    OpCase("avg_pool2d", build_pool(mb.avg_pool2d, np.mean), second_order=True),
    OpCase("batch_norm", build_batch_norm, second_order=True),
    # Bayes by Backprop's posterior from (mu, rho), sigma = softplus(rho)
    OpCase("log_softplus", build_log_softplus, second_order=True),
    OpCase("softplus_gaussian_kl", build_softplus_gaussian_kl, second_order=True),
    # recurrence (one fused node for the whole sequence)
    OpCase("lstm", build_lstm, second_order=True),
]


def _leaves(arrays: list[np.ndarray]) -> list[mb.Tensor]:
    return [mb.tensor(a, dtype="float64", requires_grad=True) for a in arrays]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@given(data=st.data(), rng=S.generators())
def test_forward_matches_reference_and_gradient_matches_central_differences(case, data, rng):
    op, arrays, expected = case.build(data, rng)
    inputs = _leaves(arrays)
    output = op(*inputs)
    assert output.shape == np.shape(expected)
    np.testing.assert_allclose(output.numpy(), expected, rtol=1e-10, atol=1e-12)
    assert mb.gradcheck(op, inputs)


SECOND_ORDER = [c for c in CASES if c.second_order]


@pytest.mark.parametrize("case", SECOND_ORDER, ids=[c.name for c in SECOND_ORDER])
@given(data=st.data(), rng=S.generators())
def test_second_derivatives_match_central_differences(case, data, rng):
    op, arrays, _ = case.build(data, rng)
    assert mb.gradgradcheck(op, _leaves(arrays))


def test_every_public_op_has_a_row():
    """The table covers the whole op surface the issue lists: a new op without a row fails here."""
    covered = {case.name for case in CASES}
    required = {
        "add", "sub", "mul", "div", "pow", "neg", "exp", "log", "log1p", "sqrt", "abs", "sin", "cos",
        "tanh", "sigmoid", "relu", "leaky_relu", "softplus", "log_sigmoid", "erf", "maximum", "minimum",
        "lgamma", "digamma", "polygamma",
        "where", "clip", "matmul", "sum", "mean", "var", "max", "min", "logsumexp", "softmax",
        "log_softmax", "linear", "reshape", "transpose", "broadcast_to", "squeeze", "unsqueeze", "flatten",
        "getitem", "concatenate", "stack", "split", "cholesky", "solve_triangular", "triangular_matmul", "solve", "inv",
        "slogdet", "logdet", "diag", "trace", "conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d",
        "batch_norm", "log_softplus", "softplus_gaussian_kl", "lstm",
    }
    assert required <= covered, sorted(required - covered)
