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
    plain.weight_input.data[...] = mb.asarray(weight.numpy()[:2])
    plain.weight_hidden.data[...] = mb.asarray(weight.numpy()[2:])
    plain.bias.data[...] = mb.asarray(bias.numpy())
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
    """The seed's Algorithm (Fortunato et al. 2017), built by hand at the cell's draw theta = mu + sigma eps:

        mu    gets (g + g_theta^KL / C) / B + g_mu^KL / (B C)
        sigma gets ((g + g_theta^KL / C) / B) eps + g_sigma^KL / (B C)

    g from forward and backward "as normal" through a plain LSTMCell holding theta; the partials of
    f = log N(theta | mu, sigma^2) - log N(theta | 0, s0^2) written out (f_theta = -(theta - mu) / sigma^2
    + theta / s0^2, f_mu = (theta - mu) / sigma^2, f_sigma = -1 / sigma + (theta - mu)^2 / sigma^3);
    rho's gradient is sigma's times d softplus / d rho = sigmoid(rho). Against the gradients of
    ``truncated_sequence_loss`` on the Bayesian cell, for the weights and the bias."""
    s0, B, C = 0.5, 2, 4
    mb.seed(5)
    cell = nn.BayesianLSTMCell(1, 2, prior=nn.GaussianPrior(s0), dtype="float64", posterior_rho_init=(-2.0, -1.0))
    x = mb.tensor(np.random.default_rng(4).normal(size=(5, B, 1)), dtype="float64")

    out, _ = nn.Recurrent(cell)(x)
    nll = (out * out).sum()
    nn.truncated_sequence_loss(nll, cell.kl("monte_carlo"), B, C).backward()
    theta_w, eps_w, theta_b, eps_b = (t.numpy() for t in cell._last_sample)

    plain = nn.LSTMCell(1, 2, dtype="float64")
    plain.weight_input.data[...], plain.weight_hidden.data[...] = mb.asarray(theta_w[:1]), mb.asarray(theta_w[1:])
    plain.bias.data[...] = mb.asarray(theta_b)
    plain_out, _ = nn.Recurrent(plain)(x)
    (plain_out * plain_out).sum().backward()
    g_w = np.concatenate([plain.weight_input.grad.numpy(), plain.weight_hidden.grad.numpy()])
    g_b = plain.bias.grad.numpy()

    for mu, rho, theta, eps, g in ((cell.weight_mu, cell.weight_rho, theta_w, eps_w, g_w),
                                   (cell.bias_mu, cell.bias_rho, theta_b, eps_b, g_b)):
        r = rho.numpy()
        sigma = np.log1p(np.exp(r))
        np.testing.assert_allclose(theta, mu.numpy() + sigma * eps, rtol=1e-12)
        f_theta = -(theta - mu.numpy()) / sigma**2 + theta / s0**2
        f_mu = (theta - mu.numpy()) / sigma**2
        f_sigma = -1 / sigma + (theta - mu.numpy()) ** 2 / sigma**3
        shared = (g + f_theta / C) / B
        np.testing.assert_allclose(mu.grad.numpy(), shared + f_mu / (B * C), rtol=1e-9, atol=1e-12)
        sigma_grad = shared * eps + f_sigma / (B * C)
        np.testing.assert_allclose(rho.grad.numpy(), sigma_grad / (1 + np.exp(-r)), rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="num_truncations must be a positive int"):
        nn.truncated_sequence_loss(nll, nll, 2, 0)


def test_bayesian_conv_rejects_bad_input_naming_the_layer():
    with pytest.raises(ValueError, match=r"BayesianConv2d: expected 3 input channels, got input of shape \(1, 2, 5, 5\)"):
        nn.BayesianConv2d(3, 4, 3)(mb.zeros(1, 2, 5, 5))
    with pytest.raises(TypeError, match="BayesianConv2d: prior must be"):
        nn.BayesianConv2d(3, 4, 3, prior="wide")
