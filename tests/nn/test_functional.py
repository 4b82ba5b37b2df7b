"""Losses against their formulas and SciPy, and their gradients at extreme logits."""

from __future__ import annotations

import decimal

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


def _decimal_gaussian_nll(r: float, s: float) -> tuple[float, float, float]:
    """(loss, d/d mean, d/d log_var) of 1/2 r^2 e^-s + s/2 with r = y - mean, in 60-digit decimals."""
    if r == 0:  # 0 * e^-s = 0 for every s (e^-s itself may exceed even a decimal's range)
        return s / 2, 0.0, 0.5
    context = decimal.Context(prec=60, Emax=10**6)
    r_, s_ = decimal.Decimal(r), decimal.Decimal(s)
    scale = context.exp(-s_)
    loss = r_ * r_ * scale / 2 + s_ / 2
    return float(loss), float(-r_ * scale), float(-r_ * r_ * scale / 2 + decimal.Decimal("0.5"))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gaussian_nll_is_finite_down_to_the_dtypes_limit(dtype):
    """Before: exp(-s) overflowed below s = -88.7 (float32) and a zero residual gave inf * 0 = NaN.

    For every log-variance s from -max/2 up, with a zero residual and with a residual
    r = e^(s/2) (so that r^2 e^-s = 1 although e^-s alone overflows), the loss and both
    gradients are finite and match a 60-digit decimal evaluation.
    """
    info = np.finfo(dtype)
    # Outside (smallest_s, largest_s), e^(s/2) is not a finite normal number.
    smallest_s, largest_s = 2 * np.log(info.tiny), 2 * np.log(info.max)
    rtol = 1e-4 if dtype == "float32" else 1e-9
    for s in [-0.5 * float(info.max), -1e4, -1000.0, -200.0, -100.0, -88.8, -50.0, 0.0, 50.0, 1e4]:
        residuals = [0.0] + ([float(np.exp(np.float64(s) / 2).astype(dtype))] if smallest_s < s < largest_s else [])
        for r in residuals:
            mean = mb.tensor(np.array([-r], dtype=dtype), requires_grad=True)
            log_var = mb.tensor(np.array([s], dtype=dtype), requires_grad=True)
            loss = F.gaussian_nll(mb.tensor(np.zeros(1, dtype=dtype)), mean, log_var, reduction="sum")
            loss.backward()
            # The reference is taken at the values the dtype holds: r = y - mean = -mean.
            expected = _decimal_gaussian_nll(-float(mean.numpy()[0]), float(log_var.numpy()[0]))
            got = (loss.item(), float(mean.grad.numpy()[0]), float(log_var.grad.numpy()[0]))
            assert all(np.isfinite(got)), (dtype, s, r, got)
            # atol: d/d log_var = 1/2 - 1/2 r^2 e^-s cancels to about 0 when r^2 e^-s = 1, and e^-s
            # carries a relative error of about eps |s| (the rounding of s itself).
            atol = 4 * float(info.eps) * (1 + abs(s))
            np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=f"{dtype} s={s} r={r}")


def test_losses_reject_mismatched_shapes_and_reductions():
    with pytest.raises(ValueError, match=r"mse_loss: prediction \(2,\) and target \(3,\)"):
        F.mse_loss(f64([1, 2]), f64([1, 2, 3]))
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.mse_loss(f64([1]), f64([1]), reduction="avg")
