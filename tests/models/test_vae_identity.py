"""log p(x) = L(q) + KL(q || p(z | x)) (K&W eq. 1) where every term is exact: a linear-Gaussian
decoder is probabilistic PCA, whose log p(x) and posterior p(z | x) have closed forms.

Each term comes from its own route: log p(x) from scipy.stats, E_q[log p(x | z)] from the
Gaussian expectation written out in NumPy, KL(q || p(z)) from the VAE's closed form (K&W eq. 10),
and KL(q || p(z | x)) from the Gaussian KL formula with PPCA's posterior (PRML 12.42).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import multivariate_normal

import minibayes as mb
from minibayes.models import PPCA
from minibayes.models.ppca import ppca_posterior

from .vae_helpers import (
    assign, decoder_variance, encoder_outputs, host, exact_expected_log_likelihood, kl_diagonal_to_full, linear_gaussian_vae, set_decoder_to_ppca,
)

N, D, J = 40, 5, 2


def ppca_data(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(D, J)) * 2.0
    return rng.normal(size=(N, J)) @ W.T + 0.5 * rng.normal(size=(N, D)) + rng.normal(size=D)


def fitted_pair(seed: int):
    X = ppca_data(seed)
    ppca = PPCA(n_components=J).fit(X)
    mb.seed(seed)
    vae = linear_gaussian_vae(D, J)
    W, mean, sigma2 = set_decoder_to_ppca(vae, ppca)
    return X, ppca, vae, W, mean, sigma2


def exact_posterior_encoder(vae, W, mean, sigma2):
    """Set the linear encoder to p(z | x) = N(M^-1 W^T (x - mu), sigma^2 M^-1) (PRML 12.42);
    M is diagonal because PPCA's closed-form W has orthogonal columns, so q can be exact."""
    M = W.T @ W + sigma2 * np.eye(J)
    assert np.allclose(M, np.diag(np.diag(M)), atol=1e-9)
    A = W / np.diag(M)                                   # x -> W^T x / M_jj
    assign(vae.encoder.weight, np.concatenate([A, np.zeros((D, J))], axis=1))
    # the encoder's raw log-variance goes through the soft clamp bound * tanh(raw / bound): invert it
    bound = vae.log_var_bound
    assign(vae.encoder.bias, np.concatenate([-mean @ A, bound * np.arctanh(np.log(sigma2 / np.diag(M)) / bound)]))


@settings(max_examples=15)
@given(seed=st.integers(0, 10_000), scale=st.floats(0.05, 0.5))
def test_log_evidence_is_elbo_plus_posterior_kl(seed, scale):
    X, ppca, vae, W, mean, sigma2 = fitted_pair(seed)
    rng = np.random.default_rng(seed + 1)
    assign(vae.encoder.weight, scale * rng.normal(size=(D, 2 * J)))
    assign(vae.encoder.bias, scale * rng.normal(size=2 * J))

    log_px = multivariate_normal(mean, W @ W.T + sigma2 * np.eye(D)).logpdf(X).mean()
    mu, log_var = encoder_outputs(vae, X)
    expected_log_likelihood = exact_expected_log_likelihood(X, mu, log_var, W, mean, sigma2).mean()
    kl_prior = vae.elbo(X, estimator="B").kl.item()      # closed form, K&W eq. 10
    posterior = ppca_posterior(X, mean, W, sigma2)
    kl_posterior = kl_diagonal_to_full(mu, log_var, posterior.mean, posterior.covariance).mean()

    elbo = expected_log_likelihood - kl_prior
    assert kl_posterior > 0
    # float64 precision relative to the size of the terms that cancel
    scale = abs(expected_log_likelihood) + kl_prior + kl_posterior
    assert abs(log_px - (elbo + kl_posterior)) < 1e-12 * scale


def test_monte_carlo_reconstruction_matches_its_expectation():
    X, ppca, vae, W, mean, sigma2 = fitted_pair(3)
    rng = np.random.default_rng(4)
    assign(vae.encoder.weight, 0.3 * rng.normal(size=(D, 2 * J)))
    mu, log_var = encoder_outputs(vae, X)
    exact = exact_expected_log_likelihood(X, mu, log_var, W, mean, sigma2).mean()
    # 200 independent L = 50 estimates: their spread gives the standard error.
    estimates = np.array([vae.elbo(X, n_samples=50).reconstruction.item() for _ in range(200)])
    standard_error = estimates.std(ddof=1) / np.sqrt(len(estimates))
    assert abs(estimates.mean() - exact) < 5 * standard_error


