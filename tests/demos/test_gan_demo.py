"""The GAN demo in quick mode: its figures exist and its numbers are those of the quantities it names."""

from __future__ import annotations

import math

import numpy as np

import minibayes as mb
from demos import gan as demo

FIGURES = ("gan_1d.png", "gan_ring.png", "gan_ring_coverage.png", "gan_fashion_samples.png", "gan_fashion_losses.png")


def test_quick_run_writes_the_figures_and_its_numbers_hold(tmp_path):
    summary = demo.main(["--quick", "--ring-iterations", "20", "--oned-iterations", "150", "--out", str(tmp_path)])
    for name in FIGURES:
        assert (tmp_path / name).stat().st_size > 10_000, name
    assert mb.get_backend() == "numpy"
    one_d = summary["one_d"]
    # Learning: the generator's density moves towards the data (JSD by quadrature falls).
    assert one_d["jsd"][-1] < 0.5 * one_d["jsd"][0]
    # eq. 6 at every stage: C(G) = -log 4 + 2 JSD, and no discriminator beats D* (Proposition 1).
    for jsd, criterion, value in zip(one_d["jsd"], one_d["criterion"], one_d["value"]):
        assert abs(criterion - (-math.log(4) + 2 * jsd)) < 1e-3
        assert value <= criterion + 1e-9
    assert summary["true_ring"].modes_captured == 8 and summary["true_ring"].high_quality_fraction > 0.97
    for variant in demo.VARIANTS:
        (coverage,) = summary["ring"][variant]
        assert 0 <= coverage.modes_captured <= 8 and 0 <= coverage.high_quality_fraction <= 1
    fashion = summary["fashion"]
    iterations = fashion["images"] // 64
    assert len(fashion["discriminator_loss"]) == len(fashion["generator_loss"]) == iterations
    assert np.all(np.isfinite(fashion["discriminator_loss"]))
    assert np.abs(fashion["samples"]).max() <= 1.0                   # tanh output, the data's range [-1, 1]
