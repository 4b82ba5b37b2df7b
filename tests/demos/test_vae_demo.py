"""The VAE demo in quick mode: its figures exist and its numbers obey the bounds they estimate."""

from __future__ import annotations

import numpy as np

import minibayes as mb
from demos import vae as demo

FIGURES = ("vae_elbo.png", "vae_samples.png", "vae_reconstructions.png", "vae_manifold.png",
           "vae_latent_space.png", "gradient_estimators.png")


def test_quick_run_writes_the_figures_and_its_bounds_hold(tmp_path):
    summary = demo.main(["--quick", "--epochs", "2", "--iwae-k", "50", "--iwae-images", "100",
                         "--out", str(tmp_path)])
    for name in FIGURES:
        assert (tmp_path / name).stat().st_size > 10_000, name
    assert mb.get_backend() == "numpy"
    for history in (summary["history"], summary["history_2d"]):
        assert history["test_elbo"][-1] > history["test_elbo"][0]            # learning
        np.testing.assert_allclose(np.array(history["test_reconstruction"]) - history["test_kl"],
                                   history["test_elbo"], rtol=1e-12)
        assert min(history["test_kl"]) > 0
    assert summary["history"]["active_units"][-1] >= 1
    # Burda et al.: the k-sample bound lies above the ELBO on the same images (nats per image).
    assert summary["log_likelihood"] > summary["test_elbo_subset"]
    variances = summary["estimator_variances"]
    assert all(s > r for s, r in zip(variances["score_function"], variances["reparameterisation"]))
