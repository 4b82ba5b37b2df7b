"""Gaussian-process regression (PRML 6.4): the evidence and predictive against scikit-learn and SciPy,
its autograd gradient against central differences, sampling against the moments."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.spatial.distance import cdist
from scipy.stats import multivariate_normal

import minibayes as mb
from minibayes.models._validation import NotFittedError
from minibayes.models.gp import GaussianProcessRegressor, log_marginal_likelihood
from minibayes.models.kernels import RBF, Linear, squared_distances

sk_gp = pytest.importorskip("sklearn.gaussian_process")
sk_kernels = pytest.importorskip("sklearn.gaussian_process.kernels")


def data(seed=0, n=30, d=1):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-3, 3, size=(n, d))
    return X, np.sin(X.sum(axis=1)) + 0.1 * rng.standard_normal(n)


def sklearn_model(kernel, noise, X, t):
    """scikit-learn's GP with the same kernel and white noise, no extra jitter (alpha=0), not optimised."""
    K = sk_kernels.ConstantKernel
    if isinstance(kernel, RBF):
        theirs = K(kernel.variance) * sk_kernels.RBF(kernel.length_scale)
    else:  # c^2 + v^2 x^T x' = v^2 (sigma_0^2 + x^T x') with sigma_0 = c / v
        theirs = K(kernel.variance) * sk_kernels.DotProduct(np.sqrt(kernel.bias_variance / kernel.variance))
    return sk_gp.GaussianProcessRegressor(theirs + sk_kernels.WhiteKernel(noise), optimizer=None, alpha=0.0).fit(X, t)


kernels = st.one_of(
    st.builds(RBF, st.floats(0.1, 5.0), st.floats(0.2, 3.0)),
    st.builds(Linear, st.floats(0.1, 5.0), st.floats(0.1, 5.0)),
)


@given(kernels, st.floats(0.01, 1.0), st.integers(0, 2**32 - 1), st.integers(1, 3))
def test_log_marginal_likelihood_matches_scikit_learn_and_scipy(kernel, noise, seed, d):
    X, t = data(seed, n=25, d=d)
    ours = GaussianProcessRegressor(kernel, noise=noise, optimize=False).fit(X, t)
    theirs = sklearn_model(kernel, noise, X, t)
    assert ours.log_marginal_likelihood_value_ == pytest.approx(theirs.log_marginal_likelihood_value_, rel=1e-8)
    direct = multivariate_normal(np.zeros(len(t)), kernel(X) + noise * np.eye(len(t))).logpdf(t)  # (6.69)
    assert ours.log_marginal_likelihood_value_ == pytest.approx(direct, rel=1e-8)
    # The gradient from the autograd against scikit-learn's hand-written one (same log-parameters).
    value, grad = ours.log_marginal_likelihood(ours.theta_, eval_gradient=True)
    their_value, their_grad = theirs.log_marginal_likelihood(theirs.kernel_.theta, eval_gradient=True)
    assert value == pytest.approx(their_value, rel=1e-8)
    if isinstance(kernel, RBF):  # same parametrisation: (ln s^2, ln l, ln noise)
        np.testing.assert_allclose(grad, their_grad, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("kernel", [RBF(1.3, 0.8), Linear(0.5, 2.0), RBF(0.7, 1.5) + Linear(0.3, 0.4)])
def test_gradcheck_in_float64(kernel):
    X, t = data(1, n=12, d=2)
    theta = mb.tensor(np.append(kernel.theta, np.log(0.2)), requires_grad=True)
    assert theta.dtype == np.float64
    assert mb.gradcheck(lambda th: log_marginal_likelihood(th, kernel, X, t), [theta])


def test_fit_reaches_scikit_learns_optimum():
    X, t = data(2, n=40)
    ours = GaussianProcessRegressor(RBF(1.0, 1.0), noise=0.1).fit(X, t)
    K = sk_kernels.ConstantKernel
    theirs = sk_gp.GaussianProcessRegressor(K(1.0) * sk_kernels.RBF(1.0) + sk_kernels.WhiteKernel(0.1),
                                            alpha=0.0).fit(X, t)
    start = GaussianProcessRegressor(RBF(1.0, 1.0), noise=0.1, optimize=False).fit(X, t)
    assert ours.log_marginal_likelihood_value_ > start.log_marginal_likelihood_value_
    assert ours.log_marginal_likelihood_value_ == pytest.approx(theirs.log_marginal_likelihood_value_, abs=1e-5)
    np.testing.assert_allclose(ours.theta_, theirs.kernel_.theta, rtol=1e-3, atol=1e-3)
    _, grad = ours.log_marginal_likelihood(eval_gradient=True)
    assert np.abs(grad).max() < 1e-3  # a stationary point (inside the bounds)


@pytest.mark.parametrize("kernel", [RBF(1.3, 0.8), Linear(0.5, 2.0)])
def test_predictive_matches_scikit_learn(kernel):
    X, t = data(3, n=20)
    ours = GaussianProcessRegressor(kernel, noise=0.05, optimize=False).fit(X, t)
    theirs = sklearn_model(kernel, 0.05, X, t)
    grid = np.linspace(-4, 4, 15)[:, None]
    mean, std = ours.predict(grid, return_std=True)
    their_mean, their_std = theirs.predict(grid, return_std=True)  # WhiteKernel: includes the noise
    np.testing.assert_allclose(mean, their_mean, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(std, their_std, rtol=1e-8)
    _, cov = ours.predict(grid, return_cov=True)
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), std, rtol=1e-10)
    _, f_std = ours.predict(grid, return_std=True, include_noise=False)
    np.testing.assert_allclose(f_std**2 + 0.05, std**2, rtol=1e-10)
    assert np.all(std**2 >= 0.05)  # (6.67): never below the noise


