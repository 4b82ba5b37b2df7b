"""Batch normalisation (Ioffe & Szegedy 2015, Algorithm 1 and section 3.1), per channel.

Training mode normalises with the statistics of the minibatch,

    x_hat = (x - mu_B) / sqrt(sigma_B^2 + eps),   y = gamma x_hat + beta,

mu_B and sigma_B^2 (biased) taken over every axis but the channel axis 1 (batch, and height and
width for images), and gradients flow through mu_B and sigma_B^2 too: one fused op
(``autograd/ops/normalization.py``) with the closed-form backward, twice differentiable
through its graph-op twin. It also keeps exponential running averages
for evaluation mode,

    running <- (1 - momentum) running + momentum batch_statistic,

with the unbiased variance m / (m - 1) sigma_B^2 (Algorithm 2, step 10), updated on the device
without a host sync. Evaluation mode normalises with the running averages instead: a fixed
affine map per channel. Running averages are buffers, not Parameters: the optimiser never
sees them, and ``state_dict()`` saves them with the parameters.
"""

from __future__ import annotations

from .. import backend
from ..autograd import ops
from ..autograd.ops.normalization import batch_norm_train
from ..autograd.tensor import Tensor
from .module import Module, Parameter

__all__ = ["batch_norm", "BatchNorm1d", "BatchNorm2d"]


def batch_norm(x: object, running_mean: object = None, running_var: object = None, weight: object = None,
               bias: object = None, training: bool = True, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Ioffe & Szegedy (2015) Algorithm 1 over channel axis 1: y = gamma (x - mu) / sqrt(var + eps) + beta.

    Parameters
    ----------
    x : Tensor of shape (N, C) or (N, C, H, W)
    running_mean, running_var : arrays of shape (C,), optional
        Updated in place in training mode; used instead of the batch statistics otherwise.
    weight, bias : Tensors of shape (C,), optional
        gamma and beta; the identity affine map when omitted.
    training : bool
        Batch statistics (and running-average updates) when True, running averages when False.
    momentum, eps : float

    Returns y of the shape of x.
    """
    x = x if isinstance(x, Tensor) else Tensor.constant(x)
    if x.ndim not in (2, 4):
        raise ValueError(f"batch_norm: x must be (N, C) or (N, C, H, W), got shape {x.shape}")
    channels = x.shape[1]
    shape = (1, channels) + (1,) * (x.ndim - 2)
    for name, value in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                        ("bias", bias)):
        if value is not None and tuple(value.shape) != (channels,):
            raise ValueError(f"batch_norm: {name} must have shape ({channels},) for input {x.shape}, "
                             f"got {tuple(value.shape)}")
    if training:
        count = x.size // channels
        if count < 2 and running_var is not None:
            raise ValueError(f"batch_norm: training needs more than one value per channel, got input {x.shape}")
        xp = backend.array_module(x.data)
        # One fused node (closed-form backward); absent gamma / beta are the identity affine map.
        gamma = weight if weight is not None else Tensor(xp.ones(channels, dtype=x.dtype))
        beta = bias if bias is not None else Tensor(xp.zeros(channels, dtype=x.dtype))
        y, mean, var = batch_norm_train(x, gamma, beta, eps)
        if running_mean is not None:  # in place on the device: no host sync
            running_mean *= 1.0 - momentum
            running_mean += momentum * mean
        if running_var is not None:
            running_var *= 1.0 - momentum
            running_var += (momentum * count / (count - 1)) * var
        return y
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: evaluation mode (training=False) needs running_mean and running_var")
    xp = backend.array_module(x.data)
    scale = Tensor((1.0 / xp.sqrt(running_var + eps)).astype(x.dtype).reshape(shape))
    y = (x - Tensor(running_mean.astype(x.dtype).reshape(shape))) * scale
    if weight is not None:
        y = y * ops.reshape(weight, shape)
    if bias is not None:
        y = y + ops.reshape(bias, shape)
    return y


class BatchNorm2d(Module):
    """Batch normalisation of (N, C, H, W) images per channel, statistics over N, H and W.

    Parameters
    ----------
    num_features : int
        C, the number of channels.
    momentum : float in (0, 1]
        Weight of the newest batch in the running averages.
    eps : float > 0
    affine : bool
        Learn gamma (starts at 1) and beta (starts at 0).
    """

    expected_ndim = 4

    def __init__(self, num_features: int, momentum: float = 0.1, eps: float = 1e-5, affine: bool = True,
                 dtype: object = None) -> None:
        super().__init__()
        layer = type(self).__name__
        if isinstance(num_features, bool) or not isinstance(num_features, int) or num_features <= 0:
            raise ValueError(f"{layer}: num_features must be a positive int, got {num_features!r}")
        if not 0.0 < momentum <= 1.0:
            raise ValueError(f"{layer}: momentum must be in (0, 1], got {momentum!r}")
        if not eps > 0.0:
            raise ValueError(f"{layer}: eps must be positive, got {eps!r}")
        dtype = backend.get_default_dtype() if dtype is None else dtype
        xp = backend.xp()
        self.num_features, self.momentum, self.eps = num_features, float(momentum), float(eps)
        self.weight = Parameter(xp.ones(num_features, dtype=dtype)) if affine else None
        self.bias = Parameter(xp.zeros(num_features, dtype=dtype)) if affine else None
        self.register_buffer("running_mean", xp.zeros(num_features, dtype=dtype))
        self.register_buffer("running_var", xp.ones(num_features, dtype=dtype))

    def forward(self, x: object) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(backend.asarray(x, dtype=self.running_mean.dtype))
        layer = type(self).__name__
        if x.ndim != self.expected_ndim or x.shape[1] != self.num_features:
            form = "(N, C, H, W)" if self.expected_ndim == 4 else "(N, C)"
            raise ValueError(f"{layer}: input must be {form} with C = {self.num_features}, got shape {x.shape}")
        return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, self.training,
                          self.momentum, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_features}, momentum={self.momentum}, eps={self.eps}, affine={self.weight is not None}"


class BatchNorm1d(BatchNorm2d):
    """Batch normalisation of (N, C) features per feature, statistics over the batch."""

    expected_ndim = 2