def test_kl_vanishes_and_every_bound_is_exact_at_the_true_posterior():
    X, ppca, vae, W, mean, sigma2 = fitted_pair(7)
    exact_posterior_encoder(vae, W, mean, sigma2)
    log_px = multivariate_normal(mean, W @ W.T + sigma2 * np.eye(D)).logpdf(X)

    mu, log_var = encoder_outputs(vae, X)
    posterior = ppca_posterior(X, mean, W, sigma2)
    assert np.abs(kl_diagonal_to_full(mu, log_var, posterior.mean, posterior.covariance)).max() < 1e-12
    # q = p(z | x): every importance weight p(x, z) / q(z | x) equals p(x), whatever z is drawn,
    # so one-sample estimator A, the IWAE bound and log_likelihood are exact, not just in mean.
    assert vae.elbo(X, estimator="A", n_samples=1).elbo.item() == pytest.approx(log_px.mean(), rel=1e-12)
    assert vae.iwae_bound(X, k=3).elbo.item() == pytest.approx(log_px.mean(), rel=1e-12)
    np.testing.assert_allclose(mb.to_numpy(vae.log_likelihood(X, k=7, batch_size=16)), log_px, rtol=1e-12)
    # and estimator B's closed-form KL + exact reconstruction is the evidence too
    exact_elbo = exact_expected_log_likelihood(X, mu, log_var, W, mean, sigma2).mean() - vae.elbo(X).kl.item()
    assert exact_elbo == pytest.approx(log_px.mean(), rel=1e-12)


def test_log_likelihood_is_exact_across_sample_chunks(monkeypatch):
    X, ppca, vae, W, mean, sigma2 = fitted_pair(11)
    exact_posterior_encoder(vae, W, mean, sigma2)
    monkeypatch.setattr("minibayes.models.vae._ELEMENTS_PER_PASS", 3 * D)  # chunks of a few samples
    log_px = multivariate_normal(mean, W @ W.T + sigma2 * np.eye(D)).logpdf(X)
    np.testing.assert_allclose(mb.to_numpy(vae.log_likelihood(X, k=10, batch_size=7)), log_px, rtol=1e-12)


def test_importance_weighted_bound_rises_towards_the_evidence():
    X, ppca, vae, W, mean, sigma2 = fitted_pair(5)
    rng = np.random.default_rng(6)
    assign(vae.encoder.weight, 0.3 * rng.normal(size=(D, 2 * J)))
    assign(vae.encoder.bias, 0.3 * rng.normal(size=2 * J))
    log_px = multivariate_normal(mean, W @ W.T + sigma2 * np.eye(D)).logpdf(X).mean()
    mb.seed(0)
    bounds = {k: np.mean([float(vae.log_likelihood(X, k=k).mean()) for _ in range(20)]) for k in (1, 10, 100, 2000)}
    assert bounds[1] < bounds[10] < bounds[100] < log_px + 1e-3
    assert log_px - bounds[2000] < 0.05 * (log_px - bounds[1])


def test_trained_linear_vae_reaches_the_ppca_maximum_likelihood():
    X = ppca_data(21)
    ppca = PPCA(n_components=J).fit(X)
    best = float(ppca.score(X))
    mb.seed(21)
    vae = linear_gaussian_vae(D, J, n_samples=4)
    optimizer = mb.optim.Adam(vae.parameters(), lr=0.03)
    for step in range(1500):
        if step == 1000:
            optimizer.hyperparameters["lr"] = 0.003
        optimizer.zero_grad()
        vae.loss(X).backward()
        optimizer.step()
    W = host(vae.decoder.weight).T
    sigma2 = decoder_variance(vae)
    reached = multivariate_normal(host(vae.decoder.bias), W @ W.T + sigma2 * np.eye(D)).logpdf(X).mean()
    assert reached <= best + 1e-9          # PPCA's closed form is the maximum ...
    assert best - reached < 0.02           # ... and the VAE's decoder gets there (nats per point)
