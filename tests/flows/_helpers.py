"""Small float64 bijectors with every parameter moved off its initial value (non-zero scales and shifts)."""

from __future__ import annotations

import numpy as np

import minibayes as mb
from minibayes import flows

KINDS = ("coupling_alternating", "coupling_half", "coupling_random_mask", "maf", "actnorm", "reverse",
         "random_permutation", "lu_linear", "chain")


def perturb(module, rng, scale: float = 0.4) -> None:
    """Add noise to every parameter, so that s, t, mu, alpha, log-scales are all non-zero."""
    for parameter in module.parameters():
        parameter.data[...] += scale * rng.standard_normal(parameter.shape)


def random_mask(dim: int, rng) -> np.ndarray:
    mask = np.zeros(dim)
    mask[rng.choice(dim, size=rng.integers(1, dim), replace=False)] = 1.0
    return mask


def make_bijector(kind: str, dim: int, rng):
    """A float64 bijector of event dimension ``dim`` (>= 2) with perturbed parameters, in eval mode."""
    seed = int(rng.integers(0, 2**31))
    # The networks' initial weights come from the backend generator: seed it from rng, so that an
    # example hypothesis reports replays exactly, whatever ran before it.
    mb.seed(seed)
    if kind == "coupling_alternating":
        bijector = flows.AffineCoupling(flows.alternating_mask(dim), hidden=6, activation="tanh", dtype="float64")
    elif kind == "coupling_half":
        bijector = flows.AffineCoupling(flows.half_mask(dim, flip=True), hidden=(5, 4), dtype="float64")
    elif kind == "coupling_random_mask":
        bijector = flows.AffineCoupling(random_mask(dim, rng), hidden=5, activation="tanh", dtype="float64")
    elif kind == "maf":
        bijector = flows.MaskedAutoregressive(dim, hidden=(dim + 2,), dtype="float64")
    elif kind == "actnorm":
        bijector = flows.ActNorm(dim, dtype="float64")
        bijector.initialize(rng.normal(1.0, 2.0, size=(7, dim)))
    elif kind == "reverse":
        bijector = flows.Permutation(dim, "reverse")
    elif kind == "random_permutation":
        bijector = flows.Permutation(dim, "random", random_state=seed)
    elif kind == "lu_linear":
        bijector = flows.InvertibleLinear(dim, random_state=seed, dtype="float64")
    elif kind == "chain":
        actnorm = flows.ActNorm(dim, dtype="float64")
        actnorm.initialize(rng.normal(size=(5, dim)))
        bijector = flows.Chain([
            flows.AffineCoupling(flows.alternating_mask(dim), hidden=5, activation="tanh", dtype="float64"),
            actnorm, flows.InvertibleLinear(dim, random_state=seed, dtype="float64"),
            flows.Permutation(dim, "random", random_state=seed + 1),
            flows.MaskedAutoregressive(dim, hidden=(dim + 1,), dtype="float64"),
            flows.AffineCoupling(flows.alternating_mask(dim, flip=True), hidden=5, dtype="float64"),
        ])
    else:
        raise AssertionError(kind)
    perturb(bijector, rng)
    return bijector.eval()