def test_posterior_pins_f_at_the_data_when_noise_is_small():
    X, t = data(4, n=8)
    model = GaussianProcessRegressor(RBF(1.0, 1.0), noise=1e-6, optimize=False).fit(X, t)
    mean, f_std = model.predict(X, return_std=True, include_noise=False)
    np.testing.assert_allclose(mean, t, atol=1e-4)
    assert f_std.max() < 1e-2 and model.predict(np.array([[30.0]]), return_std=True)[1][0] > 0.99


def test_samples_have_the_right_moments():
    grid = np.linspace(-2, 2, 6)[:, None]
    prior = GaussianProcessRegressor(RBF(2.0, 1.0)).sample_functions(grid, 20000, random_state=0)
    np.testing.assert_allclose(np.cov(prior.T), RBF(2.0, 1.0)(grid), atol=0.12)
    X, t = data(5, n=10)
    model = GaussianProcessRegressor(RBF(1.0, 1.0), noise=0.05, optimize=False).fit(X, t)
    draws = model.sample_functions(grid, 20000, random_state=1)
    mean, cov = model.predict(grid, return_cov=True, include_noise=False)
    se = np.sqrt(np.diag(cov) / 20000)
    assert np.all(np.abs(draws.mean(axis=0) - mean) < 5 * se + 1e-12)
    np.testing.assert_allclose(np.cov(draws.T), cov, atol=0.05 * np.abs(cov).max())


def test_kernels_evaluate_their_formulas():
    rng = np.random.default_rng(6)
    X, Y = rng.standard_normal((5, 3)) + 100.0, rng.standard_normal((4, 3)) + 100.0
    np.testing.assert_allclose(squared_distances(X, Y), cdist(X, Y, "sqeuclidean"), rtol=1e-10)
    np.testing.assert_allclose(RBF(2.0, 0.5)(X, Y), 2.0 * np.exp(-cdist(X, Y, "sqeuclidean") / (2 * 0.25)),
                               rtol=1e-10)
    np.testing.assert_allclose(Linear(0.3, 2.0)(X, Y), 0.3 + 2.0 * X @ Y.T, rtol=1e-14)
    for kernel in (RBF(2.0, 0.5), Linear(0.3, 2.0), RBF(2.0, 0.5) + Linear(0.3, 2.0)):
        K = kernel.matrix(mb.tensor(kernel.theta), X).numpy()
        np.testing.assert_allclose(K, kernel(X), rtol=1e-12)
        np.testing.assert_allclose(np.diag(K), kernel.diag(X), rtol=1e-12)
        assert repr(kernel.with_theta(kernel.theta)) == repr(kernel)


