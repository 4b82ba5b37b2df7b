"""Shared hypothesis strategies: shapes that broadcast, axes, and values in an op's domain.

Shapes come from hypothesis (so failures shrink to the smallest shape); values
are drawn from a NumPy generator seeded by hypothesis. That keeps values
continuous and away from an op's kinks (relu at 0, ties in max) almost surely,
which plain float strategies, fond of 0.0 and repeated values, would not.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

MAX_DIMS = 3
MAX_SIDE = 3


def shapes(min_dims: int = 0, max_dims: int = MAX_DIMS, min_side: int = 1) -> st.SearchStrategy:
    """Array shapes, 0-d scalars and size-1 axes included."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=MAX_SIDE)


def broadcastable_shapes(count: int) -> st.SearchStrategy:
    """``count`` mutually broadcastable shapes (size-1 axes, missing leading axes, scalars)."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=count, min_dims=0, max_dims=MAX_DIMS, max_side=MAX_SIDE
    ).map(lambda result: result.input_shapes)


def generators() -> st.SearchStrategy:
    """A NumPy generator whose seed hypothesis chooses (and replays on failure)."""
    return st.integers(0, 2**32 - 1).map(np.random.default_rng)


@st.composite
def reduction_axes(draw, ndim: int, allow_none: bool = True):
    """None, one axis (possibly negative) or a tuple of distinct axes of an ``ndim``-d array."""
    options = [st.none()] if allow_none or ndim == 0 else []
    if ndim > 0:
        options.append(st.integers(-ndim, ndim - 1))
        options.append(
            st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple)
        )
    return draw(st.one_of(options))


# Domains: where an op's inputs may be drawn so that it is smooth there.
def real(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    return rng.uniform(-2.0, 2.0, size=shape)


def positive(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    return rng.uniform(0.3, 3.0, size=shape)


def away_from_zero(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    """|x| in [0.2, 2] with a random sign: off the kink of relu, abs and friends."""
    return rng.uniform(0.2, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def above_minus_one(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    return rng.uniform(-0.7, 2.0, size=shape)


def well_conditioned(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    """Square matrices (..., n, n) with a dominant diagonal: invertible, modest condition number."""
    n = shape[-1]
    return rng.uniform(-1.0, 1.0, size=shape) + (n + 1) * np.eye(n)


def spd(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    """Symmetric positive definite matrices (..., n, n): M M^T + n I."""
    n = shape[-1]
    m = rng.uniform(-1.0, 1.0, size=shape)
    return m @ np.swapaxes(m, -1, -2) + n * np.eye(n)


def triangular(rng: np.random.Generator, shape: tuple, lower: bool) -> np.ndarray:
    """Matrices whose ``lower`` (or upper) triangle is well conditioned, diagonal |d| in [1, 2].

    The other triangle holds junk, which a triangular solve must ignore.
    """
    n = shape[-1]
    junk = rng.uniform(-1.0, 1.0, size=shape)
    diagonal = rng.uniform(1.0, 2.0, size=shape[:-1]) * rng.choice([-1.0, 1.0], size=shape[:-1])
    body = np.tril(junk, -1) if lower else np.triu(junk, 1)
    other = np.triu(junk, 1) if lower else np.tril(junk, -1)
    return body + other + diagonal[..., None] * np.eye(n)


def matrix_stacks(min_n: int = 1, max_n: int = 4, max_batch_dims: int = 1) -> st.SearchStrategy:
    """Shapes (..., n, n) of a square matrix or a small stack of them."""
    return st.tuples(
        st.lists(st.integers(1, 2), max_size=max_batch_dims).map(tuple), st.integers(min_n, max_n)
    ).map(lambda parts: parts[0] + (parts[1], parts[1]))
