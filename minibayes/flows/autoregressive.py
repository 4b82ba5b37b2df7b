"""MADE and the masked autoregressive flow (Germain et al. 2015; Papamakarios, Pavlakou & Murray 2017).

MADE makes a dense network autoregressive by masking its weights: with degrees m(k) given to the
inputs (1..D), hidden units (1..D-1) and outputs (1..D), a connection from unit k to unit k' of
the next hidden layer is kept when m(k') >= m(k) (Germain et al. eq. 12), and to an output when
m(out) > m(k) (eq. 13). Output d then depends on x_1..x_{d-1} only.

MAF (Papamakarios et al. section 3.1) uses MADE's outputs as the mean and log-scale of each
coordinate given the ones before it:

    z_i = (x_i - mu_i(x_<i)) exp(-alpha_i(x_<i)),     log |det dz/dx| = -sum_i alpha_i      (eqs. 3-5)
    x_i = z_i exp(alpha_i(x_<i)) + mu_i(x_<i)                                               (eq. 2)

Density evaluation (x -> z) is one pass of MADE; sampling (z -> x) needs D passes, each fixing
one more coordinate.
"""

from __future__ import annotations

import numpy

from .. import backend
from ..autograd import ops
from ..autograd.tensor import Tensor
from ..nn.module import Module, Parameter
from ..nn import init as initializers
from .bijector import Bijector, check_dim, sum_event

__all__ = ["MADE", "MaskedAutoregressive", "made_masks"]


def made_masks(dim: int, hidden: tuple[int, ...], n_outputs_per_dim: int = 1) -> list[numpy.ndarray]:
    """Germain et al. eqs. 12-13 with degrees 1..D on the inputs and hidden degrees cycling through 1..D-1.

    Returns one (in, out) 0/1 matrix per layer: the hidden layers' masks, then the output mask
    repeated ``n_outputs_per_dim`` times along its columns (output block k, column d is for x_d).
    Cycling the hidden degrees (rather than drawing them) gives every degree the same number of units.
    """
    degrees = [numpy.arange(1, dim + 1)]
    for width in hidden:
        degrees.append(numpy.arange(width) % max(dim - 1, 1) + 1)
    masks = [(later[None, :] >= earlier[:, None]).astype(numpy.float64) for earlier, later in zip(degrees[:-1], degrees[1:])]
    output = (numpy.arange(1, dim + 1)[None, :] > degrees[-1][:, None]).astype(numpy.float64)
    masks.append(numpy.tile(output, (1, n_outputs_per_dim)))
    return masks


class MaskedDense(Module):
    """z = x (W * M) + b: a dense layer whose weights outside the mask M are held at zero."""

    def __init__(self, mask: numpy.ndarray, dtype: object) -> None:
        super().__init__()
        self.register_buffer("mask", backend.asarray(mask, dtype=dtype))
        self.weight = Parameter(initializers.resolve("he")(mask.shape, dtype))
        self.bias = Parameter(backend.xp().zeros(mask.shape[1], dtype=dtype))

    def forward(self, x: Tensor) -> Tensor:
        return ops.linear(x, self.weight * self.mask, self.bias)


class MADE(Module):
    """Masked autoencoder for distribution estimation (Germain et al. 2015, section 4).

    Parameters
    ----------
    dim : int
        D >= 2, the number of inputs.
    hidden : sequence of int
        Hidden widths (each at least D - 1, so that every degree has a unit).
    n_outputs_per_dim : int
        K: the output has shape (batch, K * D), block k holding the k-th quantity for each x_d.
    dtype : dtype, optional

    Output d of every block depends only on x_1..x_{d-1} (so output 1 is a learned constant).
    """

    def __init__(self, dim: int, hidden: tuple[int, ...] = (64, 64), n_outputs_per_dim: int = 2,
                 dtype: object = None) -> None:
        super().__init__()
        self.dim = check_dim(dim, "dim", "MADE", minimum=2)
        hidden = (hidden,) if hasattr(hidden, "__index__") else tuple(hidden)
        if not hidden:
            raise ValueError("MADE: hidden must name at least one hidden width")
        self.hidden = tuple(check_dim(width, "hidden", "MADE", minimum=self.dim - 1) for width in hidden)
        self.n_outputs_per_dim = check_dim(n_outputs_per_dim, "n_outputs_per_dim", "MADE")
        dtype = numpy.dtype(backend.get_default_dtype() if dtype is None else dtype)
        masks = made_masks(self.dim, self.hidden, self.n_outputs_per_dim)
        for index, mask in enumerate(masks):
            setattr(self, f"layer{index}", MaskedDense(mask, dtype))
        self.n_layers = len(masks)
        last = getattr(self, f"layer{self.n_layers - 1}")
        last.weight.data[...] = 0  # a new MAF layer is the identity; training moves it away

    def forward(self, x: Tensor) -> Tensor:
        for index in range(self.n_layers):
            x = getattr(self, f"layer{index}")(x)
            if index < self.n_layers - 1:
                x = ops.relu(x)
        return x


class MaskedAutoregressive(Bijector):
    """One MAF layer: z = (x - mu(x)) exp(-alpha(x)), log_det = -sum alpha  (Papamakarios et al. eqs. 2-5).

    Parameters
    ----------
    dim : int
        D >= 2.
    hidden : sequence of int
        MADE's hidden widths.
    scale_bound : float or None
        alpha is soft-clamped to (-bound, bound) by bound * tanh(raw / bound) so that exp(+-alpha)
        cannot overflow in training or in sampling; ``None`` disables it.
    dtype : dtype, optional

    Stack layers with a ``Permutation`` between them (Papamakarios et al. reverse the order), so
    that each coordinate is conditioned on every other somewhere in the flow.
    """

    def __init__(self, dim: int, hidden: tuple[int, ...] = (64, 64), scale_bound: float | None = 3.0,
                 dtype: object = None) -> None:
        super().__init__(check_dim(dim, "dim", "MaskedAutoregressive", minimum=2))
        if scale_bound is not None and (isinstance(scale_bound, bool) or not isinstance(scale_bound, (int, float))
                                        or not 0 < scale_bound < numpy.inf):
            raise ValueError(f"MaskedAutoregressive: scale_bound must be a positive number or None, got {scale_bound!r}")
        self.scale_bound = scale_bound
        self.made = MADE(dim, hidden, n_outputs_per_dim=2, dtype=dtype)

    def mean_and_log_scale(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(mu, alpha), each (batch, D); coordinate i of each depends on x_<i only."""
        out = self.made(x)
        mu, alpha = out[:, : self.event_dim], out[:, self.event_dim:]
        if self.scale_bound is not None:
            alpha = self.scale_bound * ops.tanh(alpha / self.scale_bound)
        return mu, alpha

    def _forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mu, alpha = self.mean_and_log_scale(x)  # one pass: every x_<i is known
        return (x - mu) * ops.exp(-alpha), -sum_event(alpha)

    def _inverse(self, z: Tensor) -> tuple[Tensor, Tensor]:
        # Pass k gets x_1..x_k right (each depends only on the ones before it, already right),
        # so D passes recover all of x; the last pass's alpha is the one at the true x.
        x = Tensor(backend.array_module(z.data).zeros_like(z.data))
        for _ in range(self.event_dim):
            mu, alpha = self.mean_and_log_scale(x)
            x = z * ops.exp(alpha) + mu
        return x, sum_event(alpha)

    def extra_repr(self) -> str:
        return f"event_dim={self.event_dim}, hidden={self.made.hidden}, scale_bound={self.scale_bound}"
