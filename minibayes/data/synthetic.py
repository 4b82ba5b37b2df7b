"""Small synthetic data sets for the figures: a noisy sinusoid, two moons, Gaussian blobs.

All three draw from a NumPy ``Generator`` on the host and return float64 host
arrays: the same seed gives the same data on every machine, GPU or not.
``seed=None`` draws from the backend's seeded generator, so ``minibayes.seed``
makes it reproducible too.
"""

from __future__ import annotations

import math

import numpy

from ._random import check_positive_int, host_generator

__all__ = ["sinusoidal", "two_moons", "gaussian_blobs"]


def _check_nonnegative(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, numpy.integer, numpy.floating)):
        raise TypeError(f"{name} must be a non-negative number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite non-negative number, got {value}")
    return float(value)


def sinusoidal(
    n: int,
    noise: float = 0.3,
    seed: object = None,
    x_range: tuple[float, float] = (0.0, 1.0),
    random_x: bool = False,
) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Noisy samples of sin(2 pi x), PRML section 1.1 and Figure 1.2.

    t_n = sin(2 pi x_n) + eps_n with eps_n ~ N(0, noise^2), independent.

    Parameters
    ----------
    n : int
        Number of points (PRML Figure 1.2 uses N = 10).
    noise : float
        Standard deviation of the Gaussian noise (0.3 as in PRML's figures).
    seed : None, int or numpy.random.Generator
    x_range : (float, float)
        The interval of x, lower < upper.
    random_x : bool
        False (default): x evenly spaced over ``x_range``, both ends included,
        as in PRML. True: x drawn uniformly from ``x_range``.

    Returns
    -------
    x : numpy.ndarray of shape (n,), float64
    t : numpy.ndarray of shape (n,), float64
    """
    n = check_positive_int(n, "n")
    noise = _check_nonnegative(noise, "noise")
    try:
        low, high = (float(bound) for bound in x_range)
    except (TypeError, ValueError):
        raise TypeError(f"x_range must be a pair of numbers (low, high), got {x_range!r}") from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"x_range must be finite with low < high, got {x_range!r}")
    generator = host_generator(seed)
    x = generator.uniform(low, high, n) if random_x else numpy.linspace(low, high, n)
    t = numpy.sin(2 * numpy.pi * x) + noise * generator.standard_normal(n)
    return x, t


def two_moons(n: int, noise: float = 0.1, seed: object = None) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Two interleaving half circles, a classic non-linearly separable problem.

    Class 0 lies on (cos a, sin a), class 1 on (1 - cos a, 1/2 - sin a), a in
    [0, pi] evenly spaced (the construction of scikit-learn's ``make_moons``);
    both get isotropic Gaussian noise of standard deviation ``noise``, then
    the points are shuffled.

    Parameters
    ----------
    n : int
        Number of points; class 0 gets n // 2 of them, class 1 the rest.
    noise : float
        Standard deviation of the noise added to each coordinate.
    seed : None, int or numpy.random.Generator

    Returns
    -------
    X : numpy.ndarray of shape (n, 2), float64
    y : numpy.ndarray of shape (n,), int64, labels 0 and 1
    """
    n = check_positive_int(n, "n")
    noise = _check_nonnegative(noise, "noise")
    generator = host_generator(seed)
    n_outer = n // 2
    outer = numpy.linspace(0, numpy.pi, n_outer)
    inner = numpy.linspace(0, numpy.pi, n - n_outer)
    X = numpy.concatenate([
        numpy.stack([numpy.cos(outer), numpy.sin(outer)], axis=1),
        numpy.stack([1 - numpy.cos(inner), 0.5 - numpy.sin(inner)], axis=1),
    ])
    y = numpy.repeat(numpy.array([0, 1], dtype=numpy.int64), [n_outer, n - n_outer])
    X = X + noise * generator.standard_normal(X.shape)
    order = generator.permutation(n)
    return X[order], y[order]


def gaussian_blobs(
    n: int,
    centers: object = 3,
    std: object = 1.0,
    seed: object = None,
    n_features: int = 2,
    center_box: tuple[float, float] = (-10.0, 10.0),
) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Isotropic Gaussian clusters: x ~ N(mu_k, std_k^2 I) for a point of cluster k.

    Parameters
    ----------
    n : int
        Number of points, shared out as evenly as possible (the first
        n mod K clusters get one more).
    centers : int or array of shape (K, D)
        An int K draws K centres uniformly from ``center_box`` in
        ``n_features`` dimensions; an array gives the centres themselves.
    std : float or array of shape (K,)
        Standard deviation of every cluster, or of each.
    seed : None, int or numpy.random.Generator
    n_features : int
        Dimension D when ``centers`` is an int (ignored otherwise).
    center_box : (float, float)
        The interval the random centres are drawn from.

    Returns
    -------
    X : numpy.ndarray of shape (n, D), float64
        The points, shuffled.
    y : numpy.ndarray of shape (n,), int64
        The cluster of each point, 0..K-1.
    """
    n = check_positive_int(n, "n")
    generator = host_generator(seed)
    if isinstance(centers, (int, numpy.integer)) and not isinstance(centers, bool):
        n_centers = check_positive_int(centers, "centers")
        dim = check_positive_int(n_features, "n_features")
        mu = generator.uniform(center_box[0], center_box[1], size=(n_centers, dim))
    else:
        mu = numpy.asarray(centers, dtype=numpy.float64)
        if mu.ndim != 2 or mu.shape[0] == 0 or mu.shape[1] == 0:
            raise ValueError(
                f"centers must be a positive int or an array of shape (K, D), got shape {mu.shape}"
            )
        if not numpy.isfinite(mu).all():
            raise ValueError("centers must be finite")
        n_centers = len(mu)
    sigma = numpy.asarray(std, dtype=numpy.float64)
    if sigma.ndim == 0:
        sigma = numpy.full(n_centers, float(sigma))
    if sigma.shape != (n_centers,) or not numpy.isfinite(sigma).all() or (sigma < 0).any():
        raise ValueError(
            f"std must be a non-negative number or an array of shape ({n_centers},), got {std!r}"
        )
    counts = numpy.full(n_centers, n // n_centers)
    counts[: n % n_centers] += 1
    y = numpy.repeat(numpy.arange(n_centers, dtype=numpy.int64), counts)
    X = mu[y] + sigma[y, None] * generator.standard_normal((n, mu.shape[1]))
    order = generator.permutation(n)
    return X[order], y[order]
