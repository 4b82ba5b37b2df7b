"""Bayes by Backprop: the exact mean-field optimum of Bayesian linear regression, the KL, the
scale-mixture prior, the minibatch convention, pruning and bad input."""

import math

import numpy as np
import pytest
from scipy import stats

import minibayes as mb
from minibayes import nn
from minibayes.distributions import Normal, kl_divergence
from minibayes.models import (
    BayesianLinearRegression, bbb_objective, categorical_log_likelihood, gaussian_likelihood,
    minibatch_kl_weights,
)
from minibayes.models.basis import IdentityBasis

from ..module_gradcheck import module_gradcheck

# A small, correlated design and a prior that matters: the mean-field variances 1 / (S_N^-1)_ii are
# 0.42 x the exact marginal variances (S_N)_ii for the correlated pair, and the prior pulls the
# posterior mean far from least squares, so a wrong factor in the KL or a q that matched the
# marginals instead would fail the tolerances below.
ALPHA, BETA, N, D = 5.0, 4.0, 12, 3


def regression_data(seed=1):
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=N)
    X = np.stack([x1, x1 + 0.3 * rng.normal(size=N), rng.normal(size=N)], axis=1)
    t = X @ np.array([0.5, -1.0, 0.3]) + rng.normal(size=N) / math.sqrt(BETA)
    return X, t


def linear_bbb(**options):
    return nn.BayesianDense(D, 1, bias=False, prior=nn.GaussianPrior(1 / math.sqrt(ALPHA)), dtype="float64",
                            **options)


def set_posterior(layer, mean, std):
    layer.weight_mu.data[:, 0] = mean
    layer.weight_rho.data[:, 0] = np.log(np.expm1(std))          # softplus^-1


def mean_field_optimum(X, t):
    """PRML 10.1.2 (10.12-10.13): the factorised q closest in KL(q || p) to N(m_N, S_N) keeps the
    means m_N and takes the variances 1 / (S_N^-1)_ii. Its KL to the posterior and the ELBO there."""
    blr = BayesianLinearRegression(basis=IdentityBasis(bias=False), alpha=ALPHA, beta=BETA).fit(X, t)
    precision = blr.posterior_precision_
    std = 1 / np.sqrt(np.diag(precision))
    # KL(q* || N(m_N, S_N)) = 1/2 [ln|S_N| + sum_i ln (S_N^-1)_ii]  (the trace and mean terms cancel)
    kl_to_posterior = 0.5 * (-np.linalg.slogdet(precision)[1] + np.log(np.diag(precision)).sum())
    return blr.posterior_mean_, std, blr.log_evidence_, blr.log_evidence_ - kl_to_posterior, blr


def expected_log_likelihood(X, t, mean, std):
    """E_q[ln p(t | w)] for q = N(mean, diag std^2), in closed form:
    -N/2 ln(2 pi / beta) - beta/2 (||t - X mean||^2 + sum_i std_i^2 sum_n X_ni^2)."""
    residual = t - X @ mean
    return -0.5 * N * math.log(2 * math.pi / BETA) - 0.5 * BETA * (residual @ residual + (std ** 2 * (X ** 2).sum(0)).sum())


def test_elbo_at_the_mean_field_optimum_is_the_evidence_minus_the_posterior_kl():
    X, t = regression_data()
    mean, std, log_evidence, elbo_star, blr = mean_field_optimum(X, t)
    assert np.all(std[:2] ** 2 < 0.5 * np.diag(blr.posterior_covariance_)[:2])   # mean-field != marginals here
    layer = linear_bbb(local_reparameterisation=True)
    set_posterior(layer, mean, std)
    model = nn.Sequential(layer)
    # exact: the engine's closed-form KL with the exact expected log-likelihood, to float64 precision
    exact = expected_log_likelihood(X, t, mean, std) - layer.kl("closed_form").item()
    assert exact == pytest.approx(elbo_star, rel=1e-12)
    assert log_evidence - exact > 0.05                   # a bound strictly below PRML (3.86)
    # the engine's Monte Carlo estimate of F (weight draws) is unbiased for it: within 5 s.e.
    mb.seed(0)
    likelihood = gaussian_likelihood(1 / math.sqrt(BETA))
    estimates = np.array([N * bbb_objective(model, X, t, likelihood, N, n_samples=10).elbo.item()
                          for _ in range(400)])
    error = estimates.std(ddof=1) / np.sqrt(len(estimates))
    assert abs(estimates.mean() - exact) < 5 * error and error < 0.02


