"""Basis functions (PRML 3.1-3.5): values against NumPy written from the formulas, shapes, bad input."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minibayes.models.basis import GaussianBasis, IdentityBasis, PolynomialBasis, SigmoidalBasis


@st.composite
def inputs(draw, max_features=3):
    """X of shape (n, D) with values in [-2, 2], and its seed."""
    n = draw(st.integers(1, 12))
    d = draw(st.integers(1, max_features))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return rng.uniform(-2.0, 2.0, size=(n, d)), rng


@given(inputs(max_features=1), st.integers(0, 6))
def test_polynomial_columns_are_powers(data, degree):
    X, _ = data
    Phi = PolynomialBasis(degree)(X)
    expected = X[:, 0:1] ** np.arange(degree + 1)  # phi_j(x) = x^j, j = 0..M
    np.testing.assert_allclose(Phi, expected, rtol=1e-14, atol=0)


def test_polynomial_several_features_share_one_bias():
    X = np.array([[2.0, 3.0]])
    np.testing.assert_array_equal(PolynomialBasis(2)(X), [[1.0, 2.0, 4.0, 3.0, 9.0]])


@given(inputs())
def test_gaussian_matches_formula(data):
    X, rng = data
    centers = rng.uniform(-2, 2, size=(4, X.shape[1]))
    scale = float(rng.uniform(0.2, 2.0))
    Phi = GaussianBasis(centers, scale)(X)
    squared = ((X[:, None, :] - centers[None]) ** 2).sum(-1)
    np.testing.assert_allclose(Phi[:, 1:], np.exp(-squared / (2 * scale**2)), rtol=1e-13)  # (3.4)
    np.testing.assert_array_equal(Phi[:, 0], 1.0)


def test_gaussian_peaks_at_its_centre_and_is_symmetric():
    basis = GaussianBasis([0.5], 0.1, bias=False)
    assert basis(np.array([0.5]))[0, 0] == 1.0
    left, right = basis(np.array([0.4, 0.6]))[:, 0]
    assert left == pytest.approx(right, rel=1e-14) and left < 1.0


@given(inputs())
def test_sigmoidal_matches_formula(data):
    X, rng = data
    centers = rng.uniform(-2, 2, size=3)
    Phi = SigmoidalBasis(centers, 0.5, bias=False)(X)
    expected = 1.0 / (1.0 + np.exp(-(X[:, :, None] - centers) / 0.5))  # (3.5, 3.6)
    np.testing.assert_allclose(Phi, expected.reshape(len(X), -1), rtol=1e-13)


def test_sigmoidal_is_one_half_at_centre_and_increasing():
    basis = SigmoidalBasis([0.0], 0.3, bias=False)
    values = basis(np.linspace(-1, 1, 21))[:, 0]
    assert values[10] == 0.5
    assert np.all(np.diff(values) > 0)


def test_identity_prepends_bias():
    X = np.array([[1.0, -2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(IdentityBasis()(X), [[1, 1, -2], [1, 3, 4]])
    np.testing.assert_array_equal(IdentityBasis(bias=False)(X), X)


def test_one_dimensional_input_is_one_feature():
    x = np.linspace(0, 1, 5)
    for basis in (PolynomialBasis(3), GaussianBasis(np.linspace(0, 1, 3), 0.2), SigmoidalBasis([0.5], 0.1)):
        np.testing.assert_array_equal(basis(x), basis(x[:, None]))


def test_float_lists_keep_float64():
    Phi = PolynomialBasis(1)([0.1, 0.2])
    assert Phi.dtype == np.float64 and Phi[0, 1] == 0.1


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: PolynomialBasis(-1), ValueError, "degree"),
        (lambda: PolynomialBasis(2.5), TypeError, "degree"),
        (lambda: GaussianBasis([0.0], 0.0), ValueError, "scale"),
        (lambda: GaussianBasis([0.0], "wide"), TypeError, "scale"),
        (lambda: GaussianBasis([np.nan], 1.0), ValueError, "centers"),
        (lambda: GaussianBasis([], 1.0), ValueError, "centers"),
        (lambda: SigmoidalBasis([[0.0, 1.0]], 1.0), ValueError, "centers"),
    ],
)
def test_bad_parameters_name_the_argument(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_bad_inputs_name_x():
    basis = GaussianBasis([[0.0, 0.0]], 1.0)
    with pytest.raises(ValueError, match="X contains NaN"):
        basis(np.array([[np.nan, 0.0]]))
    with pytest.raises(ValueError, match="features"):
        basis(np.zeros((3, 3)))
    with pytest.raises(TypeError, match="X"):
        PolynomialBasis(2)(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="X"):
        PolynomialBasis(2)(np.zeros((2, 2, 2)))
