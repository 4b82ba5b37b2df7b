"""Predictive uncertainty from T stochastic passes, split into its aleatoric and epistemic parts.

One function for every stochastic model in the engine (MC dropout, Bayes by Backprop, ...):
``predict_mc(model, x, T)`` forces its stochastic layers to sample (``nn.stochastic()``, whatever
the train/eval mode), takes T passes, and decomposes (Kendall & Gal 2017):

Regression, pass t giving a mean y_t and a variance sigma_t^2 (a learned log-variance head, or
a known noise variance 1/tau):
    Var(y) ~ (1/T) sum_t y_t^2 - ((1/T) sum_t y_t)^2 + (1/T) sum_t sigma_t^2            (eq. 9)
             \\______________ epistemic ______________/   \\____ aleatoric ____/
the law of total variance applied to the T draws.

Classification, pass t giving probabilities p_t:
    H[(1/T) sum_t p_t]  =  (1/T) sum_t H[p_t]  +  I(y; w | x)
    predictive entropy     expected entropy        mutual information
                           (aleatoric)             (epistemic, >= 0 by Jensen)
"""

from __future__ import annotations

import contextlib
from typing import NamedTuple

from .. import backend
from ..autograd.function import no_grad
from ..autograd.tensor import Tensor
from ..nn.bayesian import bayesian_layers
from ..nn.layers import stochastic
from ..nn.module import Module
from ._checks import positive_int

__all__ = ["RegressionPrediction", "ClassificationPrediction", "predict_mc", "entropy"]

TASKS = ("regression", "classification")
OUTPUTS = ("mean", "mean_log_var")
# Rows of one batched forward pass (T copies of a chunk of inputs): bounds the memory of predict_mc.
_ROWS_PER_PASS = 8192


class RegressionPrediction(NamedTuple):
    """Per input (shape (n, outputs) each): predictive mean and total variance = epistemic + aleatoric.
    ``samples`` holds the T sampled means, shape (T, n, outputs)."""

    mean: object
    variance: object
    epistemic: object
    aleatoric: object
    samples: object


class ClassificationPrediction(NamedTuple):
    """Averaged probabilities (n, classes); entropies and mutual information (n,) in nats;
    ``samples`` the T probability vectors, shape (T, n, classes)."""

    probabilities: object
    predictive_entropy: object
    expected_entropy: object
    mutual_information: object
    samples: object


def entropy(probabilities: object, axis: int = -1) -> object:
    """-sum p log p along ``axis`` with 0 log 0 = 0 (a bare backend array)."""
    xp = backend.array_module(probabilities)
    tiny = xp.finfo(probabilities.dtype).tiny
    return -(probabilities * xp.log(xp.maximum(probabilities, tiny))).sum(axis=axis)


def _per_example_noise(model: Module) -> bool:
    """True when every stochastic layer draws its noise per example (dropout masks, local
    reparameterisation), so T passes can be one pass over T copies of the inputs; a layer that
    draws one weight sample per pass needs T separate passes."""
    return all(layer.local_reparameterisation for _, layer in bayesian_layers(model))


