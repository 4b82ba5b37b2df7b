"""The convolutional demo in quick mode: every figure written, LeNet variants above chance, a finite
test ELBO in a sane range, mutual information never above the predictive entropy, and DCGAN samples that vary."""

from __future__ import annotations

import math

from demos import conv_nets as demo


def test_quick_run_writes_the_figures_and_sane_summaries(tmp_path):
    summary = demo.main(["--quick", "--out", str(tmp_path)])
    for name in ("lenet_rotated.png", "conv_vae_samples.png", "conv_vae_manifold.png", "dcgan_samples.png"):
        assert (tmp_path / name).stat().st_size > 5_000, name
    for kind in ("plain", "mc_dropout", "bayesian"):
        assert summary["lenet"][kind]["accuracy"] > 0.15, kind       # chance is 0.1
    for kind in ("mc_dropout", "bayesian"):
        rotated = summary["lenet"]["rotated"][kind]
        assert all(0 <= m <= e + 1e-6 for m, e in zip(rotated["mutual_information"], rotated["entropy"]))
    elbo = summary["vae"]["test_elbo"]
    assert math.isfinite(elbo) and -1000 < elbo < 0
    assert summary["dcgan"]["sample_std"] > 0.01 and all(map(math.isfinite, summary["dcgan"]["losses"][-1]))
