"""Every bijector: exact inverse, and a log-determinant equal to log |det J| of the autograd Jacobian."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minibayes as mb
from minibayes import flows

from tests.flows._helpers import KINDS, make_bijector
from tests.strategies import generators


@pytest.mark.parametrize("kind", KINDS)
@given(dim=st.integers(2, 6), batch=st.integers(1, 5), rng=generators())
@settings(max_examples=10)
def test_inverse_undoes_forward_and_the_log_determinants_cancel(kind, dim, batch, rng):
    bijector = make_bijector(kind, dim, rng)
    x = rng.normal(0.0, 1.5, size=(batch, dim))
    z, log_det = bijector.forward(x)
    assert z.shape == (batch, dim) and log_det.shape == (batch,)
    if kind != "random_permutation":  # (a random order of 2 may be the identity)
        assert np.abs(z.numpy() - x).max() > 1e-3  # it does move the points
    x_back, log_det_inverse = bijector.inverse(z)
    np.testing.assert_allclose(x_back.numpy(), x, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(log_det_inverse.numpy(), -log_det.numpy(), rtol=1e-10, atol=1e-10)
    z_back, _ = bijector.forward(bijector.inverse(x)[0])  # the other way round
    np.testing.assert_allclose(z_back.numpy(), x, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kind", KINDS)
@given(dim=st.integers(2, 6), rng=generators())
@settings(max_examples=6)
def test_log_determinant_is_the_slogdet_of_the_autograd_jacobian(kind, dim, rng):
    bijector = make_bijector(kind, dim, rng)
    for point in rng.normal(0.0, 1.5, size=(2, dim)):
        z, log_det = bijector.forward(point)
        jacobian = mb.jacobian(lambda t: bijector.forward(t)[0], point)
        assert jacobian.shape == (dim, dim)
        sign, log_abs_det = np.linalg.slogdet(jacobian.numpy())
        assert sign != 0
        assert log_det.item() == pytest.approx(log_abs_det, rel=1e-10, abs=1e-10)
        _, inverse_log_det = bijector.inverse(z)
        inverse_jacobian = mb.jacobian(lambda t: bijector.inverse(t)[0], z.numpy())
        assert inverse_log_det.item() == pytest.approx(np.linalg.slogdet(inverse_jacobian.numpy())[1], abs=1e-10)


@given(dim=st.integers(2, 6), rng=generators())
@settings(max_examples=10)
def test_logit_transform_inverts_and_its_log_determinant_is_the_jacobians(dim, rng):
    logit = flows.LogitTransform(dim, alpha=rng.uniform(0.0, 0.2))
    y = rng.uniform(0.0, 1.0, size=(3, dim))
    z, log_det = logit.forward(y)
    y_back, inverse_log_det = logit.inverse(z)
    np.testing.assert_allclose(y_back.numpy(), y, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(inverse_log_det.numpy(), -log_det.numpy(), rtol=1e-10)
    for row, expected in zip(y, log_det.numpy()):
        jacobian = mb.jacobian(lambda t: logit.forward(t)[0], row).numpy()
        assert expected == pytest.approx(np.linalg.slogdet(jacobian)[1], rel=1e-10)


def test_the_autograd_jacobian_matches_central_differences():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 4))

    def fn(t):
        return mb.tanh(mb.matmul(mb.tensor(a, dtype="float64"), t)) * mb.exp(t[:3])

    x = rng.normal(size=4)
    jacobian = mb.jacobian(fn, x).numpy()
    eps, numeric = 1e-6, np.zeros((3, 4))
    for j in range(4):
        step = np.zeros(4)
        step[j] = eps
        numeric[:, j] = (fn(mb.tensor(x + step, dtype="float64")).numpy()
                         - fn(mb.tensor(x - step, dtype="float64")).numpy()) / (2 * eps)
    np.testing.assert_allclose(jacobian, numeric, rtol=1e-7, atol=1e-9)
    # Matrix-valued input and output keep their shapes: y.shape + x.shape.
    assert mb.jacobian(lambda t: t * 2.0, np.ones((2, 3))).shape == (2, 3, 2, 3)
    # create_graph: the Jacobian of a quadratic form is differentiable again (its Hessian is 2 A).
    sym = a[:, :3] @ a[:, :3].T
    x_leaf = mb.tensor(rng.normal(size=3), dtype="float64", requires_grad=True)
    quad = mb.jacobian(lambda t: mb.sum(t * mb.matmul(mb.tensor(sym, dtype="float64"), t)), x_leaf,
                       create_graph=True)
    np.testing.assert_allclose(quad.numpy(), 2 * sym @ x_leaf.numpy(), rtol=1e-12)
    with pytest.raises(TypeError, match="fn must return a Tensor"):
        mb.jacobian(lambda t: 1.0, x)


def test_masks_are_binary_complementary_and_images_alternate():
    assert flows.half_mask(5).tolist() == [1, 1, 0, 0, 0]
    assert flows.alternating_mask(4, flip=True).tolist() == [0, 1, 0, 1]
    board = flows.checkerboard_mask(3, 4, channels=2).reshape(2, 3, 4)
    assert np.all(board[:, :, 1:] != board[:, :, :-1]) and np.all(board[:, 1:, :] != board[:, :-1, :])
    assert np.all(board[0] == board[1])
    channel = flows.channel_mask(4, 2, 2).reshape(4, 2, 2)
    assert channel[:2].all() and not channel[2:].any()
    np.testing.assert_array_equal(flows.checkerboard_mask(2, 2, flip=True), 1 - flows.checkerboard_mask(2, 2))


@pytest.mark.parametrize("mask, message", [
    ([1.0, 0.5, 0.0], "binary"), ([1.0, 1.0, 1.0], "at least one 0"), ([0.0, 0.0], "at least one 0"),
    ([[1.0, 0.0]], "vector"), ([1.0], "vector"),
])
def test_bad_masks_are_refused(mask, message):
    with pytest.raises(ValueError, match=message):
        flows.AffineCoupling(np.array(mask), hidden=4)


def test_made_output_d_depends_only_on_earlier_inputs():
    made = flows.MADE(5, hidden=(16, 12), n_outputs_per_dim=2, dtype="float64")
    rng = np.random.default_rng(1)
    for parameter in made.parameters():
        parameter.data[...] = mb.asarray(rng.normal(size=parameter.shape), dtype="float64")
    jacobian = mb.jacobian(lambda t: made(mb.reshape(t, (1, 5)))[0], np.random.default_rng(2).normal(size=5)).numpy()
    for block in (jacobian[:5], jacobian[5:]):
        assert np.all(np.triu(block) == 0)         # output d ignores x_d and everything after it
        assert np.all(block[np.tril_indices(5, -1)] != 0)  # ... and does see every earlier coordinate
