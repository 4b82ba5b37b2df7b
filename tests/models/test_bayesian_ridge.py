"""Bayesian ridge regression with Gamma hyperpriors: agreement with scikit-learn's BayesianRidge.

scikit-learn computes with an SVD of the centred N x D design; minibayes with the eigenvectors
of the D x D matrix X^T X and the residual by Pythagoras. Two routes, one model: coef_, alpha_,
lambda_ (and the rest) agree to 1e-6 relative.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sklearn_linear = pytest.importorskip("sklearn.linear_model")

from minibayes.models._validation import NotFittedError  # noqa: E402
from minibayes.models.bayesian_ridge import BayesianRidge  # noqa: E402

RTOL = 1e-6
# scikit-learn starts lambda at 1 in any units; ours by default at mean(x^2) / Var(t) (see
# test_fit_is_scale_equivariant). Given scikit-learn's start, the two fits must agree.
SKLEARN_START = dict(lambda_init=1.0)


def regression(seed, n, d, offset=5.0, noise=1.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * rng.uniform(0.5, 3, d) + offset
    t = X @ rng.standard_normal(d) + noise * rng.standard_normal(n) + 2.0
    return X, t


def assert_agrees(ours, theirs, X):
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=RTOL, atol=1e-10 * np.abs(theirs.coef_).max())
    assert ours.alpha_ == pytest.approx(theirs.alpha_, rel=RTOL)
    assert ours.lambda_ == pytest.approx(theirs.lambda_, rel=RTOL)
    assert ours.intercept_ == pytest.approx(theirs.intercept_, rel=RTOL, abs=1e-9)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.sigma_, theirs.sigma_, rtol=RTOL, atol=1e-10 * np.abs(theirs.sigma_).max())
    mean, std = ours.predict(X, return_std=True)
    their_mean, their_std = theirs.predict(X, return_std=True)
    np.testing.assert_allclose(mean, their_mean, rtol=RTOL, atol=1e-9)
    np.testing.assert_allclose(std, their_std, rtol=RTOL)


@settings(max_examples=15)
@given(st.integers(0, 2**32 - 1), st.integers(1, 8), st.integers(0, 60), st.booleans())
def test_agrees_with_scikit_learn(seed, d, extra, fit_intercept):
    X, t = regression(seed, d + 3 + extra, d)
    ours = BayesianRidge(fit_intercept=fit_intercept, **SKLEARN_START).fit(X, t)
    theirs = sklearn_linear.BayesianRidge(fit_intercept=fit_intercept, compute_score=True).fit(X, t)
    assert_agrees(ours, theirs, X)
    # scikit-learn's last score pairs the final sse with the previous iteration's coef_ (a stale local
    # variable in its fit); ours evaluates both at the final (alpha_, lambda_). The others agree.
    assert len(ours.scores_) == len(theirs.scores_)
    np.testing.assert_allclose(ours.scores_[:-1], theirs.scores_[:-1], rtol=RTOL)


def test_agrees_with_custom_hyperparameters():
    X, t = regression(1, 120, 6, noise=0.2)
    params = dict(alpha_1=2.0, alpha_2=0.5, lambda_1=3.0, lambda_2=0.1, alpha_init=0.3, lambda_init=4.0,
                  tol=1e-8, max_iter=500)
    ours = BayesianRidge(**params).fit(X, t)
    theirs = sklearn_linear.BayesianRidge(**params).fit(X, t)
    assert_agrees(ours, theirs, X)


def test_agrees_on_a_large_sample():
    X, t = regression(2, 20000, 30)
    assert_agrees(BayesianRidge(**SKLEARN_START).fit(X, t), sklearn_linear.BayesianRidge().fit(X, t), X[:100])


def test_more_features_than_samples_gives_the_same_predictions():
    # Here alpha_ runs towards interpolation and is ill-conditioned on both routes; the
    # predictions and the weights' precision stay well-determined.
    X, t = regression(3, 15, 25)
    ours = BayesianRidge(max_iter=20, **SKLEARN_START).fit(X, t)
    theirs = sklearn_linear.BayesianRidge(max_iter=20).fit(X, t)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-6)
    assert ours.lambda_ == pytest.approx(theirs.lambda_, rel=1e-6)


def test_centring_makes_the_fit_shift_invariant():
    X, t = regression(4, 80, 3, offset=0.0)
    base = BayesianRidge().fit(X, t)
    shifted = BayesianRidge().fit(X + 1000.0, t)
    np.testing.assert_allclose(shifted.coef_, base.coef_, rtol=1e-8)
    assert shifted.intercept_ == pytest.approx(base.intercept_ - 1000.0 * base.coef_.sum(), rel=1e-8)


def test_gamma_counts_well_determined_parameters():
    X, t = regression(5, 200, 4, noise=0.1)
    model = BayesianRidge().fit(X, t)
    s = np.linalg.eigvalsh((X - X.mean(0)).T @ (X - X.mean(0)))
    assert model.gamma_ == pytest.approx(np.sum(model.alpha_ * s / (model.lambda_ + model.alpha_ * s)), rel=1e-10)
    assert 3.9 < model.gamma_ < 4.0  # plenty of data: all four weights are determined by it


def test_one_dimensional_x_is_one_feature():
    X, t = regression(6, 30, 1)
    a, b = BayesianRidge().fit(X[:, 0], t), BayesianRidge().fit(X, t)
    np.testing.assert_array_equal(a.coef_, b.coef_)


@pytest.mark.parametrize(
    "X, t, error, match",
    [
        (np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 1.0]]), np.zeros(3), ValueError, "X contains NaN"),
        (np.ones((3, 2)), np.array([0.0, -np.inf, 1.0]), ValueError, "y contains infinity"),
        (np.ones((3, 2)), np.zeros(2), ValueError, "different numbers of samples"),
        (np.ones((3, 2), dtype=complex), np.zeros(3), TypeError, "X"),
    ],
)
def test_bad_data_raise_and_keep_the_fitted_state(X, t, error, match):
    X0, t0 = regression(7, 30, 2)
    model = BayesianRidge().fit(X0, t0)
    coef, alpha = model.coef_.copy(), model.alpha_
    with pytest.raises(error, match=match):
        model.fit(X, t)
    np.testing.assert_array_equal(model.coef_, coef)
    assert model.alpha_ == alpha


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"alpha_1": -1.0}, ValueError, "alpha_1"),
        ({"lambda_2": "none"}, TypeError, "lambda_2"),
        ({"alpha_init": 0.0}, ValueError, "alpha_init"),
        ({"max_iter": 0}, ValueError, "max_iter"),
        ({"tol": -1.0}, ValueError, "tol"),
    ],
)
def test_bad_hyperparameters_name_the_argument(params, error, match):
    X, t = regression(8, 20, 2)
    with pytest.raises(error, match=match):
        BayesianRidge(**params).fit(X, t)


def test_predict_checks_fitted_and_features():
    with pytest.raises(NotFittedError):
        BayesianRidge().predict(np.zeros((2, 2)))
    X, t = regression(9, 20, 2)
    with pytest.raises(ValueError, match="features"):
        BayesianRidge().fit(X, t).predict(np.zeros((2, 3)))
