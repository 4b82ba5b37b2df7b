"""The wine BNN demo in quick mode: the three models predict quality, and the BNN's spread shrinks with data."""

from __future__ import annotations

from demos import wine_bnn as demo


def test_quick_run_scores_the_models_and_the_spread_shrinks_with_data(tmp_path):
    summary = demo.main(["--quick", "--epochs", "12", "--out", str(tmp_path)])
    for name in ("wine_scores.png", "wine_spread.png", "wine_predictions.png"):
        assert (tmp_path / name).stat().st_size > 10_000, name
    scores = summary["summary"]
    # the quality score has a standard deviation of 0.89: every model explains part of it
    assert all(0.6 < s["rmse"][0] < 0.85 for s in scores.values())
    assert scores["bnn"]["nll"][0] < 1.3
    spreads = [summary["spreads"][f] for f in demo.FRACTIONS]
    assert spreads[0] > spreads[1] > spreads[2] > 0
