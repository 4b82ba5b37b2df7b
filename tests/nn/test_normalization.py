"""Batch normalisation: training statistics, running averages and evaluation mode against PyTorch
and against the formula; gradients by central differences are in the op table."""

from __future__ import annotations

import numpy as np
import pytest

import minibayes as mb
from minibayes import nn


def test_training_mode_normalises_each_channel_to_zero_mean_unit_variance():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 5.0, size=(8, 3, 4, 4)) * np.array([1.0, 10.0, 0.1]).reshape(1, 3, 1, 1)
    layer = nn.BatchNorm2d(3, dtype="float64")
    y = layer(mb.tensor(x, dtype="float64")).numpy()
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), x.var(axis=(0, 2, 3)) / (x.var(axis=(0, 2, 3)) + 1e-5), rtol=1e-12)


@pytest.mark.parametrize("shape, make", [((6, 4, 5, 5), lambda: nn.BatchNorm2d), ((16, 4), lambda: nn.BatchNorm1d)])
def test_running_averages_and_evaluation_mode_match_pytorch(shape, make):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    ours = make()(4, momentum=0.2, dtype="float64")
    theirs = (torch.nn.BatchNorm2d if len(shape) == 4 else torch.nn.BatchNorm1d)(4, momentum=0.2).double()
    gamma, beta = rng.normal(size=4), rng.normal(size=4)
    ours.weight.data[...], ours.bias.data[...] = mb.asarray(gamma), mb.asarray(beta)
    with torch.no_grad():
        theirs.weight[:], theirs.bias[:] = torch.tensor(gamma), torch.tensor(beta)
    for _ in range(3):
        x = rng.normal(2.0, 3.0, size=shape)
        np.testing.assert_allclose(ours(mb.tensor(x, dtype="float64")).numpy(),
                                   theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), rtol=1e-12)
    ours.eval(), theirs.eval()
    x = rng.normal(size=shape)
    np.testing.assert_allclose(ours(mb.tensor(x, dtype="float64")).numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-10)


def test_evaluation_mode_is_the_affine_map_of_the_running_averages_and_leaves_them_alone():
    layer = nn.BatchNorm1d(2, dtype="float64").eval()
    layer.running_mean[...] = [1.0, -2.0]
    layer.running_var[...] = [4.0, 0.25]
    x = np.array([[3.0, -1.0], [1.0, -2.0]])
    y = layer(mb.tensor(x, dtype="float64")).numpy()
    np.testing.assert_allclose(y, (x - [1.0, -2.0]) / np.sqrt(np.array([4.0, 0.25]) + 1e-5))
    np.testing.assert_array_equal(layer.running_mean, [1.0, -2.0])


def test_gradients_flow_through_the_batch_statistics():
    """With batch statistics, sum(y) does not depend on x (each channel's mean is beta): gradient 0."""
    x = mb.tensor(np.random.default_rng(2).normal(size=(5, 3)), dtype="float64", requires_grad=True)
    nn.BatchNorm1d(3, dtype="float64")(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 0.0, atol=1e-12)


def test_bad_input_names_the_layer_and_the_shape():
    with pytest.raises(ValueError, match=r"BatchNorm2d: input must be \(N, C, H, W\) with C = 3, got shape \(2, 4, 5, 5\)"):
        nn.BatchNorm2d(3)(mb.zeros(2, 4, 5, 5))
    with pytest.raises(ValueError, match=r"BatchNorm1d: input must be \(N, C\)"):
        nn.BatchNorm1d(3)(mb.zeros(2, 3, 5, 5))
    with pytest.raises(ValueError, match="more than one value per channel"):
        nn.BatchNorm1d(3)(mb.zeros(1, 3))
    with pytest.raises(ValueError, match="momentum must be in"):
        nn.BatchNorm2d(3, momentum=0.0)


def test_running_averages_are_saved_and_loaded_with_the_parameters():
    rng = np.random.default_rng(5)
    layer = nn.BatchNorm2d(3, dtype="float64")
    layer(mb.tensor(rng.normal(4.0, 2.0, size=(4, 3, 2, 2)), dtype="float64"))
    state = layer.state_dict()
    assert list(state) == ["weight", "bias", "running_mean", "running_var"]
    fresh = nn.BatchNorm2d(3, dtype="float64")
    fresh.load_state_dict(state)
    np.testing.assert_array_equal(fresh.running_mean, layer.running_mean)
    x = mb.tensor(rng.normal(size=(2, 3, 2, 2)), dtype="float64")
    np.testing.assert_array_equal(fresh.eval()(x).numpy(), layer.eval()(x).numpy())
