"""Bayesian dense layers trained by Bayes by Backprop (Blundell et al. 2015; lecture 000's
"weights as distributions"), and the model-level tools that go with them.

Every weight and bias has a Gaussian variational posterior q(w) = N(mu, sigma^2) with
sigma = softplus(rho) = log(1 + exp(rho)) (eq. 3-6: always positive, rho unconstrained), and a
forward pass uses one draw w = mu + sigma * eps, eps ~ N(0, I) (the reparameterisation, eq. 3).
The cost to minimise is F(D, theta) = KL(q(w) || P(w)) - E_q[log P(D | w)] (eq. 1), built by
``models.bayes_by_backprop.bbb_objective`` from ``kl`` below and the network's likelihood.
"""

from __future__ import annotations

import contextlib
import math
from typing import Iterator

from .. import backend
from ..autograd import ops
from ..autograd.numerics import HALF_LOG_2PI
from ..autograd.tensor import Tensor
from . import init as initializers
from .layers import sampling_forced
from .module import Module, Parameter
from .priors import GaussianPrior, ScaleMixturePrior

__all__ = [
    "BayesianLayer", "BayesianDense", "log_softplus", "bayesian_layers", "model_kl", "kl_per_layer", "posterior_kl", "variational_parameter_count",
    "signal_to_noise", "prune", "posterior_mean", "shared_scales",
]

KL_METHODS = ("auto", "closed_form", "monte_carlo")


# log sigma = log softplus(rho), finite for every finite rho: one fused op (autograd/ops/gaussian_posterior.py).
log_softplus = ops.log_softplus


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"BayesianDense: {name} must be a positive int, got {value!r}")
    return value


