"""The training objectives of the uncertainty lecture: MC dropout as variational inference
(Gal & Ghahramani 2016) and the two aleatoric losses of Kendall & Gal (2017).

MC dropout. A network with dropout before every weight layer, trained with L2 regularisation,
approximately maximises an ELBO whose KL term is, for layer i with keep probability
p_i = 1 - dropout rate, prior length-scale l and model precision tau (Gal & Ghahramani 2016,
appendix section 4):

    KL ~ sum_i (p_i l^2 / 2) ||W_i||^2 + (l^2 / 2) ||b_i||^2,

so the per-point objective is E[-log N(y | f(x), 1/tau)] + KL / N; divided by tau it is the familiar
(1/2N) sum ||y - f||^2 + lambda_i ||W_i||^2 with weight decay lambda_i = p_i l^2 / (2 N tau)
(``mc_dropout_weight_decay``). Its predictive variance adds 1/tau to the spread of the passes.
"""

from __future__ import annotations

import math

from .. import backend
from ..autograd import ops
from ..autograd.tensor import Tensor
from ..nn import functional as F
from ..nn.layers import Dense, Dropout
from ..nn.module import Module
from ._checks import match_target
from .objectives import VariationalObjective

__all__ = [
    "mc_dropout_weight_decay", "mc_dropout_kl", "mc_dropout_objective", "heteroscedastic_nll", "logit_noise_nll",
]


