"""Dense, activations, Flatten and Dropout (including MC mode)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

import minibayes as mb
from minibayes import nn


def test_dense_computes_x_w_plus_b():
    layer = nn.Dense(3, 2, dtype="float64")
    x = np.random.default_rng(0).standard_normal((4, 3))
    expected = x @ layer.weight.numpy() + layer.bias.numpy()
    np.testing.assert_allclose(layer(mb.tensor(x)).numpy(), expected, rtol=1e-12)
    assert nn.Dense(3, 2, bias=False).bias is None


def test_dense_gradients_pass_gradcheck():
    layer = nn.Dense(3, 2, dtype="float64")
    x = mb.tensor(np.random.default_rng(1).standard_normal((4, 3)), requires_grad=True)
    assert mb.gradcheck(lambda x_, w, b: mb.linear(x_, w, b), [x, layer.weight, layer.bias])


@pytest.mark.parametrize("init, expected_std", [("he", np.sqrt(2 / 400)), ("glorot", np.sqrt(6 / 800) / np.sqrt(3))])
def test_initialisers_have_the_stated_variance(init, expected_std):
    mb.seed(0)
    weight = nn.Dense(400, 400, init=init).weight.numpy()
    # 160,000 draws: the sample std is within 1% of the target with overwhelming probability.
    assert abs(weight.std() / expected_std - 1) < 0.01
    assert abs(weight.mean()) < 4 * expected_std / 400


def test_custom_initialiser_and_bad_arguments():
    layer = nn.Dense(2, 3, init=lambda shape, dtype: np.full(shape, 0.5, dtype=dtype))
    np.testing.assert_array_equal(layer.weight.numpy(), np.full((2, 3), 0.5))
    with pytest.raises(ValueError, match="init must be one of"):
        nn.Dense(2, 3, init="xavier")
    with pytest.raises(ValueError, match="in_features must be a positive int"):
        nn.Dense(0, 3)


def test_activation_modules_match_their_functions():
    x = mb.tensor(np.linspace(-3, 3, 13))
    for module, function in [(nn.ReLU(), mb.relu), (nn.Tanh(), mb.tanh), (nn.Sigmoid(), mb.sigmoid),
                             (nn.Softplus(), mb.softplus)]:
        np.testing.assert_array_equal(module(x).numpy(), function(x).numpy())
    np.testing.assert_allclose(nn.LeakyReLU(0.2)(x).numpy(), np.where(x.numpy() > 0, x.numpy(), 0.2 * x.numpy()))


def test_flatten_keeps_the_batch_axis():
    assert nn.Flatten()(mb.zeros(5, 28, 28)).shape == (5, 784)


@given(p=st.sampled_from([0.1, 0.5, 0.8]))
def test_dropout_preserves_the_expected_activation(p):
    mb.seed(3)
    x = mb.ones(200_000)
    y = nn.Dropout(p)(x).numpy()
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / (1 - p), rtol=1e-6)
    # Mean of 200,000 scaled Bernoulli(1 - p) draws: standard error sqrt(p / ((1 - p) n)).
    standard_error = np.sqrt(p / ((1 - p) * x.size))
    assert abs(y.mean() - 1.0) < 5 * standard_error


def test_dropout_is_identity_in_eval_and_samples_in_mc_mode():
    mb.seed(4)
    x = mb.ones(1000)
    plain, mc = nn.Dropout(0.5).eval(), nn.Dropout(0.5, mc=True).eval()
    np.testing.assert_array_equal(plain(x).numpy(), x.numpy())
    assert (mc(x).numpy() == 0).any()
    with nn.mc_dropout():
        assert (plain(x).numpy() == 0).any()
    np.testing.assert_array_equal(plain(x).numpy(), x.numpy())


def test_dropout_gradient_is_the_mask():
    mb.seed(5)
    x = mb.tensor(np.ones(100), requires_grad=True)
    y = nn.functional.dropout(x, 0.3)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.numpy())


def test_dropout_rejects_bad_p():
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\)"):
        nn.Dropout(1.0)
