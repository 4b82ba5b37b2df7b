"""The UCI regression protocol (Gal & Ghahramani 2016, Table 1): splits, standardisation, scores, grid choice.

Every score is recomputed here by another route: the standardisation by hand with NumPy, the
log-densities with scipy.stats.norm, the mixture by a plain loop, and the Bayesian linear
regression result against scikit-learn's BayesianRidge on the same splits.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st
from scipy import stats
from sklearn.datasets import load_diabetes
from sklearn.linear_model import BayesianRidge

import minibayes as mb
from minibayes.models import (
    BayesianLinearRegression, PredictiveSamples, load_split_indices, uci_protocol, uci_splits,
)


def _toy_data(n=60, d=3, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(loc=[5.0, -2.0, 100.0][:d], scale=[2.0, 0.5, 30.0][:d], size=(n, d))
    y = 3.0 * X[:, 0] - X[:, 1] + 0.01 * X[:, 2] + rng.normal(scale=0.7, size=n) + 40.0
    return X, y


def _by_hand(X, y, train, test):
    """The training part's statistics (ddof=0) and the standardised test inputs, written out."""
    x_mean, x_std = X[train].mean(axis=0), X[train].std(axis=0)
    y_mean, y_std = y[train].mean(), y[train].std()
    return (X[test] - x_mean) / x_std, y_mean, y_std


# --------------------------------------------------------------------------- splits
@given(n=st.integers(2, 300), n_splits=st.integers(1, 5), test_fraction=st.floats(0.01, 0.99),
       seed=st.integers(0, 2**31))
def test_splits_are_disjoint_cover_the_rows_and_have_the_stated_sizes(n, n_splits, test_fraction, seed):
    n_test = round(test_fraction * n)
    if not 1 <= n_test <= n - 1:
        with pytest.raises(ValueError, match="test_fraction"):
            uci_splits(n, n_splits, test_fraction, seed)
        return
    splits = uci_splits(n, n_splits, test_fraction, seed)
    assert len(splits) == n_splits
    for train, test in splits:
        assert test.size == n_test and train.size == n - n_test
        assert np.intersect1d(train, test).size == 0
        np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(n))


def test_splits_are_reproducible_from_the_seed_and_differ_across_seeds_and_splits():
    first, again, other = uci_splits(200, 4, seed=3), uci_splits(200, 4, seed=3), uci_splits(200, 4, seed=4)
    for (a_train, a_test), (b_train, b_test) in zip(first, again):
        np.testing.assert_array_equal(a_train, b_train)
        np.testing.assert_array_equal(a_test, b_test)
    assert not np.array_equal(first[0][1], other[0][1])
    assert not np.array_equal(first[0][1], first[1][1])


def test_split_indices_load_from_files_in_both_published_formats(tmp_path):
    train, test = np.array([4, 0, 2, 7, 5, 1]), np.array([3, 6])
    (tmp_path / "index_train_0.txt").write_text("\n".join(map(str, train)) + "\n")
    np.savetxt(tmp_path / "index_test_0.txt", test)  # NumPy's default: 3.000000000000000000e+00
    loaded_train, loaded_test = load_split_indices(tmp_path / "index_train_0.txt", tmp_path / "index_test_0.txt")
    np.testing.assert_array_equal(loaded_train, train)
    np.testing.assert_array_equal(loaded_test, test)
    assert loaded_train.dtype.kind == "i"


@pytest.mark.parametrize("content, message", [("1 2 x", "integers"), ("1 2.5", "non-negative integers"),
                                              ("-1 2", "non-negative integers"), ("", "no indices")])
def test_bad_index_files_are_refused_with_the_file_named(tmp_path, content, message):
    (tmp_path / "bad.txt").write_text(content)
    (tmp_path / "good.txt").write_text("0 3")
    with pytest.raises(ValueError, match=message) as error:
        load_split_indices(tmp_path / "good.txt", tmp_path / "bad.txt")
    assert "bad.txt" in str(error.value)


def test_index_files_that_share_rows_are_refused(tmp_path):
    (tmp_path / "a.txt").write_text("0 1 2")
    (tmp_path / "b.txt").write_text("2 3")
    with pytest.raises(ValueError, match="train_file and test_file share"):
        load_split_indices(tmp_path / "a.txt", tmp_path / "b.txt")


# --------------------------------------------------------------------------- toy models
class Recording:
    """Remembers what it was given; predicts mean 0.5 * x_0 and variance 0.3 in standardised units."""

    seen: list = []

    def __init__(self, **params):
        self.params = params
        Recording.seen.append(self)

    def fit(self, X, y):
        self.fit_X, self.fit_y = X.copy(), y.copy()
        return self

    def predict(self, X):
        self.predict_X = X.copy()
        return 0.5 * X[:, 0], np.full(X.shape[0], 0.3)


