"""Normalising flows: bijectors with exact log-determinants and the flow distribution (lecture 000, row 51).

Read in this order: ``bijector.py`` (the contract and the chain), ``coupling.py`` (RealNVP),
``autoregressive.py`` (MADE, MAF), ``actnorm.py``, ``linear.py`` (permutation, LU linear map),
``image.py`` (dequantisation, logit, bits per dimension), ``flow.py`` (the distribution).
"""

from .actnorm import ActNorm
from .autoregressive import MADE, MaskedAutoregressive, made_masks
from .bijector import Bijector, Chain
from .coupling import AffineCoupling, alternating_mask, channel_mask, checkerboard_mask, half_mask
from .flow import Flow
from .image import LogitTransform, bits_per_dim, dequantize
from .linear import InvertibleLinear, Permutation
from .builders import make_maf, make_realnvp

__all__ = [
    "Bijector", "Chain", "AffineCoupling", "half_mask", "alternating_mask", "checkerboard_mask", "channel_mask",
    "MADE", "MaskedAutoregressive", "made_masks", "ActNorm", "Permutation", "InvertibleLinear",
    "LogitTransform", "dequantize", "bits_per_dim", "Flow", "make_realnvp", "make_maf",
]