class BayesianLayer(Module):
    """Base of the mean-field Gaussian layers: q(w) = N(mu, softplus(rho)^2) for a weight of any shape and
    an optional bias, their KL to the prior (Blundell et al. 2015, eqs. 1-6) and the pruning mask.

    Subclasses call ``_init_posterior`` in ``__init__`` and define ``forward``; ``bayesian_layers``,
    ``model_kl`` and ``prune`` see every subclass (BayesianDense, nn.BayesianConv2d, nn.BayesianLSTMCell).
    """

    local_reparameterisation = False  # True: noise per example (``predict_mc`` then tiles the inputs)

    def _init_posterior(self, weight_mu: object, bias_size: int | None, prior: object,
                        posterior_rho_init: tuple[float, float], dtype: object) -> None:
        """weight_mu, weight_rho (the shape of ``weight_mu``), bias_mu = 0 and bias_rho of shape (bias_size,)."""
        layer = type(self).__name__
        prior = GaussianPrior(1.0) if prior is None else prior
        if not isinstance(prior, (GaussianPrior, ScaleMixturePrior)):
            raise TypeError(f"{layer}: prior must be a GaussianPrior or ScaleMixturePrior, got {prior!r}")
        low, high = posterior_rho_init
        if not (math.isfinite(low) and math.isfinite(high) and low <= high):
            raise ValueError(f"{layer}: posterior_rho_init must be (low, high) finite with low <= high, "
                             f"got {posterior_rho_init!r}")
        generator = backend.rng()

        def rho(shape):
            return generator.uniform(low, high, size=shape).astype(dtype)

        self.prior = prior
        self.weight_mu = Parameter(weight_mu)
        self.weight_rho = Parameter(rho(tuple(weight_mu.shape)))
        self.bias_mu = Parameter(backend.xp().zeros(bias_size, dtype=dtype)) if bias_size else None
        self.bias_rho = Parameter(rho((bias_size,))) if bias_size else None
        self.sampling = True          # False: the posterior means even when forced (``posterior_mean``)
        self.weight_mask = None       # 0/1 array of the weights kept by ``prune``
        self._last_sample = None      # (weight, weight eps, bias, bias eps) of the last weight-sampling pass
        self._shared_scales = None    # {"weight": sigma, "bias": sigma} inside ``shared_scales``

    def _sampling_now(self) -> bool:
        """Draw weights in training mode or inside ``nn.stochastic()``, never inside ``posterior_mean``."""
        return self.sampling and (self.training or sampling_forced())

    def _draw(self) -> tuple[Tensor, Tensor | None]:
        """One draw w = mu + sigma * eps (eq. 3) of the weight and the bias, remembered for the Monte Carlo KL."""
        generator, dtype = backend.rng(), self.weight_mu.dtype
        eps_w = Tensor(generator.standard_normal(self.weight_mu.shape, dtype=dtype))
        weight = self._masked(self.weight_mu + self.weight_sigma() * eps_w)
        bias = eps_b = None
        if self.bias_mu is not None:
            eps_b = Tensor(generator.standard_normal(self.bias_mu.shape, dtype=dtype))
            bias = self.bias_mu + self.bias_sigma() * eps_b
        self._last_sample = (weight, eps_w, bias, eps_b)
        return weight, bias

    # ------------------------------------------------------------------ the posterior
    def weight_sigma(self) -> Tensor:
        """sigma = softplus(rho) = log(1 + e^rho), computed stably (no overflow; its log is ``log_softplus``)."""
        return self._scale("weight", self.weight_rho)

    def bias_sigma(self) -> Tensor | None:
        return None if self.bias_rho is None else self._scale("bias", self.bias_rho)

    def _scale(self, key: str, rho: Parameter) -> Tensor:
        # Inside ``shared_scales`` one softplus per step serves every draw and the KL; outside,
        # a fresh one each call, since the optimiser may have changed rho since the last.
        if self._shared_scales is None:
            return ops.softplus(rho)
        if key not in self._shared_scales:
            self._shared_scales[key] = ops.softplus(rho)
        return self._shared_scales[key]

    def _masked(self, weight: Tensor) -> Tensor:
        return weight if self.weight_mask is None else weight * Tensor(self.weight_mask)

    # ------------------------------------------------------------------ KL(q || P)
    def _parameter_groups(self) -> list[tuple[str, Tensor, Tensor, object]]:
        """(key, mu, rho, mask) of the weights and of the bias; sigma is ``self._scale(key, rho)``."""
        groups = [("weight", self.weight_mu, self.weight_rho, self.weight_mask)]
        if self.bias_mu is not None:
            groups.append(("bias", self.bias_mu, self.bias_rho, None))
        return groups

    def _groups(self) -> list[tuple[Tensor, Tensor, Tensor, object]]:
        """(mu, sigma, log sigma, mask) of the weights and of the bias."""
        return [(mu, self._scale(key, rho), log_softplus(rho), mask) for key, mu, rho, mask in self._parameter_groups()]

    def kl(self, method: str = "auto") -> Tensor:
        """KL(q(w) || P(w)) summed over every weight and bias of the layer (pruned weights excluded).

        ``"closed_form"`` (Gaussian prior) or ``"monte_carlo"``: the one-sample estimate
        log q(w) - log P(w) at the weights of the last forward pass (Blundell eq. 2; a fresh draw
        when there is none, e.g. with local reparameterisation); ``"auto"`` takes the closed
        form where the prior has one.
        """
        if method not in KL_METHODS:
            raise ValueError(f"{type(self).__name__}.kl: method must be one of {KL_METHODS}, got {method!r}")
        if method == "auto":
            method = "closed_form" if self.prior.has_closed_form_kl else "monte_carlo"
        if method == "closed_form":
            if not self.prior.has_closed_form_kl:
                raise ValueError(f"{type(self).__name__}.kl: {self.prior!r} has no closed-form KL; use method='monte_carlo'")
            total = None
            for key, mu, rho, mask in self._parameter_groups():
                elementwise = self.prior.kl_from_rho(mu, rho, self._scale(key, rho))
                part = (elementwise if mask is None else elementwise * Tensor(mask)).sum()
                total = part if total is None else total + part
            return total
        return self._monte_carlo_kl()

    def _monte_carlo_kl(self) -> Tensor:
        sample = self._last_sample
        if sample is None:
            generator, dtype = backend.rng(), self.weight_mu.dtype
            eps_w = Tensor(generator.standard_normal(self.weight_mu.shape, dtype=dtype))
            eps_b = None if self.bias_mu is None else Tensor(generator.standard_normal(self.bias_mu.shape, dtype=dtype))
            weight = self.weight_mu + self.weight_sigma() * eps_w
            bias = None if eps_b is None else self.bias_mu + self.bias_sigma() * eps_b
            sample = (weight, eps_w, bias, eps_b)
        weight, eps_w, bias, eps_b = sample
        total = None
        for (_, mu, rho, mask), w, eps in zip(self._parameter_groups(), (weight, bias), (eps_w, eps_b)):
            # log N(w | mu, sigma^2) with (w - mu) / sigma = eps exactly.
            log_q = -0.5 * eps * eps - log_softplus(rho) - HALF_LOG_2PI
            elementwise = log_q - self.prior.log_prob(w)
            part = (elementwise if mask is None else elementwise * Tensor(mask)).sum()
            total = part if total is None else total + part
        return total