class Sampling(Recording):
    """T = 7 deterministic 'passes' y_t = (0.2 + 0.15 t) x_0 + 0.1 (t - 3) and noise variance 0.4."""

    def predict(self, X):
        t = np.arange(7.0)[:, None]
        return PredictiveSamples((0.2 + 0.15 * t) * X[:, 0] + 0.1 * (t - 3), 0.4)


@pytest.fixture(autouse=True)
def fresh_records():
    Recording.seen = []


def test_standardisation_uses_the_training_part_only():
    X, y = _toy_data()
    X[:, 2] = 7.0  # a constant column: its std is 0 and must give zeros, not NaNs
    splits = uci_splits(len(y), 3, seed=5)
    uci_protocol(X, y, Recording, [{}], splits=splits)
    assert len(Recording.seen) == 3  # a one-point grid needs no validation fit
    for model, (train, test) in zip(Recording.seen, splits):
        x_mean, x_std = X[train].mean(axis=0), X[train].std(axis=0)
        x_std[2] = 1.0
        np.testing.assert_allclose(model.fit_X, (X[train] - x_mean) / x_std, rtol=1e-12)
        np.testing.assert_allclose(model.predict_X, (X[test] - x_mean) / x_std, rtol=1e-12)
        np.testing.assert_allclose(model.fit_y, (y[train] - y[train].mean()) / y[train].std(), rtol=1e-12)
        np.testing.assert_array_equal(model.fit_X[:, 2], 0.0)
        # statistics of the whole data set would not centre the training part exactly
        assert abs(model.fit_X[:, 0].mean()) < 1e-12 and abs(model.predict_X[:, 0].mean()) > 1e-6


def test_validation_fits_standardise_on_their_own_sub_training_part():
    X, y = _toy_data(n=50)
    result = uci_protocol(X, y, Recording, [{"a": 1}, {"a": 2}], splits=uci_splits(50, 1, seed=2),
                          validation_fraction=0.25)
    validation_models = Recording.seen[:2]
    n_train = 45
    for model in validation_models:
        assert model.fit_X.shape == (n_train - round(0.25 * n_train), 3)
        np.testing.assert_allclose(model.fit_X.mean(axis=0), 0.0, atol=1e-12)
        np.testing.assert_allclose(model.fit_X.std(axis=0), 1.0, rtol=1e-12)
    assert Recording.seen[2].fit_X.shape == (n_train, 3)  # the refit sees the whole training part
    assert np.isfinite(result.validation_log_likelihood).all()


def test_gaussian_log_likelihood_and_rmse_are_those_of_the_original_units():
    X, y = _toy_data()
    splits = uci_splits(len(y), 4, seed=11)
    result = uci_protocol(X, y, Recording, [{}], splits=splits)
    for k, (train, test) in enumerate(splits):
        X_test, y_mean, y_std = _by_hand(X, y, train, test)
        mean = 0.5 * X_test[:, 0] * y_std + y_mean
        expected = stats.norm.logpdf(y[test], loc=mean, scale=math.sqrt(0.3) * y_std).mean()
        assert result.log_likelihood[k] == pytest.approx(expected, rel=1e-10)
        assert result.rmse[k] == pytest.approx(np.sqrt(np.mean((y[test] - mean) ** 2)), rel=1e-10)
    assert result.rmse_mean == pytest.approx(result.rmse.mean())
    assert result.rmse_se == pytest.approx(np.std(result.rmse, ddof=1) / 2.0)
    assert result.log_likelihood_se == pytest.approx(np.std(result.log_likelihood, ddof=1) / 2.0)


def test_mixture_log_likelihood_equals_a_direct_loop_over_the_passes():
    X, y = _toy_data()
    splits = uci_splits(len(y), 2, seed=7)
    result = uci_protocol(X, y, Sampling, [{}], splits=splits)
    for k, (train, test) in enumerate(splits):
        X_test, y_mean, y_std = _by_hand(X, y, train, test)
        log_likelihoods, squared_errors = [], []
        for x0, target in zip(X_test[:, 0], y[test]):
            passes = [((0.2 + 0.15 * t) * x0 + 0.1 * (t - 3)) * y_std + y_mean for t in range(7)]
            density = sum(stats.norm.pdf(target, loc=p, scale=math.sqrt(0.4) * y_std) for p in passes) / 7
            log_likelihoods.append(math.log(density))
            squared_errors.append((target - sum(passes) / 7) ** 2)
        assert result.log_likelihood[k] == pytest.approx(np.mean(log_likelihoods), rel=1e-10)
        assert result.rmse[k] == pytest.approx(math.sqrt(np.mean(squared_errors)), rel=1e-10)
    assert result.log_likelihood_se == pytest.approx(abs(np.diff(result.log_likelihood)[0]) / 2.0)


