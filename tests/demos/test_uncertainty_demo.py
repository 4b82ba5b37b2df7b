"""The uncertainty demo in quick mode: the bands behave as Kendall & Gal describe, the images part
scores its three classifiers, and the UCI part follows the protocol."""

from __future__ import annotations

from demos import uncertainty as demo


def test_quick_regression_and_images(tmp_path):
    summary = demo.main(["--quick", "--parts", "regression,images", "--epochs", "1", "--regression-steps", "500",
                         "--out", str(tmp_path)])
    for name in ("regression_uncertainty.png", "rotated_image.png", "reliability.png", "uncertain_images.png"):
        assert (tmp_path / name).stat().st_size > 10_000, name
    panels = summary["regression"]
    small, large = panels["homoscedastic, small noise"], panels["homoscedastic, large noise"]
    # the aleatoric part is the noise the model was given; epistemic grows away from the data
    assert abs(small["aleatoric_std_on_data"] - 0.05) < 1e-6 and abs(large["aleatoric_std_on_data"] - 0.3) < 1e-6
    for panel in panels.values():
        assert panel["epistemic_std_far"] > 1.5 * panel["epistemic_std_on_data"]
    left, right = panels["heteroscedastic"]["aleatoric_std_left_right"]
    assert right > 1.5 * left                                    # the learned noise grows with x
    results = summary["classification"]["results"]
    assert set(results) == {"deterministic", "mc_dropout", "logit_noise"}
    assert all(r["accuracy"] > 0.5 and 0 <= r["ece"] <= 1 for r in results.values())
    rotation = summary["classification"]["rotation"]
    assert min(rotation["mutual_information"]) >= 0


def test_quick_uci_protocol_scores_the_three_models(tmp_path):
    summary = demo.main(["--quick", "--parts", "uci", "--uci-splits", "2", "--out", str(tmp_path)])
    assert (tmp_path / "uci.png").stat().st_size > 10_000
    uci = summary["uci"]
    for model in ("MC dropout", "plain network", "Bayesian linear"):
        rmse, _ = uci[f"wine-red/{model}"]["rmse"]
        log_likelihood, _ = uci[f"wine-red/{model}"]["log_likelihood"]
        assert 0.5 < rmse < 0.8 and -1.5 < log_likelihood < -0.7      # quality scores of sd 0.81
        assert uci[f"diabetes/{model}"]["rmse"][0] < 80                 # target sd 77