def _passes(model: Module, x: Tensor, T: int) -> object:
    """The raw outputs of T stochastic passes, shape (T, n, ...)."""
    xp = backend.array_module(x.data)
    n = x.shape[0]
    if not _per_example_noise(model):
        return xp.stack([model(x).data for _ in range(T)])
    chunk = max(1, _ROWS_PER_PASS // T)
    pieces = []
    for start in range(0, n, chunk):
        rows = x.data[start: start + chunk]
        tiled = xp.concatenate([rows] * T) if T > 1 else rows
        out = model(Tensor(tiled)).data
        pieces.append(out.reshape((T, rows.shape[0]) + out.shape[1:]))
    return xp.concatenate(pieces, axis=1)


def predict_mc(model: Module, x: object, T: int = 100, *, task: str = "regression", output: str = "mean",
               noise_variance: float = 0.0, seed: int | None = None) -> RegressionPrediction | ClassificationPrediction:
    """T stochastic forward passes of ``model`` on ``x`` and the uncertainty decomposition.

    Parameters
    ----------
    model : Module
        Its Dropout and Bayesian layers sample inside this call, in train or eval mode alike.
    x : array of shape (n, ...)
    T : int
        Number of stochastic passes (Gal & Ghahramani use T = 10 to 100 and more).
    task : "regression" or "classification"
        Classification reads the outputs as logits (softmax per pass).
    output : "mean" or "mean_log_var"
        Regression only: the network gives the mean (the aleatoric variance is then
        ``noise_variance``, e.g. 1/tau for MC dropout), or [mean, log sigma^2] along its last axis
        in two equal halves (Kendall & Gal's heteroscedastic network).
    noise_variance : float
        Known observation noise for ``output="mean"``.
    seed : int, optional
        Draw from a generator seeded with it (``backend.seeded``): the same seed, the same draws,
        and the caller's random stream is left where it was. Without it, the backend generator
        (``minibayes.seed``) is used.

    Returns
    -------
    RegressionPrediction or ClassificationPrediction (backend arrays)
    """
    if not isinstance(model, Module):
        raise TypeError(f"predict_mc: model must be a Module, got {type(model).__name__}")
    T = positive_int(T, "T", "predict_mc")
    if task not in TASKS:
        raise ValueError(f"predict_mc: task must be one of {TASKS}, got {task!r}")
    if output not in OUTPUTS:
        raise ValueError(f"predict_mc: output must be one of {OUTPUTS}, got {output!r}")
    if isinstance(noise_variance, bool) or not isinstance(noise_variance, (int, float)) or not noise_variance >= 0:
        raise ValueError(f"predict_mc: noise_variance must be a number >= 0, got {noise_variance!r}")
    data = x.data if isinstance(x, Tensor) else x
    if not hasattr(data, "ndim") or data.ndim < 1 or data.shape[0] < 1:
        raise ValueError(f"predict_mc: x must be an array of shape (n, ...) with n >= 1, got "
                         f"{getattr(data, 'shape', type(x).__name__)}")
    parameters = list(model.parameters())
    dtype = parameters[0].dtype if parameters else backend.get_default_dtype()
    x = Tensor(backend.asarray(data, dtype=dtype))
    stream = contextlib.nullcontext() if seed is None else backend.seeded(seed)
    with no_grad(), stochastic(), stream:
        outputs = _passes(model, x, T)
    xp = backend.array_module(outputs)
    if task == "classification":
        shifted = xp.exp(outputs - outputs.max(axis=-1, keepdims=True))
        probabilities = shifted / shifted.sum(axis=-1, keepdims=True)
        mean = probabilities.mean(axis=0)
        predictive, expected = entropy(mean), entropy(probabilities).mean(axis=0)
        # H[mean] >= mean H by concavity; clip the rounding below zero when the passes agree.
        return ClassificationPrediction(mean, predictive, expected, xp.maximum(predictive - expected, 0.0),
                                        probabilities)
    if output == "mean_log_var":
        if outputs.shape[-1] % 2:
            raise ValueError(f"predict_mc: output='mean_log_var' needs an even number of outputs, got "
                             f"{outputs.shape[-1]}")
        half = outputs.shape[-1] // 2
        means, aleatoric = outputs[..., :half], xp.exp(outputs[..., half:]).mean(axis=0)
    else:
        means = outputs
        aleatoric = xp.full(outputs.shape[1:], noise_variance, dtype=outputs.dtype)
    mean = means.mean(axis=0)
    epistemic = ((means - mean) ** 2).mean(axis=0)   # (1/T) sum y_t^2 - ybar^2, without cancellation
    return RegressionPrediction(mean, epistemic + aleatoric, epistemic, aleatoric, means)
