"""Every distribution, one set of properties: log_prob against scipy.stats, gradients against
central differences, sample moments against the analytic ones, entropy against scipy and Monte Carlo.

Statistical checks use n draws and a tolerance of 5 standard errors of the
estimate: a false failure has probability below 1e-6 per check.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minibayes as mb
from tests import strategies as S
from tests.distributions.cases import CASES

NAMES = sorted(CASES)
N_DRAWS = 20_000


@pytest.mark.parametrize("name", NAMES)
@given(data=st.data(), rng=S.generators())
def test_log_prob_matches_scipy(name, data, rng):
    case = CASES[name](data, rng)
    x = case.values(rng, 3)
    log_p = case.dist.log_prob(mb.tensor(x, dtype="float64"))
    assert log_p.shape == x.shape[: x.ndim - len(case.dist.event_shape)]
    np.testing.assert_allclose(log_p.numpy(), case.scipy_logpdf(x), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=10)
@given(data=st.data(), rng=S.generators())
def test_log_prob_gradient_matches_central_differences(name, data, rng):
    case = CASES[name](data, rng)
    x = mb.tensor(case.values(rng, 2), dtype="float64")
    params = [mb.tensor(p, dtype="float64", requires_grad=True) for p in case.params]
    assert mb.gradcheck(lambda *ps: case.make(*ps).log_prob(x), params)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=10)
@given(data=st.data(), rng=S.generators())
def test_entropy_matches_scipy_and_its_gradient_central_differences(name, data, rng):
    case = CASES[name](data, rng)
    np.testing.assert_allclose(case.dist.entropy().numpy(), case.scipy_entropy, rtol=1e-8, atol=1e-8)
    params = [mb.tensor(p, dtype="float64", requires_grad=True) for p in case.params]
    assert mb.gradcheck(lambda *ps: case.make(*ps).entropy(), params)


def _within_standard_errors(estimate, target, standard_error, k=5.0):
    gap = np.abs(estimate - target)
    assert np.all(gap <= k * standard_error + 1e-12), (estimate, target, standard_error)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=5)
@given(data=st.data(), rng=S.generators(), seed=st.integers(0, 2**16))
def test_sample_mean_and_variance_within_five_standard_errors(name, data, rng, seed):
    case = CASES[name](data, rng)
    mb.seed(seed)
    draws = case.dist.sample((N_DRAWS,)).numpy()
    assert draws.shape == (N_DRAWS,) + case.dist.batch_shape + case.dist.event_shape
    if case.scipy_mean is None:  # Categorical: classes are labels, check their frequencies instead
        k = case.dist.num_classes
        frequencies = (draws[..., None] == np.arange(k)).mean(0)
        probs = case.dist.probs.numpy()
        _within_standard_errors(frequencies, probs, np.sqrt(probs * (1 - probs) / N_DRAWS))
        return
    mean, var = case.dist.mean.numpy(), case.dist.variance.numpy()
    np.testing.assert_allclose(mean, case.scipy_mean, rtol=1e-10)
    np.testing.assert_allclose(var, case.scipy_var, rtol=1e-10)
    _within_standard_errors(draws.mean(0), mean, np.sqrt(var / N_DRAWS))
    # Var of the sample variance ~ (mu_4 - sigma^4) / n, with mu_4 estimated from the draws.
    fourth = ((draws - draws.mean(0)) ** 4).mean(0)
    _within_standard_errors(draws.var(0), var, np.sqrt(np.maximum(fourth - var**2, 1e-30) / N_DRAWS))


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=5)
@given(data=st.data(), rng=S.generators(), seed=st.integers(0, 2**16))
def test_entropy_equals_monte_carlo_of_minus_log_prob(name, data, rng, seed):
    case = CASES[name](data, rng)
    mb.seed(seed)
    log_p = case.dist.log_prob(case.dist.sample((N_DRAWS,))).numpy()
    _within_standard_errors(-log_p.mean(0), case.dist.entropy().numpy(), log_p.std(0) / np.sqrt(N_DRAWS))


@pytest.mark.parametrize("name", ["Normal", "MultivariateNormal", "Beta", "Gamma"])
@settings(max_examples=10)
@given(data=st.data(), rng=S.generators())
def test_log_prob_gradient_in_the_value_matches_central_differences(name, data, rng):
    case = CASES[name](data, rng)
    values = case.values(rng, 2)
    if name in ("Beta", "Gamma"):
        # d/dx of (a - 1) ln x is (a - 1)/x: next to the boundary of the support a central
        # difference with step 1e-6 is no longer accurate, so the check stays 0.05 inside it.
        values = np.clip(values, 0.05, 0.95 if name == "Beta" else None)
    x = mb.tensor(values, dtype="float64", requires_grad=True)
    assert mb.gradcheck(case.dist.log_prob, [x])


@settings(max_examples=10)
@given(data=st.data(), rng=S.generators())
def test_wishart_log_prob_gradient_in_the_value_matches_central_differences(data, rng):
    case = CASES["Wishart"](data, rng)
    x = mb.tensor(case.values(rng, 2), dtype="float64", requires_grad=True)
    # A one-entry step leaves the symmetric matrices: differentiate through the symmetric part.
    assert mb.gradcheck(lambda v: case.dist.log_prob(0.5 * (v + v.mT)), [x])


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=5)
@given(data=st.data(), rng=S.generators(), seed=st.integers(0, 2**16))
def test_float32_draws_lie_in_the_support_and_have_finite_log_prob(name, data, rng, seed):
    """The default dtype is float32: a draw must not round onto the boundary of the support."""
    case = CASES[name](data, rng)
    params = [mb.tensor(p, dtype="float32") for p in case.params]
    dist = case.make(*params)
    mb.seed(seed)
    draws = dist.sample((2000,))
    assert draws.dtype == np.float32 or name == "Categorical"
    log_p = dist.log_prob(draws).numpy()  # validation on: raises if a draw left the support
    assert np.all(np.isfinite(log_p))


@pytest.mark.parametrize("concentration", [0.002, 0.05])
def test_small_concentrations_sample_without_underflow(concentration):
    mb.seed(0)
    for dist in (mb.distributions.Beta(concentration, concentration), mb.distributions.Dirichlet([concentration] * 3),
                 mb.distributions.Gamma(concentration, 1.0)):
        draws = dist.sample((5000,))
        assert np.all(np.isfinite(dist.log_prob(draws).numpy())), dist
