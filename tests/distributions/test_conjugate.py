"""Conjugate posteriors against the posterior computed on a grid (prior density x likelihood,
normalised numerically), and sequential updating equal to batch updating."""

from __future__ import annotations

import numpy as np
import scipy.stats
from hypothesis import given, settings, strategies as st

import minibayes as mb
from minibayes import distributions as D


def _t(a):
    return mb.tensor(a, dtype="float64")


def _grid_posterior(grid, log_prior, log_likelihood):
    log_post = log_prior + log_likelihood
    weights = np.exp(log_post - log_post.max())
    return weights / np.trapezoid(weights, grid)


def _assert_density_matches_grid(posterior, grid, expected, atol):
    density = posterior.log_prob(_t(grid)).exp().numpy()
    np.testing.assert_allclose(density, expected, atol=atol)


@settings(max_examples=10)
@given(a=st.floats(1, 5), b=st.floats(1, 5), flips=st.lists(st.integers(0, 1), min_size=1, max_size=30))
def test_beta_bernoulli_posterior_equals_grid_posterior(a, b, flips):
    grid = np.linspace(1e-4, 1 - 1e-4, 4001)
    log_likelihood = sum(np.log(grid if x else 1 - grid) for x in flips)
    expected = _grid_posterior(grid, scipy.stats.beta(a, b).logpdf(grid), log_likelihood)
    posterior = D.beta_bernoulli(D.Beta(_t(a), _t(b)), _t(np.array(flips, float)))
    _assert_density_matches_grid(posterior, grid, expected, atol=1e-3 * expected.max())


def test_seed_figure_2_3_one_observation_turns_beta_2_2_into_beta_3_2():
    posterior = D.beta_bernoulli(D.Beta(_t(2.0), _t(2.0)), _t([1.0]))
    assert (posterior.concentration1.item(), posterior.concentration0.item()) == (3.0, 2.0)


@settings(max_examples=10)
@given(a=st.floats(1, 5), b=st.floats(1, 5), n=st.integers(1, 10), seed=st.integers(0, 999),
       n_obs=st.integers(1, 6))
def test_beta_binomial_posterior_equals_grid_posterior(a, b, n, seed, n_obs):
    """Beta(a, b) x prod_n Bin(m_n | N, mu), normalised on a grid with SciPy's pdf and pmf: the update (2.18)
    is checked against Bayes' rule itself, which sequential = batch alone cannot do (any additive rule passes it)."""
    successes = np.random.default_rng(seed).integers(0, n + 1, size=n_obs).astype(float)
    # The grid spans the closed interval [0, 1]: with a = 1 and no successes the posterior is
    # largest at mu = 0, and a grid that starts at 1e-4 would miss part of its mass (where
    # the pmf is 0 at an endpoint, its log is -inf and the weight is exactly 0).
    grid = np.linspace(0.0, 1.0, 8001)
    with np.errstate(divide="ignore"):
        log_likelihood = sum(scipy.stats.binom(n, grid).logpmf(m) for m in successes)
        expected = _grid_posterior(grid, scipy.stats.beta(a, b).logpdf(grid), log_likelihood)
    posterior = D.beta_binomial(D.Beta(_t(a), _t(b)), _t(successes), n)
    inside = slice(1, -1)                    # the Beta log_prob is evaluated inside the support
    _assert_density_matches_grid(posterior, grid[inside], expected[inside], atol=1e-3 * expected.max())


@settings(max_examples=10)
@given(a=st.floats(1, 5), b=st.floats(1, 5), n=st.integers(1, 10), seed=st.integers(0, 999))
def test_beta_binomial_sequential_equals_batch(a, b, n, seed):
    successes = np.random.default_rng(seed).integers(0, n + 1, size=6).astype(float)
    batch = D.beta_binomial(D.Beta(_t(a), _t(b)), _t(successes), n)
    sequential = D.Beta(_t(a), _t(b))
    for m in successes:
        sequential = D.beta_binomial(sequential, _t([m]), n)
    np.testing.assert_allclose(sequential.concentration1.numpy(), batch.concentration1.numpy(), rtol=1e-12)
    np.testing.assert_allclose(sequential.concentration0.numpy(), batch.concentration0.numpy(), rtol=1e-12)


@settings(max_examples=10)
@given(alpha=st.lists(st.floats(0.5, 4), min_size=3, max_size=3), seed=st.integers(0, 999))
def test_dirichlet_categorical_equals_dirichlet_multinomial_and_grid(alpha, seed):
    labels = np.random.default_rng(seed).integers(0, 3, size=12)
    counts = np.bincount(labels, minlength=3).astype(float)
    prior = D.Dirichlet(_t(alpha))
    from_labels = D.dirichlet_categorical(prior, _t(labels.astype(float)))
    from_counts = D.dirichlet_multinomial(prior, _t(counts[None]))
    np.testing.assert_allclose(from_labels.concentration.numpy(), np.array(alpha) + counts)
    np.testing.assert_allclose(from_counts.concentration.numpy(), np.array(alpha) + counts)
    # Grid over the 2-simplex: the conjugate density is the normalised prior x likelihood.
    mu1, mu2 = np.meshgrid(np.linspace(0.01, 0.98, 120), np.linspace(0.01, 0.98, 120))
    inside = mu1 + mu2 < 0.99
    points = np.stack([mu1[inside], mu2[inside], 1 - mu1[inside] - mu2[inside]], -1)
    log_unnormalised = scipy.stats.dirichlet(alpha).logpdf(points.T) + (counts * np.log(points)).sum(-1)
    ratio = from_labels.log_prob(_t(points)).numpy() - log_unnormalised
    assert np.ptp(ratio) < 1e-9  # equal up to one normalising constant


