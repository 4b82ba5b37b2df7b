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