def test_mixture_log_likelihood_stays_exact_where_every_density_underflows():
    X, y = _toy_data(n=40)
    y[::2] += 1e4  # test points far from every pass: their densities are 0.0 in float64

    class Tight(Recording):
        def predict(self, X):  # T equal passes: the mixture is one Gaussian, log N(y | m, 1e-6 s^2)
            return PredictiveSamples(np.zeros((3, X.shape[0])), 1e-6)

    splits = uci_splits(40, 2, seed=8)
    result = uci_protocol(X, y, Tight, [{}], splits=splits)
    for k, (train, test) in enumerate(splits):
        _, y_mean, y_std = _by_hand(X, y, train, test)
        scale = 1e-3 * y_std
        assert (stats.norm.pdf(y[test], y_mean, scale) == 0.0).any()  # the naive route would give -inf
        expected = stats.norm.logpdf(y[test], y_mean, scale).mean()
        assert result.log_likelihood[k] == pytest.approx(expected, rel=1e-10)


def test_one_split_reports_a_zero_standard_error():
    X, y = _toy_data()
    result = uci_protocol(X, y, Recording, [{}], n_splits=1)
    assert result.rmse_se == 0.0 and result.log_likelihood_se == 0.0
    assert result.rmse_mean == result.rmse[0]


# --------------------------------------------------------------------------- grid selection
class Shifted(Recording):
    """Least squares on the standardised data, its mean moved by ``shift``; the best grid point is shift=0."""

    def fit(self, X, y):
        design = np.column_stack([X, np.ones(len(X))])
        self.w = np.linalg.lstsq(design, y, rcond=None)[0]
        self.n_fit = len(X)
        return self

    def predict(self, X):
        return np.column_stack([X, np.ones(len(X))]) @ self.w + self.params["shift"], np.full(len(X), 0.05)


def test_grid_selection_picks_the_point_the_model_favours_and_refits_it_on_the_training_part():
    X, y = _toy_data(n=120)
    grid = [{"shift": -1.0}, {"shift": 0.0}, {"shift": 1.5}]
    result = uci_protocol(X, y, Shifted, grid, n_splits=3, seed=4)
    assert result.params == [{"shift": 0.0}] * 3
    assert (result.validation_log_likelihood.argmax(axis=1) == 1).all()
    refits = Recording.seen[3::4]  # per split: three validation fits, then the refit
    assert [model.params for model in refits] == result.params
    assert all(model.n_fit == 120 - 12 for model in refits)
    assert all(model.n_fit == 108 - round(0.2 * 108) for model in Recording.seen[0:3])
    # the chosen point's test score beats the others' by far, so the choice mattered
    worse = uci_protocol(X, y, Shifted, [{"shift": 1.5}], n_splits=3, seed=4)
    assert result.log_likelihood_mean > worse.log_likelihood_mean + 10.0


# --------------------------------------------------------------------------- a peer check
class BayesianLinearAdapter:
    def __init__(self):
        self.model = BayesianLinearRegression(fit_hyperparameters=True)

    def fit(self, X, y):
        self.model.fit(X, y)
        return self

    def predict(self, X):
        mean, std = self.model.predict(X, return_std=True)
        return mean, std**2


def test_bayesian_linear_regression_matches_scikit_learn_bayesian_ridge_on_diabetes():
    X, y = load_diabetes(return_X_y=True)
    splits = uci_splits(len(y), 20, seed=0)
    result = uci_protocol(X, y, BayesianLinearAdapter, [{}], splits=splits)
    rmse, log_likelihood = [], []
    for train, test in splits:
        X_test, y_mean, y_std = _by_hand(X, y, train, test)
        X_train = (X[train] - X[train].mean(axis=0)) / X[train].std(axis=0)
        peer = BayesianRidge().fit(X_train, (y[train] - y_mean) / y_std)
        mean, std = peer.predict(X_test, return_std=True)
        mean, std = mean * y_std + y_mean, std * y_std
        rmse.append(np.sqrt(np.mean((y[test] - mean) ** 2)))
        log_likelihood.append(stats.norm.logpdf(y[test], mean, std).mean())
    assert result.rmse_mean == pytest.approx(np.mean(rmse), rel=0.02)
    assert result.log_likelihood_mean == pytest.approx(np.mean(log_likelihood), abs=0.02)
    assert 40.0 < result.rmse_mean < 70.0  # the known range of a linear model on diabetes (y std ~ 77)


