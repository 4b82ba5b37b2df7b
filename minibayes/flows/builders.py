"""Ready-made flows: a RealNVP stack and a MAF stack, as the demos and benchmarks use them."""

from __future__ import annotations

from .actnorm import ActNorm
from .autoregressive import MaskedAutoregressive
from .bijector import Bijector, check_dim
from .coupling import AffineCoupling, alternating_mask
from .flow import Flow
from .linear import Permutation

__all__ = ["make_realnvp", "make_maf"]


def make_realnvp(dim: int, n_layers: int = 8, hidden: int | tuple[int, ...] = (64, 64), *, masks=None,
                 actnorm: bool = False, preprocess: list[Bijector] | None = None, scale_bound: float | None = 3.0,
                 dtype: object = None, validate_args: bool = True) -> Flow:
    """RealNVP (Dinh et al. 2017): ``n_layers`` affine couplings with alternating masks (flipped each layer).

    Parameters
    ----------
    dim : int
        D >= 2.
    masks : sequence of arrays, optional
        One mask per layer instead of the alternating ones (e.g. checkerboards for images).
    actnorm : bool
        An ActNorm before each coupling (Glow's step of flow).
    preprocess : list of Bijector, optional
        Bijectors applied to the data first (e.g. ``[LogitTransform(784)]``).
    """
    dim = check_dim(dim, "dim", "make_realnvp", minimum=2)
    n_layers = check_dim(n_layers, "n_layers", "make_realnvp")
    if masks is None:
        masks = [alternating_mask(dim, flip=bool(k % 2)) for k in range(n_layers)]
    elif len(masks) != n_layers:
        raise ValueError(f"make_realnvp: masks must hold one mask per layer ({n_layers}), got {len(masks)}")
    links: list[Bijector] = list(preprocess or [])
    for mask in masks:
        if actnorm:
            links.append(ActNorm(dim, dtype=dtype))
        links.append(AffineCoupling(mask, hidden, scale_bound=scale_bound, dtype=dtype))
    return Flow(None, links, validate_args=validate_args)


def make_maf(dim: int, n_layers: int = 5, hidden: tuple[int, ...] = (64, 64), *, scale_bound: float | None = 3.0,
             dtype: object = None, validate_args: bool = True) -> Flow:
    """MAF (Papamakarios et al. 2017): ``n_layers`` MADE layers with the order reversed between them."""
    dim = check_dim(dim, "dim", "make_maf", minimum=2)
    n_layers = check_dim(n_layers, "n_layers", "make_maf")
    links: list[Bijector] = []
    for k in range(n_layers):
        if k:
            links.append(Permutation(dim, "reverse"))
        links.append(MaskedAutoregressive(dim, hidden, scale_bound=scale_bound, dtype=dtype))
    return Flow(None, links, validate_args=validate_args)
