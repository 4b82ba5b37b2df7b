"""The Bayes by Backprop objective (Blundell et al. 2015), in the shared per-data-point units.

F(D, theta) = KL(q(w | theta) || P(w)) - E_q[log P(D | w)]                       (eq. 1)

estimated on a minibatch of B of the N training points with S weight draws (eq. 2, section 3.4):

    loss = -(1/S) sum_s (1/B) sum_{n in batch} log P(y_n | x_n, w_s) + kl_weight * KL / N,

the ``VariationalObjective`` convention (nats per data point). With ``kl_weight = 1`` every
minibatch carries KL/N per point, B KL / N in all, so the batches of one epoch carry the KL once:
weighted by their sizes B_i and summed, the losses give F(D, theta) exactly (the test proves it).
Blundell's schedule (section 3.4) gives minibatch i of M the share pi_i of the KL, with
sum_i pi_i = 1; in per-point units that is ``kl_weight = N pi_i / B_i`` (``minibatch_kl_weights``
returns it), which is M pi_i only when all batches have N / M points.

The KL is the closed form for a Gaussian prior and the one-sample Monte Carlo estimate
log q(w_s) - log P(w_s) at each draw otherwise (eq. 2), averaged over the S draws.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

from .. import backend
from ..autograd import ops
from ..autograd.tensor import Tensor
from ..autograd.function import no_grad
from ..nn import functional as F
from ..nn.bayesian import KL_METHODS, bayesian_layers, model_kl, shared_scales
from ..nn.layers import stochastic
from ..nn.module import Module
from ._checks import match_target, positive_int
from .objectives import VariationalObjective, check_kl_weight

__all__ = ["bbb_objective", "minibatch_kl_weights", "gaussian_likelihood", "categorical_log_likelihood",
           "predictive_samples"]

LogLikelihood = Callable[[Tensor, object], Tensor]


def gaussian_likelihood(noise_std: float) -> LogLikelihood:
    """(output, y) -> mean over the batch of log N(y | output, noise_std^2), summed over outputs."""
    if isinstance(noise_std, bool) or not isinstance(noise_std, (int, float)) or not noise_std > 0 \
            or not math.isfinite(noise_std):
        raise ValueError(f"gaussian_likelihood: noise_std must be a positive number, got {noise_std!r}")
    log_var = 2.0 * math.log(noise_std)

    def log_likelihood(output: Tensor, y: object) -> Tensor:
        target = match_target(y, output, "gaussian_likelihood")
        per_element = -F.gaussian_nll(target, output, ops.broadcast_to(
            Tensor(backend.xp().full((), log_var, dtype=output.dtype)), output.shape), reduction="none", full=True)
        return per_element.sum() * (1.0 / output.shape[0])

    return log_likelihood


def categorical_log_likelihood(output: Tensor, y: object) -> Tensor:
    """(logits, labels) -> mean over the batch of log softmax(logits)[label]."""
    return -F.cross_entropy(output, y)


def bbb_objective(model: Module, x: object, y: object, log_likelihood: LogLikelihood, n_data: int, *,
                  n_samples: int = 1, kl: str = "auto", kl_weight: float = 1.0) -> VariationalObjective:
    """F(D, theta) / N estimated on one minibatch (Blundell et al. 2015, eqs. 1-2).

    Parameters
    ----------
    model : Module with ``BayesianDense`` layers
    x : array of shape (B, features), the minibatch
    y : the targets, of the shape ``log_likelihood`` expects ((B, outputs) or (B,) for Gaussian, (B,) labels)
    log_likelihood : callable (model output, y) -> mean log P(y | x, w) per data point
        ``gaussian_likelihood(noise_std)`` for regression, ``categorical_log_likelihood``.
    n_data : int
        N, the size of the training set: the KL's per-point share is KL / N.
    n_samples : int
        S weight draws, averaged (each draw is a forward pass).
    kl : "auto", "closed_form" or "monte_carlo"
    kl_weight : float
        From ``minibatch_kl_weights`` (N pi_i / B_i for Blundell's schedule), 1 for the uniform
        one, 0 to switch the KL off.
    """
    n_samples = positive_int(n_samples, "n_samples", "bbb_objective")
    if kl not in KL_METHODS:
        raise ValueError(f"bbb_objective: kl must be one of {KL_METHODS}, got {kl!r}")
    kl_weight = check_kl_weight(kl_weight)
    n_data = positive_int(n_data, "n_data", "bbb_objective")
    layers = bayesian_layers(model)
    if not layers:
        raise ValueError("bbb_objective: model has no Bayesian layers")
    closed = kl == "closed_form" or (kl == "auto" and all(l.prior.has_closed_form_kl for _, l in layers))
    log_likelihoods, kls = [], []
    # The expectation over q needs weight draws in eval mode too (a test-set ELBO). One sigma per
    # parameter serves all S draws and the KL: the parameters do not change inside this call.
    with stochastic(), shared_scales(model):
        for _ in range(n_samples):
            log_likelihoods.append(log_likelihood(model(x), y))
            if not closed:
                kls.append(model_kl(model, "monte_carlo"))    # at this draw's weights
        if closed:
            total_kl = model_kl(model, "closed_form")
        else:
            total_kl = kls[0] if n_samples == 1 else ops.stack(kls).mean()
    mean_log_likelihood = log_likelihoods[0] if n_samples == 1 else ops.stack(log_likelihoods).mean()
    return VariationalObjective.from_global_kl(mean_log_likelihood, total_kl, n_data, kl_weight)


def minibatch_kl_weights(batch_sizes: Sequence[int], schedule: str = "uniform") -> list[float]:
    """The ``kl_weight`` of each of the M minibatches of an epoch (Blundell et al. 2015, section 3.4).

    Minibatch i (of B_i points, N = sum B_i) carries the share pi_i of the KL, sum_i pi_i = 1:
    ``"uniform"``: pi_i = B_i / N, every point the same share (weight 1);
    ``"blundell"``: pi_i = 2^(M - i) / (2^M - 1), i = 1..M, the first batches carrying most of the
    KL and the later ones fitted to the data; written 2^-i / (1 - 2^-M) so that M in the hundreds
    does not overflow. In the per-point units of ``bbb_objective`` the weight is N pi_i / B_i.
    """
    sizes = list(batch_sizes) if not isinstance(batch_sizes, (str, bytes)) else None
    if not sizes or any(isinstance(b, bool) or not hasattr(b, "__index__") or int(b) < 1 for b in sizes):
        raise ValueError(f"minibatch_kl_weights: batch_sizes must be a non-empty list of positive ints, "
                         f"got {batch_sizes!r}")
    sizes = [int(b) for b in sizes]
    n_data, n_batches = sum(sizes), len(sizes)
    if schedule == "uniform":
        shares = [b / n_data for b in sizes]
    elif schedule == "blundell":
        normaliser = -math.expm1(-n_batches * math.log(2.0))        # 1 - 2^-M
        shares = [2.0 ** -i / normaliser for i in range(1, n_batches + 1)]
    else:
        raise ValueError(f"minibatch_kl_weights: schedule must be 'uniform' or 'blundell', got {schedule!r}")
    return [n_data * share / b for share, b in zip(shares, sizes)]


def predictive_samples(model: Module, x: object, n_samples: int) -> object:
    """T forward passes with fresh weight draws (in eval mode too): a backend array (T, batch, outputs).

    The mean over the first axis is the Monte Carlo predictive mean (for a classifier, apply the
    softmax before averaging: the averaged probabilities).
    """
    n_samples = positive_int(n_samples, "T (n_samples)", "predictive_samples")
    with no_grad(), stochastic():
        outputs = [model(x).data for _ in range(n_samples)]
    return backend.array_module(outputs[0]).stack(outputs)