def test_model_outputs_on_the_backend_are_brought_to_the_host():
    X, y = _toy_data()

    class OnBackend(Recording):
        def predict(self, X):
            return mb.tensor(0.5 * X[:, 0]), mb.backend.asarray(np.full(X.shape[0], 0.3))

    expected = uci_protocol(X, y, Recording, [{}], n_splits=2)
    result = uci_protocol(X, y, OnBackend, [{}], n_splits=2)
    # float32 outputs (the default dtype) cost a little precision, nothing more
    np.testing.assert_allclose(result.log_likelihood, expected.log_likelihood, rtol=1e-5)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, error, message", [
    (dict(y=np.zeros(59)), ValueError, "X and y must have the same number of samples"),
    (dict(test_fraction=0.0), ValueError, "test_fraction"),
    (dict(test_fraction=1.0), ValueError, "test_fraction"),
    (dict(test_fraction=float("nan")), ValueError, "test_fraction"),
    (dict(test_fraction=0.001), ValueError, "test_fraction"),  # round(0.06) = 0 test rows
    (dict(validation_fraction=1.2), ValueError, "validation_fraction"),
    (dict(validation_fraction=0.001, grid=[{}, {}]), ValueError, "validation_fraction"),
    (dict(grid=[]), ValueError, "grid must hold at least one"),
    (dict(grid={"shift": 0.0}), TypeError, "grid must be a list of dicts"),
    (dict(grid=[{"shift": 0.0}, 0.5]), TypeError, r"grid\[1\]"),
    (dict(n_splits=0), ValueError, "n_splits"),
    (dict(n_splits=2.5), ValueError, "n_splits"),
    (dict(n_splits=True), ValueError, "n_splits"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(make_model="Recording"), TypeError, "make_model must be callable"),
    (dict(X=np.full((60, 3), np.nan)), ValueError, "X contains NaN"),
    (dict(y=np.array(["a"] * 60)), TypeError, "y must be a real numeric array"),
    (dict(splits=[]), ValueError, "splits must be a non-empty"),
    (dict(splits=[(np.arange(50), np.arange(45, 60))]), ValueError, "overlap"),
    (dict(splits=[(np.arange(50), np.arange(50, 61))]), ValueError, r"rows 0\.\.59"),
    (dict(splits=[(np.array([0, 0, 1]), np.array([5]))]), ValueError, "repeats"),
    (dict(splits=[(np.arange(50.0), np.arange(50, 60))]), TypeError, "integers"),
])
def test_bad_input_names_the_argument_before_any_model_is_built(kwargs, error, message):
    X, y = _toy_data()
    arguments = dict(X=X, y=y, make_model=Recording, grid=[{"shift": 0.0}]) | kwargs
    X, y, make_model, grid = (arguments.pop(name) for name in ("X", "y", "make_model", "grid"))
    with pytest.raises(error, match=message):
        uci_protocol(X, y, make_model, grid, **arguments)
    assert Recording.seen == []


@pytest.mark.parametrize("n, n_splits", [(1, 20), (10, 0), (10.0, 2)])
def test_bad_split_counts_are_refused(n, n_splits):
    with pytest.raises(ValueError, match="n must|n_splits must"):
        uci_splits(n, n_splits)


@pytest.mark.parametrize("prediction, error, message", [
    (lambda n: np.zeros(n), TypeError, r"must return \(mean, variance\) or PredictiveSamples"),
    (lambda n: (np.zeros(n), np.zeros(n)), ValueError, "variance that is not finite and positive"),
    (lambda n: (np.full(n, np.nan), np.ones(n)), ValueError, "NaN or infinite predictions"),
    (lambda n: (np.zeros(n + 1), np.ones(n)), ValueError, "expected"),
    (lambda n: PredictiveSamples(np.zeros(n), 0.1), ValueError, r"expected \(T, "),
    (lambda n: PredictiveSamples(np.zeros((4, n)), -0.1), ValueError, "not finite and positive"),
    (lambda n: PredictiveSamples(np.zeros((4, n)), np.ones(3)), ValueError, "does not broadcast"),
])
def test_a_model_breaking_the_contract_gets_a_clear_error(prediction, error, message):
    X, y = _toy_data()

    class Broken(Recording):
        def predict(self, X):
            return prediction(X.shape[0])

    with pytest.raises(error, match=message) as raised:
        uci_protocol(X, y, Broken, [{"p": 1}], n_splits=1)
    assert "make_model(**{'p': 1}).predict" in str(raised.value)
