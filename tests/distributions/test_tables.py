"""Sum, product and Bayes' rules on tables, against frequencies of draws from the joint."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minibayes as mb
from minibayes import distributions as D

N = 200_000


def _t(a):
    return mb.tensor(a, dtype="float64")


@settings(max_examples=5)
@given(seed=st.integers(0, 2**16), rows=st.integers(2, 4), cols=st.integers(2, 4))
def test_marginal_and_conditional_match_frequencies_of_joint_draws(seed, rows, cols):
    rng = np.random.default_rng(seed)
    joint = rng.dirichlet(np.ones(rows * cols)).reshape(rows, cols)
    draws = rng.choice(rows * cols, size=N, p=joint.ravel())
    x, y = np.divmod(draws, cols)
    p_x = D.marginal(_t(joint), axis=1).numpy()
    frequency_x = np.bincount(x, minlength=rows) / N
    assert np.all(np.abs(frequency_x - p_x) <= 5 * np.sqrt(p_x * (1 - p_x) / N))
    p_y_given_x = D.conditional(_t(joint), given_axis=0).numpy()
    np.testing.assert_allclose(p_y_given_x.sum(axis=1), 1.0)
    for i in range(rows):
        counts = np.bincount(y[x == i], minlength=cols)
        n_i = counts.sum()
        standard_error = np.sqrt(p_y_given_x[i] * (1 - p_y_given_x[i]) / max(n_i, 1))
        assert np.all(np.abs(counts / max(n_i, 1) - p_y_given_x[i]) <= 5 * standard_error + 1e-12)


@settings(max_examples=10)
@given(seed=st.integers(0, 2**16), k=st.integers(2, 5))
def test_bayes_rule_equals_the_conditional_of_the_joint_and_its_evidence_the_marginal(seed, k):
    rng = np.random.default_rng(seed)
    prior = rng.dirichlet(np.ones(k))
    likelihood_table = rng.dirichlet(np.ones(3), size=k).T  # p(X = x | Y = k), shape (3 values of x, k)
    posterior, evidence = D.bayes_rule(_t(prior), _t(likelihood_table))
    joint = likelihood_table * prior  # p(X, Y)
    np.testing.assert_allclose(posterior.numpy(), D.conditional(_t(joint), given_axis=0).numpy(), rtol=1e-12)
    np.testing.assert_allclose(evidence.numpy(), D.marginal(_t(joint), axis=1).numpy(), rtol=1e-12)
    np.testing.assert_allclose(evidence.numpy().sum(), 1.0)


def test_bayes_rule_is_differentiable_and_rejects_bad_tables():
    prior = mb.tensor([0.3, 0.7], dtype="float64", requires_grad=True)
    assert mb.gradcheck(lambda p: D.bayes_rule(p / p.sum(), _t([0.9, 0.2]))[0], [prior])
    with pytest.raises(ValueError, match="bayes_rule: prior must sum to 1"):
        D.bayes_rule(_t([0.3, 0.3]), _t([0.5, 0.5]))
    with pytest.raises(ValueError, match=r"bayes_rule: likelihood must be a probability in \[0, 1\]"):
        D.bayes_rule(_t([0.3, 0.7]), _t([1.5, 0.5]))
