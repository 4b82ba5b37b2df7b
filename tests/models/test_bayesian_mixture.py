"""BayesianGaussianMixture: scikit-learn agreement, the ELBO by other routes, components switching off."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import gammaln
from sklearn.mixture import BayesianGaussianMixture as SkBayesianGaussianMixture

from minibayes.models._validation import ConvergenceWarning
from minibayes.models.bayesian_mixture import BayesianGaussianMixture
from minibayes.models.mixture import GaussianMixture

from .test_mixture import blobs


class SkFromResponsibilities(SkBayesianGaussianMixture):
    """scikit-learn's model started from given responsibilities, as ours is with responsibilities_init.

    Overrides scikit-learn's (private) initialisation hook: the only way to give it the same start.
    """

    def __init__(self, resp=None, **kwargs):
        super().__init__(**kwargs)
        self.resp = resp

    def _initialize_parameters(self, X, random_state, xp=None):
        self._initialize(X, self.resp)


def constant_dropped_by_sklearn(N, D, K, alpha0, beta0, nu0, W0_inv):
    """ln C(alpha_0) + K ln B(W_0, nu_0) + K D/2 ln beta_0 - N D/2 ln 2pi + K D(D-1)/4 ln pi (see the module doc)."""
    log_det_W0 = -np.linalg.slogdet(W0_inv)[1]
    log_B0 = (-0.5 * nu0 * log_det_W0 - 0.5 * nu0 * D * math.log(2) - D * (D - 1) / 4 * math.log(math.pi)
              - sum(gammaln((nu0 + 1 - i) / 2) for i in range(1, D + 1)))
    return (gammaln(K * alpha0) - K * gammaln(alpha0) + K * log_B0 + K * D / 2 * math.log(beta0)
            - N * D / 2 * math.log(2 * math.pi) + K * D * (D - 1) / 4 * math.log(math.pi))


def fit_both(X, resp, **kwargs):
    K = resp.shape[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Warning)
        ours = BayesianGaussianMixture(K, responsibilities_init=resp, **kwargs).fit(X)
        theirs = SkFromResponsibilities(resp=resp, n_components=K,
                                        weight_concentration_prior_type="dirichlet_distribution", **kwargs).fit(X)
    return ours, theirs


@pytest.mark.parametrize("reg_covar", [0.0, 1e-6])
@pytest.mark.parametrize("priors", [
    dict(weight_concentration_prior=1e-2),
    dict(weight_concentration_prior=10.0, mean_precision_prior=0.3, degrees_of_freedom_prior=4.5,
         mean_prior=[1.0, -1.0, 0.5], covariance_prior=np.diag([2.0, 1.0, 0.5])),
])
def test_matches_sklearn_dirichlet_distribution(priors, reg_covar):
    X = blobs(0, n_per=50, n_features=3)
    rng = np.random.default_rng(1)
    resp = rng.dirichlet(np.ones(5), size=len(X))
    ours, theirs = fit_both(X, resp, reg_covar=reg_covar, max_iter=30, tol=1e-9, **priors)
    assert ours.n_iter_ == theirs.n_iter_
    for name in ("weight_concentration_", "mean_precision_", "means_", "degrees_of_freedom_", "covariances_",
                 "precisions_", "precisions_cholesky_", "weights_"):
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-6, atol=1e-9, err_msg=name)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-6)
    if reg_covar == 0.0:
        # Our L is PRML's full (10.70); scikit-learn's drops a constant we derive in the module docstring.
        constant = constant_dropped_by_sklearn(len(X), 3, 5, ours.weight_concentration_prior_,
                                               ours.mean_precision_prior_, ours.degrees_of_freedom_prior_,
                                               ours.covariance_prior_)
        np.testing.assert_allclose(np.array(ours.lower_bounds_) - theirs.lower_bounds_, constant, rtol=1e-10)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31), alpha0=st.sampled_from([1e-3, 0.1, 1.0, 10.0]), n_components=st.integers(1, 5))
def test_elbo_never_decreases(seed, alpha0, n_components):
    X = blobs(seed, n_per=25)
    model = BayesianGaussianMixture(n_components, weight_concentration_prior=alpha0, reg_covar=0.0, max_iter=30,
                                    tol=0.0, init_params="random", random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    history = np.array(model.lower_bounds_)
    assert np.all(np.diff(history) >= -1e-9 * np.abs(history[1:]))


def test_elbo_equals_monte_carlo_estimate_for_any_q():
    """L(q) (10.70)-(10.77) against E_q[ln p(X, Z, pi, mu, Lambda) - ln q] sampled with scipy's densities."""
    X = blobs(3, n_per=4, n_blobs=2)  # few points keep the Monte Carlo variance small
    rng = np.random.default_rng(0)
    model = BayesianGaussianMixture(2, weight_concentration_prior=0.7, random_state=0).fit(X)
    resp = rng.dirichlet(np.ones(2), size=len(X))
    alpha, beta, m, nu = model.weight_concentration_, model.mean_precision_, model.means_, model.degrees_of_freedom_
    W = model.precisions_ / nu[:, None, None]
    alpha0, beta0, m0 = model.weight_concentration_prior_, model.mean_precision_prior_, model.mean_prior_
    nu0, W0 = model.degrees_of_freedom_prior_, np.linalg.inv(model.covariance_prior_)
    S = 4000
    pis = rng.dirichlet(alpha, size=S)
    values = stats.dirichlet(np.full(2, alpha0)).logpdf(pis.T) - stats.dirichlet(alpha).logpdf(pis.T)
    values -= (resp * np.log(resp)).sum()
    for k in range(2):
        Lams = stats.wishart(df=nu[k], scale=W[k]).rvs(size=S, random_state=rng)
        Sigmas = np.linalg.inv(Lams)
        mus = m[k] + np.einsum("sde,se->sd", np.linalg.cholesky(Sigmas / beta[k]), rng.normal(size=(S, 2)))
        for s in range(S):
            values[s] += resp[:, k] @ (np.log(pis[s, k]) + stats.multivariate_normal(mus[s], Sigmas[s]).logpdf(X))
            values[s] += (stats.multivariate_normal(m0, Sigmas[s] / beta0).logpdf(mus[s])
                          - stats.multivariate_normal(m[k], Sigmas[s] / beta[k]).logpdf(mus[s]))
        wishart_terms = (stats.wishart(df=nu0, scale=W0).logpdf(Lams.transpose(1, 2, 0))
                         - stats.wishart(df=nu[k], scale=W[k]).logpdf(Lams.transpose(1, 2, 0)))
        values += wishart_terms
    estimate, standard_error = values.mean(), values.std() / np.sqrt(S)
    assert standard_error < 0.3  # tight enough that a wrong term (say D/2 ln 2) would show
    assert abs(model.elbo(X, resp) - estimate) < 5 * standard_error


