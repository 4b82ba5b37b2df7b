"""Masses sum to one and densities integrate to one, by summation and by quadrature (scipy.integrate)."""

from __future__ import annotations

import itertools

import numpy as np
import scipy.integrate
from hypothesis import given, settings, strategies as st

import minibayes as mb
from minibayes import distributions as D


def _density(dist):
    return lambda *x: float(np.exp(dist.log_prob(mb.tensor(np.array(x[0] if len(x) == 1 else x), dtype="float64")).item()))


@settings(max_examples=10)
@given(n=st.integers(0, 30), p=st.floats(0.0, 1.0))
def test_binomial_mass_sums_to_one(n, p):
    dist = D.Binomial(mb.tensor(float(n), dtype="float64"), probs=mb.tensor(p, dtype="float64"))
    total = dist.log_prob(mb.tensor(np.arange(n + 1.0))).exp().sum().item()
    assert abs(total - 1) < 1e-10


@settings(max_examples=10)
@given(n=st.integers(0, 6), k=st.integers(2, 4), seed=st.integers(0, 1000))
def test_multinomial_mass_sums_to_one_over_all_count_vectors(n, k, seed):
    probs = np.random.default_rng(seed).dirichlet(np.ones(k))
    support = np.array([c for c in itertools.product(range(n + 1), repeat=k) if sum(c) == n], dtype=float)
    total = D.Multinomial(n, probs=mb.tensor(probs, dtype="float64")).log_prob(mb.tensor(support)).exp().sum().item()
    assert abs(total - 1) < 1e-10


def test_categorical_and_bernoulli_masses_sum_to_one():
    probs = mb.tensor([0.1, 0.2, 0.7], dtype="float64")
    assert abs(D.Categorical(probs=probs).log_prob(mb.tensor([0.0, 1.0, 2.0])).exp().sum().item() - 1) < 1e-12
    assert abs(D.Bernoulli(logits=mb.tensor(0.3, dtype="float64")).log_prob(mb.tensor([0.0, 1.0])).exp().sum().item() - 1) < 1e-12


@settings(max_examples=10)
@given(loc=st.floats(-3, 3), scale=st.floats(0.2, 3))
def test_normal_density_integrates_to_one(loc, scale):
    total, _ = scipy.integrate.quad(_density(D.Normal(mb.tensor(loc, dtype="float64"), mb.tensor(scale, dtype="float64"))), -np.inf, np.inf)
    assert abs(total - 1) < 1e-8


@settings(max_examples=10)
@given(a=st.floats(1.0, 6), b=st.floats(1.0, 6))
def test_beta_density_integrates_to_one(a, b):
    total, _ = scipy.integrate.quad(_density(D.Beta(mb.tensor(a, dtype="float64"), mb.tensor(b, dtype="float64"))), 0, 1)
    assert abs(total - 1) < 1e-8


@settings(max_examples=10)
@given(a=st.floats(1.0, 6), rate=st.floats(0.3, 3))
def test_gamma_density_integrates_to_one(a, rate):
    total, _ = scipy.integrate.quad(_density(D.Gamma(mb.tensor(a, dtype="float64"), mb.tensor(rate, dtype="float64"))), 0, np.inf)
    assert abs(total - 1) < 1e-8


@settings(max_examples=3)
@given(alpha=st.lists(st.floats(1.0, 4.0), min_size=3, max_size=3))
def test_dirichlet_density_integrates_to_one_over_the_simplex(alpha):
    dist = D.Dirichlet(mb.tensor(alpha, dtype="float64"), validate_args=False)

    def density(mu2, mu1):
        return float(np.exp(dist.log_prob(mb.tensor([mu1, mu2, max(1 - mu1 - mu2, 0.0)], dtype="float64")).item()))

    total, _ = scipy.integrate.dblquad(density, 0, 1, 0, lambda mu1: 1 - mu1, epsabs=1e-9)
    assert abs(total - 1) < 1e-6


def test_bivariate_normal_density_integrates_to_one():
    cov = np.array([[1.0, 0.6], [0.6, 2.0]])
    dist = D.MultivariateNormal(mb.tensor([0.5, -1.0], dtype="float64"), covariance_matrix=mb.tensor(cov, dtype="float64"))

    def density(y, x):
        return float(np.exp(dist.log_prob(mb.tensor([x, y], dtype="float64")).item()))

    total, _ = scipy.integrate.dblquad(density, -10, 11, -12, 10, epsabs=1e-10)
    assert abs(total - 1) < 1e-7
