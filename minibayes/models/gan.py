"""Generative adversarial nets (Goodfellow et al. 2014) and the WGAN-GP variant (Gulrajani et al. 2017).

A generator G maps noise z ~ p_z = N(0, I) to data space; a discriminator D maps a data point
to one logit, D(x) = sigmoid(logit), the probability that x came from the data rather than from
G. They play the minimax game of eq. 1 (``gan_losses.value_function``):

    min_G max_D V(D, G) = E_{p_data}[log D(x)] + E_{p_z}[log(1 - D(G(z)))].

``train_gan`` is Algorithm 1: k discriminator steps (each on a fresh minibatch of data and of
noise) then one generator step, with separate optimisers. The generator's loss is the minimax
one of eq. 1 or the non-saturating -log D(G(z)) (see ``gan_losses.generator_loss`` for why the
second is the default). With ``objective="wgan_gp"`` the discriminator is a critic with
unbounded scores, trained on E_{p_g}[f] - E_{p_data}[f] + lambda * gradient penalty.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Callable

import numpy

from .. import backend
from ..autograd.function import no_grad
from ..autograd.tensor import Tensor
from ..nn.layers import Dense, LeakyReLU, ReLU, Sigmoid, Tanh
from ..nn.module import Module, Sequential
from ..nn.normalization import BatchNorm2d
from ..optim import Adam, Optimizer
from . import gan_losses

__all__ = ["GAN", "GANHistory", "OBJECTIVES", "train_gan", "make_mlp_gan"]

OBJECTIVES = ("non_saturating", "minimax", "wgan_gp")


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__") or operator.index(value) < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return operator.index(value)


def noise_generator(random_state: object = None) -> object:
    """The backend Generator the noise comes from: the seeded global one (``mb.seed``) for None,
    a fresh one for an int, or the given Generator."""
    if random_state is None:
        return backend.rng()
    if isinstance(random_state, bool) or not isinstance(random_state, (int, numpy.integer)) or random_state < 0:
        if hasattr(random_state, "standard_normal"):
            return random_state
        raise ValueError(f"random_state must be None, a non-negative int or a backend Generator, got {random_state!r}")
    return backend.xp().random.default_rng(int(random_state))


class GAN(Module):
    """A generator and a discriminator (or critic) as ordinary Modules, and the losses of their game.

    Parameters
    ----------
    generator : Module
        z (batch, noise_dim) -> x (batch, *data_shape).
    discriminator : Module
        x (batch, *data_shape) -> logits (batch,) or (batch, 1); scores of a critic for WGAN-GP.
    noise_dim : int
        Size of z ~ N(0, I).
    objective : "non_saturating", "minimax" or "wgan_gp"
        The generator's loss of ``gan_losses.generator_loss``, or the Wasserstein game.
    penalty_weight : float
        lambda of the WGAN-GP gradient penalty (Gulrajani et al. use 10).
    """

    def __init__(self, generator: Module, discriminator: Module, noise_dim: int, *,
                 objective: str = "non_saturating", penalty_weight: float = 10.0) -> None:
        super().__init__()
        for name, value in (("generator", generator), ("discriminator", discriminator)):
            if not isinstance(value, Module):
                raise TypeError(f"GAN: {name} must be a Module, got {type(value).__name__}")
        if objective not in OBJECTIVES:
            raise ValueError(f"GAN: objective must be one of {OBJECTIVES}, got {objective!r}")
        if isinstance(penalty_weight, bool) or not isinstance(penalty_weight, (int, float)) \
                or not math.isfinite(penalty_weight) or penalty_weight < 0:
            raise ValueError(f"GAN: penalty_weight must be a finite number >= 0, got {penalty_weight!r}")
        self.generator, self.discriminator = generator, discriminator
        self.noise_dim = _positive_int(noise_dim, "GAN: noise_dim")
        self.objective, self.penalty_weight = objective, float(penalty_weight)
        self.data_shape, self.dtype = self._probe()

    def _probe(self) -> tuple[tuple[int, ...], object]:
        """data_shape and dtype read off one pass of both networks at z = 0; bad wiring fails here.

        The pass runs in evaluation mode (and restores each module's mode after), so that it leaves
        batch-normalisation running statistics untouched.
        """
        parameters = list(self.generator.parameters())
        dtype = parameters[0].dtype if parameters else backend.get_default_dtype()
        modes = [(module, module.training) for module in self.modules()]
        self.eval()
        try:
            return self._probe_shapes(dtype)
        finally:
            for module, training in modes:
                object.__setattr__(module, "training", training)

    def _probe_shapes(self, dtype: object) -> tuple[tuple[int, ...], object]:
        with no_grad():
            try:
                x = self.generator(Tensor(backend.xp().zeros((2, self.noise_dim), dtype=dtype)))
            except ValueError as error:
                raise ValueError(f"GAN: the generator does not accept noise of shape (batch, noise_dim) = "
                                 f"(batch, {self.noise_dim}); is noise_dim its input size? ({error})") from error
            if not isinstance(x, Tensor) or x.ndim < 2 or x.shape[0] != 2:
                raise ValueError(f"GAN: generator must map noise (batch, {self.noise_dim}) to (batch, ...), got "
                                 f"{getattr(x, 'shape', type(x).__name__)}")
            logits = self.discriminator(x)
        if not isinstance(logits, Tensor) or logits.shape not in ((2,), (2, 1)):
            raise ValueError(f"GAN: discriminator must map the generator's output (batch, {', '.join(map(str, x.shape[1:]))})"
                             f" to one logit per row, (batch,) or (batch, 1), got "
                             f"{getattr(logits, 'shape', type(logits).__name__)}")
        return tuple(x.shape[1:]), dtype

    # ------------------------------------------------------------------ inputs
    def check_data(self, x: object, name: str = "x") -> object:
        """x as a backend array of the model's dtype, shape (batch, *data_shape), else a clear error."""
        data = x.data if isinstance(x, Tensor) else x
        if not hasattr(data, "shape") or not hasattr(data, "dtype") or data.dtype.kind not in "fiub":
            raise TypeError(f"GAN: {name} must be a numeric array of shape (batch, {self._shape_text()}), "
                            f"got {type(x).__name__}")
        if tuple(data.shape[1:]) != self.data_shape or data.shape[0] < 1:
            raise ValueError(f"GAN: {name} has shape {tuple(data.shape)} but the generator produces "
                             f"(batch, {self._shape_text()}); the data and the generator's output must agree")
        return backend.asarray(data, dtype=self.dtype)

    def _shape_text(self) -> str:
        return ", ".join(map(str, self.data_shape))

    def sample_noise(self, n: int, random_state: object = None) -> object:
        """z ~ N(0, I), a backend array of shape (n, noise_dim), from ``noise_generator(random_state)``."""
        n = _positive_int(n, "GAN.sample_noise: n")
        return noise_generator(random_state).standard_normal((n, self.noise_dim), dtype=self.dtype)

    def check_noise(self, z: object) -> Tensor:
        data = z.data if isinstance(z, Tensor) else backend.asarray(z, dtype=self.dtype)
        if data.ndim != 2 or data.shape[1] != self.noise_dim or data.shape[0] < 1:
            raise ValueError(f"GAN: noise must have shape (batch, noise_dim) = (batch, {self.noise_dim}), "
                             f"got {tuple(data.shape)}")
        return Tensor(data.astype(self.dtype, copy=False))

    # ------------------------------------------------------------------ the two players
    def generate(self, z: object) -> Tensor:
        """G(z): a Tensor of shape (batch, *data_shape) (in the graph, for the generator's loss)."""
        return self.generator(self.check_noise(z))

    def sample(self, n: int, random_state: object = None) -> object:
        """n draws x = G(z), z ~ N(0, I): a backend array (n, *data_shape), no graph."""
        with no_grad():
            return self.generator(Tensor(self.sample_noise(n, random_state))).data

    def logits(self, x: object) -> Tensor:
        """The discriminator's logit (critic's score) per row, shape (batch,)."""
        out = self.discriminator(x if isinstance(x, Tensor) else Tensor(self.check_data(x)))
        return out.reshape(out.shape[0])

    def probability(self, x: object) -> object:
        """D(x) = sigmoid(logit): the probability that x came from the data, a backend array (batch,)."""
        with no_grad():
            logit = self.logits(x).data
        return 0.5 * backend.array_module(logit).tanh(0.5 * logit) + 0.5

    # ------------------------------------------------------------------ losses
    def discriminator_loss(self, real: object, z: object, mix: object = None) -> Tensor:
        """The loss of one discriminator (critic) step on data ``real`` and noise ``z``.

        GAN: -V(D, G) (eq. 1). WGAN-GP: E[f(G(z))] - E[f(x)] + lambda * penalty, with ``mix``
        (shape (batch,), U[0, 1]) placing the penalty's points (drawn from the backend
        generator when omitted). G(z) is computed without a graph: this step trains D only.
        """
        real = self.check_data(real, "real")
        with no_grad():
            fake = self.generate(z).data
        if fake.shape[0] != real.shape[0] and self.objective == "wgan_gp":
            raise ValueError(f"GAN: WGAN-GP needs as many noise rows as data rows, got {fake.shape[0]} "
                             f"and {real.shape[0]}")
        xp = backend.array_module(real)
        if self._batch_coupled():
            # Batch norm in training mode normalises by its batch's statistics: a stacked batch
            # would mix real and generated rows, so each gets its own pass (as Radford et al.'s DCGAN).
            real_scores, fake_scores = self.logits(Tensor(real)), self.logits(Tensor(fake))
        else:
            # One pass over the stacked batch: one big product per layer instead of two (house rule 9);
            # rows do not interact in these networks, so the logits are those of two separate passes.
            scores = self.logits(Tensor(xp.concatenate([real, fake])))
            real_scores, fake_scores = scores[: real.shape[0]], scores[real.shape[0]:]
        if self.objective != "wgan_gp":
            return gan_losses.discriminator_loss(real_scores, fake_scores)
        if mix is None:
            mix = backend.rng().random((real.shape[0],), dtype=self.dtype)
        penalty = gan_losses.gradient_penalty(self.logits, real, fake, mix)
        return gan_losses.critic_loss(real_scores, fake_scores) + self.penalty_weight * penalty

    def _batch_coupled(self) -> bool:
        """True when a layer of the discriminator mixes rows: batch norm in training mode."""
        return any(isinstance(module, BatchNorm2d) and module.training for module in self.discriminator.modules())

    def generator_loss(self, z: object) -> Tensor:
        """The loss of one generator step at noise z (batch, noise_dim), through D's logits."""
        scores = self.logits(self.generate(z))
        if self.objective == "wgan_gp":
            return gan_losses.wasserstein_generator_loss(scores)
        return gan_losses.generator_loss(scores, self.objective)

    def extra_repr(self) -> str:
        return f"noise_dim={self.noise_dim}, data_shape={self.data_shape}, objective={self.objective!r}"


@dataclass
class GANHistory:
    """Losses of both players: ``discriminator`` has k entries per iteration, ``generator`` one.

    NumPy arrays on the host, read back once at the end of training (no per-step sync).
    """

    discriminator: numpy.ndarray
    generator: numpy.ndarray
    k: int


def default_optimizers(gan: GAN) -> tuple[Optimizer, Optimizer]:
    """Adam(2e-4, betas (0.5, 0.999)) for both (Radford et al. 2016), or Adam(1e-4, (0, 0.9)) for
    WGAN-GP (Gulrajani et al. 2017, Algorithm 1's defaults)."""
    lr, betas = (1e-4, (0.0, 0.9)) if gan.objective == "wgan_gp" else (2e-4, (0.5, 0.999))
    return (Adam(gan.discriminator.parameters(), lr=lr, betas=betas),
            Adam(gan.generator.parameters(), lr=lr, betas=betas))


def train_gan(gan: GAN, data: object, iterations: int, *, batch_size: int = 64, k: int = 1,
              discriminator_optimizer: Optimizer | None = None, generator_optimizer: Optimizer | None = None,
              random_state: object = None, callback: Callable[[int, GAN], None] | None = None,
              callback_every: int = 0) -> GANHistory:
    """Goodfellow et al. (2014) Algorithm 1: minibatch stochastic gradient training of a GAN.

    For each of ``iterations``: k times, draw m noise vectors and m data points and take one
    step of the discriminator on -V(D, G); then draw m noise vectors and take one step of the
    generator on its loss (``GAN.generator_loss``). m = ``batch_size``.

    Parameters
    ----------
    gan : GAN
    data : array of shape (n, *data_shape), or callable m -> array of shape (m, *data_shape)
        The data set (minibatches drawn uniformly with replacement, "sample from p_data") or a
        sampler of p_data itself.
    k : int >= 1
        Discriminator steps per generator step (Goodfellow et al. used k = 1; WGAN-GP 5).
    discriminator_optimizer, generator_optimizer : Optimizer, optional
        Separate optimisers over each player's parameters (``default_optimizers`` when omitted).
    random_state : None, int or backend Generator
        Source of the noise, the minibatch indices and the penalty's mixing weights.
    callback : callable (iteration, gan), optional
        Called after iterations callback_every, 2 callback_every, ... (figures over training).

    Returns
    -------
    GANHistory
    """
    if not isinstance(gan, GAN):
        raise TypeError(f"train_gan: gan must be a GAN, got {type(gan).__name__}")
    iterations = _positive_int(iterations, "train_gan: iterations")
    batch_size = _positive_int(batch_size, "train_gan: batch_size")
    k = _positive_int(k, "train_gan: k (discriminator steps per generator step)")
    if isinstance(callback_every, bool) or not isinstance(callback_every, int) or callback_every < 0:
        raise ValueError(f"train_gan: callback_every must be an int >= 0, got {callback_every!r}")
    generator = noise_generator(random_state)
    if callable(data):
        draw_data = lambda m: gan.check_data(data(m), "data(m)")  # noqa: E731
        gan.check_data(data(1), "data(1)")
    else:
        dataset = gan.check_data(data, "data")
        draw_data = lambda m: dataset[generator.integers(0, dataset.shape[0], size=m)]  # noqa: E731
    if discriminator_optimizer is None or generator_optimizer is None:
        defaults = default_optimizers(gan)
        discriminator_optimizer = discriminator_optimizer or defaults[0]
        generator_optimizer = generator_optimizer or defaults[1]
    d_losses, g_losses = [], []
    for iteration in range(1, iterations + 1):
        for _ in range(k):
            discriminator_optimizer.zero_grad()
            mix = generator.random((batch_size,), dtype=gan.dtype) if gan.objective == "wgan_gp" else None
            loss = gan.discriminator_loss(draw_data(batch_size), gan.sample_noise(batch_size, generator), mix)
            loss.backward()
            discriminator_optimizer.step()
            d_losses.append(loss.data)
        # The generator's backward also fills D's gradients; the next D step clears them first.
        generator_optimizer.zero_grad()
        loss = gan.generator_loss(gan.sample_noise(batch_size, generator))
        loss.backward()
        generator_optimizer.step()
        g_losses.append(loss.data)
        if callback is not None and callback_every and iteration % callback_every == 0:
            callback(iteration, gan)
    xp = backend.array_module(d_losses[0])
    # The one device-to-host copy of the whole run.
    losses = backend.to_numpy(xp.concatenate([xp.stack(d_losses), xp.stack(g_losses)]).astype(xp.float64))
    history = GANHistory(losses[: len(d_losses)], losses[len(d_losses):], k)
    if not numpy.isfinite(losses).all():
        first = int(numpy.flatnonzero(~numpy.isfinite(losses))[0])
        player = "discriminator" if first < len(d_losses) else "generator"
        step = first // k + 1 if first < len(d_losses) else first - len(d_losses) + 1
        raise FloatingPointError(f"train_gan: the {player} loss became non-finite at iteration {step}; "
                                 "lower the learning rates or check the data for NaN/inf")
    return history


def make_mlp_gan(n_features: int, noise_dim: int = 100, generator_hidden: tuple[int, ...] = (256, 512),
                 discriminator_hidden: tuple[int, ...] = (512, 256), *, output: str | None = "tanh",
                 init: object = None, dtype: object = None, **options: object) -> GAN:
    """MLP generator (ReLU) and discriminator (LeakyReLU 0.2), Radford et al.'s activations.

    G: noise_dim -> generator_hidden -> n_features, then ``output`` ("tanh" for data in [-1, 1],
    "sigmoid" for [0, 1], None for unbounded data such as the 2-D ring); D: n_features ->
    discriminator_hidden -> 1 logit. ``init`` (a ``Dense`` initialiser) sets every weight; None
    keeps He for the hidden layers and Glorot for the output layers. ``options`` go to ``GAN``
    (``objective``, ``penalty_weight``).
    """
    outputs = {"tanh": Tanh, "sigmoid": Sigmoid, None: None}
    if output not in outputs:
        raise ValueError(f"make_mlp_gan: output must be 'tanh', 'sigmoid' or None, got {output!r}")
    sizes = (noise_dim, *generator_hidden)
    hidden, last = ("he", "glorot") if init is None else (init, init)
    layers: list[Module] = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [Dense(a, b, init=hidden, dtype=dtype), ReLU()]
    layers.append(Dense(sizes[-1], n_features, init=last, dtype=dtype))
    if outputs[output] is not None:
        layers.append(outputs[output]())
    generator = Sequential(*layers)
    sizes = (n_features, *discriminator_hidden)
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [Dense(a, b, init=hidden, dtype=dtype), LeakyReLU(0.2)]
    layers.append(Dense(sizes[-1], 1, init=last, dtype=dtype))
    return GAN(generator, Sequential(*layers), noise_dim, **options)