@pytest.mark.parametrize("local", [False, True])
def test_training_reaches_the_mean_field_optimum_of_bayesian_linear_regression(local):
    X, t = regression_data()
    mean, std, _, _, _ = mean_field_optimum(X, t)
    mb.seed(1)
    model = nn.Sequential(linear_bbb(local_reparameterisation=local))
    likelihood = gaussian_likelihood(1 / math.sqrt(BETA))
    optimizer = mb.optim.Adam(model.parameters(), lr=0.02)
    for step in range(2000):
        if step in (1000, 1600):
            optimizer.hyperparameters["lr"] *= 0.1
        optimizer.zero_grad()
        bbb_objective(model, X, t, likelihood, N, n_samples=8).loss.backward()
        optimizer.step()
    layer = model[0]
    np.testing.assert_allclose(layer.weight_mu.data[:, 0], mean, atol=0.1 * std.min())   # a tenth of a posterior std
    np.testing.assert_allclose(layer.weight_sigma().data[:, 0], std, rtol=0.05)


def test_minibatch_losses_add_up_to_the_full_data_negative_elbo():
    X, t = regression_data(2)
    likelihood = gaussian_likelihood(0.5)
    model = nn.Sequential(linear_bbb())
    mb.seed(4)
    full = bbb_objective(model, X, t, likelihood, N)            # the same eps for every batch below
    batches = np.array_split(np.arange(N), 5)                   # unequal: 3, 3, 2, 2, 2 points
    for schedule in ("uniform", "blundell"):
        weights = minibatch_kl_weights([len(b) for b in batches], schedule)
        shares = [w * len(b) / N for w, b in zip(weights, batches)]
        assert sum(shares) == pytest.approx(1.0, rel=1e-15)
        total = 0.0
        for index, weight in zip(batches, weights):
            mb.seed(4)
            result = bbb_objective(model, X[index], t[index], likelihood, N, kl_weight=weight)
            total += len(index) * result.loss.item()
        # sum over the epoch's points of the per-point losses = F(D, theta) = -N x ELBO per point
        assert total == pytest.approx(N * full.loss.item(), rel=1e-12)
    assert minibatch_kl_weights([4, 4, 4], "uniform") == [1.0, 1.0, 1.0]
    # Blundell's shares 4/7, 2/7, 1/7 for M = 3, in per-point weights N pi_i / B_i
    assert minibatch_kl_weights([4, 4, 4], "blundell") == pytest.approx([3 * 4 / 7, 3 * 2 / 7, 3 * 1 / 7])
    sizes = [128] * 468 + [96]
    assert sum(w * b for w, b in zip(minibatch_kl_weights(sizes, "blundell"), sizes)) == pytest.approx(sum(sizes))


def test_closed_form_kl_matches_the_distribution_registry_and_monte_carlo():
    mb.seed(5)
    layer = nn.BayesianDense(4, 3, prior=nn.GaussianPrior(0.7), posterior_rho_init=(-1.0, 0.5), dtype="float64")
    closed = layer.kl("closed_form").item()
    mu = np.concatenate([layer.weight_mu.data.ravel(), layer.bias_mu.data])
    sigma = np.concatenate([layer.weight_sigma().data.ravel(), layer.bias_sigma().data])
    registry = kl_divergence(Normal(mu, sigma), Normal(np.zeros_like(mu), np.full_like(mu, 0.7))).numpy().sum()
    assert closed == pytest.approx(registry, rel=1e-12)
    samples = np.array([layer.kl("monte_carlo").item() for _ in range(4000)])   # a fresh draw each
    assert abs(samples.mean() - closed) < 5 * samples.std(ddof=1) / np.sqrt(len(samples))


