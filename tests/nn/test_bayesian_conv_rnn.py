"""BayesianConv2d and the Bayesian LSTM: means in eval mode, the local reparameterisation's moments
against weight sampling (two routes to the same Gaussian), the model-level tools, and Fortunato et
al.'s truncated-sequence objective summing to the full-sequence negative ELBO at a fixed draw."""

from __future__ import annotations

import numpy as np
import pytest

import minibayes as mb
from minibayes import nn


def test_bayesian_conv_uses_its_means_in_eval_mode_and_samples_in_training():
    layer = nn.BayesianConv2d(2, 3, 3, padding=1, dtype="float64", posterior_rho_init=(-2.0, -2.0))
    x = mb.tensor(np.random.default_rng(0).normal(size=(2, 2, 5, 5)), dtype="float64")
    expected = mb.conv2d(x, layer.weight_mu.detach(), layer.bias_mu.detach(), 1, 1).numpy()
    np.testing.assert_allclose(layer.eval()(x).numpy(), expected, rtol=1e-12)
    layer.train()
    first, second = layer(x).numpy(), layer(x).numpy()
    assert not np.allclose(first, second) and not np.allclose(first, expected)


def test_local_reparameterisation_has_the_moments_of_weight_sampling():
    """Output variance conv(x^2, sigma^2) + sigma_b^2, once from the closed form the local
    reparameterisation samples, once from 4000 explicit filter draws."""
    mb.seed(0)
    x = mb.tensor(np.random.default_rng(1).normal(size=(1, 1, 4, 4)), dtype="float64")
    layer = nn.BayesianConv2d(1, 2, 3, dtype="float64", posterior_rho_init=(-1.0, 0.0))
    draws = np.stack([layer(x).numpy() for _ in range(4000)])
    local = nn.BayesianConv2d(1, 2, 3, dtype="float64", local_reparameterisation=True)
    local.load_state_dict(layer.state_dict())
    local_draws = np.stack([local(mb.tensor(np.repeat(x.numpy(), 1000, axis=0), dtype="float64")).numpy()])[0]
    np.testing.assert_allclose(local_draws.mean(0), draws.mean(0)[0], atol=0.15)
    np.testing.assert_allclose(local_draws.var(0), draws.var(0)[0], rtol=0.15)
    sigma = np.log1p(np.exp(layer.weight_rho.numpy()))
    sigma_b = np.log1p(np.exp(layer.bias_rho.numpy()))
    exact = mb.conv2d(x * x, mb.tensor(sigma**2, dtype="float64")).numpy()[0] + (sigma_b**2)[:, None, None]
    np.testing.assert_allclose(draws.var(0)[0], exact, rtol=0.1)


def test_model_tools_see_convolutional_and_recurrent_bayesian_layers():
    model = nn.Sequential(nn.BayesianConv2d(1, 2, 3), nn.Flatten(), nn.BayesianDense(8, 2))
    names = [name for name, _ in nn.bayesian_layers(model)]
    assert names == ["0", "2"]
    expected = model[0].kl().item() + model[2].kl().item()
    assert abs(nn.model_kl(model).item() - expected) < 1e-4 * abs(expected)
    total = model[0].weight_mu.size + model[2].weight_mu.size
    assert nn.prune(model, 0.5) == round(0.5 * total)
    assert int((model[0].weight_mask == 0).sum() + (model[2].weight_mask == 0).sum()) == round(0.5 * total)
    recurrent = nn.Recurrent(nn.BayesianLSTMCell(2, 3))
    assert [name for name, _ in nn.bayesian_layers(recurrent)] == ["cell"]
    assert recurrent.cell.weight_mu.shape == (5, 12)


