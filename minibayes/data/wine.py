"""The UCI Wine Quality data: 11 physico-chemical measurements and a quality score per wine.

Shipped as ``winequality-white.csv`` (4,898 wines) and ``winequality-red.csv`` (1,599), with
their attribution in ``WINE_QUALITY_LICENSE`` beside them: P. Cortez, A. Cerdeira, F. Almeida,
T. Matos and J. Reis, "Modeling wine preferences by data mining from physicochemical
properties", Decision Support Systems 47(4):547-553, 2009; UCI Machine Learning Repository,
"Wine Quality", CC BY 4.0. The values are those of the UCI files, comma-separated with one
header line. The white set is the data of the course's Bayesian-network notebook (lecture 000);
Gal & Ghahramani (2016, Table 1) report MC dropout on the red one.
"""

from __future__ import annotations

from pathlib import Path

import numpy

__all__ = ["WINE_QUALITY_FEATURES", "load_wine_quality"]

_DIRECTORY = Path(__file__).parent
WINE_QUALITY_FEATURES = (
    "fixed acidity", "volatile acidity", "citric acid", "residual sugar", "chlorides", "free sulfur dioxide",
    "total sulfur dioxide", "density", "pH", "sulphates", "alcohol",
)


def load_wine_quality(colour: str = "white") -> tuple[numpy.ndarray, numpy.ndarray]:
    """(X, y) of the white or red wines: X float64 of shape (n, 11), y the quality score (n,), float64.

    Parameters
    ----------
    colour : "white" (4,898 wines) or "red" (1,599)
    """
    if colour not in ("white", "red"):
        raise ValueError(f"load_wine_quality: colour must be 'white' or 'red', got {colour!r}")
    path = _DIRECTORY / f"winequality-{colour}.csv"
    with open(path, encoding="ascii") as handle:
        header = handle.readline().strip().split(",")
        if tuple(header[:-1]) != WINE_QUALITY_FEATURES or header[-1] != "quality":
            raise ValueError(f"load_wine_quality: unexpected header in {path}: {header}")
        table = numpy.loadtxt(handle, delimiter=",", dtype=numpy.float64, ndmin=2)
    return table[:, :-1].copy(), table[:, -1].copy()
