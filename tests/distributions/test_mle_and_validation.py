"""Maximum likelihood: the closed forms are stationary points of the log-likelihood (its autograd
gradient vanishes there) and maximise it; and every validation error names its argument."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minibayes as mb
from minibayes import distributions as D


def _t(a, grad=False):
    return mb.tensor(a, dtype="float64", requires_grad=grad)


@settings(max_examples=10)
@given(seed=st.integers(0, 2**16), n=st.integers(5, 50))
def test_gaussian_mle_is_where_the_log_likelihood_gradient_vanishes(seed, n):
    x = np.random.default_rng(seed).normal(1.0, 2.0, n)
    fitted = D.Normal.fit_mle(_t(x))
    assert abs(fitted.loc.item() - x.mean()) < 1e-12 and abs(fitted.variance.item() - x.var()) < 1e-10
    loc, scale = _t(fitted.loc.item(), True), _t(fitted.scale.item(), True)
    grads = mb.grad(D.Normal(loc, scale).log_prob(_t(x)).sum(), [loc, scale])
    assert all(abs(g.item()) < 1e-8 for g in grads)
    # ...and it is a maximum: nudging either parameter lowers the likelihood.
    best = fitted.log_prob(_t(x)).sum().item()
    for d_loc, d_scale in [(0.01, 0), (-0.01, 0), (0, 0.01), (0, -0.01)]:
        assert D.Normal(_t(loc.item() + d_loc), _t(scale.item() + d_scale)).log_prob(_t(x)).sum().item() < best


@settings(max_examples=10)
@given(seed=st.integers(0, 2**16))
def test_multivariate_gaussian_mle_matches_the_sample_moments_and_is_stationary(seed):
    x = np.random.default_rng(seed).multivariate_normal([1, -1, 0], [[2, 0.5, 0], [0.5, 1, 0.2], [0, 0.2, 0.5]], 40)
    fitted = D.MultivariateNormal.fit_mle(_t(x))
    np.testing.assert_allclose(fitted.loc.numpy(), x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(fitted.covariance_matrix.numpy(), np.cov(x.T, bias=True), rtol=1e-10)
    loc = _t(fitted.loc.numpy(), True)
    (g,) = mb.grad(D.MultivariateNormal(loc, scale_tril=fitted.scale_tril.detach()).log_prob(_t(x)).sum(), [loc])
    assert np.abs(g.numpy()).max() < 1e-8


@settings(max_examples=10)
@given(flips=st.lists(st.integers(0, 1), min_size=2, max_size=40).filter(lambda f: 0 < sum(f) < len(f)))
def test_bernoulli_mle_is_the_mean_and_stationary(flips):
    x = np.array(flips, float)
    fitted = D.Bernoulli.fit_mle(_t(x))
    assert abs(fitted.probs.item() - x.mean()) < 1e-12
    logit = _t(float(np.log(x.mean() / (1 - x.mean()))), True)
    (g,) = mb.grad(D.Bernoulli(logits=logit).log_prob(_t(x)).sum(), [logit])
    assert abs(g.item()) < 1e-9


def test_binomial_and_categorical_mle():
    assert abs(D.Binomial.fit_mle(_t([3.0, 5.0, 4.0]), total_count=10).probs.item() - 0.4) < 1e-12
    labels = np.array([0, 2, 2, 1, 2, 0])
    # mu_k = N_k / N (the seed's Lagrange-multiplier result)
    np.testing.assert_allclose(D.Categorical.fit_mle(labels, 3).probs.numpy(), [2 / 6, 1 / 6, 3 / 6])


@st.composite
def labels_and_simplex_points(draw):
    """Labels with every one of K classes seen (so ln mu_k is finite at the MLE), and other points of the simplex."""
    k = draw(st.integers(2, 5))
    labels = draw(st.lists(st.integers(0, k - 1), min_size=k, max_size=60).filter(lambda x: len(set(x)) == k))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    # Dirichlet draws from flat to concentrated cover both far and near points; the tiny nudges below test near.
    others = np.concatenate([rng.dirichlet(np.full(k, c), size=5) for c in (0.5, 1.0, 50.0)])
    return np.array(labels), k, others


@settings(max_examples=25, deadline=None)
@given(problem=labels_and_simplex_points())
def test_categorical_mle_maximises_the_likelihood_on_the_simplex(problem):
    """fit_mle is the maximiser of ln p(x | mu) = sum_k N_k ln mu_k over the simplex, not just "N_k / N".

    Stationarity is taken in softmax logits, which parametrise the whole open simplex without a constraint:
    d/d eta_j sum_n ln softmax(eta)_{x_n} = N_j - N mu_j vanishes only at mu = N_k / N (the Lagrange result),
    here from the engine's autograd. Maximality: every other simplex point has a lower likelihood, computed
    independently as sum_n ln mu_{x_n} in NumPy.
    """
    labels, k, others = problem
    mb.set_default_dtype("float64")  # fit_mle counts in the default dtype; float32 would hide an error below 1e-7
    fitted = D.Categorical.fit_mle(labels, k).probs.numpy()
    eta = _t(np.log(fitted), True)
    (g,) = mb.grad(D.Categorical(logits=eta).log_prob(mb.tensor(labels)).sum(), [eta])
    assert np.abs(g.numpy()).max() < 1e-9 * len(labels)

    def log_likelihood(mu):
        return np.log(mu[labels]).sum()

    best = log_likelihood(fitted)
    nudges = [fitted + 1e-3 * (np.eye(k)[i] - np.eye(k)[j]) for i in range(k) for j in range(k) if i != j]
    for mu in list(others) + nudges:
        assert log_likelihood(mu) < best


@pytest.mark.parametrize("build, match", [
    (lambda: D.Normal(_t(0.0), _t(-1.0)), r"Normal: scale must be positive \(> 0\); found -1.0"),
    (lambda: D.Normal(_t(np.nan), _t(1.0)), r"Normal: loc must be a real number; found nan"),
    (lambda: D.Bernoulli(probs=_t(1.5)), r"Bernoulli: probs must be a probability in \[0, 1\]; found 1.5"),
    (lambda: D.Bernoulli(), r"Bernoulli: give exactly one of probs= or logits="),
    (lambda: D.Bernoulli(probs=_t(0.5), logits=_t(0.0)), r"exactly one of probs= or logits="),
    (lambda: D.Binomial(_t(2.5), probs=_t(0.5)), r"Binomial: total_count must be an integer"),
    (lambda: D.Categorical(probs=_t([0.5, 0.6])), r"Categorical: probs must be on the probability simplex.*found \[0.5, 0.6\]"),
    (lambda: D.Categorical(probs=_t([-0.5, 1.5])), r"Categorical: probs must be on the probability simplex"),
    (lambda: D.Multinomial(-1, probs=_t([0.5, 0.5])), r"Multinomial: total_count must be a non-negative int"),
    (lambda: D.Beta(_t(0.0), _t(1.0)), r"Beta: concentration1 \(a\) must be positive"),
    (lambda: D.Dirichlet(_t([1.0, -2.0])), r"Dirichlet: concentration must be positive.*index \(1,\)"),
    (lambda: D.Gamma(_t(1.0), _t(0.0)), r"Gamma: rate must be positive"),
    (lambda: D.MultivariateNormal(_t([0.0, 0.0]), covariance_matrix=_t([[1.0, 2.0], [2.0, 1.0]])),
     r"MultivariateNormal: covariance_matrix must be a symmetric positive definite matrix"),
    (lambda: D.MultivariateNormal(_t([0.0, 0.0]), covariance_matrix=_t([[1.0, 0.5], [0.0, 1.0]])),
     r"covariance_matrix must be a symmetric positive definite"),
    (lambda: D.MultivariateNormal(_t([0.0, 0.0]), scale_tril=_t([[1.0, 0.3], [0.0, 1.0]])),
     r"scale_tril must be lower triangular with a positive diagonal"),
    (lambda: D.MultivariateNormal(_t([0.0, 0.0]), covariance_matrix=_t(np.eye(3))), r"must have shape \(\.\.\., 2, 2\)"),
    (lambda: D.MultivariateNormal(_t([0.0, 0.0])), r"exactly one of covariance_matrix="),
    (lambda: D.Wishart(_t(0.5), _t(np.eye(2))), r"Wishart: df must be greater than D - 1 = 1"),
])
def test_invalid_parameters_raise_a_value_error_naming_them(build, match):
    with pytest.raises(ValueError, match=match):
        build()


@pytest.mark.parametrize("dist, value, match", [
    (lambda: D.Bernoulli(probs=_t(0.3)), 0.5, r"Bernoulli: value must be 0 or 1; found 0.5"),
    (lambda: D.Binomial(_t(3.0), probs=_t(0.3)), 4.0, r"Binomial: value must be an integer in \[0, "),
    (lambda: D.Categorical(probs=_t([0.5, 0.5])), 2.0, r"Categorical: value must be an integer in \[0, 1\]"),
    (lambda: D.Multinomial(3, probs=_t([0.5, 0.5])), [1.0, 1.0], r"counts summing to total_count = 3"),
    (lambda: D.Beta(_t(2.0), _t(2.0)), 1.0, r"Beta: value must be in the open interval \(0, 1\); found 1.0"),
    (lambda: D.Gamma(_t(2.0), _t(2.0)), -1.0, r"Gamma: value must be positive"),
    (lambda: D.Dirichlet(_t([1.0, 1.0])), [0.2, 0.2], r"Dirichlet: value must be on the probability simplex"),
    (lambda: D.Normal(_t(0.0), _t(1.0)), np.inf, r"Normal: value must be a real number; found inf"),
    (lambda: D.MultivariateNormal(_t([0.0, 0.0]), covariance_matrix=_t(np.eye(2))), [1.0, 2.0, 3.0], r"event shape \(2,\)"),
    (lambda: D.Wishart(_t(3.0), _t(np.eye(2))), [[1.0, 0.0], [0.0, -1.0]], r"Wishart: value must be a symmetric positive definite"),
])
def test_values_outside_the_support_raise_a_value_error(dist, value, match):
    with pytest.raises(ValueError, match=match):
        dist().log_prob(_t(value))


def test_validation_off_skips_the_checks():
    with np.errstate(invalid="ignore"):
        assert np.isnan(D.Normal(_t(0.0), _t(-1.0), validate_args=False).log_prob(_t(0.0)).item())
    assert D.Bernoulli(probs=_t(0.3), validate_args=False).log_prob(_t(0.5)).shape == ()


def test_fit_mle_rejects_bad_data():
    with pytest.raises(ValueError, match="Bernoulli.fit_mle: x must be 0 or 1"):
        D.Bernoulli.fit_mle(_t([0.0, 2.0]))
    with pytest.raises(ValueError, match=r"MultivariateNormal.fit_mle: X must have shape \(N, D\)"):
        D.MultivariateNormal.fit_mle(_t([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"Categorical.fit_mle: labels must be an integer in \[0, 2\]"):
        D.Categorical.fit_mle(np.array([0, 3]), 3)


@pytest.mark.parametrize("name", ["Normal", "Bernoulli", "Binomial", "Categorical", "Multinomial", "MultivariateNormal",
                                  "Beta", "Gamma", "Dirichlet", "Wishart"])
def test_every_family_accepts_validate_args_false_and_then_checks_nothing(name):
    build = {
        "Normal": lambda v: D.Normal(_t(0.0), _t(-1.0), validate_args=v),
        "Bernoulli": lambda v: D.Bernoulli(probs=_t(1.5), validate_args=v),
        "Binomial": lambda v: D.Binomial(_t(2.5), probs=_t(0.5), validate_args=v),
        "Categorical": lambda v: D.Categorical(probs=_t([0.5, 0.6]), validate_args=v),
        "Multinomial": lambda v: D.Multinomial(2, probs=_t([0.5, 0.6]), validate_args=v),
        "MultivariateNormal": lambda v: D.MultivariateNormal(_t([0.0, 0.0]), scale_tril=_t([[1.0, 0.3], [0.0, 1.0]]), validate_args=v),
        "Beta": lambda v: D.Beta(_t(-1.0), _t(1.0), validate_args=v),
        "Gamma": lambda v: D.Gamma(_t(1.0), _t(-1.0), validate_args=v),
        "Dirichlet": lambda v: D.Dirichlet(_t([1.0, -1.0]), validate_args=v),
        "Wishart": lambda v: D.Wishart(_t(3.0), scale_tril=_t([[1.0, 0.3], [0.0, 1.0]]), validate_args=v),
    }[name]
    with pytest.raises(ValueError):
        build(True)
    build(False)  # no error: the checks are skipped


def test_normal_gamma_without_validation_gives_minus_inf_to_a_negative_precision():
    """A precision <= 0 lies outside the support: -inf (it was NaN, from the square root of a negative variance)."""
    prior = D.NormalGamma(_t(0.0), _t(1.0), _t(2.0), _t(1.0), validate_args=False)
    assert prior.log_prob(_t([0.0, -1.0])).item() == -np.inf
    assert prior.log_prob(_t([0.0, 0.0])).item() == -np.inf
    assert np.isfinite(prior.log_prob(_t([0.0, 1.0])).item())
    with pytest.raises(ValueError, match=r"NormalGamma: value must be a pair \(mean, precision\).*precision positive"):
        D.NormalGamma(_t(0.0), _t(1.0), _t(2.0), _t(1.0)).log_prob(_t([0.0, -1.0]))


def test_batched_normal_gamma_draws_have_sample_batch_event_shape():
    prior = D.NormalGamma(_t([0.0, 1.0, 2.0]), _t(1.0), _t(2.0), _t(1.0))
    assert prior.sample((5,)).shape == (5, 3, 2)


def test_parameter_shapes_that_do_not_broadcast_are_named():
    with pytest.raises(ValueError, match=r"Normal: parameter shapes \(3,\), \(4,\) do not broadcast"):
        D.Normal(_t([0.0, 0.0, 0.0]), _t([1.0, 1.0, 1.0, 1.0]))


def test_a_nan_df_is_refused():
    with pytest.raises(ValueError, match="Wishart: df must be greater than D - 1"):
        D.Wishart(_t(np.nan), _t(np.eye(2)))


def test_tensor_parameters_of_another_dtype_are_cast_keeping_the_gradient():
    scale = mb.tensor(2.0, dtype="float32", requires_grad=True)
    dist = D.Normal(_t(0.0), scale)
    assert dist.scale.dtype == np.float64
    (g,) = mb.grad(dist.log_prob(_t(1.0)), [scale])
    assert abs(g.item() - (-1 / 2 + 1 / 8)) < 1e-6  # d/ds [-ln s - x^2 / (2 s^2)] = -1/s + x^2/s^3
