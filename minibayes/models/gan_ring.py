"""Mode collapse on the ring of Gaussians: the data and the coverage metric.

The setting of Metz et al. (2017, unrolled GANs), Srivastava et al. (2017, VEEGAN) and Lin et al.
(2018, PacGAN): p_data is an equal mixture of K = 8 isotropic Gaussians of standard deviation
sigma = 0.02 centred on a circle of radius 2,

    p_data(x) = (1/K) sum_k N(x | mu_k, sigma^2 I),   mu_k = 2 (cos 2 pi k / K, sin 2 pi k / K).

A generator that has collapsed puts its mass on a few of the modes; ``mode_coverage`` counts them.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy

from .. import backend
from ..data._random import check_positive_int, host_generator

__all__ = ["ring_centres", "ring_of_gaussians", "mode_coverage", "ModeCoverage"]


def _check_positive(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, numpy.floating)) or not math.isfinite(value) \
            or value <= 0:
        raise ValueError(f"{name} must be a finite positive number, got {value!r}")
    return float(value)


def ring_centres(n_modes: int = 8, radius: float = 2.0) -> numpy.ndarray:
    """mu_k = radius (cos 2 pi k / K, sin 2 pi k / K), k = 0..K-1: a host array of shape (K, 2)."""
    n_modes = check_positive_int(n_modes, "n_modes")
    radius = _check_positive(radius, "radius")
    angles = 2 * numpy.pi * numpy.arange(n_modes) / n_modes
    return radius * numpy.stack([numpy.cos(angles), numpy.sin(angles)], axis=1)


def ring_of_gaussians(n: int, n_modes: int = 8, radius: float = 2.0, std: float = 0.02,
                      seed: object = None) -> numpy.ndarray:
    """n draws from the ring mixture: a uniform mode, then mu_k + std * N(0, I).

    Returns a host float64 array of shape (n, 2) (data are drawn on the host, as every data helper,
    so that they do not depend on the device).
    """
    n = check_positive_int(n, "n")
    std = _check_positive(std, "std")
    generator = host_generator(seed)
    centres = ring_centres(n_modes, radius)
    return centres[generator.integers(0, len(centres), size=n)] + std * generator.standard_normal((n, 2))


class ModeCoverage(NamedTuple):
    """The coverage of one set of samples; see ``mode_coverage`` for the definitions."""

    modes_captured: int
    high_quality_fraction: float
    counts: numpy.ndarray  # high-quality samples per mode, shape (K,)


def mode_coverage(samples: object, centres: object | None = None, std: float = 0.02, n_std: float = 3.0,
                  min_samples: int = 1) -> ModeCoverage:
    """Modes captured and fraction of high-quality samples (Srivastava et al. 2017, section 5.1).

    Definitions (with d_i = min_k ||x_i - mu_k||_2, the distance of sample i to its nearest mode):

    - sample i is **high quality** when d_i <= n_std * std (within three standard deviations of
      the nearest mode, by default);
    - mode k is **captured** when at least ``min_samples`` high-quality samples have mu_k as their
      nearest mode (default 1: "some sample lands on it");
    - ``high_quality_fraction`` = (number of high-quality samples) / n.

    Parameters
    ----------
    samples : array of shape (n, 2) (either backend)
    centres : array of shape (K, 2), default ``ring_centres()`` (8 modes on radius 2)
    std : float, the standard deviation of each mode (0.02)
    n_std : float, the radius of a mode in standard deviations (3)
    min_samples : int, the high-quality samples a mode needs to count as captured

    Returns
    -------
    ModeCoverage(modes_captured, high_quality_fraction, counts of shape (K,))
    """
    std, n_std = _check_positive(std, "std"), _check_positive(n_std, "n_std")
    min_samples = check_positive_int(min_samples, "min_samples")
    samples = backend.asarray(samples)
    if samples.ndim != 2 or samples.shape[1] != 2 or samples.shape[0] < 1:
        raise ValueError(f"samples must have shape (n, 2), got {tuple(samples.shape)}")
    xp = backend.array_module(samples)
    centres = ring_centres() if centres is None else centres
    centres = xp.asarray(backend.on_backend_of(samples, backend.asarray(centres)), dtype=xp.float64)
    if centres.ndim != 2 or centres.shape[1] != 2 or centres.shape[0] < 1:
        raise ValueError(f"centres must have shape (K, 2), got {tuple(centres.shape)}")
    difference = samples.astype(xp.float64)[:, None, :] - centres[None, :, :]      # (n, K, 2)
    distance = xp.sqrt((difference * difference).sum(axis=2))                      # (n, K)
    nearest = distance.argmin(axis=1)
    high_quality = distance.min(axis=1) <= n_std * std                              # NaN samples are not
    # Weights instead of a boolean mask: a masked array's length would need a device-to-host sync.
    counts = xp.bincount(nearest, weights=high_quality.astype(xp.float64), minlength=centres.shape[0])
    counts = backend.to_numpy(counts).round().astype(numpy.int64)                   # the one sync
    return ModeCoverage(int((counts >= min_samples).sum()), float(counts.sum()) / samples.shape[0], counts)
