"""The shipped UCI Wine Quality files load with their documented shapes and values."""

import numpy as np
import pytest

from minibayes.data import WINE_QUALITY_FEATURES, load_wine_quality
from minibayes.data import wine


def test_white_and_red_sets_have_the_uci_shapes_and_first_rows():
    X, y = load_wine_quality("white")
    assert X.shape == (4898, 11) and y.shape == (4898,)
    np.testing.assert_array_equal(X[0], [7, 0.27, 0.36, 20.7, 0.045, 45, 170, 1.001, 3, 0.45, 8.8])
    assert y[0] == 6 and set(np.unique(y)) == {3, 4, 5, 6, 7, 8, 9}
    X_red, y_red = load_wine_quality("red")
    assert X_red.shape == (1599, len(WINE_QUALITY_FEATURES)) and 3 <= y_red.min() and y_red.max() <= 8
    assert np.isfinite(X).all() and np.isfinite(X_red).all()


def test_attribution_ships_beside_the_files():
    text = (wine._DIRECTORY / "WINE_QUALITY_LICENSE").read_text()
    assert "Cortez" in text and "CC BY 4.0" in text


def test_unknown_colour_is_named():
    with pytest.raises(ValueError, match="colour"):
        load_wine_quality("rose")
