"""The Bayes by Backprop demo in quick mode: figures, a band that widens away from the data, exact pruning."""

from __future__ import annotations

from demos import bayes_by_backprop as demo


def test_quick_run_writes_the_figures_and_the_band_widens_off_the_data(tmp_path):
    summary = demo.main(["--quick", "--epochs", "1", "--regression-steps", "400", "--out", str(tmp_path)])
    for name in ("bbb_regression.png", "bbb_snr_histogram.png", "bbb_classification.png"):
        assert (tmp_path / name).stat().st_size > 10_000, name
    regression = summary["regression"]
    assert regression["iqr_far"] > 2 * regression["iqr_inside"]        # Figure 5's widening band
    classification = summary["classification"]
    for result in classification["results"].values():
        assert result["accuracy"] > 0.5 and 0 <= result["ece"] <= 1 and result["nll"] > 0
    removed = [row["removed"] for row in classification["pruning"]]
    assert removed == [round(f * 477_600) for f in demo.PRUNE_FRACTIONS]
