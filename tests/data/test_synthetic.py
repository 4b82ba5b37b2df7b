"""Synthetic generators: shapes, determinism, the noise they promise, argument checks."""

from __future__ import annotations

import numpy as np
import pytest

import minibayes as mb
from minibayes.data import gaussian_blobs, sinusoidal, two_moons

GENERATORS = {
    "sinusoidal": lambda seed: sinusoidal(10, seed=seed),
    "two_moons": lambda seed: two_moons(11, seed=seed),
    "gaussian_blobs": lambda seed: gaussian_blobs(13, seed=seed),
}


@pytest.mark.parametrize("name", GENERATORS)
def test_same_seed_same_data_other_seed_other_data(name):
    make = GENERATORS[name]
    first, again, other = make(0), make(0), make(1)
    for a, b, c in zip(first, again, other):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype
    drawn = -1 if name == "sinusoidal" else 0  # sinusoidal's x is a fixed grid; its t is drawn
    assert not np.array_equal(first[drawn], other[drawn])


@pytest.mark.parametrize("name", GENERATORS)
def test_seed_none_follows_mb_seed(name):
    make = GENERATORS[name]
    mb.seed(3)
    first = make(None)
    mb.seed(3)
    again = make(None)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)


def test_sinusoidal_follows_prml_figure_1_2():
    x, t = sinusoidal(10, noise=0.0)
    np.testing.assert_array_equal(x, np.linspace(0, 1, 10))   # evenly spaced, ends included
    np.testing.assert_allclose(t, np.sin(2 * np.pi * x), atol=1e-15)
    assert x.dtype == t.dtype == np.float64 and x.shape == t.shape == (10,)


def test_sinusoidal_noise_has_the_requested_std():
    n, noise = 20_000, 0.3
    x, t = sinusoidal(n, noise=noise, seed=0, random_x=True)
    assert x.min() >= 0 and x.max() <= 1 and not np.all(np.diff(x) > 0)  # uniform draws, not a grid
    residual = t - np.sin(2 * np.pi * x)
    # The sample std of n Gaussians has standard error ~ noise / sqrt(2 n) (0.0015 here): allow 5.
    assert abs(residual.std() - noise) < 5 * noise / np.sqrt(2 * n)
    assert abs(residual.mean()) < 5 * noise / np.sqrt(n)


def test_sinusoidal_x_range():
    x, _ = sinusoidal(5, x_range=(-1.0, 3.0), seed=0)
    np.testing.assert_array_equal(x, [-1, 0, 1, 2, 3])
    x, _ = sinusoidal(100, x_range=(2, 2.5), random_x=True, seed=0)
    assert x.min() >= 2 and x.max() <= 2.5


def test_two_moons_shapes_and_classes():
    X, y = two_moons(101, noise=0.0, seed=0)
    assert X.shape == (101, 2) and X.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y), [50, 51])
    # Without noise the points lie exactly on their half circles.
    outer, inner = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(*outer.T), 1.0)
    np.testing.assert_allclose(np.hypot(inner[:, 0] - 1, inner[:, 1] - 0.5), 1.0)
    assert (outer[:, 1] >= -1e-12).all() and (inner[:, 1] <= 0.5 + 1e-12).all()


def test_gaussian_blobs_with_given_centres():
    centres = np.array([[0.0, 0.0, 0.0], [100.0, 0.0, 0.0]])
    X, y = gaussian_blobs(4001, centers=centres, std=[1.0, 2.0], seed=0)
    assert X.shape == (4001, 3) and y.shape == (4001,) and y.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y), [2001, 2000])
    for k, std in enumerate([1.0, 2.0]):
        members = X[y == k]
        np.testing.assert_allclose(members.mean(axis=0), centres[k], atol=5 * std / np.sqrt(2000))
        np.testing.assert_allclose(members.std(axis=0), std, rtol=0.06)


def test_gaussian_blobs_with_random_centres():
    X, y = gaussian_blobs(30, centers=4, n_features=5, std=0.0, seed=1)
    assert X.shape == (30, 5)
    centres = np.unique(X, axis=0)
    assert len(centres) == 4 and (np.abs(centres) <= 10).all()


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: sinusoidal(0), ValueError, "n must be a positive int, got 0"),
        (lambda: sinusoidal(2.5), TypeError, "n must be a positive int"),
        (lambda: sinusoidal(True), TypeError, "n must be a positive int"),
        (lambda: sinusoidal(5, noise=-0.1), ValueError, "noise must be a finite non-negative number"),
        (lambda: sinusoidal(5, noise=float("nan")), ValueError, "noise must be"),
        (lambda: sinusoidal(5, noise="0.3"), TypeError, "noise must be a non-negative number"),
        (lambda: sinusoidal(5, x_range=(1, 0)), ValueError, "x_range must be finite with low < high"),
        (lambda: sinusoidal(5, x_range=1), TypeError, "x_range must be a pair"),
        (lambda: sinusoidal(5, seed=-1), ValueError, "seed must be None, a non-negative int"),
        (lambda: two_moons(-3), ValueError, "n must be a positive int"),
        (lambda: two_moons(5, noise=-1), ValueError, "noise must be"),
        (lambda: gaussian_blobs(5, centers=0), ValueError, "centers must be a positive int"),
        (lambda: gaussian_blobs(5, centers=[1.0, 2.0]), ValueError, "array of shape (K, D)"),
        (lambda: gaussian_blobs(5, centers=[[np.inf, 0.0]]), ValueError, "centers must be finite"),
        (lambda: gaussian_blobs(5, centers=2, std=[1.0]), ValueError, "std must be a non-negative number"),
        (lambda: gaussian_blobs(5, std=-1.0), ValueError, "std must be"),
        (lambda: gaussian_blobs(5, n_features=0), ValueError, "n_features must be a positive int"),
    ],
)
def test_validation_names_the_argument(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)
