"""PPCA: EM converges to the closed form; the likelihood by scipy; the posterior by Gaussian conditioning."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import subspace_angles
from scipy.stats import multivariate_normal

import minibayes as mb
from minibayes.models._validation import ConvergenceWarning
from minibayes.models.ppca import PPCA

from .test_mixture import BAD_INPUTS
from .test_pca import correlated


def fit_em(X, M, seed=0, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return PPCA(M, method="em", random_state=seed, **kwargs).fit(X)


def test_em_converges_to_the_closed_form():
    X = correlated(0, 300, 6)
    closed = PPCA(2).fit(X)
    em = fit_em(X, 2, tol=0.0, max_iter=600)
    W_closed, W_em = closed.components_.T, em.components_.T
    assert subspace_angles(W_closed, W_em).max() < 1e-6
    assert abs(em.noise_variance_ - closed.noise_variance_) < 1e-8
    # W is identified up to a rotation R (12.45), W W^T is not.
    np.testing.assert_allclose(W_em @ W_em.T, W_closed @ W_closed.T, atol=1e-7)
    assert em.log_likelihoods_[-1] == pytest.approx(closed.score(X), rel=1e-10)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31), n_latent=st.integers(1, 3), n_features=st.integers(4, 6))
def test_em_never_decreases_log_likelihood(seed, n_latent, n_features):
    X = correlated(seed, 40, n_features)
    model = fit_em(X, n_latent, seed=seed, tol=0.0, max_iter=50)
    history = np.array(model.log_likelihoods_)
    assert len(history) == 50
    assert np.all(np.diff(history) >= -1e-12 * np.abs(history[1:]))
    assert history[-1] <= PPCA(n_latent).fit(X).score(X) + 1e-10  # the closed form is the maximum


@pytest.mark.parametrize("shape, solver", [((80, 5), "auto"), ((12, 30), "svd"), ((80, 5), "eigh")])
def test_log_likelihood_equals_scipy_multivariate_normal(shape, solver):
    X = correlated(1, *shape)
    model = PPCA(3, solver=solver).fit(X)
    C = model.get_covariance()
    np.testing.assert_allclose(model.score_samples(X), multivariate_normal(model.mean_, C).logpdf(X), rtol=1e-10)
    np.testing.assert_allclose(np.linalg.solve(C, C), np.eye(shape[1]), atol=1e-8)  # C^-1 C = I


def test_closed_form_is_a_maximum_and_rotation_invariant():
    X = correlated(2, 100, 5)
    model = PPCA(2).fit(X)
    W, mu, sigma2 = model.components_.T, model.mean_, model.noise_variance_
    best = model.score(X)

    def log_likelihood(W, sigma2):
        return multivariate_normal(mu, W @ W.T + sigma2 * np.eye(5)).logpdf(X).mean()

    theta = 0.7
    R = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    assert log_likelihood(W @ R, sigma2) == pytest.approx(best, rel=1e-12)       # any R in (12.45)
    for factor in (0.9, 1.1):
        assert log_likelihood(W * factor, sigma2) < best
        assert log_likelihood(W, sigma2 * factor) < best


def direct_log_likelihood(X, mu, W, sigma2):
    """ln p(X) = -1/2 sum_n {D ln 2pi + ln|C| + (x_n - mu)^T C^-1 (x_n - mu)}, C = W W^T + sigma^2 I (PRML 12.43-12.44),

    written with the engine's differentiable logdet and solve on the D x D matrix C: no Woodbury, no M x M
    shortcut, nothing shared with ``ppca_log_likelihood``.
    """
    n, d = X.shape
    C = mb.matmul(W, W.T) + sigma2 * mb.eye(d, dtype="float64")
    centered = mb.tensor(X, dtype="float64") - mu
    mahalanobis = (centered * mb.solve(C, centered.T).T).sum()
    return -0.5 * (n * d * np.log(2 * np.pi) + n * mb.logdet(C) + mahalanobis)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31), n_latent=st.integers(1, 3), n_features=st.integers(4, 7),
       solver=st.sampled_from(["eigh", "svd"]))
def test_closed_form_is_where_the_log_likelihood_gradient_vanishes(seed, n_latent, n_features, solver):
    """At mu = x_bar, W_ML (12.45) and sigma^2_ML (12.46) the gradient of ln p(X) (12.43-12.44) is zero,
    by the engine's autograd on a direct log-determinant formula, not on the model's own likelihood."""
    X = correlated(seed, 60, n_features)
    model = PPCA(n_latent, solver=solver).fit(X)
    mu = mb.tensor(model.mean_, dtype="float64", requires_grad=True)
    W = mb.tensor(model.components_.T, dtype="float64", requires_grad=True)
    sigma2 = mb.tensor(model.noise_variance_, dtype="float64", requires_grad=True)
    log_likelihood = direct_log_likelihood(X, mu, W, sigma2)
    assert log_likelihood.item() == pytest.approx(model.score(X) * len(X), rel=1e-10)
    g_mu, g_W, g_sigma2 = (g.numpy() for g in mb.grad(log_likelihood, [mu, W, sigma2]))
    # Each gradient is N times a difference of two terms (e.g. C^-1 S C^-1 W - C^-1 W for W, (12.44) differentiated);
    # compared with the size of one of them, tr(C^-1) for sigma^2 and |C^-1 W| for W, it must vanish to rounding.
    C_inv = np.linalg.inv(model.get_covariance())
    n = len(X)
    assert abs(g_sigma2) < 1e-8 * n * np.trace(C_inv)
    assert np.abs(g_W).max() < 1e-8 * n * np.abs(C_inv @ model.components_.T).max()
    assert np.abs(g_mu).max() < 1e-8 * n * np.abs(C_inv).max() * np.abs(X - model.mean_).max()


def test_posterior_equals_gaussian_conditioning():
    X = correlated(3, 50, 4)
    model = PPCA(2).fit(X)
    W, mu, sigma2 = model.components_.T, model.mean_, model.noise_variance_
    posterior = model.posterior(X)
    # Independent route: (z, x) jointly Gaussian with Cov(z, x) = W^T, so
    # E[z | x] = W^T C^-1 (x - mu) and Cov[z | x] = I - W^T C^-1 W (PRML 2.81-2.82).
    C = W @ W.T + sigma2 * np.eye(4)
    np.testing.assert_allclose(posterior.mean, (X - mu) @ np.linalg.solve(C, W), atol=1e-10)
    np.testing.assert_allclose(posterior.covariance, np.eye(2) - W.T @ np.linalg.solve(C, W), atol=1e-10)
    np.testing.assert_allclose(model.transform(X), posterior.mean)


def test_samples_have_covariance_C():
    X = correlated(4, 100, 4)
    model = PPCA(2, random_state=0).fit(X)
    samples = model.sample(40000)
    C = model.get_covariance()
    assert samples.shape == (40000, 4)
    standard_error = np.sqrt(np.diag(C) / 40000)
    assert np.all(np.abs(samples.mean(0) - model.mean_) < 5 * standard_error)
    np.testing.assert_allclose(np.cov(samples.T), C, atol=0.05 * np.abs(C).max())
    np.testing.assert_allclose(model.inverse_transform(np.zeros((1, 2)))[0], model.mean_)


@pytest.mark.parametrize("bad, error, message", BAD_INPUTS)
def test_bad_input_raises_and_keeps_fitted_state(bad, error, message):
    X = correlated(5, 30, 3)
    model = PPCA(1).fit(X)
    components, sigma2 = model.components_.copy(), model.noise_variance_
    with pytest.raises(error, match=message):
        model.fit(bad)
    np.testing.assert_array_equal(model.components_, components)
    assert model.noise_variance_ == sigma2


def test_bad_hyperparameters_name_the_argument():
    X = correlated(6, 5, 8)
    with pytest.raises(ValueError, match="n_components=6 must be < n_features=8 and <= n_samples=5"):
        PPCA(6).fit(X)
    with pytest.raises(ValueError, match="n_components=8"):
        PPCA(8).fit(correlated(6, 50, 8))
    with pytest.raises(ValueError, match="method"):
        PPCA(2, method="gradient").fit(X)
    with pytest.raises(ValueError, match="subspace"):
        PPCA(1).fit(np.outer(np.arange(10.0), [1.0, 2.0, 3.0]))  # rank one: sigma^2 = 0
