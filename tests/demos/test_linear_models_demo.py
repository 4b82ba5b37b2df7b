"""The linear-models demo in quick mode: six non-trivial figures and the numbers the book reports."""

from __future__ import annotations

import numpy as np

from demos import linear_models as demo

FIGURES = ("sequential_posterior.png", "predictive.png", "evidence_vs_order.png", "linear_bayes_fully_bayes.png",
           "gaussian_process.png", "logistic_predictive.png")


def test_quick_run_writes_the_figures_and_reproduces_the_book(tmp_path):
    summary = demo.main(["--quick", "--out", str(tmp_path)])
    for name in FIGURES:
        assert (tmp_path / name).stat().st_size > 20_000, name  # a plotted figure, not an empty canvas
    # Figure 3.14: the evidence prefers a middle order (PRML: M = 3), not the most flexible one.
    assert 3 <= summary["best_order"] <= 6
    assert summary["log_evidence"][9] < summary["log_evidence"][summary["best_order"]]
    # Figure 1.5: least squares' training error falls to ~0 at M = 9 while the test error does not.
    assert summary["train_rms"][9] < 1e-6 < 0.2 < summary["test_rms"][9]
    assert np.all(np.diff(summary["train_rms"]) <= 1e-12)
    # Figure 3.8: the predictive band narrows as data arrive.
    widths = summary["predictive_mean_std"]
    assert widths[1] > widths[2] > widths[4] > widths[25] > 0.2  # never below the noise, 1/sqrt(25)
    # Figure 3.7: 20 points pin (w_0, w_1) near the true (-0.3, 0.5).
    np.testing.assert_allclose(summary["sequential_posterior_mean"], [-0.3, 0.5], atol=0.15)
    assert summary["logistic_accuracy"] > 0.9
    assert summary["probit_vs_monte_carlo"] < 0.05  # probit approximation error plus Monte Carlo noise
    assert 0.01 < summary["gp_noise"] < 0.1  # the data's noise variance is 0.2^2 = 0.04
    assert summary["seconds"] < 60
