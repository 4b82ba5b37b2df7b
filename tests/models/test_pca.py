"""PCA: the eigen-equation S u = lambda u, agreement with scikit-learn up to sign, both solvers, bad input."""

import numpy as np
import pytest
from sklearn.decomposition import PCA as SkPCA

from minibayes.models.pca import PCA

from .test_mixture import BAD_INPUTS


def correlated(seed, n_samples, n_features, offset=3.0):
    """Gaussian data with a spread of variances (a new strategy: distinct eigenvalues, so directions are defined)."""
    rng = np.random.default_rng(seed)
    scales = np.geomspace(5.0, 0.1, n_features)
    basis = np.linalg.qr(rng.normal(size=(n_features, n_features)))[0]
    return (rng.normal(size=(n_samples, n_features)) * scales) @ basis.T + offset


@pytest.mark.parametrize("shape", [(200, 6), (15, 40)])
@pytest.mark.parametrize("solver", ["auto", "eigh", "svd"])
def test_components_match_sklearn_up_to_sign(shape, solver):
    X = correlated(0, *shape)
    M = 4
    ours, theirs = PCA(M, solver=solver).fit(X), SkPCA(M, svd_solver="full").fit(X)
    signs = np.sign((ours.components_ * theirs.components_).sum(axis=1))
    np.testing.assert_allclose(ours.components_, signs[:, None] * theirs.components_, atol=1e-8)
    n = shape[0]
    # PRML (12.3) divides S by N, scikit-learn by N - 1.
    np.testing.assert_allclose(ours.explained_variance_ * n / (n - 1), theirs.explained_variance_, rtol=1e-9)
    np.testing.assert_allclose(ours.explained_variance_ratio_, theirs.explained_variance_ratio_, rtol=1e-9)
    # Both average the discarded eigenvalues: PRML (12.46) over all D - M of them (zeros included when
    # D > N), scikit-learn over the min(N, D) - M it computes.
    discarded_ours = ours.noise_variance_ * (shape[1] - M) * n / (n - 1)
    assert discarded_ours == pytest.approx(theirs.noise_variance_ * (min(shape) - M), rel=1e-8)
    np.testing.assert_allclose(np.abs(ours.transform(X)), np.abs(theirs.transform(X)), atol=1e-8)


def test_directions_solve_the_eigen_equation():
    X = correlated(1, 300, 5)
    model = PCA(5).fit(X)
    S = np.cov(X.T, bias=True)  # (12.3), an independent route to S
    for u, lam in zip(model.components_, model.explained_variance_):
        np.testing.assert_allclose(S @ u, lam * u, atol=1e-10)     # S u = lambda u (12.5)
        assert u @ S @ u == pytest.approx(lam, rel=1e-12)           # the projected variance u^T S u (12.4)
    np.testing.assert_allclose(model.components_ @ model.components_.T, np.eye(5), atol=1e-12)
    assert np.all(np.diff(model.explained_variance_) <= 0)
    # With all D directions the reconstruction is exact; with fewer it is the orthogonal projection.
    np.testing.assert_allclose(model.inverse_transform(model.transform(X)), X, atol=1e-10)
    two = PCA(2).fit(X)
    residual = X - two.inverse_transform(two.transform(X))
    np.testing.assert_allclose(residual @ two.components_.T, 0.0, atol=1e-10)
    assert (residual**2).sum(1).mean() == pytest.approx(model.explained_variance_[2:].sum(), rel=1e-10)  # (12.18)


def test_sign_convention_is_deterministic_across_solvers():
    X = correlated(2, 50, 8)
    a, b = PCA(3, solver="eigh").fit(X), PCA(3, solver="svd").fit(X)
    np.testing.assert_allclose(a.components_, b.components_, atol=1e-9)
    largest = np.abs(a.components_).argmax(axis=1)
    assert np.all(a.components_[np.arange(3), largest] > 0)


def test_large_offset_does_not_cost_accuracy():
    X = correlated(3, 500, 4, offset=0.0)
    a, b = PCA(4).fit(X), PCA(4).fit(X + 1e6)
    np.testing.assert_allclose(a.explained_variance_, b.explained_variance_, rtol=1e-7)


@pytest.mark.parametrize("bad, error, message", BAD_INPUTS)
def test_bad_input_raises_and_keeps_fitted_state(bad, error, message):
    X = correlated(4, 30, 3)
    model = PCA(2).fit(X)
    components = model.components_.copy()
    with pytest.raises(error, match=message):
        model.fit(bad)
    np.testing.assert_array_equal(model.components_, components)


def test_bad_hyperparameters_name_the_argument():
    X = correlated(5, 10, 20)
    with pytest.raises(ValueError, match=r"n_components=11 must be <= min\(n_samples, n_features\) = 10"):
        PCA(11).fit(X)
    with pytest.raises(ValueError, match="solver"):
        PCA(2, solver="randomized").fit(X)
    with pytest.raises(ValueError, match="X has 5 features, but PCA is expecting 20 features"):
        PCA(2).fit(X).transform(np.ones((3, 5)))
    with pytest.raises(ValueError, match="Z has 3 features"):
        PCA(2).fit(X).inverse_transform(np.ones((3, 3)))


def test_score_is_the_ppca_likelihood_of_the_subspace():
    # PCA's score is ln N(x | x_bar, C) with C = W W^T + sigma^2 I of the ML PPCA (PRML 12.45-12.46), computed
    # in C's eigenbasis; checked against PPCA's Woodbury route and, with every component kept (C = S), scipy.
    from scipy.stats import multivariate_normal

    from minibayes.models import PPCA

    rng = np.random.default_rng(11)
    X = rng.normal(size=(80, 5)) @ rng.normal(size=(5, 5)) + 3.0
    Y = rng.normal(size=(7, 5)) + 3.0
    np.testing.assert_allclose(PCA(2).fit(X).score_samples(Y), PPCA(2).fit(X).score_samples(Y), rtol=1e-10)
    S = np.cov(X.T, bias=True)
    np.testing.assert_allclose(PCA().fit(X).score_samples(Y), multivariate_normal(X.mean(0), S).logpdf(Y), rtol=1e-10)
    with pytest.raises(ValueError, match="non-singular covariance"):
        PCA(2).fit(np.c_[X[:, :2], X[:, :2] @ np.ones((2, 3))]).score(X)
