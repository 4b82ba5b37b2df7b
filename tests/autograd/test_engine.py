"""The backward walk: accumulation, graph lifetime, higher order, modes and error messages."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
from hypothesis import given, strategies as st

import minibayes as mb
from tests import strategies as S


def leaf(values, dtype="float64"):
    return mb.tensor(np.asarray(values, dtype=float), dtype=dtype, requires_grad=True)


# --------------------------------------------------------------------------- accumulation
def test_gradients_of_a_shared_subexpression_accumulate():
    x = leaf([0.3, -1.2, 2.0])
    h = mb.exp(x)
    y = (h * h + h).sum()  # dy/dx = (2h + 1) h
    y.backward()
    expected = (2 * np.exp(x.numpy()) + 1) * np.exp(x.numpy())
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)


def test_a_tensor_used_twice_as_both_operands():
    x = leaf([1.5, -2.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy())


def test_leaf_gradients_accumulate_across_backward_calls():
    x = leaf([1.0, 2.0])
    (3 * x).sum().backward()
    (3 * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0])


def test_non_leaf_keeps_grad_only_when_asked():
    x = leaf([1.0, 2.0])
    h = x * 2
    kept = x * 3
    kept.retain_grad()
    (h * kept).sum().backward()
    assert h.grad is None
    np.testing.assert_allclose(kept.grad.numpy(), h.numpy())


def _numpy_sum_to(array, shape):
    lead = array.ndim - len(shape)
    summed = array.sum(axis=tuple(range(lead)))
    return summed.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True).reshape(shape)


@given(shapes=S.broadcastable_shapes(2), rng=S.generators())
def test_broadcast_operand_receives_gradient_of_its_own_shape(shapes, rng):
    a, b = leaf(S.real(rng, shapes[0])), leaf(S.real(rng, shapes[1]))
    (a * b).sum().backward()
    full = np.broadcast_shapes(a.shape, b.shape)
    np.testing.assert_allclose(a.grad.numpy(), _numpy_sum_to(np.broadcast_to(b.numpy(), full), a.shape))
    np.testing.assert_allclose(b.grad.numpy(), _numpy_sum_to(np.broadcast_to(a.numpy(), full), b.shape))


def test_repeated_integer_indices_accumulate_in_the_scatter():
    x = leaf([1.0, 2.0, 3.0])
    x[np.array([0, 0, 2, 0])].sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 0.0, 1.0])


def test_max_ties_share_the_gradient():
    x = leaf([2.0, 5.0, 5.0, 1.0])
    mb.max(x).backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.5, 0.5, 0.0])


# --------------------------------------------------------------------------- recording modes
def test_no_grad_records_nothing():
    x = leaf([1.0, 2.0])
    with mb.no_grad():
        y = mb.exp(x).sum()
    assert not y.requires_grad and y.creator is None
    assert mb.is_grad_enabled()
    with pytest.raises(mb.GraphError, match="does not require grad"):
        y.backward()


def test_enable_grad_inside_no_grad():
    x = leaf([1.0])
    with mb.no_grad():
        with mb.enable_grad():
            y = x * 2
    assert y.requires_grad


def test_backward_without_create_graph_records_nothing():
    x = leaf([0.5, 1.5])
    mb.exp(x).sum().backward()
    assert x.grad.creator is None and not x.grad.requires_grad


def test_constants_do_not_require_grad():
    x = leaf([1.0, 2.0])
    c = mb.tensor([3.0, 4.0], dtype="float64")
    (x * c).sum().backward()
    assert c.grad is None


# --------------------------------------------------------------------------- graph lifetime
def test_second_backward_needs_retain_graph():
    x = leaf([1.0, 2.0])
    y = mb.exp(x).sum()
    y.backward()
    with pytest.raises(mb.GraphError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    y = mb.exp(x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([1.0, 2.0]))


def test_backward_frees_intermediate_tensors():
    x = leaf(np.ones(1000))
    hidden = mb.exp(x)
    alive = weakref.ref(hidden)
    y = (hidden * 2).sum()
    del hidden
    gc.collect()
    assert alive() is not None  # the graph holds it until backward
    y.backward()
    assert alive() is None  # freed by backward, although y still exists


def test_retained_graph_keeps_intermediate_tensors():
    x = leaf(np.ones(3))
    hidden = mb.exp(x)
    alive = weakref.ref(hidden)
    y = (hidden * 2).sum()
    del hidden
    y.backward(retain_graph=True)
    assert alive() is not None


def test_a_chain_of_100000_ops_needs_no_recursion():
    x = leaf([0.0])
    y = x
    for _ in range(100_000):
        y = y + 1.0
    y.sum().backward()
    assert y.item() == 100_000
    assert x.grad.item() == 1.0


# --------------------------------------------------------------------------- higher order
def test_hessian_vector_product():
    # f(x) = sum(x^3) + x0 x1: H = diag(6x) + [[0, 1], [1, 0]]
    x = leaf([0.7, -1.3])
    v = np.array([2.0, -0.5])
    f = (x**3).sum() + x[0] * x[1]
    (g,) = mb.grad(f, x, create_graph=True)
    (hv,) = mb.grad((g * mb.tensor(v, dtype="float64")).sum(), x)
    hessian = np.diag(6 * x.numpy()) + np.array([[0.0, 1.0], [1.0, 0.0]])
    np.testing.assert_allclose(hv.numpy(), hessian @ v, rtol=1e-12)


def test_gradient_penalty_is_differentiable_with_respect_to_parameters():
    # D(x) = tanh(x @ w); penalty = ||dD/dx||^2; d penalty / dw checked by central differences
    rng = np.random.default_rng(0)
    x = leaf(rng.standard_normal((4, 3)))
    w = leaf(rng.standard_normal((3,)))

    def penalty(w_):
        out = mb.tanh(x @ w_).sum()
        (gx,) = mb.grad(out, x, create_graph=True)
        return (gx * gx).sum()

    assert mb.gradcheck(penalty, [w])


def test_third_derivative_of_exp_by_repeated_grad():
    x = leaf([0.4])
    y = mb.exp(x * 2).sum()
    (g1,) = mb.grad(y, x, create_graph=True)
    (g2,) = mb.grad(g1.sum(), x, create_graph=True)
    (g3,) = mb.grad(g2.sum(), x)
    np.testing.assert_allclose(g3.numpy(), 8 * np.exp(0.8), rtol=1e-12)


# --------------------------------------------------------------------------- functional grad
def test_grad_returns_gradients_without_touching_dot_grad():
    x, y = leaf([1.0, 2.0]), leaf([3.0])
    out = (x * y).sum()
    gx, gy = mb.grad(out, [x, y])
    np.testing.assert_allclose(gx.numpy(), [3.0, 3.0])
    np.testing.assert_allclose(gy.numpy(), [3.0])
    assert x.grad is None and y.grad is None


def test_grad_with_respect_to_an_intermediate_tensor():
    x = leaf([1.0, 2.0])
    h = x * 3
    out = (h * h).sum()
    (gh,) = mb.grad(out, h)
    np.testing.assert_allclose(gh.numpy(), 2 * h.numpy())


def test_grad_of_unused_input():
    x, unused = leaf([1.0]), leaf([2.0])
    with pytest.raises(ValueError, match="allow_unused=True"):
        mb.grad((x * 2).sum(), [x, unused], retain_graph=True)
    gx, gu = mb.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gu is None and gx.item() == 2.0


def test_grad_with_grad_outputs_is_a_vector_jacobian_product():
    x = leaf([1.0, 2.0, 3.0])
    u = np.array([0.5, -1.0, 2.0])
    (g,) = mb.grad(mb.exp(x), x, grad_outputs=mb.tensor(u, dtype="float64"))
    np.testing.assert_allclose(g.numpy(), u * np.exp(x.numpy()))


# --------------------------------------------------------------------------- dtypes
def test_float32_stays_float32_through_scalars_and_backward():
    x = mb.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2.0 + 1 - x / 3.0) ** 2
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_numpy_array_on_the_left_gives_a_tensor():
    x = leaf([1.0, 2.0])
    y = np.array([3.0, 4.0]) * x
    assert isinstance(y, mb.Tensor)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0])


# --------------------------------------------------------------------------- stable forms at |x| = 1000
def test_stable_forms_do_not_overflow_at_1000():
    x = leaf([-1000.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # overflow or NaN raises here
        np.testing.assert_allclose(mb.softplus(x).numpy(), [0.0, 1000.0])
        np.testing.assert_allclose(mb.log_sigmoid(x).numpy(), [-1000.0, 0.0])
        np.testing.assert_allclose(mb.sigmoid(x).numpy(), [0.0, 1.0])
        np.testing.assert_allclose(mb.logsumexp(x).item(), 1000.0)
        np.testing.assert_allclose(mb.log_softmax(x).numpy(), [-2000.0, 0.0])
        np.testing.assert_allclose(mb.logsumexp(leaf([1000.0, 1000.0])).item(), 1000.0 + np.log(2))
        total = mb.softplus(x).sum() + mb.log_sigmoid(x).sum() + mb.logsumexp(x) + mb.log_softmax(x).sum()
        total.backward()
    assert np.all(np.isfinite(x.grad.numpy()))


def test_logsumexp_of_all_minus_infinity_is_minus_infinity():
    x = mb.tensor([-np.inf, -np.inf], dtype="float64")
    assert mb.logsumexp(x).item() == -np.inf


# --------------------------------------------------------------------------- errors
def test_backward_of_a_non_scalar_needs_grad():
    y = leaf([1.0, 2.0]) * 2
    with pytest.raises(ValueError, match=r"non-scalar output \(shape \(2,\)\) needs `grad`"):
        y.backward()


def test_backward_grad_must_match_the_output_shape():
    y = leaf([1.0, 2.0]) * 2
    with pytest.raises(ValueError, match=r"grad for outputs\[0\] has shape \(3,\)"):
        y.backward(np.ones(3))


def test_requires_grad_on_integers_is_a_type_error():
    with pytest.raises(TypeError, match="requires_grad=True needs a floating dtype"):
        mb.tensor([1, 2, 3], requires_grad=True)


def test_shape_mismatch_names_the_op_and_both_shapes():
    a, b = leaf(np.ones((2, 3))), leaf(np.ones(4))
    with pytest.raises(ValueError, match=r"^add: .*\(input shapes: \(2, 3\), \(4,\)\)"):
        a + b
    with pytest.raises(ValueError, match=r"^matmul: .*\(input shapes: \(2, 3\), \(4,\)\)"):
        a @ b


def test_bad_axis_names_the_op():
    with pytest.raises(ValueError, match="sum: axis 3 is out of range"):
        mb.sum(leaf(np.ones((2, 2))), axis=3)


def test_cholesky_of_an_indefinite_matrix_is_a_value_error():
    with pytest.raises(ValueError, match="cholesky: .*not positive definite"):
        mb.cholesky(mb.tensor([[1.0, 2.0], [2.0, 1.0]], dtype="float64"))


def test_logdet_refuses_a_negative_determinant():
    with pytest.raises(ValueError, match="logdet: the determinant is not positive"):
        mb.logdet(mb.tensor([[0.0, 1.0], [1.0, 0.0]], dtype="float64"))


def test_detect_anomaly_names_the_op_that_produced_a_nan():
    x = leaf([0.0, 1.0])
    with mb.detect_anomaly():
        y = mb.sqrt(x).sum()  # d sqrt(x)/dx = inf at 0
        with pytest.raises(FloatingPointError, match=r"(?s)backward of .sqrt. produced NaN or inf.*forward call"):
            y.backward()


def test_without_anomaly_detection_the_inf_passes_silently_into_grad():
    x = leaf([0.0, 1.0])
    with np.errstate(divide="ignore"):
        mb.sqrt(x).sum().backward()
    assert np.isinf(x.grad.numpy()[0])


def test_operands_on_two_backends_are_refused_with_both_named():
    class FakeCupyArray:  # stands in for cupy.ndarray on a machine without a GPU
        __module__ = "cupy._core.core"
        shape, dtype, ndim = (2,), np.dtype("float64"), 1

    from minibayes.autograd.function import _check_same_backend
    from minibayes.autograd.ops.elementwise import Add

    with pytest.raises(TypeError, match=r"add: operands live on different backends \(input 0 on numpy, input 1 on cupy\)"):
        _check_same_backend(Add(), [np.ones(2), FakeCupyArray()])


@given(st.integers(0, 5))
def test_item_and_len(n):
    x = mb.tensor(np.arange(n + 1, dtype=float))
    assert len(x) == n + 1
    assert mb.sum(x).item() == sum(range(n + 1))


@pytest.mark.parametrize("n, block", [(1, 128), (7, 1), (7, 3), (130, 64), (300, 128)])
def test_blocked_cholesky_adjoint_equals_murrays_formula(n, block):
    """The raw blocked backward (first order) against eq. 10 in Tensor ops (used under create_graph)."""
    from minibayes.autograd.ops.linalg import _cholesky_adjoint_blocked

    rng = np.random.default_rng(n)
    m = rng.standard_normal((n, n))
    a = mb.tensor(m @ m.T + n * np.eye(n), dtype="float64", requires_grad=True)
    lower = mb.cholesky(a)
    g_lower = np.tril(rng.standard_normal((n, n)))
    (by_formula,) = mb.grad(lower, [a], grad_outputs=[mb.tensor(g_lower)], create_graph=True)
    blocked = _cholesky_adjoint_blocked(lower.numpy(), g_lower.copy(), block)
    np.testing.assert_allclose(blocked, by_formula.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("data, found", [
    (["a"], "dtype <U1 from list"),
    ("abc", "dtype <U3 from str"),
    (None, "dtype object from NoneType"),
    ({"a": 1}, "dtype object from dict"),
    ([[1.0, 2.0], [3.0]], "equal-length rows"),
])
def test_tensor_of_non_numbers_is_a_type_error_naming_what_it_got(data, found):
    """Before: mb.tensor(['a']) made a string tensor that failed later, far from the cause."""
    with pytest.raises(TypeError, match=rf"tensor: data must be numbers \(bool, int or float\).*{found}"):
        mb.tensor(data)


def test_tensor_still_takes_bools_ints_floats_and_numeric_strings_with_a_dtype():
    assert mb.tensor([True, False]).dtype == np.bool_
    assert mb.tensor(np.int64(3)).dtype == np.int64
    np.testing.assert_array_equal(mb.tensor(["1.5"], dtype="float64").numpy(), [1.5])
