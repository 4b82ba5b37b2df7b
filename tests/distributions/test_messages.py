"""Errors name the public call and the argument, never an internal op ("sub", "div") or NumPy's raw text."""

from __future__ import annotations

import numpy as np
import pytest

import minibayes as mb
from minibayes import distributions as D


def _t(a):
    return mb.tensor(np.asarray(a, dtype=np.float64))


@pytest.mark.parametrize("validate", [True, False])
def test_log_prob_of_a_value_that_does_not_broadcast_names_log_prob_and_the_shapes(validate):
    """Before: 'sub: operands could not be broadcast together'."""
    normal = D.Normal(mb.zeros(3), 1.0, validate_args=validate)
    with pytest.raises(ValueError, match=r"^Normal\.log_prob: value of shape \(2,\) does not broadcast with the batch shape \(3,\)"):
        normal.log_prob(mb.zeros(2))
    with pytest.raises(ValueError, match=r"^Normal\.cdf: value of shape \(2,\)"):
        normal.cdf(mb.zeros(2))
    mvn = D.MultivariateNormal(_t(np.zeros((3, 2))), covariance_matrix=_t(np.eye(2)), validate_args=validate)
    with pytest.raises(ValueError, match=r"^MultivariateNormal\.log_prob: value of shape \(4, 2\) does not broadcast "
                                         r"with the batch shape \(3,\) \(and event shape \(2,\)\)"):
        mvn.log_prob(_t(np.zeros((4, 2))))
    with pytest.raises(ValueError, match=r"^MultivariateNormal\.mahalanobis: value must end in the event shape \(2,\)"):
        mvn.mahalanobis(_t(np.zeros(3)))
    # Values that do broadcast (sample axes in front) still work.
    assert normal.log_prob(mb.zeros(5, 1, 3)).shape == (5, 1, 3)


def test_kl_divergence_of_batch_shapes_that_do_not_broadcast_names_kl_divergence():
    """Before: 'div: operands could not be broadcast together'."""
    with pytest.raises(ValueError, match=r"^kl_divergence: the batch shapes of p \(3,\) and q \(2,\) do not broadcast"):
        D.kl_divergence(D.Normal(mb.zeros(3), 1.0), D.Normal(mb.zeros(2), 1.0))
    p = D.MultivariateNormal(_t(np.zeros(2)), covariance_matrix=_t(np.eye(2)))
    q = D.MultivariateNormal(_t(np.zeros(3)), covariance_matrix=_t(np.eye(3)))
    with pytest.raises(ValueError, match=r"^kl_divergence: the event shapes of p \(2,\) and q \(3,\) differ"):
        D.kl_divergence(p, q)
    assert D.kl_divergence(D.Normal(mb.zeros(3), 1.0), D.Normal(mb.zeros(1), 2.0)).shape == (3,)


@pytest.mark.parametrize("validate", [True, False])
def test_multivariate_normal_and_wishart_with_batch_shapes_that_do_not_broadcast(validate):
    """Before: NumPy's 'shape mismatch: objects cannot be broadcast to a single shape'."""
    covariances = _t(np.broadcast_to(np.eye(2), (4, 2, 2)).copy())
    with pytest.raises(ValueError, match=r"^MultivariateNormal: the batch shapes of loc \(3,\) .* and of "
                                         r"covariance_matrix \(4,\) .* do not broadcast"):
        D.MultivariateNormal(_t(np.zeros((3, 2))), covariance_matrix=covariances, validate_args=validate)
    with pytest.raises(ValueError, match=r"^Wishart: the batch shapes of df \(3,\) and of covariance_matrix \(4,\)"):
        D.Wishart(_t([3.0, 3.0, 3.0]), covariance_matrix=covariances, validate_args=validate)


@pytest.mark.parametrize("family", [lambda: D.Normal(0.0, 1.0), lambda: D.Bernoulli(probs=0.3),
                                    lambda: D.Categorical(probs=[0.2, 0.8]), lambda: D.Gamma(2.0, 1.0)])
def test_sample_shapes_take_numpy_integers_and_refuse_none_by_name(family):
    """Before: np.int64(3) gave "'numpy.int64' object is not iterable" and None "'NoneType' ... not iterable"."""
    dist = family()
    assert dist.sample(np.int64(3)).shape == (3,)
    assert dist.sample((np.int32(2), np.int64(3))).shape == (2, 3)
    assert dist.sample(np.array(4)).shape == (4,)
    assert dist.sample().shape == ()
    for bad in (None, 2.5, "3", (2, None)):
        with pytest.raises(TypeError, match=rf"^{dist.name}\.sample: sample_shape must be a non-negative int or a tuple"):
            dist.sample(bad)
    with pytest.raises(ValueError, match=r"sample_shape must be a non-negative int.*got \(-1,\)"):
        dist.sample((-1,))


def test_numpy_integers_are_taken_where_an_int_is_meant():
    assert D.Multinomial(np.int64(3), probs=[0.5, 0.5]).total_count == 3
    assert mb.zeros(np.int64(2), np.int32(3)).shape == (2, 3)
    estimate = D.kl_divergence_mc(D.Normal(0.0, 1.0), D.Normal(1.0, 1.0), n_samples=np.int64(10))
    assert estimate.value.shape == ()
    with pytest.raises(ValueError, match="total_count must be a non-negative int, got True"):
        D.Multinomial(True, probs=[0.5, 0.5])