def test_scale_mixture_log_density_is_exact_and_never_underflows():
    prior = nn.ScaleMixturePrior(0.25, 1.5, math.exp(-7))
    w = np.array([-3.0, -1e-3, 0.0, 1e-30, 0.02, 2.0])
    direct = np.log(0.25 * stats.norm(0, 1.5).pdf(w) + 0.75 * stats.norm(0, math.exp(-7)).pdf(w))
    np.testing.assert_allclose(prior.log_prob(mb.tensor(w, dtype="float64")).numpy(), direct, rtol=1e-12)
    extreme = prior.log_prob(mb.tensor([1e3, -1e3, 1e-30], dtype="float32")).numpy()
    assert np.all(np.isfinite(extreme))
    expected_far = np.log(0.25) + stats.norm(0, 1.5).logpdf(1e3)     # the wide component alone
    assert extreme[0] == pytest.approx(expected_far, rel=1e-5)
    assert mb.gradcheck(lambda v: prior.log_prob(v), [mb.tensor(w, dtype="float64", requires_grad=True)])


def test_forward_gradients_pass_gradcheck_with_fixed_noise():
    mb.seed(6)
    x = np.random.default_rng(6).normal(size=(5, 4))
    for local in (False, True):
        for prior in (nn.GaussianPrior(1.0), nn.ScaleMixturePrior(0.5, 1.0, 0.1)):
            layer = nn.BayesianDense(4, 2, prior=prior, local_reparameterisation=local, dtype="float64",
                                     posterior_rho_init=(-2.0, -1.0))
            model = nn.Sequential(layer, nn.Tanh())

            def loss():
                mb.seed(7)                      # the same eps at every evaluation
                return bbb_objective(model, x, np.zeros((5, 2)), gaussian_likelihood(0.3), 50).loss

            assert module_gradcheck(model, loss)


def test_sigma_is_a_stable_softplus_of_rho():
    layer = nn.BayesianDense(2, 2, dtype="float64")
    layer.weight_rho.data[...] = [[-800.0, -20.0], [0.0, 800.0]]
    sigma = layer.weight_sigma().numpy()
    assert np.all(np.isfinite(sigma)) and sigma[1, 1] == 800.0 and sigma[1, 0] == pytest.approx(math.log(2))
    assert sigma[0, 1] == pytest.approx(math.exp(-20), rel=1e-8)


def test_prune_removes_exactly_the_fraction_with_the_lowest_snr():
    mb.seed(8)
    model = nn.Sequential(nn.BayesianDense(6, 5, posterior_rho_init=(-4.0, 0.0)), nn.ReLU(), nn.BayesianDense(5, 2))
    snr = mb.to_numpy(nn.signal_to_noise(model))
    assert snr.shape == (40,)
    removed = nn.prune(model, 0.75)
    assert removed == 30
    masks = np.concatenate([mb.to_numpy(model[0].weight_mask).ravel(), mb.to_numpy(model[2].weight_mask).ravel()])
    assert masks.sum() == 10 and set(np.unique(masks)) <= {0.0, 1.0}
    assert snr[masks == 1].min() >= snr[masks == 0].max()
    x = np.random.default_rng(8).normal(size=(3, 6)).astype("float32")
    kept = mb.nn.posterior_mean(model)
    with kept:
        out = model(x).numpy()
    w0, w2 = (mb.to_numpy(model[i].weight_mu.data * model[i].weight_mask) for i in (0, 2))
    expected = np.maximum(x @ w0 + mb.to_numpy(model[0].bias_mu.data), 0) @ w2 + mb.to_numpy(model[2].bias_mu.data)
    np.testing.assert_allclose(out, expected, rtol=1e-5)
    assert nn.prune(model, 0.0) == 0


