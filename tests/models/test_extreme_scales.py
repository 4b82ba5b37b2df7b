"""Extreme scales: an estimator fitted on s X (and s t) must give the answers on X, scaled as the model says.

Squared distances, Gram and kernel matrices square the data: at s = 1e-150 they are near the bottom of
float64's range and at 1e150 near the top, and the unit-scale defaults (a GP length scale of 1, a weight
precision of 1) are off by 1e300. Each estimator is fitted on X and on s X for both s and compared.
"""

import warnings

import numpy as np
import pytest

from minibayes.models import PCA, PPCA, RBF, BayesianRidge, GaussianProcessRegressor, KMeans

SCALES = [1e-150, 1e150]
# Where squares leave float64's range altogether (1e-400 underflows, 1e400 overflows): the estimators that
# only need distances and second moments (no unit-scale defaults) must still hold there.
WIDE_SCALES = [1e-200, 1e-150, 1e150, 1e200]


def squares_representable(s):
    return 1e-300 < s * s < 1e300


def blobs(seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [5.0, 1.0, 0.0], [0.0, 5.0, 2.0]])
    return rng.normal(size=(90, 3)) * [1.0, 0.6, 0.3] + centres[np.arange(90) % 3]


def regression(seed=0, n=60):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=n) + 3.0


