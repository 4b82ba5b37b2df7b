"""Expected calibration error against a direct loop over bins."""

import numpy as np
import pytest

from minibayes.models.calibration import expected_calibration_error, reliability_bins


def loop_ece(probabilities, labels, n_bins):
    confidence, predicted = probabilities.max(1), probabilities.argmax(1)
    total = 0.0
    for m in range(n_bins):
        lo, hi = m / n_bins, (m + 1) / n_bins
        inside = (confidence > lo) & (confidence <= hi)
        if inside.any():
            total += inside.sum() / len(labels) * abs((predicted[inside] == labels[inside]).mean()
                                                      - confidence[inside].mean())
    return total


@pytest.mark.parametrize("n_bins", [1, 10, 15])
def test_ece_matches_a_direct_loop(n_bins):
    rng = np.random.default_rng(n_bins)
    logits = rng.normal(size=(500, 4)) * 2
    probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = rng.integers(0, 4, 500)
    assert expected_calibration_error(probabilities, labels, n_bins) == pytest.approx(
        loop_ece(probabilities, labels, n_bins), rel=1e-12)
    bins = reliability_bins(probabilities, labels, n_bins)
    assert bins.counts.sum() == 500


def test_a_calibrated_one_hot_classifier_has_zero_ece_and_bad_input_is_named():
    labels = np.array([0, 1, 2, 1])
    assert expected_calibration_error(np.eye(3)[labels], labels) == 0.0
    assert expected_calibration_error(np.eye(3)[(labels + 1) % 3], labels) == 1.0
    with pytest.raises(ValueError, match="n_bins"):
        expected_calibration_error(np.eye(3)[labels], labels, 0)
    with pytest.raises(ValueError, match="labels"):
        expected_calibration_error(np.eye(3)[labels], labels[:2])
    with pytest.raises(ValueError, match="labels must be integers in"):
        expected_calibration_error(np.eye(3)[labels], np.array([0, 1, 3, 1]))
    with pytest.raises(ValueError, match="sum to 1"):
        expected_calibration_error(np.full((4, 3), 2.0), labels)          # logits, not probabilities
    with pytest.raises(ValueError, match="n >= 1"):
        expected_calibration_error(np.zeros((0, 3)), np.zeros(0, dtype=int))
