"""The host random generator behind every data helper that draws numbers.

Data generators and loaders run on the host (NumPy), whatever the active
backend: the numbers they draw must not depend on whether a GPU is present.
"""

from __future__ import annotations

import numpy

from .. import backend


def host_generator(seed: object, name: str = "seed") -> numpy.random.Generator:
    """A NumPy ``Generator`` for ``seed``.

    Parameters
    ----------
    seed : None, int or numpy.random.Generator
        An int gives a fresh generator seeded with it; a ``Generator`` is used
        as it is. ``None`` draws a seed from the backend's NumPy generator, so
        that ``minibayes.seed(k)`` makes the draw reproducible (house rule 8:
        no randomness outside the seeded backend RNG).
    name : str
        The argument's name, for the error message.
    """
    if isinstance(seed, numpy.random.Generator):
        return seed
    if seed is None:
        # rng("numpy") even on CuPy: host data must not change with the device.
        return numpy.random.default_rng(int(backend.rng("numpy").integers(2**63)))
    if isinstance(seed, bool) or not isinstance(seed, (int, numpy.integer)) or seed < 0:
        raise ValueError(f"{name} must be None, a non-negative int or a numpy Generator, got {seed!r}")
    return numpy.random.default_rng(int(seed))


def check_positive_int(value: object, name: str) -> int:
    """``value`` as an int, or a TypeError/ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)):
        raise TypeError(f"{name} must be a positive int, got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int, got {value}")
    return int(value)
