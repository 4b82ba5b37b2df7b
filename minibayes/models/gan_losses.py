"""The losses of the adversarial game, all computed from the discriminator's logits.

Goodfellow et al. (2014) eq. 1, the seeds' value function,

    V(D, G) = E_{x ~ p_data}[log D(x)] + E_{z ~ p_z}[log(1 - D(G(z)))],   D = sigmoid(a),

is estimated on a minibatch by the mean over its rows. Written with the logit a, the two logs are
log D = log_sigmoid(a) and log(1 - D) = log_sigmoid(-a): neither ever evaluates log 0, so a
discriminator that rejects a sample with logit -1000 still gives a finite loss and gradient
(``sigmoid`` followed by ``log`` would give -inf and NaN).

The Wasserstein variant (Arjovsky et al. 2017; Gulrajani et al. 2017, "WGAN-GP") replaces D by a
critic f with unbounded scores and the game by E_{p_g}[f] - E_{p_data}[f], plus the gradient
penalty lambda E_{x_hat}[(||grad_x f(x_hat)||_2 - 1)^2] on points x_hat between real and generated
samples (Gulrajani et al. Algorithm 1, eq. 3), which keeps f close to 1-Lipschitz.
"""

from __future__ import annotations

from typing import Callable

from .. import backend
from ..autograd import ops
from ..autograd.engine import grad
from ..autograd.tensor import Tensor, as_tensor

__all__ = [
    "GENERATOR_LOSSES", "value_function", "discriminator_loss", "generator_loss", "critic_loss",
    "wasserstein_generator_loss", "gradient_penalty",
]

GENERATOR_LOSSES = ("minimax", "non_saturating")


def _scores(logits: object, name: str) -> Tensor:
    """One score per row: (batch,) or (batch, 1) -> (batch,)."""
    logits = as_tensor(logits)
    if logits.ndim == 2 and logits.shape[1] == 1:
        logits = logits.reshape(logits.shape[0])
    if logits.ndim != 1 or logits.shape[0] < 1:
        raise ValueError(f"{name} must hold one logit per sample, shape (batch,) or (batch, 1), got {logits.shape}")
    return logits


def value_function(real_logits: object, fake_logits: object) -> Tensor:
    """Minibatch estimate of V(D, G), Goodfellow et al. (2014) eq. 1 (what D ascends).

    (1/m) sum_i log D(x_i) + (1/n) sum_j log(1 - D(G(z_j))), with D = sigmoid(logit).

    Parameters
    ----------
    real_logits : Tensor of shape (m,) or (m, 1), the logits of D at data points x_i
    fake_logits : Tensor of shape (n,) or (n, 1), the logits of D at generated points G(z_j)
    """
    real, fake = _scores(real_logits, "real_logits"), _scores(fake_logits, "fake_logits")
    return ops.mean(ops.log_sigmoid(real)) + ops.mean(ops.log_sigmoid(-fake))


def discriminator_loss(real_logits: object, fake_logits: object) -> Tensor:
    """-V(D, G) (eq. 1): what Algorithm 1's discriminator step descends.

    It is the binary cross-entropy of labels 1 for data and 0 for generated samples (each half
    averaged on its own), so D estimates P(y = 1 | x) (Goodfellow section 4.1).
    """
    return -value_function(real_logits, fake_logits)


def generator_loss(fake_logits: object, kind: str = "non_saturating") -> Tensor:
    """The generator's loss on a minibatch of logits a_j = logit D(G(z_j)).

    - ``"minimax"``: (1/n) sum_j log(1 - D(G(z_j))), the second term of eq. 1 (Algorithm 1's
      generator step descends it). d/da log(1 - sigmoid(a)) = -D: when D rejects the samples
      with confidence (D -> 0, early in training) the gradient vanishes, the loss *saturates*.
    - ``"non_saturating"``: -(1/n) sum_j log D(G(z_j)) (Goodfellow section 3: "train G to
      maximize log D(G(z))"). d/da = -(1 - D) -> -1 as D -> 0: strong gradients exactly where
      the minimax loss has none. Both are stationary where d a / d theta_g = 0, so the dynamics
      have the same fixed point (D = 1/2 at p_g = p_data); this is the default for that reason.

    Parameters
    ----------
    fake_logits : Tensor of shape (n,) or (n, 1)
    kind : "minimax" or "non_saturating"
    """
    if kind not in GENERATOR_LOSSES:
        raise ValueError(f"generator_loss: kind must be one of {GENERATOR_LOSSES}, got {kind!r}")
    fake = _scores(fake_logits, "fake_logits")
    if kind == "minimax":
        return ops.mean(ops.log_sigmoid(-fake))
    return -ops.mean(ops.log_sigmoid(fake))