def _positive(value: object, name: str, caller: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{caller}: {name} must be a positive number, got {value!r}")
    return float(value)


def mc_dropout_weight_decay(length_scale: float, dropout_rate: float, n_data: int, tau: float) -> float:
    """lambda = l^2 (1 - p) / (2 N tau), p the dropout rate (Gal & Ghahramani 2016, section 4 and appendix)."""
    caller = "mc_dropout_weight_decay"
    length_scale, tau = _positive(length_scale, "length_scale", caller), _positive(tau, "tau", caller)
    if isinstance(dropout_rate, bool) or not isinstance(dropout_rate, (int, float)) or not 0.0 <= dropout_rate < 1.0:
        raise ValueError(f"{caller}: dropout_rate must be in [0, 1), got {dropout_rate!r}")
    if isinstance(n_data, bool) or not isinstance(n_data, int) or n_data < 1:
        raise ValueError(f"{caller}: n_data must be a positive int, got {n_data!r}")
    return length_scale ** 2 * (1.0 - dropout_rate) / (2.0 * n_data * tau)


def _dense_layers_with_keep(model: Module) -> list[tuple[Dense, float]]:
    """Every Dense layer with the keep probability of the Dropout that feeds it (1 if none),
    in the order the modules were registered (a Sequential's order)."""
    keep, layers = 1.0, []
    for module in model.modules():
        if isinstance(module, Dropout):
            keep = 1.0 - module.p
        elif isinstance(module, Dense):
            layers.append((module, keep))
            keep = 1.0
    return layers


def mc_dropout_kl(model: Module, length_scale: float) -> Tensor:
    """sum_i (p_i l^2 / 2) ||W_i||^2 + (l^2 / 2) ||b_i||^2 over the Dense layers (the appendix's KL, constants dropped)."""
    length_scale = _positive(length_scale, "length_scale", "mc_dropout_kl")
    layers = _dense_layers_with_keep(model)
    if not layers:
        raise ValueError("mc_dropout_kl: model has no Dense layers")
    total = None
    for layer, keep in layers:
        term = (0.5 * keep * length_scale ** 2) * (layer.weight * layer.weight).sum()
        if layer.bias is not None:
            term = term + (0.5 * length_scale ** 2) * (layer.bias * layer.bias).sum()
        total = term if total is None else total + term
    return total


def mc_dropout_objective(model: Module, x: object, y: object, n_data: int, *, length_scale: float,
                         tau: float) -> VariationalObjective:
    """Gal & Ghahramani's objective per data point: E[-log N(y | f(x), 1/tau)] + KL / N (one dropout pass).

    x : array of shape (batch, features); y : array of shape (batch, outputs), or (batch,) for one output.

    ``loss / tau`` equals (1/2B) sum ||y - f||^2 + sum_i lambda_i ||W_i||^2 + const (``mc_dropout_weight_decay``).
    """
    tau = _positive(tau, "tau", "mc_dropout_objective")
    if isinstance(n_data, bool) or not isinstance(n_data, int) or n_data < 1:
        raise ValueError(f"mc_dropout_objective: n_data must be a positive int, got {n_data!r}")
    output = model(x)
    target = match_target(y, output, "mc_dropout_objective")
    log_var = ops.broadcast_to(Tensor(backend.xp().full((), -math.log(tau), dtype=output.dtype)), output.shape)
    log_likelihood = -F.gaussian_nll(target, output, log_var, reduction="none", full=True).sum() * (1.0 / output.shape[0])
    return VariationalObjective.from_global_kl(log_likelihood, mc_dropout_kl(model, length_scale), n_data)


def heteroscedastic_nll(output: Tensor, y: object) -> Tensor:
    """Kendall & Gal (2017) eq. 5 with s = log sigma^2 predicted (the stable form of their section 3.2):

        (1/N) sum_i [ exp(-s_i) ||y_i - f_i||^2 / 2 + s_i / 2 ],

    ``output`` of shape (n, 2 d) holding [f, s]; y of shape (n, d) or (n,) when d = 1. A NaN in y
    gives a NaN loss, which ``train.fit`` stops on, naming it (checking here would cost a sync).
    """
    output = output if isinstance(output, Tensor) else Tensor(backend.asarray(output))
    if output.ndim != 2 or output.shape[1] % 2:
        raise ValueError(f"heteroscedastic_nll: output must have shape (n, 2 d) = [mean, log variance], got {output.shape}")
    d = output.shape[1] // 2
    mean = output[:, :d]
    target = match_target(y, mean, "heteroscedastic_nll")
    per_element = F.gaussian_nll(target, mean, output[:, d:], reduction="none")
    return per_element.sum() * (1.0 / output.shape[0])


def logit_noise_nll(output: Tensor, labels: object, n_samples: int = 10, noise: object = None) -> Tensor:
    """Kendall & Gal (2017) eqs. 10-12: Gaussian noise on the logits, x_t = f + sigma * eps_t, and

        L = -(1/N) sum_i log (1/T) sum_t softmax(x_{i,t})_{c_i},

    with the inner log-mean-exp taken by logsumexp over t of log_softmax (never exp of a large number).

    Parameters
    ----------
    output : Tensor of shape (n, 2 K)
        [logits f, log sigma^2] per class (the aleatoric variance of each logit).
    labels : integer array of shape (n,)
    n_samples : int
        T noise draws.
    noise : array of shape (T, n, K), optional
        The eps (drawn from the backend generator when omitted).
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise ValueError(f"logit_noise_nll: n_samples must be a positive int, got {n_samples!r}")
    output = output if isinstance(output, Tensor) else Tensor(backend.asarray(output))
    if output.ndim != 2 or output.shape[1] % 2:
        raise ValueError(f"logit_noise_nll: output must have shape (n, 2 K) = [logits, log variances], got {output.shape}")
    n, k = output.shape[0], output.shape[1] // 2
    xp = backend.array_module(output.data)
    labels = labels.data if isinstance(labels, Tensor) else labels
    if not hasattr(labels, "shape") or labels.shape != (n,) or labels.dtype.kind not in "iu":
        raise ValueError(f"logit_noise_nll: labels must be integers of shape ({n},), got "
                         f"{getattr(labels, 'dtype', type(labels).__name__)} {getattr(labels, 'shape', '')}")
    if backend.backend_name_of(labels) == "numpy" and labels.size and (labels.min() < 0 or labels.max() >= k):
        # Host labels are checked for free; device labels are not read back (one sync per step),
        # and an out-of-range one makes its row NaN below, which train.fit's guard reports.
        raise ValueError(f"logit_noise_nll: labels must lie in [0, {k}), got [{labels.min()}, {labels.max()}]")
    labels = xp.asarray(backend.on_backend_of(output.data, labels))
    valid = (labels >= 0) & (labels < k)
    shape = (n_samples, n, k)
    eps = backend.rng().standard_normal(shape, dtype=output.dtype) if noise is None else \
        backend.on_backend_of(output.data, noise)
    if tuple(eps.shape) != shape:
        raise ValueError(f"logit_noise_nll: noise must have shape {shape}, got {tuple(eps.shape)}")
    logits, log_var = output[:, :k], output[:, k:]
    noisy = logits + ops.exp(0.5 * log_var) * Tensor(eps)                 # (T, n, K)
    picked = ops.log_softmax(noisy, axis=2)[:, xp.arange(n), xp.clip(labels, 0, k - 1)]   # (T, n)
    per_row = ops.logsumexp(picked, axis=0) - math.log(n_samples)
    per_row = ops.where(valid, per_row, xp.asarray(xp.nan, dtype=output.dtype))
    return -per_row.mean()
