"""The Old Faithful geyser data: 272 eruptions, the running example of PRML chapter 9.

Shipped as ``old_faithful.csv`` (header ``eruptions,waiting``, 272 rows), a
copy of R's ``datasets::faithful``: eruption duration and waiting time to the
next eruption, both in minutes, at Old Faithful geyser, Yellowstone National
Park. Sources given by R: W. Härdle (1991), *Smoothing Techniques with
Implementation in S*, Springer; A. Azzalini and A. W. Bowman (1990), "A look at
some data on the Old Faithful geyser", Applied Statistics 39, 357-365. The
values were converted from the R data set's CSV export (as distributed in the
``pydataset`` package), dropping the row-number column and keeping every value
unchanged; eruptions are written with R's three decimals.
"""

from __future__ import annotations

from pathlib import Path

import numpy

__all__ = ["OLD_FAITHFUL_PATH", "old_faithful"]

OLD_FAITHFUL_PATH = Path(__file__).with_name("old_faithful.csv")


def old_faithful(standardize: bool = False) -> numpy.ndarray:
    """The Old Faithful data as a host array.

    Parameters
    ----------
    standardize : bool
        When True, each column is shifted and scaled to mean 0 and variance 1
        (population variance, ddof=0), as in PRML Figure 9.1, where both axes
        are rescaled so that K-means' Euclidean distance weighs them alike.

    Returns
    -------
    numpy.ndarray of shape (272, 2), float64
        Column 0: eruption duration (minutes); column 1: waiting time to the
        next eruption (minutes).
    """
    data = numpy.loadtxt(OLD_FAITHFUL_PATH, delimiter=",", skiprows=1, dtype=numpy.float64)
    if standardize:
        data = (data - data.mean(axis=0)) / data.std(axis=0)
    return data
