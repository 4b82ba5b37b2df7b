"""Bayesian linear regression (PRML 3.1-3.5): every formula against an independent route.

Posterior = linear-Gaussian conditioning = ridge least squares; batch = sequential; predictive
variance >= 1/beta and shrinking near data; log evidence = a direct Gaussian log-density of t
(scipy.stats); re-estimation never lowers the evidence and ends at a stationary point.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import multivariate_normal

import minibayes as mb
from minibayes.data import sinusoidal
from minibayes.distributions import Normal
from minibayes.models._validation import ConvergenceWarning, NotFittedError
from minibayes.models.basis import GaussianBasis, IdentityBasis, PolynomialBasis, SigmoidalBasis
from minibayes.models.linear import (
    BayesianLinearRegression, least_squares, linear_gaussian_conditional, linear_gaussian_marginal,
    log_evidence,
)


# --------------------------------------------------------------------------- strategies
@st.composite
def designs(draw, min_extra_samples=0):
    """A basis, inputs X (n, D) and targets t, with n >= M + min_extra_samples."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    d = draw(st.integers(1, 2))
    kind = draw(st.sampled_from(["identity", "polynomial", "gaussian", "sigmoidal"]))
    if kind == "identity":
        basis = IdentityBasis()
    elif kind == "polynomial":
        basis = PolynomialBasis(draw(st.integers(0, 4)))
    elif kind == "gaussian":
        basis = GaussianBasis(rng.uniform(-1, 1, size=(draw(st.integers(1, 6)), d)), rng.uniform(0.3, 1.5))
    else:
        basis = SigmoidalBasis(rng.uniform(-1, 1, size=draw(st.integers(1, 4))), rng.uniform(0.2, 1.0))
    m = basis(np.zeros((1, d))).shape[1]
    n = draw(st.integers(max(1, m + min_extra_samples), m + min_extra_samples + 25))
    X = rng.uniform(-1, 1, size=(n, d))
    t = np.sin(2 * X.sum(axis=1)) * rng.uniform(0.5, 2) + rng.uniform(0.05, 0.5) * rng.standard_normal(n)
    return basis, X, t


precisions = st.floats(1e-2, 1e2)


def direct_log_evidence(Phi, t, alpha, beta):
    """ln N(t | 0, beta^-1 I + alpha^-1 Phi Phi^T): the marginal (2.115) evaluated by SciPy."""
    cov = np.eye(len(t)) / beta + Phi @ Phi.T / alpha
    return multivariate_normal(np.zeros(len(t)), cov).logpdf(t)


# --------------------------------------------------------------------------- maximum likelihood
def test_least_squares_solves_the_normal_equations():
    rng = np.random.default_rng(0)
    Phi, t = rng.standard_normal((30, 4)), rng.standard_normal(30)
    w, beta = least_squares(Phi, t)
    np.testing.assert_allclose(Phi.T @ Phi @ w, Phi.T @ t, rtol=1e-10)  # (3.14)
    assert beta == pytest.approx(1 / np.mean((t - Phi @ w) ** 2), rel=1e-12)  # (3.21)


@given(design=designs(min_extra_samples=2))
def test_least_squares_maximises_the_likelihood_in_w_and_beta(design):
    """(w_ML, beta_ML) is where the gradient of ln p(t | w, beta) = sum_n ln N(t_n | w^T phi_n, 1/beta) (3.10-3.11)
    vanishes, and a maximum: the log-likelihood is built by the engine's Normal (itself checked against SciPy)
    and differentiated by autograd, so (3.21) is proven by its derivation, not recomputed with its own formula."""
    basis, X, t = design
    Phi = basis(X)
    w_ml, beta_ml = least_squares(Phi, t)
    n = len(t)

    def log_likelihood(w, beta):
        return Normal(mb.matmul(mb.tensor(Phi, dtype="float64"), w), beta ** -0.5).log_prob(
            mb.tensor(t, dtype="float64")).sum()

    w = mb.tensor(w_ml, dtype="float64", requires_grad=True)
    beta = mb.tensor(beta_ml, dtype="float64", requires_grad=True)
    g_w, g_beta = mb.grad(log_likelihood(w, beta), [w, beta], create_graph=True)
    # d/d beta = N / (2 beta) - ||t - Phi w||^2 / 2 is a difference of terms of size N / (2 beta): scale by it.
    assert abs(g_beta.item()) < 1e-9 * n / (2 * beta_ml)
    assert np.abs(g_w.numpy()).max() < 1e-7 * beta_ml * np.abs(Phi).sum(0).max() * np.abs(t).max()
    (curvature,) = mb.grad(g_beta, [beta])
    assert curvature.item() < 0  # a maximum in beta, as d^2/d beta^2 = -N / (2 beta^2)
    best = log_likelihood(w, beta).item()
    for factor in (0.99, 1.01):
        assert log_likelihood(w, mb.tensor(beta_ml * factor, dtype="float64")).item() < best


