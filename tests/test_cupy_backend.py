"""NumPy and CuPy agree: every op of the table, forward and backward, on the same inputs.

Runs only where CuPy and a CUDA device are present; elsewhere the whole module
is skipped with the reason. The inputs and cotangents are drawn once, on the
host, and copied to both backends (their generators differ by design).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minibayes as mb
from tests import strategies as S
from tests.autograd.test_ops import CASES

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not mb.cupy_available(), reason="needs CuPy and a CUDA device"),
]


def _forward_backward(op, arrays, cotangent, backend_name, dtype):
    with mb.using(backend_name):
        inputs = [mb.tensor(a, dtype=dtype, requires_grad=True) for a in arrays]
        output = op(*inputs)
        output.backward(mb.tensor(cotangent.reshape(output.shape), dtype=dtype))
        return output.numpy(), [x.grad.numpy() for x in inputs], output.backend


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@settings(max_examples=5)
@given(data=st.data(), rng=S.generators())
def test_cupy_matches_numpy_to_float32_tolerance(case, data, rng):
    op, arrays, _ = case.build(data, rng)
    output_shape = np.shape(op(*[mb.tensor(a) for a in arrays]).numpy())
    cotangent = rng.standard_normal(output_shape)
    host_out, host_grads, _ = _forward_backward(op, arrays, cotangent, "numpy", "float32")
    gpu_out, gpu_grads, where = _forward_backward(op, arrays, cotangent, "cupy", "float32")
    assert where == "cupy"
    np.testing.assert_allclose(gpu_out, host_out, rtol=2e-4, atol=2e-5)
    for gpu_grad, host_grad in zip(gpu_grads, host_grads):
        np.testing.assert_allclose(gpu_grad, host_grad, rtol=2e-3, atol=2e-4)


@pytest.mark.parametrize("name", ["exp", "logsumexp", "matmul", "cholesky", "getitem", "solve_triangular"])
@settings(max_examples=5)
@given(data=st.data(), rng=S.generators())
def test_gradcheck_on_the_gpu(name, data, rng):
    case = next(c for c in CASES if c.name == name)
    op, arrays, _ = case.build(data, rng)
    with mb.using("cupy"):
        inputs = [mb.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
        assert mb.gradcheck(op, inputs)


def test_seeded_draws_are_reproducible_on_the_gpu():
    with mb.using("cupy"):
        mb.seed(7)
        first = mb.randn(4).numpy()
        mb.seed(7)
        np.testing.assert_array_equal(mb.randn(4).numpy(), first)


def test_mixing_backends_in_one_op_is_refused():
    host = mb.tensor([1.0, 2.0])
    with mb.using("cupy"):
        device = mb.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="input 0 on numpy, input 1 on cupy"):
        host + device


# --------------------------------------------------------------------------- numerics: the same failures as NumPy
def _on_device(array):
    with mb.using("cupy"):
        return mb.asarray(np.asarray(array, dtype=np.float64))


def test_solve_broadcasts_batch_axes_on_the_gpu():
    """CuPy's linalg.solve does not broadcast; mb.solve must, as on NumPy."""
    rng = np.random.default_rng(0)
    m = rng.standard_normal((3, 1, 4, 4))
    a = m @ np.swapaxes(m, -1, -2) + 4 * np.eye(4)
    b = rng.standard_normal((2, 4, 2))
    expected = np.linalg.solve(a, b)
    with mb.using("cupy"):
        x = mb.solve(mb.tensor(a, requires_grad=True), mb.tensor(b, requires_grad=True))
        assert x.shape == (3, 2, 4, 2)
        np.testing.assert_allclose(x.numpy(), expected, rtol=1e-10)
        x.sum().backward()  # the backward solves with A^T: broadcast again


@pytest.mark.parametrize("leftover", ["nan", "partial"])
def test_a_failed_cholesky_raises_on_the_gpu_whatever_cusolver_leaves_behind(leftover, monkeypatch):
    """cuSOLVER raises nothing: NaNs, or the finite remains of a factorisation stopped at a bad pivot."""
    from minibayes.autograd import numerics

    if leftover == "partial":
        monkeypatch.setenv("FAKECUPY_CHOLESKY", "partial")  # the CPU stand-in's imitation of potrf stopping
    indefinite = np.array([[4.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]]) - 0.5 * np.eye(3)
    stack = np.stack([np.eye(3), indefinite, 2 * np.eye(3)])
    with pytest.raises(np.linalg.LinAlgError, match="cholesky: A is not positive definite"):
        with mb.using("cupy"):
            mb.cholesky(mb.tensor(indefinite, dtype="float64"))
    with pytest.raises(np.linalg.LinAlgError, match="the prior is not positive definite"):
        numerics.cholesky(_on_device(stack), "the prior")
    _, failed = numerics.cholesky_with_failures(_on_device(stack))
    np.testing.assert_array_equal(mb.to_numpy(failed), [False, True, False])


def test_singular_solve_and_inv_raise_on_the_gpu():
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    with mb.using("cupy"):
        a = mb.tensor(singular, dtype="float64")
        with pytest.raises(np.linalg.LinAlgError, match="inv: A is singular"):
            mb.inv(a)
        with pytest.raises(np.linalg.LinAlgError, match="solve: A is singular"):
            mb.solve(a, mb.tensor([1.0, 1.0], dtype="float64"))
        # check=False (a hot path whose A cannot be singular) skips the device read: NaNs, no error.
        assert not np.isfinite(mb.solve(a, mb.tensor([1.0, 1.0], dtype="float64"), check=False).numpy()).all()
        # Non-finite input is not a singular matrix: it gives non-finite output, as on NumPy.
        x = mb.solve(mb.tensor([[np.nan, 0.0], [0.0, 1.0]], dtype="float64"), mb.tensor([1.0, 1.0], dtype="float64"))
        assert not np.isfinite(x.numpy()).all()


def test_a_collapsed_mixture_component_is_named_on_the_gpu(monkeypatch):
    """The mixtures find collapsed components through numerics.cholesky_with_failures on either backend."""
    from minibayes.models._gaussian import precision_cholesky_from_covariances

    monkeypatch.setenv("FAKECUPY_CHOLESKY", "partial")
    covariances = np.stack([np.eye(2), np.array([[1.0, 1.0], [1.0, 1.0]]) - 1e-3 * np.eye(2), np.eye(2)])
    with pytest.raises(ValueError, match=r"component\(s\) \[1\]"):
        precision_cholesky_from_covariances(_on_device(covariances), "full")
