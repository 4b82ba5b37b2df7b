"""Bayesian logistic regression (PRML 4.5): the Laplace approximation and its predictive.

The mode: the analytic gradient, and minibayes' autograd on the same log posterior, vanish there.
The Hessian: central differences of the gradient. The gradient: central differences of the log
posterior. The probit predictive: numerical integration, and Monte Carlo over the Laplace posterior.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate
from scipy.special import expit

import minibayes as mb
from minibayes.data import two_moons
from minibayes.models._validation import NotFittedError
from minibayes.models.basis import GaussianBasis, IdentityBasis
from minibayes.models.logistic import (
    BayesianLogisticRegression, log_posterior, log_posterior_gradient, log_posterior_hessian, probit_predictive,
)

# |probit approximation - exact Gaussian integral| over mu in [-6, 6], sigma^2 in [0.01, 100] is at
# most 0.0131 (measured by quadrature); Monte Carlo adds its own 5 standard errors.
PROBIT_ERROR = 0.015


@st.composite
def problems(draw):
    """Phi (n, M) with a bias, labels t in {0, 1} (both classes present), a prior precision alpha."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n, d = draw(st.integers(8, 40)), draw(st.integers(1, 3))
    X = rng.standard_normal((n, d))
    t = (X @ rng.standard_normal(d) + rng.standard_normal(n) > 0).astype(float)
    t[:2] = [0.0, 1.0]
    return X, t, draw(st.floats(0.05, 10.0))


def autograd_log_posterior(w, Phi, t, alpha):
    """The same (4.142) written with minibayes Tensor ops: -alpha/2 w^T w + sum {t a + log_sigmoid(-a)}."""
    a = mb.matmul(mb.tensor(Phi), w)
    return (mb.tensor(t) * a + mb.log_sigmoid(-a)).sum() - 0.5 * alpha * (w * w).sum()


@given(problems())
def test_gradient_vanishes_at_the_map(problem):
    X, t, alpha = problem
    model = BayesianLogisticRegression(alpha=alpha).fit(X, t)
    Phi = IdentityBasis()(X)
    assert model.converged_
    scale = 1 + np.abs(Phi).sum()
    assert np.abs(log_posterior_gradient(model.coef_, Phi, t, alpha)).max() < 1e-8 * scale
    w = mb.tensor(model.coef_, requires_grad=True)
    (g,) = mb.grad(autograd_log_posterior(w, Phi, t, alpha), w)
    assert np.abs(g.numpy()).max() < 1e-8 * scale
    np.testing.assert_allclose(model.posterior_precision_, -log_posterior_hessian(model.coef_, Phi, alpha),
                               rtol=1e-12)


@given(problems(), st.integers(0, 2**32 - 1))
def test_derivatives_match_central_differences(problem, seed):
    X, t, alpha = problem
    Phi = IdentityBasis()(X)
    w = np.random.default_rng(seed).uniform(-1, 1, Phi.shape[1])
    h, eye = 1e-5, np.eye(len(w))
    numeric_grad = [(log_posterior(w + h * e, Phi, t, alpha) - log_posterior(w - h * e, Phi, t, alpha)) / (2 * h)
                    for e in eye]
    np.testing.assert_allclose(log_posterior_gradient(w, Phi, t, alpha), numeric_grad, rtol=1e-6, atol=1e-6)
    numeric_hessian = np.stack([(log_posterior_gradient(w + h * e, Phi, t, alpha)
                                 - log_posterior_gradient(w - h * e, Phi, t, alpha)) / (2 * h) for e in eye])
    np.testing.assert_allclose(log_posterior_hessian(w, Phi, alpha), numeric_hessian, rtol=1e-6, atol=1e-6)


def test_log_posterior_matches_its_definition():
    rng = np.random.default_rng(1)
    Phi, t, w = rng.standard_normal((10, 3)), (rng.random(10) > 0.5).astype(float), rng.standard_normal(3)
    y = expit(Phi @ w)
    expected = np.sum(t * np.log(y) + (1 - t) * np.log(1 - y)) - 0.5 * 2.0 * w @ w  # (4.142)
    assert log_posterior(w, Phi, t, 2.0) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("mu", [-4.0, -1.0, 0.0, 0.5, 3.0])
@pytest.mark.parametrize("variance", [0.01, 1.0, 10.0, 100.0])
def test_probit_approximation_against_quadrature(mu, variance):
    sd = np.sqrt(variance)
    exact = integrate.quad(lambda a: expit(a) * np.exp(-0.5 * ((a - mu) / sd) ** 2) / (sd * np.sqrt(2 * np.pi)),
                           mu - 12 * sd, mu + 12 * sd)[0]
    assert abs(probit_predictive(np.array(mu), np.array(variance)) - exact) < PROBIT_ERROR  # (4.155)


def test_probit_and_monte_carlo_predictives_agree():
    X, t = two_moons(60, noise=0.2, seed=0)
    model = BayesianLogisticRegression(GaussianBasis(X[::6], 0.6), alpha=1.0).fit(X, t)
    grid = np.stack(np.meshgrid(np.linspace(-1.5, 2.5, 9), np.linspace(-1, 1.5, 7)), -1).reshape(-1, 2)
    probit = model.predict_proba(grid)[:, 1]
    n = 20000
    mc = model.predict_proba(grid, method="monte_carlo", n_samples=n, random_state=0)[:, 1]
    se = np.sqrt(np.maximum(mc * (1 - mc), 1e-4) / n)  # a bound on each estimate's standard error
    assert np.all(np.abs(probit - mc) < PROBIT_ERROR + 5 * se)
    # And both moderate the MAP plug-in sigma(w_MAP^T phi) towards 1/2 where sigma_a^2 > 0.
    plug_in = expit(model.basis(grid) @ model.coef_)
    assert np.all(np.abs(probit - 0.5) <= np.abs(plug_in - 0.5) + 1e-12)