class BayesianDense(BayesianLayer):
    """z = x W + b with W, b ~ q = N(mu, softplus(rho)^2) elementwise (Blundell et al. 2015, eqs. 3-6).

    Parameters
    ----------
    in_features, out_features : int
    bias : bool
    prior : GaussianPrior or ScaleMixturePrior
        P(w) for every weight and bias (default GaussianPrior(1.0)).
    posterior_rho_init : (float, float)
        rho drawn uniformly from this range (default (-5, -4): sigma between 0.007 and 0.018).
        A small initial sigma lets the means learn first, as in a plain network; rho near 0
        (sigma near 0.7) drowns the signal in noise and training stalls. Values from -5 to -3
        work in practice.
    local_reparameterisation : bool
        Sample the pre-activations instead of the weights (Kingma, Salimans & Welling 2015):
        z ~ N(x mu_W + mu_b, x^2 sigma_W^2 + sigma_b^2), one GEMM for the mean and one for the
        variance, with independent noise per example (lower-variance gradients). Off by default:
        weight sampling is what the seeds derive.
    init : "he", "glorot" or callable
        Initialiser of mu_W, as for ``Dense``; mu_b starts at 0.
    dtype : dtype, optional

    Shapes: x (..., in_features) -> z (..., out_features).

    A forward pass draws weights in training mode and inside ``nn.stochastic()`` (how
    ``predict_mc`` and ``predictive_samples`` take T draws); in eval mode it uses the posterior
    means, the cheap deterministic prediction.
    """

    def __init__(self, in_features: int, out_features: int, *, bias: bool = True, prior: object = None,
                 posterior_rho_init: tuple[float, float] = (-5.0, -4.0), local_reparameterisation: bool = False,
                 init: object = "he", dtype: object = None) -> None:
        super().__init__()
        in_features = _positive_int(in_features, "in_features")
        out_features = _positive_int(out_features, "out_features")
        dtype = backend.get_default_dtype() if dtype is None else dtype
        self.in_features, self.out_features = in_features, out_features
        self.local_reparameterisation = bool(local_reparameterisation)
        weight_mu = initializers.resolve(init)((in_features, out_features), dtype)
        self._init_posterior(weight_mu, out_features if bias else None, prior, posterior_rho_init, dtype)

    def forward(self, x: object) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(backend.asarray(x, dtype=self.weight_mu.dtype))
        if x.shape[-1] != self.in_features:
            raise ValueError(f"BayesianDense: x must have shape (..., {self.in_features}), got {x.shape}")
        # Like Dropout: draws in training mode or inside ``nn.stochastic()``, the posterior means
        # in eval mode (a deterministic prediction), never inside ``posterior_mean``.
        if not self._sampling_now():
            self._last_sample = None
            return ops.linear(x, self._masked(self.weight_mu), self.bias_mu)
        if self.local_reparameterisation:
            self._last_sample = None
            sigma_w = self._masked(self.weight_sigma())
            mean = ops.linear(x, self._masked(self.weight_mu), self.bias_mu)
            sigma_b = self.bias_sigma()
            variance = ops.linear(x * x, sigma_w * sigma_w, None if sigma_b is None else sigma_b * sigma_b)
            eps = Tensor(backend.rng().standard_normal(mean.shape, dtype=mean.dtype))
            # tiny keeps sqrt differentiable where the variance is exactly 0 (x = 0, no bias).
            return mean + ops.sqrt(variance + float(backend.xp().finfo(mean.dtype).tiny)) * eps
        weight, bias = self._draw()
        return ops.linear(x, weight, bias)

    def extra_repr(self) -> str:
        return (f"{self.in_features}, {self.out_features}, bias={self.bias_mu is not None}, prior={self.prior!r}"
                + (", local_reparameterisation=True" if self.local_reparameterisation else ""))


# ---------------------------------------------------------------------- model-level tools
def bayesian_layers(model: Module) -> list[tuple[str, BayesianLayer]]:
    """(dotted name, layer) of every Bayesian layer in ``model``, in registration order."""
    return [(name, module) for name, module in model.named_modules() if isinstance(module, BayesianLayer)]


def _layers_or_raise(model: Module, caller: str) -> list[tuple[str, BayesianLayer]]:
    layers = bayesian_layers(model)
    if not layers:
        raise ValueError(f"{caller}: model has no Bayesian layers")
    return layers


def model_kl(model: Module, method: str = "auto") -> Tensor:
    """KL(q || P) of the whole network: the sum over every weight of every Bayesian layer."""
    layers = _layers_or_raise(model, "model_kl")
    total = layers[0][1].kl(method)
    for _, layer in layers[1:]:
        total = total + layer.kl(method)
    return total


