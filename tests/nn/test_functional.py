"""Losses against their formulas and SciPy, and their gradients at extreme logits."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special
import scipy.stats
from hypothesis import given, strategies as st

import minibayes as mb
from minibayes.nn import functional as F
from tests import strategies as S


def f64(values, requires_grad=False):
    return mb.tensor(np.asarray(values, dtype=float), dtype="float64", requires_grad=requires_grad)


@given(rng=S.generators(), shape=S.shapes(min_dims=1))
def test_mse_matches_its_formula_and_gradcheck(rng, shape):
    prediction, target = rng.standard_normal(shape), rng.standard_normal(shape)
    np.testing.assert_allclose(F.mse_loss(f64(prediction), f64(target)).item(), np.mean((prediction - target) ** 2))
    np.testing.assert_allclose(F.mse_loss(f64(prediction), f64(target), "sum").item(), np.sum((prediction - target) ** 2))
    assert mb.gradcheck(lambda p: F.mse_loss(p, f64(target)), [f64(prediction, True)])


@given(rng=S.generators(), shape=S.shapes(min_dims=1))
def test_bce_with_logits_is_the_bernoulli_negative_log_likelihood(rng, shape):
    logits = rng.uniform(-5, 5, size=shape)
    targets = (rng.random(shape) < 0.5).astype(float)
    expected = -np.mean(scipy.stats.bernoulli.logpmf(targets, scipy.special.expit(logits)))
    np.testing.assert_allclose(F.bce_with_logits(f64(logits), f64(targets)).item(), expected, rtol=1e-10)
    assert mb.gradcheck(lambda x: F.bce_with_logits(x, f64(targets)), [f64(logits, True)])


def test_bce_with_logits_is_finite_at_extreme_logits_with_the_right_gradient():
    logits = f64([-1000.0, -30.0, 30.0, 1000.0], requires_grad=True)
    targets = f64([1.0, 0.0, 1.0, 0.0])
    loss = F.bce_with_logits(logits, targets, reduction="sum")
    np.testing.assert_allclose(loss.item(), 1000.0 + np.log1p(np.exp(-30)) * 2 + 1000.0, rtol=1e-12)
    loss.backward()
    # d/dx [softplus(x) - t x] = sigmoid(x) - t
    np.testing.assert_allclose(logits.grad.numpy(), scipy.special.expit(logits.numpy()) - targets.numpy(), atol=1e-15)
    assert mb.gradcheck(lambda x: F.bce_with_logits(x, f64([1.0, 0.0])), [f64([-40.0, 40.0], True)])


@given(rng=S.generators(), n=st.integers(1, 6), k=st.integers(2, 5))
def test_cross_entropy_matches_the_categorical_log_likelihood(rng, n, k):
    logits = rng.standard_normal((n, k)) * 3
    labels = rng.integers(0, k, size=n)
    log_probabilities = scipy.special.log_softmax(logits, axis=1)
    expected = -log_probabilities[np.arange(n), labels].mean()
    np.testing.assert_allclose(F.cross_entropy(f64(logits), labels).item(), expected, rtol=1e-10)
    assert mb.gradcheck(lambda x: F.cross_entropy(x, labels), [f64(logits, True)])


def test_cross_entropy_at_extreme_logits():
    logits = f64([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0]], requires_grad=True)
    labels = np.array([1, 1])
    loss = F.cross_entropy(logits, labels)
    np.testing.assert_allclose(loss.item(), 1000.0, rtol=1e-12)  # (2000 + 0) / 2
    loss.backward()
    expected = (scipy.special.softmax(logits.numpy(), axis=1) - np.eye(3)[labels]) / 2
    np.testing.assert_allclose(logits.grad.numpy(), expected, atol=1e-15)


def test_cross_entropy_rejects_bad_labels():
    logits = f64(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        F.cross_entropy(logits, np.array([0, 3]))
    with pytest.raises(ValueError, match="labels must be integers of shape \\(2,\\)"):
        F.cross_entropy(logits, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="logits must have shape \\(n, k\\)"):
        F.cross_entropy(f64(np.zeros(3)), np.array([0]))


@given(rng=S.generators(), shape=S.shapes(min_dims=1))
def test_gaussian_nll_is_the_gaussian_negative_log_density(rng, shape):
    y, mean, log_var = rng.standard_normal(shape), rng.standard_normal(shape), rng.uniform(-2, 2, size=shape)
    expected = -scipy.stats.norm.logpdf(y, loc=mean, scale=np.exp(0.5 * log_var)).mean()
    np.testing.assert_allclose(F.gaussian_nll(f64(y), f64(mean), f64(log_var), full=True).item(), expected, rtol=1e-10)
    # Kendall & Gal eq. 5 drops the constant 1/2 log 2 pi.
    np.testing.assert_allclose(
        F.gaussian_nll(f64(y), f64(mean), f64(log_var)).item(), expected - 0.5 * np.log(2 * np.pi), rtol=1e-10
    )
    assert mb.gradcheck(lambda m, s: F.gaussian_nll(f64(y), m, s), [f64(mean, True), f64(log_var, True)])


def test_losses_reject_mismatched_shapes_and_reductions():
    with pytest.raises(ValueError, match=r"mse_loss: prediction \(2,\) and target \(3,\)"):
        F.mse_loss(f64([1, 2]), f64([1, 2, 3]))
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.mse_loss(f64([1]), f64([1]), reduction="avg")