@settings(max_examples=10)
@given(mu0=st.floats(-2, 2), s0=st.floats(0.3, 3), sigma=st.floats(0.3, 2), seed=st.integers(0, 999))
def test_normal_known_variance_posterior_equals_grid_and_sequential(mu0, s0, sigma, seed):
    x = np.random.default_rng(seed).normal(1.0, sigma, size=8)
    prior = D.Normal(_t(mu0), _t(s0))
    posterior = D.normal_known_variance(prior, _t(x), sigma**2)
    grid = np.linspace(-8, 8, 8001)
    log_likelihood = scipy.stats.norm(grid[:, None], sigma).logpdf(x).sum(-1)
    expected = _grid_posterior(grid, scipy.stats.norm(mu0, s0).logpdf(grid), log_likelihood)
    _assert_density_matches_grid(posterior, grid, expected, atol=1e-4 * expected.max())
    sequential = prior
    for value in x:
        sequential = D.normal_known_variance(sequential, _t([value]), sigma**2)
    np.testing.assert_allclose(sequential.loc.item(), posterior.loc.item(), rtol=1e-10)
    np.testing.assert_allclose(sequential.scale.item(), posterior.scale.item(), rtol=1e-10)


@settings(max_examples=10)
@given(a=st.floats(1, 5), b=st.floats(0.5, 3), mean=st.floats(-1, 1), seed=st.integers(0, 999))
def test_gamma_precision_posterior_equals_grid_and_sequential(a, b, mean, seed):
    x = np.random.default_rng(seed).normal(mean, 0.7, size=10)
    prior = D.Gamma(_t(a), _t(b))
    posterior = D.gamma_known_mean(prior, _t(x), mean)
    grid = np.linspace(1e-3, 15, 8001)
    log_likelihood = scipy.stats.norm(mean, 1 / np.sqrt(grid[:, None])).logpdf(x).sum(-1)
    expected = _grid_posterior(grid, scipy.stats.gamma(a, scale=1 / b).logpdf(grid), log_likelihood)
    _assert_density_matches_grid(posterior, grid, expected, atol=1e-3 * expected.max())
    sequential = prior
    for value in x:
        sequential = D.gamma_known_mean(sequential, _t([value]), mean)
    np.testing.assert_allclose(sequential.rate.item(), posterior.rate.item(), rtol=1e-10)
    np.testing.assert_allclose(sequential.concentration.item(), posterior.concentration.item(), rtol=1e-10)


@settings(max_examples=5)
@given(mu0=st.floats(-1, 1), kappa=st.floats(0.5, 3), a=st.floats(1, 4), b=st.floats(0.5, 3), seed=st.integers(0, 999))
def test_normal_gamma_posterior_equals_grid_and_sequential(mu0, kappa, a, b, seed):
    x = np.random.default_rng(seed).normal(0.5, 1.0, size=6)
    prior = D.NormalGamma(_t(mu0), _t(kappa), _t(a), _t(b))
    posterior = D.normal_gamma(prior, _t(x))
    mu, tau = np.meshgrid(np.linspace(-3, 4, 281), np.linspace(0.02, 6, 300))
    points = np.stack([mu.ravel(), tau.ravel()], -1)
    log_prior = prior.log_prob(_t(points)).numpy()
    log_likelihood = scipy.stats.norm(points[:, :1], 1 / np.sqrt(points[:, 1:])).logpdf(x).sum(-1)
    log_unnormalised = log_prior + log_likelihood
    ratio = posterior.log_prob(_t(points)).numpy() - log_unnormalised
    assert np.ptp(ratio) < 1e-9  # the posterior is prior x likelihood up to one constant
    sequential = prior
    for value in x:
        sequential = D.normal_gamma(sequential, _t([value]))
    for name in ("loc", "mean_precision", "concentration", "rate"):
        np.testing.assert_allclose(getattr(sequential, name).item(), getattr(posterior, name).item(), rtol=1e-10)


def test_normal_gamma_prior_is_a_density_and_matches_its_factorisation():
    prior = D.NormalGamma(_t(0.3), _t(2.0), _t(3.0), _t(2.0))
    mu, tau = np.meshgrid(np.linspace(-6, 6, 601), np.linspace(1e-4, 12, 600))
    density = prior.log_prob(_t(np.stack([mu, tau], -1))).exp().numpy()
    total = np.trapezoid(np.trapezoid(density, mu[0], axis=1), tau[:, 0])
    assert abs(total - 1) < 1e-3
    mb.seed(0)
    draws = prior.sample((20_000,)).numpy()
    assert abs(draws[:, 1].mean() - 1.5) < 5 * np.sqrt(3 / 4 / 20_000)  # Gamma(3, 2): mean 1.5, var 0.75
    entropy_mc = -prior.log_prob(_t(draws)).numpy()
    assert abs(entropy_mc.mean() - prior.entropy().item()) < 5 * entropy_mc.std() / np.sqrt(20_000)