def test_model_level_counts_and_layer_kls():
    model = nn.Sequential(nn.BayesianDense(3, 4), nn.ReLU(), nn.BayesianDense(4, 2, bias=False))
    assert nn.variational_parameter_count(model) == {"mu": 3 * 4 + 4 + 4 * 2, "rho": 3 * 4 + 4 + 4 * 2}
    per_layer = nn.kl_per_layer(model)
    assert sum(per_layer.values()) == pytest.approx(nn.model_kl(model).item(), rel=1e-6)
    first = model[0]
    assert nn.posterior_kl(first, first).item() == pytest.approx(0.0, abs=1e-6)
    other = nn.BayesianDense(3, 4)
    # KL(q || p) between two diagonal Gaussians, checked against the registry's Normal KL
    mu_q = np.concatenate([first.weight_mu.data.ravel(), first.bias_mu.data])
    s_q = np.concatenate([first.weight_sigma().data.ravel(), first.bias_sigma().data])
    mu_p = np.concatenate([other.weight_mu.data.ravel(), other.bias_mu.data])
    s_p = np.concatenate([other.weight_sigma().data.ravel(), other.bias_sigma().data])
    expected = kl_divergence(Normal(mu_q, s_q), Normal(mu_p, s_p)).numpy().sum()
    assert nn.posterior_kl(first, other).item() == pytest.approx(expected, rel=1e-4)


def test_classification_objective_averages_its_draws_and_predictions_vary():
    """S draws: the reported likelihood is the mean of the S per-draw log-likelihoods and the KL
    the mean of the S Monte Carlo KLs at those draws (replayed from the same seed)."""
    mb.seed(9)
    model = nn.Sequential(nn.BayesianDense(4, 8, prior=nn.ScaleMixturePrior(), dtype="float64"), nn.ReLU(),
                          nn.BayesianDense(8, 3, prior=nn.ScaleMixturePrior(), dtype="float64"))
    x = np.random.default_rng(9).normal(size=(10, 4))
    y = np.arange(10) % 3
    mb.seed(10)
    result = bbb_objective(model, x, y, categorical_log_likelihood, 100, n_samples=3)
    mb.seed(10)
    log_likelihoods, kls = [], []
    for _ in range(3):
        logits = model(x).numpy()
        log_softmax = logits - np.log(np.exp(logits).sum(1, keepdims=True))
        log_likelihoods.append(log_softmax[np.arange(10), y].mean())
        kls.append(nn.model_kl(model, "monte_carlo").item())
    assert result.reconstruction.item() == pytest.approx(np.mean(log_likelihoods), rel=1e-12)
    assert result.kl.item() == pytest.approx(np.mean(kls) / 100, rel=1e-12)
    samples = mb.models.predictive_samples(model.eval(), x, 7)
    assert samples.shape == (7, 10, 3) and np.ptp(samples, axis=0).max() > 0   # draws in eval mode too


def test_the_likelihood_refuses_a_transposed_target():
    model = nn.Sequential(nn.BayesianDense(3, 2))
    with pytest.raises(ValueError, match="y must have shape"):
        bbb_objective(model, np.zeros((4, 3)), np.zeros((2, 4)), gaussian_likelihood(1.0), 10)


