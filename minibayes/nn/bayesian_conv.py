"""Bayesian convolution: mean-field Gaussian filters trained by Bayes by Backprop (Blundell et al. 2015;
the seeds' "Bayesian CNN", Shridhar et al. 2019: every filter weight a distribution instead of a number).

q(W) = N(mu, softplus(rho)^2) per filter weight and bias, as ``BayesianDense`` (``nn/bayesian.py``),
with the same priors, KL and pruning. Two ways to sample in a forward pass:

- weight sampling (default): one draw W = mu + sigma * eps for the whole minibatch, then conv2d;
- local reparameterisation (Kingma, Salimans & Welling 2015, section 2.3; Shridhar et al. 2019
  eq. 13): each output activation is a sum of independent Gaussians, so it is sampled directly,
  b_j ~ N(conv(x, mu) + mu_b, conv(x^2, sigma^2) + sigma_b^2), two convolutions and independent
  noise per example and per pixel (lower-variance gradients).
"""

from __future__ import annotations

from .. import backend
from ..autograd import ops
from ..autograd.tensor import Tensor
from .bayesian import BayesianLayer
from .conv import Conv2d, _as_image, filter_init

__all__ = ["BayesianConv2d"]


class BayesianConv2d(BayesianLayer):
    """Conv2d whose filters and bias have a mean-field Gaussian posterior.

    Parameters
    ----------
    in_channels, out_channels, kernel_size, stride, padding, dilation, groups :
        As for ``nn.Conv2d``.
    bias : bool
    prior : GaussianPrior or ScaleMixturePrior, default GaussianPrior(1.0)
    posterior_rho_init : (float, float)
        rho ~ U(low, high) at the start (default (-5, -4), sigma about 0.01, as ``BayesianDense``).
    local_reparameterisation : bool
        Sample the activations instead of the filters (see the module docstring).
    init : "he", "glorot" or callable
        Initialiser of the filter means (fan_in = in_channels / groups x KH x KW).
    dtype : dtype, optional

    Shapes: x (N, in_channels, H, W) -> y (N, out_channels, OH, OW). Eval mode uses the posterior
    means unless inside ``nn.stochastic()`` (MC prediction).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, *, bias: bool = True, prior: object = None,
                 posterior_rho_init: tuple[float, float] = (-5.0, -4.0), local_reparameterisation: bool = False,
                 init: object = "he", dtype: object = None) -> None:
        super().__init__()
        # A plain Conv2d validates the geometry and holds it; its weight is the initial mean.
        shape = Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias=False,
                       init=lambda shape, dtype: backend.xp().zeros(shape, dtype=dtype), dtype=dtype)
        self.in_channels, self.out_channels, self.groups = shape.in_channels, shape.out_channels, shape.groups
        self.kernel_size, self.stride, self.padding, self.dilation = (
            shape.kernel_size, shape.stride, shape.padding, shape.dilation)
        self.local_reparameterisation = bool(local_reparameterisation)
        dtype = shape.weight.dtype
        weight_shape = shape.weight.shape
        mu = filter_init(init, weight_shape, weight_shape[1] * weight_shape[2] * weight_shape[3], dtype)
        self._init_posterior(mu, self.out_channels if bias else None, prior, posterior_rho_init, dtype)

    def _conv(self, x: Tensor, weight: Tensor, bias: object) -> Tensor:
        return ops.conv2d(x, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, x: object) -> Tensor:
        x = _as_image(x, self.weight_mu.dtype, self.in_channels, type(self).__name__,
                      (self.kernel_size, self.stride, self.padding, self.dilation))
        if not self._sampling_now():
            self._last_sample = None
            return self._conv(x, self._masked(self.weight_mu), self.bias_mu)
        if self.local_reparameterisation:
            self._last_sample = None
            sigma_w, sigma_b = self._masked(self.weight_sigma()), self.bias_sigma()
            mean = self._conv(x, self._masked(self.weight_mu), self.bias_mu)
            variance = self._conv(x * x, sigma_w * sigma_w, None if sigma_b is None else sigma_b * sigma_b)
            eps = Tensor(backend.rng().standard_normal(mean.shape, dtype=mean.dtype))
            # tiny keeps sqrt differentiable where the variance is exactly 0 (a zero receptive field, no bias).
            return mean + ops.sqrt(variance + float(backend.xp().finfo(mean.dtype).tiny)) * eps
        weight, bias = self._draw()
        return self._conv(x, weight, bias)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, prior={self.prior!r}"
                + (", local_reparameterisation=True" if self.local_reparameterisation else ""))
