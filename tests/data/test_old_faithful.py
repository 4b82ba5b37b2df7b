"""The shipped Old Faithful data: R's datasets::faithful, value for value."""

from __future__ import annotations

import numpy as np

from minibayes.data import old_faithful
from minibayes.data.old_faithful import OLD_FAITHFUL_PATH


def test_values_match_r_faithful():
    data = old_faithful()
    assert data.shape == (272, 2) and data.dtype == np.float64
    np.testing.assert_array_equal(data[0], [3.6, 79])
    np.testing.assert_array_equal(data[1], [1.8, 54])
    np.testing.assert_array_equal(data[-1], [4.467, 74])
    # R: colMeans(faithful) -> 3.487783 70.897059; range(faithful$eruptions) -> 1.6 5.1
    np.testing.assert_allclose(data.mean(axis=0), [3.487783, 70.897059], atol=5e-7)
    assert (data.min(axis=0) == [1.6, 43]).all() and (data.max(axis=0) == [5.1, 96]).all()
    assert (data[:, 1] == np.round(data[:, 1])).all()  # waiting times are whole minutes


def test_csv_layout():
    lines = OLD_FAITHFUL_PATH.read_text().splitlines()
    assert lines[0] == "eruptions,waiting" and lines[1] == "3.600,79" and len(lines) == 273


def test_standardized_columns():
    raw, scaled = old_faithful(), old_faithful(standardize=True)
    np.testing.assert_allclose(scaled.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(scaled.std(axis=0), 1.0, rtol=1e-12)
    # An affine map per column: correlation is unchanged.
    np.testing.assert_allclose(np.corrcoef(scaled.T)[0, 1], np.corrcoef(raw.T)[0, 1], rtol=1e-12)
