"""Values outside the support: ValueError when validating, -inf without validation (NaN for NaN).

Before, ``validate_args=False`` evaluated the formula anywhere and returned finite
wrong numbers: Categorical.log_prob(5) was 0.0 (the one-hot of 5 is all zeros),
Bernoulli.log_prob(2) and a Multinomial count vector of the wrong total were finite.
Every family has a row; a family without one fails ``test_every_family_has_a_row``.
"""

from __future__ import annotations

import numpy as np
import pytest

import minibayes as mb
from minibayes import distributions as D


def _t(a, grad=False):
    return mb.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


SPD = [[2.0, 0.5], [0.5, 1.0]]

# family: (build(validate) -> (distribution, parameters), a value inside, values outside)
ROWS = {
    "Normal": (lambda v: _build(lambda p: D.Normal(p[0], p[1], validate_args=v), [0.5, 2.0]),
               1.0, [np.inf, -np.inf]),
    "Bernoulli": (lambda v: _build(lambda p: D.Bernoulli(probs=p[0], validate_args=v), [0.3]),
                  1.0, [2.0, -1.0, 0.5, np.inf]),
    "Binomial": (lambda v: _build(lambda p: D.Binomial(4, probs=p[0], validate_args=v), [0.3]),
                 3.0, [5.0, -1.0, 1.5]),
    "Categorical": (lambda v: _build(lambda p: D.Categorical(probs=p[0], validate_args=v), [[0.2, 0.3, 0.5]]),
                    2.0, [5.0, 3.0, -1.0, 0.5]),
    "Multinomial": (lambda v: _build(lambda p: D.Multinomial(3, probs=p[0], validate_args=v), [[0.5, 0.5]]),
                    [1.0, 2.0], [[1.0, 1.0], [4.0, -1.0], [1.5, 1.5], [np.inf, 0.0]]),
    "MultivariateNormal": (lambda v: _build(lambda p: D.MultivariateNormal(p[0], covariance_matrix=p[1], validate_args=v),
                                            [[0.0, 1.0], np.eye(2)]),
                           [0.5, 0.5], [[np.inf, 0.0], [0.0, -np.inf]]),
    "Beta": (lambda v: _build(lambda p: D.Beta(p[0], p[1], validate_args=v), [2.0, 3.0]),
             0.3, [0.0, 1.0, -0.5, 1.5]),
    "Gamma": (lambda v: _build(lambda p: D.Gamma(p[0], p[1], validate_args=v), [0.5, 2.0]),
              0.7, [0.0, -1.0, np.inf]),
    "Dirichlet": (lambda v: _build(lambda p: D.Dirichlet(p[0], validate_args=v), [[0.5, 2.0]]),
                  [0.3, 0.7], [[0.2, 0.2], [-0.5, 1.5], [0.7, 0.7]]),
    "Wishart": (lambda v: _build(lambda p: D.Wishart(p[0], covariance_matrix=p[1], validate_args=v), [3.0, SPD]),
                SPD, [[[1.0, 0.0], [0.0, -1.0]], [[1.0, 0.9], [0.0, 1.0]], [[np.inf, 0.0], [0.0, 1.0]]]),
    "NormalGamma": (lambda v: _build(lambda p: D.NormalGamma(p[0], p[1], p[2], p[3], validate_args=v),
                                     [0.0, 1.0, 2.0, 1.0]),
                    [0.3, 1.5], [[0.0, -1.0], [0.0, 0.0], [np.inf, 1.0]]),
}


def _build(make, values):
    parameters = [_t(value, grad=True) for value in values]
    return make(parameters), parameters


def test_every_family_has_a_row():
    families = {name for name, obj in vars(D).items()
                if isinstance(obj, type) and issubclass(obj, D.Distribution) and obj is not D.Distribution}
    assert families == set(ROWS)


@pytest.mark.parametrize("family", sorted(ROWS))
def test_outside_the_support_raises_when_validating_and_is_minus_inf_otherwise(family):
    build, inside, outside = ROWS[family]
    validating, _ = build(True)
    quiet, _ = build(False)
    assert np.isfinite(quiet.log_prob(_t(inside)).item())
    for value in outside:
        with pytest.raises(ValueError, match=f"{family}: value must be"):
            validating.log_prob(_t(value))
        assert quiet.log_prob(_t(value)).item() == -np.inf, (family, value)


@pytest.mark.parametrize("family", sorted(ROWS))
def test_values_outside_do_not_disturb_those_inside_nor_the_gradient(family):
    """A batch of values mixing inside and outside: the inside entries and the parameters' gradient
    are those of the inside values alone; no NaN from the outside entries reaches the gradient."""
    build, inside, outside = ROWS[family]
    alone, alone_parameters = build(False)
    expected = alone.log_prob(_t(inside))
    expected.backward()
    mixed, parameters = build(False)
    values = _t(np.stack([np.asarray(inside, dtype=float)] + [np.asarray(v, dtype=float) for v in outside]))
    log_p = mixed.log_prob(values)
    np.testing.assert_allclose(log_p[0].item(), expected.item(), rtol=1e-12)
    assert np.all(log_p.numpy()[1:] == -np.inf)
    log_p[0].backward()
    for got, want in zip(parameters, alone_parameters):
        assert np.all(np.isfinite(got.grad.numpy())), family
        np.testing.assert_allclose(got.grad.numpy(), want.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("family", sorted(ROWS))
def test_a_nan_value_gives_nan_without_validation(family):
    build, inside, _ = ROWS[family]
    quiet, _ = build(False)
    value = np.array(inside, dtype=float)
    value.reshape(-1)[0] = np.nan
    assert np.isnan(quiet.log_prob(_t(value)).item())
