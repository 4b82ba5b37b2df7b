"""The Bayesian RNN demo in quick mode: the figure, a falling objective, bands widening past the data."""

from __future__ import annotations

from demos import bayesian_rnn as demo


def test_quick_run_trains_and_the_band_widens_past_the_training_horizon(tmp_path):
    summary = demo.main(["--quick", "--out", str(tmp_path)])
    assert (tmp_path / "bayesian_rnn_forecast.png").stat().st_size > 10_000
    assert summary["history"][-1] < 0.5 * summary["history"][0]
    assert summary["band_far"] > 3 * summary["band_inside"]
