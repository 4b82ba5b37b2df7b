"""The ring of Gaussians and its mode-coverage metric against cases whose answer is known exactly."""

import math

import numpy as np
import pytest

from minibayes.models import mode_coverage, ring_centres, ring_of_gaussians


def test_the_ring_has_eight_modes_of_radius_two_and_its_own_samples_cover_them():
    centres = ring_centres()
    np.testing.assert_allclose(np.linalg.norm(centres, axis=1), 2.0)
    np.testing.assert_allclose(np.linalg.norm(np.diff(centres, axis=0, append=centres[:1]), axis=1),
                               2 * 2.0 * math.sin(math.pi / 8))                      # equally spaced
    n = 20_000
    samples = ring_of_gaussians(n, seed=0)
    coverage = mode_coverage(samples)
    assert coverage.modes_captured == 8
    # Within 3 sigma of a 2-D isotropic Gaussian: P(chi^2_2 <= 9) = 1 - exp(-9/2) = 0.98889, not 1.
    expected = 1 - math.exp(-4.5)
    assert abs(coverage.high_quality_fraction - expected) < 4 * math.sqrt(expected * (1 - expected) / n)
    np.testing.assert_allclose(coverage.counts / coverage.counts.sum(), 1 / 8, atol=0.015)
    # Samples placed exactly on the modes are all high quality.
    assert mode_coverage(np.repeat(centres, 10, axis=0)) == (8, 1.0, pytest.approx(np.full(8, 10)))


def test_collapsed_and_far_away_samples():
    centres = ring_centres()
    at_one_mode = centres[3] + 0.01 * np.random.default_rng(0).standard_normal((500, 2))
    coverage = mode_coverage(at_one_mode)
    assert coverage.modes_captured == 1 and coverage.counts[3] == coverage.counts.sum()
    far = np.random.default_rng(1).standard_normal((500, 2)) * 0.1           # around the centre of the ring
    assert mode_coverage(far) == (0, 0.0, pytest.approx(np.zeros(8)))
    # Half the samples on mode 0, half at 4 sigma (0.08) from it: 50% high quality, one mode.
    mixed = np.concatenate([np.tile(centres[0], (50, 1)), np.tile(centres[0] + [0.08, 0.0], (50, 1))])
    assert mode_coverage(mixed)[:2] == (1, 0.5)
    # min_samples: a mode with fewer high-quality samples than required is not captured.
    one_each = np.concatenate([np.tile(centres[0], (5, 1)), centres[1:2]])
    assert mode_coverage(one_each).modes_captured == 2
    assert mode_coverage(one_each, min_samples=2).modes_captured == 1


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match=r"samples must have shape \(n, 2\)"):
        mode_coverage(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="std must be a finite positive number"):
        mode_coverage(np.zeros((5, 2)), std=0.0)
    with pytest.raises(ValueError, match=r"centres must have shape \(K, 2\)"):
        mode_coverage(np.zeros((5, 2)), centres=np.zeros(3))
    with pytest.raises((TypeError, ValueError), match="n_modes"):
        ring_centres(0)