@pytest.mark.parametrize("s", WIDE_SCALES)
def test_kmeans_labels_and_centres_scale(s):
    X = blobs()
    base = KMeans(3, n_init=3, random_state=0).fit(X)
    scaled = KMeans(3, n_init=3, random_state=0).fit(s * X)
    np.testing.assert_array_equal(scaled.labels_, base.labels_)
    np.testing.assert_allclose(scaled.cluster_centers_ / s, base.cluster_centers_, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(scaled.predict(s * X[::7]), base.predict(X[::7]))
    np.testing.assert_allclose(scaled.transform(s * X[:5]) / s, base.transform(X[:5]), rtol=1e-10)
    if squares_representable(s):
        assert scaled.inertia_ / s**2 == pytest.approx(base.inertia_, rel=1e-10)
        assert scaled.score(s * X) / s**2 == pytest.approx(base.score(X), rel=1e-10)


@pytest.mark.parametrize("solver", ["eigh", "svd"])
@pytest.mark.parametrize("s", WIDE_SCALES)
def test_pca_and_ppca_components_and_variances_scale(s, solver):
    X = blobs(1) @ np.array([[1.0, 0.2, 0.0], [0.0, 1.0, 0.3], [0.1, 0.0, 1.0]])
    base, scaled = PCA(2, solver=solver).fit(X), PCA(2, solver=solver).fit(s * X)
    np.testing.assert_allclose(scaled.components_, base.components_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(scaled.transform(s * X[:5]) / s, base.transform(X[:5]), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(scaled.explained_variance_ratio_, base.explained_variance_ratio_, rtol=1e-10)
    if not squares_representable(s):  # variances of 1e-400 or 1e400 have no float64; directions and ratios do
        return
    np.testing.assert_allclose(scaled.explained_variance_ / s**2, base.explained_variance_, rtol=1e-10)
    assert scaled.noise_variance_ / s**2 == pytest.approx(base.noise_variance_, rel=1e-10)
    ppca, ppca_scaled = PPCA(2, solver=solver).fit(X), PPCA(2, solver=solver).fit(s * X)
    np.testing.assert_allclose(ppca_scaled.components_ / s, ppca.components_, rtol=1e-9, atol=1e-12)
    assert ppca_scaled.noise_variance_ / s**2 == pytest.approx(ppca.noise_variance_, rel=1e-10)


@pytest.mark.parametrize("s", SCALES)
def test_bayesian_ridge_predictions_scale(s):
    X, t = regression()
    # With flat hyperpriors the model is exactly scale-equivariant: w -> w / s for X -> s X, and
    # everything -> s (precisions / s^2) for t -> s t. (tol = 0: scikit-learn's stopping rule compares
    # the change of w with tol in w's units, which would stop the scaled fits at other iterations.)
    flat = dict(alpha_1=0.0, alpha_2=0.0, lambda_1=0.0, lambda_2=0.0, tol=0.0, max_iter=100)
    base = BayesianRidge(**flat).fit(X, t)
    on_x = BayesianRidge(**flat).fit(s * X, t)
    np.testing.assert_allclose(on_x.predict(s * X), base.predict(X), rtol=1e-9)
    np.testing.assert_allclose(on_x.coef_ * s, base.coef_, rtol=1e-9)
    assert on_x.alpha_ == pytest.approx(base.alpha_, rel=1e-9) and on_x.gamma_ == pytest.approx(base.gamma_, rel=1e-9)
    on_t = BayesianRidge(**flat).fit(X, s * t)
    mean, std = on_t.predict(X, return_std=True)
    base_mean, base_std = base.predict(X, return_std=True)
    np.testing.assert_allclose(mean / s, base_mean, rtol=1e-9)
    np.testing.assert_allclose(std / s, base_std, rtol=1e-9)
    assert on_t.alpha_ * s**2 == pytest.approx(base.alpha_, rel=1e-9)
    # The default Gamma(1e-6, 1e-6) hyperpriors have rates in the data's units, so there the predictions
    # agree only as far as those priors are vague: to 1% of their range (before: w = 0, a constant
    # prediction, at X * 1e-150 and t * 1e150, 5 units off).
    default = BayesianRidge().fit(X, t).predict(X)
    for prediction in (BayesianRidge().fit(s * X, t).predict(s * X), BayesianRidge().fit(X, s * t).predict(X) / s):
        assert np.abs(prediction - default).max() < 1e-2 * np.ptp(default)


@pytest.mark.parametrize("s", SCALES)
def test_gp_predictions_scale(s):
    # A smooth function and small noise: an evidence with one clear maximum, which every start reaches
    # (s is not a power of two, so the scaled fit starts from a slightly different point).
    rng = np.random.default_rng(2)
    X = rng.uniform(-2.0, 2.0, size=(40, 1))
    t = np.sin(2.0 * X[:, 0]) + 0.1 * rng.normal(size=40) + 1.0
    X_query = np.linspace(-2.0, 2.0, 9)[:, None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = GaussianProcessRegressor().fit(X, t)
        on_x = GaussianProcessRegressor().fit(s * X, t)
        on_t = GaussianProcessRegressor().fit(X, s * t)
    mean, std = base.predict(X_query, return_std=True)
    for model, x_factor, t_factor in ((on_x, s, 1.0), (on_t, 1.0, s)):
        scaled_mean, scaled_std = model.predict(x_factor * X_query, return_std=True)
        np.testing.assert_allclose(scaled_mean / t_factor, mean, rtol=1e-5, atol=1e-8)
        np.testing.assert_allclose(scaled_std / t_factor, std, rtol=1e-4)
        assert model.log_marginal_likelihood_value_ + len(t) * np.log(t_factor) == pytest.approx(
            base.log_marginal_likelihood_value_, rel=1e-6)
    assert on_x.kernel_.length_scale / s == pytest.approx(base.kernel_.length_scale, rel=1e-4)
    assert on_t.kernel_.variance / s**2 == pytest.approx(base.kernel_.variance, rel=1e-4)
    assert on_t.noise_ / s**2 == pytest.approx(base.noise_, rel=1e-4)


@pytest.mark.parametrize("s", WIDE_SCALES)
def test_rbf_kernel_matrix_at_extreme_scales(s):
    # k(s x, s z) with length scale s l equals k(x, z) with l: the ratio is formed before squaring.
    X = np.random.default_rng(3).normal(size=(6, 2))
    np.testing.assert_allclose(RBF(2.0, 0.7 * s)(s * X), RBF(2.0, 0.7)(X), rtol=1e-12)