def test_fit_classifies_and_probabilities_are_consistent():
    X, t = two_moons(200, noise=0.15, seed=1)
    model = BayesianLogisticRegression(GaussianBasis(X[::10], 0.5), alpha=0.5).fit(X, t)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    labels = model.predict(X)
    np.testing.assert_array_equal(labels, (proba[:, 1] > 0.5).astype(int))
    assert np.mean(labels == t) > 0.95
    np.testing.assert_allclose(model.posterior_covariance_ @ model.posterior_precision_, np.eye(len(model.coef_)),
                               atol=1e-8)


def test_separable_data_stay_finite_thanks_to_the_prior():
    X = np.array([-2.0, -1.0, 1.0, 2.0])
    t = np.array([0, 0, 1, 1])
    model = BayesianLogisticRegression(alpha=1e-2).fit(X, t)
    assert model.converged_ and np.all(np.isfinite(model.coef_))
    stronger = BayesianLogisticRegression(alpha=1.0).fit(X, t)
    assert np.abs(stronger.coef_).max() < np.abs(model.coef_).max()


def test_one_dimensional_x_is_one_feature():
    X, t = np.linspace(-1, 1, 20), (np.linspace(-1, 1, 20) > 0.1).astype(int)
    a, b = BayesianLogisticRegression().fit(X, t), BayesianLogisticRegression().fit(X[:, None], t)
    np.testing.assert_array_equal(a.coef_, b.coef_)


@pytest.mark.parametrize(
    "X, t, error, match",
    [
        (np.array([0.0, np.nan, 1.0]), np.array([0, 1, 1]), ValueError, "X contains NaN"),
        (np.array([0.0, 0.5, 1.0]), np.array([0, 2, 1]), ValueError, "Only binary classification"),
        (np.array([0.0, 0.5, 1.0]), np.array([0.0, 0.5, 1.0]), ValueError, "Unknown label type: continuous"),
        (np.array([0.0, 0.5, 1.0]), np.array([0.0, np.inf, 1.0]), ValueError, "y contains infinity"),
        (np.array([0.0, 0.5, 1.0]), np.array([0, 1]), ValueError, "different numbers of samples"),
        (np.array([0.0, 0.5]), np.array([1j, 2j]), TypeError, "y must hold class labels"),
    ],
)
def test_bad_data_raise_and_keep_the_fitted_state(X, t, error, match):
    model = BayesianLogisticRegression().fit(np.linspace(-1, 1, 10), np.arange(10) % 2)
    coef = model.coef_.copy()
    with pytest.raises(error, match=match):
        model.fit(X, t)
    np.testing.assert_array_equal(model.coef_, coef)


def test_bad_hyperparameters_and_methods():
    X, t = np.linspace(-1, 1, 10), np.arange(10) % 2
    with pytest.raises(ValueError, match="alpha"):
        BayesianLogisticRegression(alpha=0.0).fit(X, t)
    with pytest.raises(TypeError, match="alpha"):
        BayesianLogisticRegression(alpha=None).fit(X, t)
    with pytest.raises(NotFittedError):
        BayesianLogisticRegression().predict_proba(X)
    model = BayesianLogisticRegression().fit(X, t)
    with pytest.raises(ValueError, match="method"):
        model.predict_proba(X, method="laplace")
    with pytest.raises(ValueError, match="n_samples"):
        model.predict_proba(X, method="monte_carlo", n_samples=0)


@pytest.mark.gpu
@pytest.mark.skipif(not mb.cupy_available(), reason="needs CuPy and a CUDA device")
def test_cupy_matches_numpy():
    X, t = two_moons(80, noise=0.2, seed=2)
    basis = GaussianBasis(X[::8], 0.6)
    reference = BayesianLogisticRegression(basis).fit(X, t)
    with mb.using("cupy"):
        model = BayesianLogisticRegression(basis).fit(X, t)
        proba = model.predict_proba(X)
    np.testing.assert_allclose(mb.to_numpy(model.coef_), reference.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(mb.to_numpy(proba), reference.predict_proba(X), rtol=1e-8)


@pytest.mark.parametrize("labels", [np.array(["no", "yes"]), np.array([-1, 1]), np.array([3.0, 7.0])])
def test_any_two_labels_give_the_model_of_0_and_1(labels):
    # The larger label is C_1 (t = 1): the fit must be that of the 0/1 coding, and predict must speak in labels.
    rng = np.random.default_rng(4)
    X = rng.normal(size=(40, 2))
    t = (X[:, 0] + 0.5 * rng.normal(size=40) > 0).astype(int)
    reference = BayesianLogisticRegression().fit(X, t)
    model = BayesianLogisticRegression().fit(X, labels[t])
    np.testing.assert_array_equal(model.classes_, labels)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-12)
    np.testing.assert_array_equal(np.asarray(model.predict(X)), labels[np.asarray(reference.predict(X))])
    assert model.score(X, labels[t]) == pytest.approx(np.mean(np.asarray(reference.predict(X)) == t))
