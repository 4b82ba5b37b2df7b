"""KL divergence: closed forms >= 0, zero at p = q, equal to the Monte Carlo estimate within
5 standard errors, differentiable; the registry's dispatch and its error for a missing pair."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minibayes as mb
from minibayes import distributions as D
from tests import strategies as S


def _t(a):
    return mb.tensor(a, dtype="float64")


def pair(name, rng, shape):
    """Two distributions of family ``name`` with batch shape ``shape``, and their parameter arrays."""
    u = lambda lo, hi, extra=(): rng.uniform(lo, hi, shape + extra)  # noqa: E731
    if name == "Normal":
        params = [u(-2, 2), u(0.3, 3), u(-2, 2), u(0.3, 3)]
        return lambda a, b, c, d: (D.Normal(a, b), D.Normal(c, d)), params
    if name == "Bernoulli":
        return lambda a, b: (D.Bernoulli(logits=a), D.Bernoulli(logits=b)), [u(-3, 3), u(-3, 3)]
    if name == "Categorical":
        return lambda a, b: (D.Categorical(logits=a), D.Categorical(logits=b)), [u(-2, 2, (3,)), u(-2, 2, (3,))]
    if name in ("Beta", "Gamma"):
        family = getattr(D, name)
        return lambda a, b, c, d: (family(a, b), family(c, d)), [u(0.5, 4), u(0.5, 4), u(0.5, 4), u(0.5, 4)]
    if name == "Dirichlet":
        return lambda a, b: (D.Dirichlet(a), D.Dirichlet(b)), [u(0.5, 4, (3,)), u(0.5, 4, (3,))]
    if name == "MultivariateNormal":
        d = 3
        tril = np.tril(np.ones((d, d)))
        scale_p = np.linalg.cholesky(S.spd(rng, shape + (d, d)) / d)
        scale_q = np.linalg.cholesky(S.spd(rng, shape + (d, d)) / d)

        def make(a, b, c, e):
            return D.MultivariateNormal(a, scale_tril=b * tril), D.MultivariateNormal(c, scale_tril=e * tril)

        return make, [u(-1, 1, (d,)), scale_p, u(-1, 1, (d,)), scale_q]
    raise KeyError(name)


FAMILIES = ["Normal", "Bernoulli", "Categorical", "Beta", "Gamma", "Dirichlet", "MultivariateNormal"]


@pytest.mark.parametrize("name", FAMILIES)
@settings(max_examples=10)
@given(rng=S.generators(), shape=S.shapes(max_dims=1))
def test_kl_is_nonnegative_and_zero_between_equal_distributions(name, rng, shape):
    make, params = pair(name, rng, shape)
    p, q = make(*[_t(a) for a in params])
    kl = D.kl_divergence(p, q)
    assert kl.shape == shape
    assert np.all(kl.numpy() >= -1e-12)
    p_again, _ = make(*[_t(a) for a in params])
    np.testing.assert_allclose(D.kl_divergence(p, p_again).numpy(), 0.0, atol=1e-12)


@pytest.mark.parametrize("name", FAMILIES)
@settings(max_examples=5)
@given(rng=S.generators(), shape=S.shapes(max_dims=1), seed=st.integers(0, 2**16))
def test_closed_form_kl_equals_monte_carlo_within_five_standard_errors(name, rng, shape, seed):
    make, params = pair(name, rng, shape)
    p, q = make(*[_t(a) for a in params])
    mb.seed(seed)
    estimate = D.kl_divergence_mc(p, q, n_samples=20_000)
    gap = np.abs(estimate.value.numpy() - D.kl_divergence(p, q).numpy())
    assert np.all(gap <= 5 * estimate.standard_error.numpy() + 1e-12)


@pytest.mark.parametrize("name", FAMILIES)
@settings(max_examples=5)
@given(rng=S.generators(), shape=S.shapes(max_dims=1))
def test_closed_form_kl_gradient_matches_central_differences(name, rng, shape):
    make, params = pair(name, rng, shape)
    leaves = [mb.tensor(a, dtype="float64", requires_grad=True) for a in params]
    assert mb.gradcheck(lambda *ps: D.kl_divergence(*make(*ps)), leaves)


def test_kl_normal_matches_its_textbook_value():
    # KL(N(0, 1) || N(1, 2^2)) = ln 2 + (1 + 1) / 8 - 1/2
    kl = D.kl_divergence(D.Normal(_t(0.0), _t(1.0)), D.Normal(_t(1.0), _t(2.0))).item()
    assert abs(kl - (np.log(2) + 0.25 - 0.5)) < 1e-15


def test_kl_is_asymmetric():
    p, q = D.Normal(_t(0.0), _t(1.0)), D.Normal(_t(1.0), _t(3.0))
    assert abs(D.kl_divergence(p, q).item() - D.kl_divergence(q, p).item()) > 0.1


def test_missing_pair_lists_registered_pairs_and_points_to_monte_carlo():
    with pytest.raises(NotImplementedError) as error:
        D.kl_divergence(D.Normal(_t(0.0), _t(1.0)), D.Gamma(_t(2.0), _t(1.0)))
    message = str(error.value)
    assert "Normal || Gamma" in message and "Normal-Normal" in message and "kl_divergence_mc" in message


def test_a_subclass_uses_its_parents_closed_form():
    class Tempered(D.Normal):
        pass

    kl = D.kl_divergence(Tempered(_t(0.0), _t(1.0)), D.Normal(_t(1.0), _t(2.0))).item()
    assert abs(kl - (np.log(2) + 0.25 - 0.5)) < 1e-15


def test_monte_carlo_kl_needs_two_samples_and_works_for_unregistered_pairs():
    with pytest.raises(ValueError, match="n_samples"):
        D.kl_divergence_mc(D.Normal(_t(0.0), _t(1.0)), D.Normal(_t(0.0), _t(1.0)), n_samples=1)
    mb.seed(0)
    # KL(Gamma(3, 2) || N(1.5, 1)) has no registered form, but an exact value:
    # -H[Gamma] + ln(2 pi)/2 + (Var + (E - 1.5)^2)/2 with E = 3/2, Var = 3/4.
    p = D.Gamma(_t(3.0), _t(2.0))
    exact = -p.entropy().item() + 0.5 * np.log(2 * np.pi) + 0.5 * (0.75 + 0.0)
    estimate = D.kl_divergence_mc(p, D.Normal(_t(1.5), _t(1.0)), n_samples=20_000)
    assert abs(estimate.value.item() - exact) <= 5 * estimate.standard_error.item()
    with pytest.raises(ValueError, match="outside the support of Gamma, so KL"):
        D.kl_divergence_mc(D.Normal(_t(0.0), _t(1.0)), D.Gamma(_t(2.0), _t(1.0)), n_samples=100)