@pytest.mark.parametrize(
    "X, t, error, match",
    [
        (np.array([[0.0], [np.nan]]), np.zeros(2), ValueError, "X contains NaN"),
        (np.zeros((3, 1)), np.array([0.0, np.inf, 0.0]), ValueError, "y contains infinity"),
        (np.zeros((3, 1)), np.zeros(4), ValueError, "different numbers of samples"),
    ],
)
def test_bad_data_raise_and_keep_the_fitted_state(X, t, error, match):
    model = GaussianProcessRegressor(optimize=False).fit(*data(7, n=10))
    alpha = model.alpha_.copy()
    with pytest.raises(error, match=match):
        model.fit(X, t)
    np.testing.assert_array_equal(model.alpha_, alpha)


def test_bad_hyperparameters_and_queries():
    X, t = data(8, n=10)
    with pytest.raises(ValueError, match="noise"):
        GaussianProcessRegressor(noise=0.0).fit(X, t)
    with pytest.raises(TypeError, match="kernel"):
        GaussianProcessRegressor(kernel="rbf").fit(X, t)
    with pytest.raises(ValueError, match="length_scale"):
        RBF(length_scale=-1.0)
    with pytest.raises(NotFittedError):
        GaussianProcessRegressor().predict(X)
    model = GaussianProcessRegressor(optimize=False).fit(X, t)
    with pytest.raises(ValueError, match="theta"):
        model.log_marginal_likelihood(np.zeros(5))
    with pytest.raises(ValueError, match="features"):
        model.predict(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="return_std or return_cov"):
        model.predict(X, return_std=True, return_cov=True)


@pytest.mark.gpu
@pytest.mark.skipif(not mb.cupy_available(), reason="needs CuPy and a CUDA device")
def test_cupy_matches_numpy():
    X, t = data(9, n=30)
    reference = GaussianProcessRegressor(RBF(1.0, 1.0), noise=0.1).fit(X, t)
    with mb.using("cupy"):
        model = GaussianProcessRegressor(RBF(1.0, 1.0), noise=0.1).fit(X, t)
        mean = model.predict(np.linspace(-3, 3, 7)[:, None])
    assert model.log_marginal_likelihood_value_ == pytest.approx(reference.log_marginal_likelihood_value_, rel=1e-7)
    np.testing.assert_allclose(model.theta_, reference.theta_, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(mb.to_numpy(mean), reference.predict(np.linspace(-3, 3, 7)[:, None]), rtol=1e-4)


@pytest.mark.gpu
@pytest.mark.skipif(not mb.cupy_available(), reason="needs CuPy and a CUDA device (or the fakecupy stand-in)")
def test_cupy_fitted_gp_and_kernels_accept_host_inputs():
    # Fitted under CuPy, asked with NumPy points: X goes to the parameters' backend, and the answers are
    # the NumPy model's (same data, float64 on both).
    from minibayes import backend

    X, t = data(5, n=25)
    X_query = np.linspace(-0.5, 1.5, 7)[:, None]
    kernel = RBF(1.0, 0.3) + Linear(0.5, 0.2)
    host = GaussianProcessRegressor(kernel, noise=0.05, optimize=False).fit(X, t)
    with mb.using("cupy"):
        device = GaussianProcessRegressor(kernel, noise=0.05, optimize=False).fit(X, t)
    assert backend.backend_name_of(device.alpha_) == "cupy"
    for ours, theirs in zip(device.predict(X_query, return_std=True), host.predict(X_query, return_std=True)):
        assert backend.backend_name_of(ours) == "cupy"
        np.testing.assert_allclose(backend.to_numpy(ours), theirs, rtol=1e-9, atol=1e-12)
    K = device.kernel_(device.X_train_, X_query)  # a device X beside a host Y
    np.testing.assert_allclose(backend.to_numpy(K), host.kernel_(X, X_query), rtol=1e-12)
    with mb.using("cupy"):
        theta = mb.tensor(host.theta_, dtype="float64")
    value = log_marginal_likelihood(theta, kernel, X, t)  # device theta, host X and t
    assert value.item() == pytest.approx(host.log_marginal_likelihood_value_, rel=1e-10)
