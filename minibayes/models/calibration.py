"""Calibration of a classifier's probabilities: reliability bins and the expected calibration error.

Guo et al. (2017), "On calibration of modern neural networks", eqs. 2-3: split the test points by
their confidence (the largest predicted probability) into M equal-width bins B_m;
acc(B_m) is the fraction of correct predictions in the bin and conf(B_m) their mean confidence;

    ECE = sum_m |B_m| / n * |acc(B_m) - conf(B_m)|.

A perfectly calibrated classifier has acc = conf in every bin and ECE = 0.
"""

from __future__ import annotations

from typing import NamedTuple

from .. import backend

__all__ = ["ReliabilityBins", "reliability_bins", "expected_calibration_error"]


class ReliabilityBins(NamedTuple):
    """Per bin (shape (n_bins,) each): number of points, accuracy and mean confidence (NaN when empty)."""

    counts: object
    accuracy: object
    confidence: object
    edges: object


def _check(probabilities: object, labels: object, n_bins: int) -> tuple:
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive int, got {n_bins!r}")
    probabilities = backend.asarray(probabilities)
    xp = backend.array_module(probabilities)
    labels = xp.asarray(backend.asarray(labels))
    if probabilities.ndim != 2 or labels.shape != (probabilities.shape[0],) or probabilities.shape[0] < 1:
        raise ValueError(f"probabilities must have shape (n, classes) with n >= 1 and labels (n,), got "
                         f"{probabilities.shape} and {labels.shape}")
    # An evaluation, not a training step: reading these checks back is fine.
    if labels.dtype.kind not in "iu" or bool((labels < 0).any()) or bool((labels >= probabilities.shape[1]).any()):
        raise ValueError(f"labels must be integers in [0, {probabilities.shape[1]}), got {labels.dtype} values")
    if not bool(xp.isfinite(probabilities).all()) or bool((probabilities < 0).any()) \
            or not bool(xp.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)):
        raise ValueError("probabilities must be finite, >= 0 and sum to 1 along each row (apply softmax to logits)")
    return probabilities, labels, xp


def reliability_bins(probabilities: object, labels: object, n_bins: int = 15) -> ReliabilityBins:
    """The bins of a reliability diagram; bin m holds confidences in (m / M, (m + 1) / M]."""
    probabilities, labels, xp = _check(probabilities, labels, n_bins)
    confidence = probabilities.max(axis=1)
    correct = (probabilities.argmax(axis=1) == labels).astype(probabilities.dtype)
    # ceil(conf * M) - 1: right-closed bins, so a confidence of exactly 1 falls in the last one.
    index = xp.clip(xp.ceil(confidence * n_bins).astype(xp.int64) - 1, 0, n_bins - 1)
    counts = xp.bincount(index, minlength=n_bins)
    safe = xp.maximum(counts, 1)
    accuracy = xp.where(counts > 0, xp.bincount(index, weights=correct, minlength=n_bins) / safe, xp.nan)
    mean_confidence = xp.where(counts > 0, xp.bincount(index, weights=confidence, minlength=n_bins) / safe, xp.nan)
    return ReliabilityBins(counts, accuracy, mean_confidence, xp.linspace(0.0, 1.0, n_bins + 1))


def expected_calibration_error(probabilities: object, labels: object, n_bins: int = 15) -> float:
    """ECE (Guo et al. 2017, eq. 3) with ``n_bins`` equal-width confidence bins."""
    bins = reliability_bins(probabilities, labels, n_bins)
    xp = backend.array_module(bins.counts)
    filled = bins.counts > 0
    gaps = xp.abs(bins.accuracy[filled] - bins.confidence[filled])
    return float((bins.counts[filled] * gaps).sum() / bins.counts.sum())
