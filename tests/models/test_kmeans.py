"""KMeans: J never increases (Figure 9.2), agreement with scikit-learn's Lloyd iterations, bad input."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans as SkKMeans

from minibayes.models._validation import ConvergenceWarning
from minibayes.models.kmeans import KMeans, kmeans_plusplus, squared_distances

from .test_mixture import BAD_INPUTS, blobs


def objective(X, centers, labels):
    """J of PRML (9.1), written out with an explicit loop over clusters."""
    return sum(((X[labels == k] - c) ** 2).sum() for k, c in enumerate(centers))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31), n_clusters=st.integers(1, 6), n_features=st.integers(1, 4),
       init=st.sampled_from(["k-means++", "random"]))
def test_objective_never_increases_and_final_state_is_consistent(seed, n_clusters, n_features, init):
    X = blobs(seed, n_per=15, n_features=n_features, offset=100.0)
    model = KMeans(n_clusters, init=init, random_state=seed).fit(X)
    history = np.array(model.objective_history_)
    assert len(history) == 2 * model.n_iter_  # one J after each E-step and each M-step
    assert np.all(np.diff(history) <= 1e-9 * history[0])
    assert model.converged_
    distances = ((X[:, None, :] - model.cluster_centers_[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(model.labels_, distances.argmin(1))
    assert model.inertia_ == pytest.approx(objective(X, model.cluster_centers_, model.labels_), rel=1e-9)
    assert model.inertia_ <= history[-1] * (1 + 1e-9)
    # At the fixed point each centre is the mean of its points (9.4).
    for k in np.unique(model.labels_):
        np.testing.assert_allclose(model.cluster_centers_[k], X[model.labels_ == k].mean(0), rtol=1e-9, atol=1e-9)


def test_matches_sklearn_lloyd_from_the_same_centres():
    X = blobs(1, n_per=50, n_features=3)
    start = X[[0, 60, 120, 10]]
    ours = KMeans(4, init=start, tol=0.0).fit(X)
    theirs = SkKMeans(4, init=start, n_init=1, tol=0.0, algorithm="lloyd").fit(X)
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=1e-10)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-10)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    np.testing.assert_allclose(ours.transform(X), theirs.transform(X), rtol=1e-9)
    assert ours.score(X) == pytest.approx(theirs.score(X), rel=1e-10)


def test_figure_9_2_alternation_on_old_faithful():
    from minibayes.data import old_faithful

    X = old_faithful(standardize=True)
    # Bishop's deliberately poor start for Figure 9.1.
    model = KMeans(2, init=np.array([[-1.0, 1.0], [1.0, -1.0]])).fit(X)
    history = model.objective_history_
    assert history[0] > history[1] > history[-1]  # the first M-step already lowers J
    assert model.converged_ and history[-1] == pytest.approx(history[-2], rel=1e-12)  # the last cycle changes nothing
    theirs = SkKMeans(2, init=np.array([[-1.0, 1.0], [1.0, -1.0]]), n_init=1).fit(X)
    assert model.n_iter_ == theirs.n_iter_
    np.testing.assert_array_equal(np.bincount(model.labels_), np.bincount(theirs.labels_))


def test_empty_cluster_is_moved_not_nan():
    X = blobs(2, n_per=30)
    start = np.concatenate([X[:2], [[1e3, 1e3]]])  # the third centre attracts no point
    model = KMeans(3, init=start).fit(X)
    assert np.all(np.isfinite(model.cluster_centers_))
    assert len(np.unique(model.labels_)) == 3
    assert np.all(np.diff(model.objective_history_) <= 1e-9 * model.objective_history_[0])


def test_kmeans_plusplus_picks_distinct_data_points_and_is_reproducible():
    X = blobs(3)
    centers = kmeans_plusplus(X, 5, np.random.default_rng(0))
    assert all(any(np.array_equal(c, x) for x in X) for c in centers)
    assert len({tuple(c) for c in centers}) == 5
    np.testing.assert_array_equal(centers, kmeans_plusplus(X, 5, np.random.default_rng(0)))
    a, b = KMeans(3, random_state=7).fit(X), KMeans(3, random_state=7).fit(X)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)


def test_squared_distances_are_exact_enough_and_non_negative():
    rng = np.random.default_rng(0)
    X, C = rng.normal(size=(20, 3)), rng.normal(size=(4, 3))
    np.testing.assert_allclose(squared_distances(X, C), ((X[:, None] - C[None]) ** 2).sum(-1), atol=1e-12)
    assert np.all(squared_distances(X, X) >= 0)


def test_max_iter_reached_warns():
    X = blobs(4, n_per=100)
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        KMeans(6, init="random", max_iter=1, tol=0.0, random_state=0).fit(X)


@pytest.mark.parametrize("bad, error, message", BAD_INPUTS)
def test_bad_input_raises_and_keeps_fitted_state(bad, error, message):
    X = blobs(5)
    model = KMeans(2, random_state=0).fit(X)
    centers, history = model.cluster_centers_.copy(), list(model.objective_history_)
    with pytest.raises(error, match=message):
        model.fit(bad)
    np.testing.assert_array_equal(model.cluster_centers_, centers)
    assert model.objective_history_ == history


def test_bad_hyperparameters_name_the_argument():
    X = blobs(6, n_per=3)
    with pytest.raises(ValueError, match="n_clusters=10 must not exceed n_samples=9"):
        KMeans(10).fit(X)
    with pytest.raises(ValueError, match="init"):
        KMeans(2, init="kmeans").fit(X)
    with pytest.raises(ValueError, match="init must have shape"):
        KMeans(2, init=np.zeros((3, 2))).fit(X)
    with pytest.raises(TypeError, match="n_init"):
        KMeans(2, n_init=1.5).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        KMeans(2, random_state=0).fit(X)  # a clean fit raises no warning