def kl_per_layer(model: Module, method: str = "auto") -> dict[str, float]:
    """KL(q || P) of each Bayesian layer, as floats (for inspection, not for training)."""
    return {name: layer.kl(method).item() for name, layer in _layers_or_raise(model, "kl_per_layer")}


def posterior_kl(q: BayesianLayer, p: BayesianLayer) -> Tensor:
    """KL(q || p) between the mean-field posteriors of two layers of the same shape (PRML (1.113) per weight):
    sum log(s_p / s_q) + (s_q^2 + (mu_q - mu_p)^2) / (2 s_p^2) - 1/2."""
    if not isinstance(q, BayesianLayer) or not isinstance(p, BayesianLayer):
        raise TypeError("posterior_kl: q and p must be Bayesian layers (BayesianDense, BayesianConv2d, ...)")
    if q.weight_mu.shape != p.weight_mu.shape or (q.bias_mu is None) != (p.bias_mu is None):
        raise ValueError(f"posterior_kl: layers differ in shape: {q.weight_mu.shape} and {p.weight_mu.shape}")
    total = None
    for (mu_q, s_q, log_s_q, _), (mu_p, s_p, log_s_p, _) in zip(q._groups(), p._groups()):
        difference = mu_q - mu_p
        part = (log_s_p - log_s_q + (s_q * s_q + difference * difference) / (2.0 * s_p * s_p) - 0.5).sum()
        total = part if total is None else total + part
    return total


def variational_parameter_count(model: Module) -> dict[str, int]:
    """How many mu and rho parameters the Bayesian layers hold (each weight has one of each)."""
    layers = _layers_or_raise(model, "variational_parameter_count")
    mu = sum(l.weight_mu.size + (0 if l.bias_mu is None else l.bias_mu.size) for _, l in layers)
    rho = sum(l.weight_rho.size + (0 if l.bias_rho is None else l.bias_rho.size) for _, l in layers)
    return {"mu": int(mu), "rho": int(rho)}


def signal_to_noise(model: Module) -> object:
    """|mu| / sigma of every weight (biases excluded) of every Bayesian layer, flattened: a backend array."""
    layers = _layers_or_raise(model, "signal_to_noise")
    xp = backend.array_module(layers[0][1].weight_mu.data)
    return xp.concatenate([(xp.abs(l.weight_mu.data) / l.weight_sigma().data).ravel() for _, l in layers])


def prune(model: Module, fraction: float) -> int:
    """Remove the ``fraction`` of weights with the lowest signal-to-noise ratio |mu| / sigma
    (Blundell et al. 2015, Table 2), across all Bayesian layers: they become exactly 0 in every
    forward pass, sampled or not. Exactly round(fraction x n_weights) weights are removed (ties
    broken by position). Biases are kept. Returns the number removed.
    """
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0.0 <= fraction < 1.0:
        raise ValueError(f"prune: fraction must be a number in [0, 1), got {fraction!r}")
    layers = _layers_or_raise(model, "prune")
    snr = signal_to_noise(model)
    xp = backend.array_module(snr)
    n_remove = int(round(fraction * snr.size))
    keep = xp.ones(snr.size, dtype=layers[0][1].weight_mu.dtype)
    keep[xp.argsort(snr, kind="stable")[:n_remove]] = 0
    start = 0
    for _, layer in layers:
        size = layer.weight_mu.size
        layer.weight_mask = keep[start: start + size].reshape(layer.weight_mu.shape)
        start += size
    return n_remove


@contextlib.contextmanager
def shared_scales(model: Module) -> Iterator[Module]:
    """Inside the block each Bayesian layer computes sigma = softplus(rho) once and uses it for
    every weight draw and for the KL (``bbb_objective`` evaluates one step's objective inside it):
    one softplus per parameter per step instead of one per use. The parameters must not change
    inside the block; on leaving it every layer computes sigma afresh again."""
    layers = bayesian_layers(model)
    previous = [layer._shared_scales for _, layer in layers]
    for _, layer in layers:
        layer._shared_scales = {}
    try:
        yield model
    finally:
        for (_, layer), state in zip(layers, previous):
            layer._shared_scales = state


@contextlib.contextmanager
def posterior_mean(model: Module) -> Iterator[Module]:
    """Inside the block every Bayesian layer uses its posterior means instead of a draw: the
    cheap point prediction (one pass instead of T)."""
    layers = bayesian_layers(model)
    previous = [layer.sampling for _, layer in layers]
    for _, layer in layers:
        layer.sampling = False
    try:
        yield model
    finally:
        for (_, layer), state in zip(layers, previous):
            layer.sampling = state