def test_bayesian_lstm_draws_once_per_sequence_batch():
    """A draw shared by every step: the result equals a plain LSTM with the drawn weights."""
    cell = nn.BayesianLSTMCell(2, 3, dtype="float64", posterior_rho_init=(-2.0, -2.0))
    x = mb.tensor(np.random.default_rng(2).normal(size=(6, 2, 2)), dtype="float64")
    outputs, _ = nn.Recurrent(cell)(x)
    weight, _, bias, _ = cell._last_sample
    plain = nn.LSTMCell(2, 3, dtype="float64")
    plain.weight_input.data[...] = weight.numpy()[:2]
    plain.weight_hidden.data[...] = weight.numpy()[2:]
    plain.bias.data[...] = bias.numpy()
    np.testing.assert_allclose(outputs.numpy(), nn.Recurrent(plain)(x)[0].numpy(), rtol=1e-12)


def test_truncated_sequence_losses_of_one_epoch_sum_to_the_full_sequence_negative_elbo():
    """Fortunato et al. Algorithm 1 at a fixed draw (same noise for each chunk): sum over the C chunks
    of (NLL_c + KL / C) / B = (NLL of the whole sequence + KL) / B."""
    batch, steps, length = 3, 10, 4
    rng = np.random.default_rng(3)
    x = mb.tensor(rng.normal(size=(steps, batch, 1)), dtype="float64")
    y = mb.tensor(rng.normal(size=(steps, batch, 2)), dtype="float64")
    mb.seed(11)
    layer = nn.Recurrent(nn.BayesianLSTMCell(1, 2, dtype="float64", posterior_rho_init=(-2.0, -1.0)))

    def nll(prediction, target):  # unit-variance Gaussian likelihood, summed
        difference = prediction - target
        return 0.5 * (difference * difference).sum() + 0.5 * np.log(2 * np.pi) * target.size

    chunks = list(nn.truncated_sequences(x, y, length))
    total, state = 0.0, None
    for x_c, y_c in chunks:
        mb.seed(7)  # the same draw for every chunk
        out, state = layer(x_c, state)
        state = nn.detach_state(state)
        loss = nn.truncated_sequence_loss(nll(out, y_c), nn.model_kl(layer, "monte_carlo"), batch, len(chunks))
        total += loss.item()
    mb.seed(7)
    out, _ = layer(x)
    full = (nll(out, y) + nn.model_kl(layer, "monte_carlo")) / batch
    assert len(chunks) == 3
    np.testing.assert_allclose(total, full.item(), rtol=1e-12)


def test_truncated_sequence_loss_gradient_is_the_seed_update_rule():
    """d L / d mu = (g + g_theta^KL / C) / B + g_mu^KL / (B C), with g the summed NLL's gradient."""
    mb.seed(5)
    cell = nn.BayesianLSTMCell(1, 2, dtype="float64", posterior_rho_init=(-2.0, -1.0))
    layer = nn.Recurrent(cell)
    x = mb.tensor(np.random.default_rng(4).normal(size=(5, 2, 1)), dtype="float64")
    B, C = 2, 4
    mb.seed(9)
    out, _ = layer(x)
    nll = (out * out).sum()
    nn.truncated_sequence_loss(nll, cell.kl("monte_carlo"), B, C).backward()
    combined = cell.weight_mu.grad.numpy().copy()
    cell.zero_grad()
    mb.seed(9)
    out, _ = layer(x)
    (out * out).sum().backward()
    g = cell.weight_mu.grad.numpy().copy()  # through theta = mu + sigma eps, d theta / d mu = 1
    cell.zero_grad()
    mb.seed(9)
    layer(x)  # the same draw again (the last backward freed its graph)
    cell.kl("monte_carlo").backward()
    g_kl = cell.weight_mu.grad.numpy()  # g_theta^KL + g_mu^KL
    np.testing.assert_allclose(combined, g / B + g_kl / (B * C), rtol=1e-10)
    with pytest.raises(ValueError, match="num_truncations must be a positive int"):
        nn.truncated_sequence_loss(nll, nll, 2, 0)


def test_bayesian_conv_rejects_bad_input_naming_the_layer():
    with pytest.raises(ValueError, match=r"BayesianConv2d: expected 3 input channels, got input of shape \(1, 2, 5, 5\)"):
        nn.BayesianConv2d(3, 4, 3)(mb.zeros(1, 2, 5, 5))
    with pytest.raises(TypeError, match="BayesianConv2d: prior must be"):
        nn.BayesianConv2d(3, 4, 3, prior="wide")
