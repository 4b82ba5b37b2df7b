"""predict_mc and the uncertainty losses: the decomposition identities, sampling control, the
losses against independent computations, gradients, a learned aleatoric noise, bad input."""

import math

import numpy as np
import pytest
from scipy import stats

import minibayes as mb
from minibayes import nn
from minibayes.distributions import Normal
from minibayes.models import (
    heteroscedastic_nll, logit_noise_nll, mc_dropout_kl, mc_dropout_objective, mc_dropout_weight_decay, predict_mc,
)


def dropout_net(outputs=1, p=0.3, dtype="float64"):
    mb.seed(0)
    return nn.Sequential(nn.Dense(3, 16, dtype=dtype), nn.ReLU(), nn.Dropout(p), nn.Dense(16, outputs, dtype=dtype))


X = np.random.default_rng(0).normal(size=(7, 3))


def test_regression_variance_is_epistemic_plus_aleatoric_by_the_law_of_total_variance():
    model = dropout_net(outputs=2).eval()
    result = predict_mc(model, X, 50, output="mean_log_var", seed=1)
    means = result.samples                                         # (T, n, 1)
    # recomputed from the T passes: (1/T) sum y^2 - ybar^2 and the mean of exp(s_t)
    with mb.no_grad(), nn.stochastic():
        mb.seed(1)
        outputs = np.stack([model(X).numpy() for _ in range(50)])
    np.testing.assert_allclose(outputs[..., :1], means, rtol=1e-12)
    np.testing.assert_allclose(result.epistemic, (means ** 2).mean(0) - means.mean(0) ** 2, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(result.aleatoric, np.exp(outputs[..., 1:]).mean(0), rtol=1e-12)
    np.testing.assert_allclose(result.variance, result.epistemic + result.aleatoric, rtol=1e-14)
    # law of total variance: draws y ~ N(y_t, sigma_t^2) over t have the predictive variance
    rng = np.random.default_rng(2)
    draws = means[:, None] + np.sqrt(np.exp(outputs[:, None, ..., 1:])) * rng.normal(size=(50, 4000) + means.shape[1:])
    np.testing.assert_allclose(draws.reshape(-1, *means.shape[1:]).var(0), result.variance, rtol=0.05)


def test_classification_entropy_splits_into_expected_entropy_and_mutual_information():
    model = dropout_net(outputs=4).eval()
    result = predict_mc(model, X, 30, task="classification", seed=3)
    p = result.samples
    mean = p.mean(0)
    assert np.allclose(result.probabilities, mean) and np.allclose(mean.sum(1), 1)
    np.testing.assert_allclose(result.predictive_entropy, stats.entropy(mean, axis=1), rtol=1e-12)
    np.testing.assert_allclose(result.expected_entropy, stats.entropy(p, axis=2).mean(0), rtol=1e-12)
    np.testing.assert_allclose(result.predictive_entropy, result.expected_entropy + result.mutual_information,
                               rtol=1e-12)
    # Jensen, from scipy's entropies (predict_mc clips rounding below 0; this difference is unclipped)
    assert np.all(stats.entropy(mean, axis=1) - stats.entropy(p, axis=2).mean(0) > 0)


def test_everything_epistemic_vanishes_when_the_passes_agree():
    model = dropout_net(p=0.0).eval()                                  # no dropout: every pass the same
    regression = predict_mc(model, X, 10, noise_variance=0.25)
    # zero up to the rounding of a mean of T equal numbers
    assert np.all(regression.epistemic <= 1e-15 * regression.mean ** 2) and np.all(regression.aleatoric == 0.25)
    classification = predict_mc(dropout_net(outputs=3, p=0.0), X, 10, task="classification")
    assert np.all(classification.mutual_information < 1e-15)


def test_sampling_is_controlled_independently_of_the_mode_and_seedable():
    model = dropout_net().eval()
    with mb.no_grad():
        first, second = model(X).numpy(), model(X).numpy()
    np.testing.assert_array_equal(first, second)                      # eval mode: deterministic
    mb.seed(3)
    a, b = predict_mc(model, X, 5, seed=7), predict_mc(model, X, 5, seed=7)
    np.testing.assert_array_equal(a.samples, b.samples)
    # the caller's stream is left where it was: the next draw is the first of mb.seed(3)
    np.testing.assert_array_equal(mb.backend.rng().random(3), np.random.default_rng(3).random(3))
    assert np.ptp(a.samples, axis=0).max() > 0                         # eval mode, yet sampling
    assert not model.training
    bayesian = nn.Sequential(nn.BayesianDense(3, 2, dtype="float64")).eval()
    with mb.no_grad():
        np.testing.assert_array_equal(bayesian(X).numpy(), bayesian(X).numpy())
    draws = predict_mc(bayesian, X, 4, seed=1).samples                # one weight draw per pass
    assert np.ptp(draws, axis=0).max() > 0


def test_batched_passes_equal_separate_passes_in_distribution():
    """T copies in one pass (dropout is per example) give the moments of T separate passes."""
    model = dropout_net().eval()
    x = X[:1]
    batched = predict_mc(model, x, 4000, seed=4).samples[:, 0, 0]
    with mb.no_grad(), nn.stochastic():
        separate = np.array([model(x).numpy()[0, 0] for _ in range(4000)])
    assert abs(batched.mean() - separate.mean()) < 5 * math.hypot(batched.std(), separate.std()) / math.sqrt(4000)


def test_heteroscedastic_loss_is_the_gaussian_nll_up_to_its_constant():
    rng = np.random.default_rng(5)
    output, y = rng.normal(size=(6, 2)), rng.normal(size=6)
    loss = heteroscedastic_nll(mb.tensor(output), y).item()
    log_density = Normal(output[:, 0], np.exp(0.5 * output[:, 1])).log_prob(y).numpy()
    assert loss == pytest.approx(-(log_density + 0.5 * math.log(2 * math.pi)).mean(), rel=1e-12)
    assert mb.gradcheck(lambda o: heteroscedastic_nll(o, y), [mb.tensor(output, requires_grad=True)])


def test_logit_noise_loss_equals_a_direct_computation_and_passes_gradcheck():
    rng = np.random.default_rng(6)
    output, labels = rng.normal(size=(5, 6)), np.array([0, 2, 1, 1, 0])
    eps = rng.normal(size=(8, 5, 3))
    x_t = output[:, :3] + np.exp(0.5 * output[:, 3:]) * eps
    softmax = np.exp(x_t) / np.exp(x_t).sum(2, keepdims=True)
    expected = -np.log(softmax[:, np.arange(5), labels].mean(0)).mean()
    assert logit_noise_nll(mb.tensor(output), labels, 8, noise=eps).item() == pytest.approx(expected, rel=1e-12)
    assert mb.gradcheck(lambda o: logit_noise_nll(o, labels, 8, noise=eps), [mb.tensor(output, requires_grad=True)])


def test_weight_decay_and_kl_follow_gal_and_ghahramani():
    assert mc_dropout_weight_decay(0.5, 0.1, 1000, 4.0) == pytest.approx(0.25 * 0.9 / 8000)
    model = dropout_net(p=0.2)
    first, last = model[0], model[3]
    kl = mc_dropout_kl(model, 2.0).item()
    # the first layer has no dropout before it (keep 1), the last one keeps 0.8
    expected = 2.0 * ((first.weight.data ** 2).sum() + (first.bias.data ** 2).sum()
                      + 0.8 * (last.weight.data ** 2).sum() + (last.bias.data ** 2).sum())
    assert kl == pytest.approx(expected, rel=1e-12)
    # loss / tau = (1/2B) sum (y - f)^2 + lambda ||W||^2 + (l^2 / 2N tau) ||b||^2 + const
    y = np.random.default_rng(7).normal(size=(7, 1))
    model.eval()                                           # no dropout mask: the loss is deterministic
    tau, n_data = 3.0, 50
    loss = mc_dropout_objective(model, X, y, n_data, length_scale=2.0, tau=tau).loss.item()
    with mb.no_grad():
        f = model(X).numpy()
    lam_first = mc_dropout_weight_decay(2.0, 0.0, n_data, tau)
    lam_last = mc_dropout_weight_decay(2.0, 0.2, n_data, tau)
    bias = 4.0 / (2 * n_data * tau) * ((first.bias.data ** 2).sum() + (last.bias.data ** 2).sum())
    by_hand = (0.5 * ((y - f) ** 2).mean() + lam_first * (first.weight.data ** 2).sum()
               + lam_last * (last.weight.data ** 2).sum() + bias)
    constant = 0.5 * math.log(2 * math.pi / tau) / tau
    assert loss / tau == pytest.approx(by_hand + constant, rel=1e-12)


def test_learned_aleatoric_noise_tracks_the_true_noise_and_epistemic_grows_off_the_data():
    rng = np.random.default_rng(8)
    x = rng.uniform(-1, 1, (400, 1))
    true_std = 0.05 + 0.25 * (x[:, 0] + 1) / 2                        # noise growing from 0.05 to 0.3
    y = np.sin(3 * x[:, 0]) + true_std * rng.normal(size=400)
    mb.seed(8)
    model = nn.Sequential(nn.Dense(1, 64, dtype="float64"), nn.ReLU(), nn.Dropout(0.1),
                          nn.Dense(64, 64, dtype="float64"), nn.ReLU(), nn.Dropout(0.1), nn.Dense(64, 2, dtype="float64"))
    optimizer = mb.optim.Adam(model.parameters(), lr=5e-3)
    for step in range(1500):
        optimizer.zero_grad()
        heteroscedastic_nll(model(x), y).backward()
        optimizer.step()
    grid = np.array([[-0.8], [0.0], [0.8], [3.0]])
    result = predict_mc(model.eval(), grid, 200, output="mean_log_var", seed=0)
    learned = np.sqrt(result.aleatoric[:3, 0])
    expected = 0.05 + 0.25 * (grid[:3, 0] + 1) / 2
    np.testing.assert_allclose(learned, expected, atol=0.04)           # stated tolerance: 0.04 in std
    epistemic = np.sqrt(result.epistemic[:, 0])
    assert epistemic[3] > 3 * epistemic[:3].max()                      # far from the data (x = 3)


@pytest.mark.parametrize("call, message", [
    (lambda m: predict_mc(m, X, 0), "T must be"),
    (lambda m: predict_mc(m, X, 5, task="ranking"), "task"),
    (lambda m: predict_mc(m, X, 5, output="median"), "output"),
    (lambda m: predict_mc(m, X, 5, noise_variance=-1.0), "noise_variance"),
    (lambda m: predict_mc(m, np.zeros((0, 3)), 5), "x must be"),
    (lambda m: predict_mc(m, X, 5, output="mean_log_var"), "even number"),
    (lambda m: predict_mc("model", X, 5), "model must be a Module"),
    (lambda m: mc_dropout_weight_decay(1.0, 1.0, 10, 1.0), "dropout_rate"),
    (lambda m: mc_dropout_weight_decay(1.0, 0.5, 10, 0.0), "tau"),
    (lambda m: mc_dropout_weight_decay(0.0, 0.5, 10, 1.0), "length_scale"),
    (lambda m: mc_dropout_objective(m, X, np.zeros(7), 0, length_scale=1.0, tau=1.0), "n_data"),
    (lambda m: logit_noise_nll(mb.tensor(np.zeros((2, 3))), np.zeros(2, dtype=int)), "2 K"),
    (lambda m: logit_noise_nll(mb.tensor(np.zeros((2, 4))), np.zeros(3, dtype=int)), "labels"),
    (lambda m: logit_noise_nll(mb.tensor(np.zeros((2, 4))), np.zeros(2, dtype=int), 0), "n_samples"),
    (lambda m: heteroscedastic_nll(mb.tensor(np.zeros((2, 3))), np.zeros(2)), "mean, log variance"),
    (lambda m: heteroscedastic_nll(mb.tensor(np.zeros((3, 4))), np.zeros((2, 3))), "y must have shape"),
    (lambda m: mc_dropout_objective(m, X, np.zeros((1, 7)), 10, length_scale=1.0, tau=1.0), "y must have shape"),
    (lambda m: logit_noise_nll(mb.tensor(np.zeros((2, 4))), np.array([0, 2])), r"labels must lie in \[0, 2\)"),
    (lambda m: logit_noise_nll(mb.tensor(np.zeros((2, 4))), np.array([-1, 0])), "labels must lie"),
    (lambda m: nn.Dropout(1.0), "p must be"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call(dropout_net())
