"""RealNVP's affine coupling layer and its masks (Dinh, Sohl-Dickstein & Bengio 2017, section 3).

With a binary mask b (1 on the part A that is kept, 0 on the part B that is transformed),

    z = b * x + (1 - b) * (x * exp(s(b * x)) + t(b * x))           (Dinh et al. eq. 9)
    log |det dz/dx| = sum_j (1 - b_j) s_j(b * x)                     (eq. 6: the Jacobian is triangular)
    x = b * z + (1 - b) * (z - t(b * z)) * exp(-s(b * z))           (eq. 8: z_A = x_A, so s and t are known)

s and t come from one network that never needs inverting, so it can be any network.
"""

from __future__ import annotations

import numpy

from .. import backend
from ..autograd import ops
from ..autograd.tensor import Tensor
from ..nn.layers import Dense, ReLU, Tanh
from ..nn.module import Sequential
from .bijector import Bijector, check_dim, sum_event

__all__ = ["AffineCoupling", "half_mask", "alternating_mask", "checkerboard_mask", "channel_mask", "check_mask"]

ACTIVATIONS = {"relu": ReLU, "tanh": Tanh}


def half_mask(dim: int, flip: bool = False) -> numpy.ndarray:
    """1 on the first half of the coordinates (the first floor(D/2)), 0 on the rest; ``flip`` swaps them."""
    dim = check_dim(dim, "dim", "half_mask", minimum=2)
    mask = (numpy.arange(dim) < dim // 2).astype(numpy.float64)
    return 1.0 - mask if flip else mask


def alternating_mask(dim: int, flip: bool = False) -> numpy.ndarray:
    """1 on even coordinates, 0 on odd ones (``flip`` swaps): every coordinate's neighbours condition it."""
    dim = check_dim(dim, "dim", "alternating_mask", minimum=2)
    mask = (numpy.arange(dim) % 2 == 0).astype(numpy.float64)
    return 1.0 - mask if flip else mask


def checkerboard_mask(height: int, width: int, channels: int = 1, flip: bool = False) -> numpy.ndarray:
    """Dinh et al. Figure 3 (left): 1 where (row + column) is even, flattened channel-major (C, H, W)."""
    height, width = check_dim(height, "height", "checkerboard_mask"), check_dim(width, "width", "checkerboard_mask")
    channels = check_dim(channels, "channels", "checkerboard_mask")
    if height * width < 2:
        raise ValueError(f"checkerboard_mask: an image of {height} x {width} pixels has nothing to split")
    board = (numpy.add.outer(numpy.arange(height), numpy.arange(width)) % 2 == 0).astype(numpy.float64)
    mask = numpy.broadcast_to(board, (channels, height, width)).reshape(-1)
    return 1.0 - mask if flip else mask.copy()


def channel_mask(channels: int, height: int, width: int, flip: bool = False) -> numpy.ndarray:
    """Dinh et al. Figure 3 (right): 1 on the first half of the channels, flattened channel-major (C, H, W)."""
    channels = check_dim(channels, "channels", "channel_mask", minimum=2)
    height, width = check_dim(height, "height", "channel_mask"), check_dim(width, "width", "channel_mask")
    mask = numpy.repeat((numpy.arange(channels) < channels // 2).astype(numpy.float64), height * width)
    return 1.0 - mask if flip else mask


def check_mask(mask: object, owner: str) -> numpy.ndarray:
    """``mask`` as a float64 host vector of zeros and ones holding at least one of each, else a ValueError."""
    values = backend.to_numpy(mask.data if isinstance(mask, Tensor) else mask)
    values = numpy.asarray(values)
    if values.ndim != 1 or values.size < 2:
        raise ValueError(f"{owner}: mask must be a vector of length D >= 2, got shape {values.shape}")
    if values.dtype.kind not in "fiub" or not numpy.all((values == 0) | (values == 1)):
        raise ValueError(f"{owner}: mask must be binary (only 0 and 1), got values {numpy.unique(values)[:5]}")
    if values.all() or not values.any():
        raise ValueError(f"{owner}: mask must hold at least one 0 (transformed) and one 1 (kept); "
                         f"got all {int(values[0])}")
    return values.astype(numpy.float64)


class AffineCoupling(Bijector):
    """Affine coupling z_B = x_B exp(s(x_A)) + t(x_A), z_A = x_A, log_det = sum_B s  (Dinh et al. eqs. 6-9).

    Parameters
    ----------
    mask : array of shape (D,), binary
        b: 1 on the coordinates that are kept and condition the rest, 0 on those transformed.
    hidden : int or sequence of int
        Widths of the hidden layers of the network x_A -> (s, t).
    scale_bound : float or None
        s is soft-clamped to (-bound, bound) by bound * tanh(raw / bound): exp(s) stays within
        exp(+-bound), so neither training nor sampling can overflow, while the clamp keeps a
        gradient and is close to the identity for |raw| << bound. ``None`` disables it.
    activation : "relu" or "tanh"
    dtype : dtype, optional
        Parameter dtype (the default dtype when omitted).

    The network's last layer starts at zero, so a new layer is the identity (s = t = 0): a deep
    flow starts as the base distribution instead of a random warp of it.
    """

    def __init__(self, mask: object, hidden: int | tuple[int, ...] = 64, scale_bound: float | None = 3.0,
                 activation: str = "relu", dtype: object = None) -> None:
        mask = check_mask(mask, "AffineCoupling")
        super().__init__(mask.size)
        widths = (hidden,) if isinstance(hidden, int) or hasattr(hidden, "__index__") else tuple(hidden)
        widths = tuple(check_dim(width, "hidden", "AffineCoupling") for width in widths)
        if not widths:
            raise ValueError("AffineCoupling: hidden must name at least one hidden width")
        if scale_bound is not None and (isinstance(scale_bound, bool) or not isinstance(scale_bound, (int, float))
                                        or not 0 < scale_bound < numpy.inf):
            raise ValueError(f"AffineCoupling: scale_bound must be a positive number or None, got {scale_bound!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"AffineCoupling: activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}")
        dtype = numpy.dtype(backend.get_default_dtype() if dtype is None else dtype)
        self.scale_bound, self.hidden = scale_bound, widths
        self.register_buffer("mask", backend.asarray(mask, dtype=dtype))
        sizes = (self.event_dim,) + widths
        layers = []
        for width_in, width_out in zip(sizes[:-1], sizes[1:]):
            layers += [Dense(width_in, width_out, dtype=dtype), ACTIVATIONS[activation]()]
        last = Dense(sizes[-1], 2 * self.event_dim, dtype=dtype)
        last.weight.data[...] = 0  # identity at initialisation (see the class docstring)
        self.net = Sequential(*layers, last)

    def scale_and_shift(self, kept: Tensor) -> tuple[Tensor, Tensor]:
        """(s, t), each (batch, D), zero on the kept coordinates; ``kept`` = b * x."""
        raw = self.net(kept)
        raw_s, t = raw[:, : self.event_dim], raw[:, self.event_dim:]
        if self.scale_bound is not None:
            raw_s = self.scale_bound * ops.tanh(raw_s / self.scale_bound)
        transformed = 1 - self.mask
        return raw_s * transformed, t * transformed

    def _forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        s, t = self.scale_and_shift(x * self.mask)
        # z_A = x_A because s = t = 0 there: one expression for both parts, no gather or scatter.
        return x * ops.exp(s) + t, sum_event(s)

    def _inverse(self, z: Tensor) -> tuple[Tensor, Tensor]:
        s, t = self.scale_and_shift(z * self.mask)
        return (z - t) * ops.exp(-s), -sum_event(s)

    def extra_repr(self) -> str:
        return f"event_dim={self.event_dim}, hidden={self.hidden}, scale_bound={self.scale_bound}"
