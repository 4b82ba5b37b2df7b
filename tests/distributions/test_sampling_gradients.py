"""Reparameterised gradients: grad_theta E_q[f(z)] by rsample equals the score-function estimate
E_q[f(z) grad_theta ln q(z)] (Kingma & Welling (2014) §2.2) within 5 standard errors; and the
families without a reparameterisation say so."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minibayes as mb
from minibayes import distributions as D

N = 40_000


def _t(a, grad=False):
    return mb.tensor(a, dtype="float64", requires_grad=grad)


def f(z):
    return mb.sin(z) + 0.5 * z * z


@settings(max_examples=5)
@given(loc=st.floats(-2, 2), scale=st.floats(0.3, 2), seed=st.integers(0, 2**16))
def test_normal_pathwise_gradient_equals_score_function_estimate(loc, scale, seed):
    mb.seed(seed)
    mu, sigma = _t(loc, True), _t(scale, True)
    q = D.Normal(mu, sigma)
    # Pathwise (reparameterised): per-sample gradients of f(mu + sigma eps).
    z = q.rsample((N,))
    values = f(z)
    pathwise = mb.grad(values.sum(), [mu, sigma])
    pathwise = np.array([g.item() for g in pathwise]) / N
    # Score function: f(z) * grad ln q(z) with z held fixed.
    z_fixed = z.detach()
    per_sample = []
    for param in (mu, sigma):
        weights = f(z_fixed).detach()
        (g,) = mb.grad((weights * q.log_prob(z_fixed)).sum(), [param])
        per_sample.append(g.item() / N)
    # Standard error of the score estimate (the noisier of the two): from per-sample terms.
    eps = (z_fixed.numpy() - loc) / scale
    fz = f(z_fixed).numpy()
    score_terms = np.stack([fz * eps / scale, fz * (eps**2 - 1) / scale])
    standard_error = score_terms.std(axis=1) / np.sqrt(N)
    assert np.all(np.abs(pathwise - np.array(per_sample)) <= 5 * standard_error)


def test_mvn_pathwise_gradient_of_a_quadratic_is_exact_in_expectation():
    # E[|z|^2] = |mu|^2 + tr(L L^T): d/dmu = 2 mu, d/dL = 2 L.
    mb.seed(3)
    mu = _t([0.5, -1.0], True)
    scale_tril = _t([[1.0, 0.0], [0.4, 0.7]], True)
    z = D.MultivariateNormal(mu, scale_tril=scale_tril).rsample((N,))
    g_mu, g_l = mb.grad((z * z).sum() / N, [mu, scale_tril])
    np.testing.assert_allclose(g_mu.numpy(), 2 * mu.numpy(), atol=0.05)
    np.testing.assert_allclose(np.tril(g_l.numpy()), 2 * scale_tril.numpy(), atol=0.05)


@pytest.mark.parametrize("dist", [
    lambda: D.Beta(_t(2.0), _t(3.0)), lambda: D.Gamma(_t(2.0), _t(1.0)), lambda: D.Dirichlet(_t([1.0, 2.0])),
    lambda: D.Bernoulli(probs=_t(0.3)), lambda: D.Categorical(probs=_t([0.5, 0.5])), lambda: D.Wishart(_t(3.0), _t(np.eye(2))),
])
def test_families_without_reparameterisation_say_so_and_point_to_alternatives(dist):
    with pytest.raises(NotImplementedError, match=r"no reparameterised sampler.*sample\(\).*score-function"):
        dist().rsample()


def test_sample_carries_no_gradient_and_rsample_does():
    loc = _t(0.0, True)
    q = D.Normal(loc, _t(1.0))
    assert not q.sample((3,)).requires_grad
    assert q.rsample((3,)).requires_grad


def test_seeded_draws_repeat():
    q = D.Gamma(_t(2.0), _t(1.0))
    mb.seed(11)
    first = q.sample((5,)).numpy()
    mb.seed(11)
    np.testing.assert_array_equal(q.sample((5,)).numpy(), first)
