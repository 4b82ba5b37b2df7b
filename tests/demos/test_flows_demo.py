"""The flows demo in quick mode: its figures exist and its numbers obey what they measure."""

from __future__ import annotations

import math

import numpy as np

import minibayes as mb
from demos import flows as demo

FIGURES = ("flows_change_of_variables.png", "flows_moons_density.png", "flows_moons_samples.png",
           "flows_moons_layers_realnvp.png", "flows_moons_layers_maf.png", "flows_moons_training.png",
           "flows_fashion_samples.png")


def test_quick_run_writes_the_figures_and_its_numbers_hold(tmp_path):
    summary = demo.main(["--quick", "--moons-epochs", "4", "--fashion-epochs", "1", "--out", str(tmp_path)])
    for name in FIGURES:
        assert (tmp_path / name).stat().st_size > 10_000, name
    assert mb.get_backend() == "numpy"
    change = summary["change_of_variables"]
    assert abs(change["integral"] - 1) < 1e-4          # p_z(f(x)) |dz/dx| is a density
    assert change["histogram_error"] < 0.03            # and the pushed samples follow it
    moons = summary["moons"]
    # The generator's own density, by quadrature over its arcs: about 0.29 nats per point at noise 0.05.
    assert 0.2 < moons["true_nll"] < 0.35
    for name in ("realnvp", "maf"):
        test_nll = moons[name]["test_nll"]
        assert test_nll[-1] < test_nll[0] - 0.2        # learning, on a fresh draw
        assert test_nll[-1] > moons["true_nll"] - 0.05  # nothing beats the true density by much
    fashion = summary["fashion"]
    assert all(math.isfinite(b) for b in fashion["valid_bpd"]) and fashion["samples_finite"]
    assert fashion["valid_bpd"][fashion["best_epoch"]] == min(fashion["valid_bpd"][1:])   # the kept epoch
    assert min(fashion["valid_bpd"][1:]) < fashion["valid_bpd"][0]                       # training helped
    assert 0 < fashion["test_bpd"] < fashion["valid_bpd"][0] and fashion["test_bpd_median_image"] > 0