@pytest.mark.parametrize("call, message", [
    (lambda: nn.GaussianPrior(0.0), "sigma"),
    (lambda: nn.GaussianPrior(-1.0), "sigma"),
    (lambda: nn.ScaleMixturePrior(1.5), "pi"),
    (lambda: nn.ScaleMixturePrior(-0.1), "pi"),
    (lambda: nn.ScaleMixturePrior(0.5, 0.0), "sigma1"),
    (lambda: nn.BayesianDense(0, 2), "in_features"),
    (lambda: nn.BayesianDense(2, 2, prior="gauss"), "prior"),
    (lambda: nn.BayesianDense(2, 2, posterior_rho_init=(1.0, -1.0)), "posterior_rho_init"),
    (lambda: nn.prune(nn.Sequential(nn.BayesianDense(2, 2)), 1.0), "fraction"),
    (lambda: nn.prune(nn.Sequential(nn.BayesianDense(2, 2)), -0.1), "fraction"),
    (lambda: nn.prune(nn.Sequential(nn.Dense(2, 2)), 0.5), "no Bayesian layers"),
    (lambda: mb.models.predictive_samples(nn.Sequential(nn.BayesianDense(2, 2)), np.zeros((1, 2)), 0), "T"),
    (lambda: minibatch_kl_weights([]), "batch_sizes"),
    (lambda: minibatch_kl_weights([3, 0]), "batch_sizes"),
    (lambda: minibatch_kl_weights([3], "linear"), "schedule"),
    (lambda: bbb_objective(nn.Sequential(nn.BayesianDense(2, 1)), np.zeros((1, 2)), np.zeros(1),
                           gaussian_likelihood(1.0), 0), "n_data"),
    (lambda: bbb_objective(nn.Sequential(nn.BayesianDense(2, 1)), np.zeros((1, 2)), np.zeros(1),
                           gaussian_likelihood(1.0), 5, n_samples=0), "n_samples"),
    (lambda: nn.BayesianDense(2, 1, prior=nn.ScaleMixturePrior()).kl("closed_form"), "no closed-form KL"),
    (lambda: gaussian_likelihood(0.0), "noise_std"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_kl_stays_finite_where_sigma_underflows():
    """rho = -200: softplus underflows to 0 in float32, but log sigma = rho and the KL is finite."""
    layer = nn.BayesianDense(2, 1, dtype="float32")
    layer.weight_rho.data[...] = -200.0
    kl = layer.kl("closed_form")
    kl.backward()
    assert np.isfinite(kl.item()) and np.all(np.isfinite(layer.weight_rho.grad.numpy()))
    # KL(N(mu, s^2) || N(0, 1)) = -log s + (s^2 + mu^2)/2 - 1/2 per weight, with log s = rho = -200
    mu = layer.weight_mu.data[:, 0].astype(np.float64)
    bias = layer.bias_sigma().numpy().astype(np.float64)
    expected = (200.0 + 0.5 * mu ** 2 - 0.5).sum() + (-np.log(bias) + 0.5 * bias ** 2 - 0.5).sum()
    assert kl.item() == pytest.approx(expected, rel=1e-5)


def test_log_softplus_is_log_of_softplus_and_differentiable():
    rho = mb.tensor([-300.0, -20.5, -19.5, 0.0, 30.0], dtype="float64", requires_grad=True)
    values = rho.numpy()
    # log(log1p(e^rho)) in float64 is exact except where e^rho underflows (rho = -300: log sigma = rho)
    expected = np.where(values < -100, values, np.log(np.log1p(np.exp(values))))
    np.testing.assert_allclose(nn.log_softplus(rho).numpy(), expected, rtol=1e-12)
    assert mb.gradcheck(lambda r: nn.log_softplus(r), [rho])


def test_one_sigma_per_step_gives_the_loss_and_gradients_of_separate_ones():
    """``bbb_objective`` computes softplus(rho) once for both draws and the KL (``nn.shared_scales``):
    the loss and gradients equal those of the pieces assembled by hand, each with its own softplus;
    outside the block the KL follows rho as the optimiser changes it."""
    X, t = regression_data(3)
    layer = nn.BayesianDense(D, 1, prior=nn.GaussianPrior(0.7), posterior_rho_init=(-2.0, -1.0), dtype="float64")
    model = nn.Sequential(layer)
    likelihood = gaussian_likelihood(0.5)
    mb.seed(5)
    bbb_objective(model, X, t, likelihood, N, n_samples=2).loss.backward()
    shared = [p.grad.numpy().copy() for p in model.parameters()]
    mb.seed(5)
    shared_loss = bbb_objective(model, X, t, likelihood, N, n_samples=2).loss.item()
    for p in model.parameters():
        p.grad = None
    mb.seed(5)
    with nn.stochastic():
        mean_log_likelihood = (likelihood(model(X), t) + likelihood(model(X), t)) * 0.5
    separate = -mean_log_likelihood + nn.model_kl(model, "closed_form") / N
    separate.backward()
    assert shared_loss == pytest.approx(separate.item(), rel=1e-13)
    for a, p in zip(shared, model.parameters()):
        np.testing.assert_allclose(a, p.grad.numpy(), rtol=1e-12, atol=1e-15)
    layer.weight_rho.data -= 1.0
    mu, rho = layer.weight_mu.data, layer.weight_rho.data
    s, b = np.log1p(np.exp(rho)), np.log1p(np.exp(layer.bias_rho.data))
    expected = sum((np.log(0.7 / s_) + (s_ ** 2 + m ** 2) / (2 * 0.49) - 0.5).sum()
                   for s_, m in ((s, mu), (b, layer.bias_mu.data)))
    assert layer.kl().item() == pytest.approx(expected, rel=1e-12)