def critic_loss(real_scores: object, fake_scores: object) -> Tensor:
    """WGAN critic loss without its penalty, Gulrajani et al. (2017) eq. 3: E_{p_g}[f] - E_{p_data}[f].

    The critic descends it, so it learns f large on data and small on generated samples; its
    negative estimates the Wasserstein-1 distance when f is 1-Lipschitz (Kantorovich-Rubinstein).
    """
    real, fake = _scores(real_scores, "real_scores"), _scores(fake_scores, "fake_scores")
    return ops.mean(fake) - ops.mean(real)


def wasserstein_generator_loss(fake_scores: object) -> Tensor:
    """-E_{z}[f(G(z))]: the WGAN generator descends it (Gulrajani et al. Algorithm 1, line 11)."""
    return -ops.mean(_scores(fake_scores, "fake_scores"))


def gradient_penalty(critic: Callable[[Tensor], Tensor], real: object, fake: object, mix: object) -> Tensor:
    """Gulrajani et al. (2017) eq. 3: E_{x_hat}[(||grad_{x_hat} f(x_hat)||_2 - 1)^2], unweighted.

    x_hat = mix * x + (1 - mix) * x_tilde, one mix ~ U[0, 1] per row (their Algorithm 1, lines
    4-8). The inner gradient is taken with ``create_graph=True``, so the penalty is a function of
    the critic's parameters through its own backward pass and its gradient (a second derivative
    of f) flows to them in ``penalty.backward()``.

    Parameters
    ----------
    critic : callable, (batch, *data_shape) Tensor -> scores of shape (batch,) or (batch, 1)
    real, fake : arrays or Tensors of shape (batch, *data_shape)
        Their values only are used: x_hat is a new leaf, so no gradient reaches the generator
        (the critic's step does not train G).
    mix : array of shape (batch,), values in [0, 1]

    Notes
    -----
    The norm's derivative g / ||g|| has no value at g = 0; rows whose gradient is exactly zero
    take the norm 0 with derivative 0 (a subgradient), instead of the NaN of sqrt'(0) or the
    bias of sqrt(||g||^2 + eps).
    """
    real_data = real.data if isinstance(real, Tensor) else backend.asarray(real)
    fake_data = fake.data if isinstance(fake, Tensor) else backend.asarray(fake)
    if real_data.shape != fake_data.shape or real_data.ndim < 2:
        raise ValueError(f"gradient_penalty: real and fake must have the same shape (batch, ...), got "
                         f"{tuple(real_data.shape)} and {tuple(fake_data.shape)}")
    mix = mix.data if isinstance(mix, Tensor) else backend.asarray(mix)
    if tuple(mix.shape) != (real_data.shape[0],):
        raise ValueError(f"gradient_penalty: mix must have shape ({real_data.shape[0]},), got {tuple(mix.shape)}")
    mix = mix.astype(real_data.dtype, copy=False).reshape((-1,) + (1,) * (real_data.ndim - 1))
    x_hat = Tensor(mix * real_data + (1 - mix) * fake_data, requires_grad=True)
    scores = _scores(critic(x_hat), "critic(x_hat)")
    (gradient,) = grad(ops.sum(scores), x_hat, create_graph=True)
    squared_norm = ops.sum(ops.reshape(gradient * gradient, (gradient.shape[0], -1)), axis=1)
    nonzero = squared_norm.data > 0
    norm = ops.where(nonzero, ops.sqrt(ops.where(nonzero, squared_norm, 1.0)), 0.0)
    return ops.mean((norm - 1.0) ** 2)
