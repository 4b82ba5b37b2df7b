"""The distributions demo in quick mode: its figures exist and its fits land where the theory says."""

from __future__ import annotations

import math

import numpy as np

from demos import distributions as demo


def test_quick_run_writes_the_figures_and_reproduces_the_theory(tmp_path):
    summary = demo.main(["--quick", "--out", str(tmp_path)])
    for name in ("beta_bernoulli.png", "dirichlet_simplex.png", "kl_asymmetry.png"):
        assert (tmp_path / name).stat().st_size > 10_000
    assert summary["posterior"] == (3.0, 2.0)  # Figure 2.3
    # Dir(alpha = 1) is uniform on the simplex: density Gamma(3) = 2 everywhere.
    assert abs(summary["dirichlet_max_log_density"][1.0] - math.log(2)) < 1e-12
    fits = summary["factorised"]["fits"]
    # PRML §10.1.2: KL(q||p) gives variances 1/Lambda_ii = 1 - 0.9^2; KL(p||q) gives Sigma_ii = 1.
    np.testing.assert_allclose(fits["q||p"][1], 1 - 0.9**2, atol=0.01)
    np.testing.assert_allclose(fits["p||q"][1], 1.0, atol=0.02)
    (mode_mean, mode_std), (cover_mean, cover_std) = summary["single"]["fits"]["q||p"], summary["single"]["fits"]["p||q"]
    assert abs(abs(mode_mean) - 2) < 0.2 and 0.45 < mode_std < 0.75  # locked onto one component
    assert abs(cover_mean) < 0.3 and abs(cover_std - math.sqrt(4 + 0.36)) < 0.15  # moment matching