def test_least_squares_exact_fit_gives_infinite_beta():
    w, beta = least_squares(np.eye(3), np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(w, [1, 2, 3], rtol=1e-12)
    assert beta == np.inf


# --------------------------------------------------------------------------- linear-Gaussian identities
def joint_conditioning(y, mu, Lam, A, b, L):
    """p(x | y) from the joint Gaussian of (x, y) (PRML 2.105) by the Schur complement (2.81-2.82)."""
    S_xx = np.linalg.inv(Lam)
    S_yy = np.linalg.inv(L) + A @ S_xx @ A.T
    S_xy = S_xx @ A.T
    gain = S_xy @ np.linalg.inv(S_yy)
    return mu + gain @ (y - A @ mu - b), S_xx - gain @ S_xy.T, A @ mu + b, S_yy


def random_spd(rng, n):
    G = rng.standard_normal((n, n))
    return G @ G.T + n * np.eye(n)


@given(st.integers(1, 4), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_linear_gaussian_against_joint_conditioning(m, k, seed):
    rng = np.random.default_rng(seed)
    mu, Lam, A = rng.standard_normal(m), random_spd(rng, m), rng.standard_normal((k, m))
    b, L, y = rng.standard_normal(k), random_spd(rng, k), rng.standard_normal(k)
    mean_x, cov_x, mean_y, cov_y = joint_conditioning(y, mu, Lam, A, b, L)
    got_mean_y, got_cov_y = linear_gaussian_marginal(mu, Lam, A, b, L)  # (2.115)
    got_mean_x, got_cov_x = linear_gaussian_conditional(y, mu, Lam, A, b, L)  # (2.116, 2.117)
    np.testing.assert_allclose(got_mean_y, mean_y, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got_cov_y, cov_y, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got_mean_x, mean_x, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(got_cov_x, cov_x, rtol=1e-9, atol=1e-11)


def test_linear_gaussian_shapes_are_checked():
    with pytest.raises(ValueError, match="noise_precision"):
        linear_gaussian_marginal(np.zeros(2), np.eye(2), np.ones((3, 2)), np.zeros(3), np.eye(2))
    with pytest.raises(ValueError, match="precision"):
        linear_gaussian_marginal(np.zeros(2), -np.eye(2), np.ones((3, 2)), np.zeros(3), np.eye(3))


# --------------------------------------------------------------------------- posterior
@given(designs(), precisions, precisions)
def test_posterior_is_linear_gaussian_conditioning_and_ridge(design, alpha, beta):
    basis, X, t = design
    Phi = basis(X)
    model = BayesianLinearRegression(basis, alpha=alpha, beta=beta).fit(X, t)
    m = Phi.shape[1]
    mean, cov = linear_gaussian_conditional(t, np.zeros(m), alpha * np.eye(m), Phi, np.zeros(len(t)),
                                            beta * np.eye(len(t)))
    np.testing.assert_allclose(model.posterior_mean_, mean, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(model.posterior_covariance_, cov, rtol=1e-7, atol=1e-9)
    # MAP = L2-regularised least squares (3.55): stack sqrt(alpha/beta) I under Phi.
    augmented = np.vstack([Phi, np.sqrt(alpha / beta) * np.eye(m)])
    ridge = np.linalg.lstsq(augmented, np.concatenate([t, np.zeros(m)]), rcond=None)[0]
    np.testing.assert_allclose(model.posterior_mean_, ridge, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(model.posterior_covariance_ @ model.posterior_precision_, np.eye(m), atol=1e-7)


def test_general_prior_matches_formula_and_isotropic_case():
    rng = np.random.default_rng(3)
    X, t = rng.uniform(-1, 1, 20), rng.standard_normal(20)
    m0, S0 = np.array([0.3, -1.0]), random_spd(rng, 2) / 3
    model = BayesianLinearRegression(prior_mean=m0, prior_covariance=S0, beta=2.0).fit(X, t)
    Phi = IdentityBasis()(X)
    S_N = np.linalg.inv(np.linalg.inv(S0) + 2.0 * Phi.T @ Phi)  # (3.51)
    np.testing.assert_allclose(model.posterior_covariance_, S_N, rtol=1e-10)
    np.testing.assert_allclose(model.posterior_mean_, S_N @ (np.linalg.solve(S0, m0) + 2.0 * Phi.T @ t), rtol=1e-10)
    assert model.alpha_ is None
    expected = multivariate_normal(Phi @ m0, np.eye(20) / 2.0 + Phi @ S0 @ Phi.T).logpdf(t)
    assert model.log_evidence_ == pytest.approx(expected, rel=1e-10)
    isotropic = BayesianLinearRegression(alpha=4.0, beta=2.0).fit(X, t)
    as_general = BayesianLinearRegression(prior_covariance=np.eye(2) / 4.0, beta=2.0).fit(X, t)
    np.testing.assert_allclose(as_general.posterior_mean_, isotropic.posterior_mean_, rtol=1e-12)
    assert as_general.log_evidence_ == pytest.approx(isotropic.log_evidence_, rel=1e-12)


@given(designs(), precisions, precisions, st.lists(st.integers(1, 6), min_size=1, max_size=5))
def test_batch_equals_sequential(design, alpha, beta, cuts):
    basis, X, t = design
    batch = BayesianLinearRegression(basis, alpha=alpha, beta=beta).fit(X, t)
    sequential = BayesianLinearRegression(basis, alpha=alpha, beta=beta)
    bounds = np.unique(np.clip(np.cumsum(cuts), 0, len(t)))
    for start, stop in zip(np.concatenate([[0], bounds]), np.concatenate([bounds, [len(t)]])):
        if stop > start:
            sequential.partial_fit(X[start:stop], t[start:stop])
    np.testing.assert_allclose(sequential.posterior_mean_, batch.posterior_mean_, rtol=1e-7, atol=1e-9)
    scale = np.abs(batch.posterior_covariance_).max()  # rounding grows with the condition number of S_N
    np.testing.assert_allclose(sequential.posterior_covariance_, batch.posterior_covariance_, rtol=1e-7,
                               atol=1e-8 * scale)
    assert sequential.log_evidence_ == pytest.approx(batch.log_evidence_, rel=1e-8, abs=1e-8)  # chain rule
    assert sequential.n_samples_seen_ == len(t)


def test_gamma_is_sum_over_eigenvalues():
    x, t = sinusoidal(15, seed=1)
    basis = GaussianBasis(np.linspace(0, 1, 9), 0.1)
    model = BayesianLinearRegression(basis, alpha=0.5, beta=11.1).fit(x, t)
    lam = np.linalg.eigvalsh(11.1 * basis(x).T @ basis(x))  # eigenvalues of beta Phi^T Phi (3.87)
    assert model.gamma_ == pytest.approx(np.sum(lam / (0.5 + lam)), rel=1e-10)  # (3.91)


# --------------------------------------------------------------------------- predictive
def test_predictive_variance_terms_bounds_and_shrinking():
    x, t = sinusoidal(25, seed=2, x_range=(0.0, 0.5))
    model = BayesianLinearRegression(GaussianBasis(np.linspace(0, 1, 9), 0.1), alpha=2.0, beta=25.0).fit(x, t)
    grid = np.linspace(0, 1, 101)
    noise, epistemic = model.predictive_variance_terms(grid)
    mean, std = model.predict(grid, return_std=True)
    np.testing.assert_allclose(noise, 1 / 25.0)
    assert np.all(epistemic >= 0)
    np.testing.assert_allclose(std**2, noise + epistemic, rtol=1e-12)  # (3.59)
    assert np.all(std**2 >= 1 / 25.0)
    # Near the data (x <= 0.5) the model term is far smaller than away from it.
    assert epistemic[grid <= 0.45].max() < 0.2 * epistemic[grid >= 0.7].min()
    S_N, Phi = model.posterior_covariance_, model.basis(grid)
    np.testing.assert_allclose(epistemic, np.einsum("ni,ij,nj->n", Phi, S_N, Phi), rtol=1e-9)
    np.testing.assert_allclose(mean, Phi @ model.posterior_mean_, rtol=1e-12)  # (3.58)


def test_more_data_never_widens_the_model_term():
    x, t = sinusoidal(30, seed=4, random_x=True)
    basis, grid = GaussianBasis(np.linspace(0, 1, 9), 0.1), np.linspace(0, 1, 50)
    model = BayesianLinearRegression(basis, alpha=2.0, beta=25.0)
    previous = None
    for k in range(0, 30, 5):
        _, epistemic = model.partial_fit(x[k:k + 5], t[k:k + 5]).predictive_variance_terms(grid)
        if previous is not None:
            assert np.all(epistemic <= previous + 1e-12)  # sigma_{N+1}^2 <= sigma_N^2 (PRML 3.110)
        previous = epistemic


def test_posterior_samples_reproduce_the_predictive():
    x, t = sinusoidal(10, seed=5)
    model = BayesianLinearRegression(PolynomialBasis(3), alpha=5e-3, beta=11.1).fit(x, t)
    grid = np.linspace(0, 1, 7)
    draws = model.sample_functions(grid, 20000, random_state=0)
    _, epistemic = model.predictive_variance_terms(grid)
    mean = model.predict(grid)
    se = np.sqrt(epistemic / 20000)
    assert np.all(np.abs(draws.mean(axis=0) - mean) < 5 * se)
    np.testing.assert_allclose(draws.var(axis=0), epistemic, rtol=0.05)  # 5 standard errors of a variance
    weights = model.sample_weights(20000, random_state=1)
    np.testing.assert_allclose(np.cov(weights.T), model.posterior_covariance_, rtol=0.1, atol=0.05 * np.abs(
        model.posterior_covariance_).max())
    np.testing.assert_array_equal(model.sample_functions(grid, 3, random_state=7),
                                  model.sample_functions(grid, 3, random_state=7))


# --------------------------------------------------------------------------- evidence
@given(designs(), precisions, precisions)
def test_log_evidence_is_a_gaussian_log_density(design, alpha, beta):
    basis, X, t = design
    Phi = basis(X)
    expected = direct_log_evidence(Phi, t, alpha, beta)
    assert log_evidence(Phi, t, alpha, beta) == pytest.approx(expected, rel=1e-8, abs=1e-8)  # (3.86)
    model = BayesianLinearRegression(basis, alpha=alpha, beta=beta).fit(X, t)
    assert model.log_evidence_ == pytest.approx(expected, rel=1e-8, abs=1e-8)


@given(designs(min_extra_samples=2), st.floats(1e-2, 1e2), st.floats(1e-1, 1e2))
def test_evidence_maximisation_never_decreases_and_stops_at_a_maximum(design, alpha, beta):
    basis, X, t = design
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = BayesianLinearRegression(basis, alpha=alpha, beta=beta, fit_hyperparameters=True).fit(X, t)
    history = np.array(model.evidence_history_)
    assert len(history) == model.n_iter_ + 1
    assert np.all(np.diff(history) >= -1e-10 * (1 + np.abs(history[1:])))
    Phi = basis(X)
    assert model.log_evidence_ == pytest.approx(direct_log_evidence(Phi, t, model.alpha_, model.beta_), rel=1e-8)
    assert history[-1] == pytest.approx(model.log_evidence_, rel=1e-8, abs=1e-8)
    if model.converged_:
        # A stationary point: ln p is flat in ln alpha and ln beta (central differences, independent of 3.92/3.95).
        h = 1e-4
        for da, db in ((h, 0.0), (0.0, h)):
            up = log_evidence(Phi, t, model.alpha_ * np.exp(da), model.beta_ * np.exp(db))
            down = log_evidence(Phi, t, model.alpha_ * np.exp(-da), model.beta_ * np.exp(-db))
            assert abs(up - down) / (2 * h) < 1e-4 * (1 + abs(model.log_evidence_))


def test_prml_figure_3_14_prefers_a_middle_order():
    x, t = sinusoidal(10, seed=0)
    evidence = [BayesianLinearRegression(PolynomialBasis(M), alpha=5e-3, beta=11.1).fit(x, t).log_evidence_
                for M in range(10)]
    assert 3 <= int(np.argmax(evidence)) <= 6
    assert evidence[0] < max(evidence) and evidence[9] < max(evidence)


def test_one_dimensional_x_is_one_feature():
    x, t = sinusoidal(12, seed=3)
    a = BayesianLinearRegression(PolynomialBasis(3)).fit(x, t)
    b = BayesianLinearRegression(PolynomialBasis(3)).fit(x[:, None], t)
    np.testing.assert_array_equal(a.posterior_mean_, b.posterior_mean_)
    np.testing.assert_array_equal(a.predict(x), b.predict(x[:, None]))


# --------------------------------------------------------------------------- bad input
def fitted():
    x, t = sinusoidal(10, seed=0)
    return BayesianLinearRegression(PolynomialBasis(2)).fit(x, t), x, t


@pytest.mark.parametrize(
    "X, t, error, match",
    [
        (np.array([0.1, np.nan, 0.3]), np.zeros(3), ValueError, "X contains NaN"),
        (np.array([0.1, 0.2, 0.3]), np.array([0.0, np.inf, 1.0]), ValueError, "y contains infinity"),
        (np.zeros(4), np.zeros(3), ValueError, "different numbers of samples"),
        (np.zeros((2, 2, 2)), np.zeros(2), ValueError, "X must be a 2-D"),
        (np.zeros(3), np.zeros((3, 1)), ValueError, "y must be a 1-D"),
        (np.array(["a", "b"]), np.zeros(2), TypeError, "X"),
        (np.zeros(3), np.array(["a", "b", "c"]), TypeError, "y"),
    ],
)
def test_bad_data_raise_and_keep_the_fitted_state(X, t, error, match):
    model, _, _ = fitted()
    before = model.posterior_mean_.copy(), model.log_evidence_
    with pytest.raises(error, match=match):
        model.fit(X, t)
    with pytest.raises(error, match=match):
        model.partial_fit(X, t)
    np.testing.assert_array_equal(model.posterior_mean_, before[0])
    assert model.log_evidence_ == before[1]


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"alpha": 0.0}, ValueError, "alpha"),
        ({"alpha": -1.0}, ValueError, "alpha"),
        ({"beta": 0.0}, ValueError, "beta"),
        ({"beta": "big"}, TypeError, "beta"),
        ({"alpha": np.inf}, ValueError, "alpha"),
        ({"prior_mean": np.zeros(2)}, ValueError, "prior_mean"),
        ({"prior_covariance": -np.eye(3)}, ValueError, "prior_covariance"),
        ({"prior_covariance": np.eye(3), "fit_hyperparameters": True}, ValueError, "prior_covariance"),
        ({"max_iter": 0}, ValueError, "max_iter"),
    ],
)
def test_bad_hyperparameters_raise_and_keep_the_fitted_state(params, error, match):
    model, x, t = fitted()
    before = model.posterior_covariance_.copy()
    for name, value in params.items():
        setattr(model, name, value)
    with pytest.raises(error, match=match):
        model.fit(x, t)
    np.testing.assert_array_equal(model.posterior_covariance_, before)


def test_partial_fit_refuses_hyperparameter_fitting():
    x, t = sinusoidal(10, seed=0)
    with pytest.raises(ValueError, match="fit_hyperparameters"):
        BayesianLinearRegression(fit_hyperparameters=True).partial_fit(x, t)


def test_predict_checks_fitted_and_features():
    with pytest.raises(NotFittedError):
        BayesianLinearRegression().predict(np.zeros(3))
    model = BayesianLinearRegression().fit(np.zeros((4, 2)), np.ones(4))
    with pytest.raises(ValueError, match="features"):
        model.predict(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="n_samples"):
        model.sample_functions(np.zeros((2, 2)), 0)


def test_runaway_hyperparameters_warn_and_still_fit():
    X, t = np.array([0.0, 1.0]), np.array([0.3, -0.2])  # two points, three weights: an exact fit exists
    with pytest.warns(ConvergenceWarning):
        model = BayesianLinearRegression(PolynomialBasis(2), fit_hyperparameters=True).fit(X, t)
    assert not model.converged_ and np.isfinite(model.log_evidence_)


# --------------------------------------------------------------------------- CuPy
@pytest.mark.gpu
@pytest.mark.skipif(not mb.cupy_available(), reason="needs CuPy and a CUDA device")
def test_cupy_matches_numpy():
    x, t = sinusoidal(20, seed=6)
    basis = GaussianBasis(np.linspace(0, 1, 9), 0.1)
    reference = BayesianLinearRegression(basis, fit_hyperparameters=True).fit(x, t)
    with mb.using("cupy"):
        model = BayesianLinearRegression(basis, fit_hyperparameters=True).fit(x, t)
        mean, std = model.predict(np.linspace(0, 1, 5), return_std=True)
    assert type(model.posterior_mean_).__module__.startswith("cupy")
    np.testing.assert_allclose(mb.to_numpy(model.posterior_mean_), reference.posterior_mean_, rtol=1e-8)
    assert model.log_evidence_ == pytest.approx(reference.log_evidence_, rel=1e-10)
    ref_mean, ref_std = reference.predict(np.linspace(0, 1, 5), return_std=True)
    np.testing.assert_allclose(mb.to_numpy(std), ref_std, rtol=1e-8)