def test_elbo_method_reproduces_lower_bound():
    X = blobs(4)
    model = BayesianGaussianMixture(4, max_iter=500, tol=1e-12, random_state=0).fit(X)
    # At convergence the last E-step's q(Z) is the E-step of the final q(theta).
    assert model.elbo(X, model.predict_proba(X)) == pytest.approx(model.lower_bound_, abs=1e-6)
    assert model.elbo(X, np.full((len(X), 4), 0.25)) < model.lower_bound_


def test_small_alpha0_switches_components_off():
    # Two clusters, eight components on offer (the seeds' slide with alpha_0 = 1e-3 vs 10).
    X = blobs(5, n_per=100, n_blobs=2, spread=6.0)
    active = {}
    for alpha0 in (1e-3, 10.0):
        model = BayesianGaussianMixture(8, weight_concentration_prior=alpha0, max_iter=500, random_state=1).fit(X)
        active[alpha0] = int((model.weights_ > 0.01).sum())
        if alpha0 == 1e-3:
            unused = model.weights_[model.weights_ <= 0.01]
            assert np.all(unused < 1e-4)  # E[pi_k] = alpha_k / sum alpha, with alpha_k -> alpha_0
    assert active[1e-3] == 2
    assert active[10.0] == 8


def test_predictive_density_is_a_student_t_mixture():
    X = blobs(6, n_per=30)
    model = BayesianGaussianMixture(3, random_state=0).fit(X)
    D = 2
    density = 0.0
    for k in range(3):
        dof = model.degrees_of_freedom_[k] + 1 - D
        beta = model.mean_precision_[k]
        L = dof * beta / (1 + beta) * model.precisions_[k] / model.degrees_of_freedom_[k]  # (10.82)
        density = density + model.weights_[k] * stats.multivariate_t(model.means_[k], np.linalg.inv(L), df=dof).pdf(X)
    np.testing.assert_allclose(model.score_samples(X), np.log(density), rtol=1e-10)


@pytest.mark.parametrize("argument, value, message", [
    ("weight_concentration_prior", 0.0, "weight_concentration_prior must be >"),
    ("degrees_of_freedom_prior", 0.5, "degrees_of_freedom_prior must be >"),
    ("mean_prior", [0.0, 0.0, 0.0], "mean_prior must have shape"),
    ("covariance_prior", -np.eye(2), "covariance_prior must be symmetric positive definite"),
    ("responsibilities_init", np.ones((60, 2)), "responsibilities_init rows"),
])
def test_bad_priors_raise_and_keep_state(argument, value, message):
    X = blobs(7, n_per=20)
    model = BayesianGaussianMixture(2, random_state=0).fit(X)
    means = model.means_.copy()
    setattr(model, argument, value)
    with pytest.raises(ValueError, match=message):
        model.fit(X)
    np.testing.assert_array_equal(model.means_, means)
    with pytest.raises(ValueError, match="NaN"):
        BayesianGaussianMixture(2).fit(np.where(X > 1, np.nan, X))


def test_constant_column_gives_a_finite_bound_by_the_regularised_default_prior():
    # A constant column makes the sample covariance singular: W_0^-1 = S gave ln B(W_0, nu_0) = -inf in (10.74)
    # and -inf for every bound. The default prior is S + reg_covar I (scikit-learn's regularisation).
    rng = np.random.default_rng(0)
    X = np.c_[rng.normal(size=(60, 2)) + 4.0 * (np.arange(60) % 2)[:, None], np.full(60, 3.0)]
    model = BayesianGaussianMixture(3, random_state=0).fit(X)
    bounds = np.array(model.lower_bounds_)
    assert np.all(np.isfinite(bounds)) and model.converged_
    assert np.all(np.diff(bounds) >= -1e-9 * np.abs(bounds[1:]))  # and still a bound that EM raises
    np.testing.assert_allclose(model.covariance_prior_, np.cov(X.T) + 1e-6 * np.eye(3), rtol=1e-12, atol=1e-15)
    assert np.all(np.isfinite(model.score_samples(X)))
    # Without regularisation the singular prior is named, not turned into -inf.
    with pytest.raises(ValueError, match="covariance_prior.*singular.*reg_covar"):
        BayesianGaussianMixture(3, reg_covar=0.0, random_state=0).fit(X)


@pytest.mark.parametrize("model", [BayesianGaussianMixture, GaussianMixture])
def test_max_iter_zero_is_rejected(model):
    X = blobs(0, n_per=20)
    with pytest.raises(ValueError, match="max_iter must be >= 1; got 0"):
        model(2, max_iter=0).fit(X)
