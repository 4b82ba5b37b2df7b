"""Variational autoencoder: auto-encoding variational Bayes (Kingma & Welling 2014).

Model: p(z) = N(0, I), p(x | z) a Bernoulli or Gaussian decoder network; recognition model
q(z | x) = N(mu(x), diag sigma^2(x)) (K&W eq. 9). Training maximises the evidence lower bound
(K&W eqs. 1-3, the seeds' ELBO)

    log p(x) = KL(q(z | x) || p(z | x)) + L,   L = -KL(q(z | x) || p(z)) + E_q[log p(x | z)],

through the reparameterisation z = mu + sigma * eps, eps ~ N(0, I) (eq. 4, lecture 000's
"z = z_mu + z_sigma eps"), by either SGVB estimator:

- A (eq. 6): (1/L) sum_l [log p(x, z_l) - log q(z_l | x)], everything by Monte Carlo;
- B (eq. 7): -KL(q || p(z)) in closed form (appendix B, eq. 10) + (1/L) sum_l log p(x | z_l);
  lower variance, the default.

Minibatches: ``elbo`` returns the bound per data point, averaged over the batch (the shared
``VariationalObjective``). K&W's minibatch estimator of the full-data bound (eq. 8) is
(N / M) sum_{i in batch} L_i = N x that average (``dataset_elbo``): the same gradient
direction, scaled by N, so per-data-point units only rescale the learning rate.

Beyond the ELBO: the importance-weighted bound of Burda et al. (2016),
log p(x) >= E[log (1/k) sum_k p(x, z_k) / q(z_k | x)], non-decreasing in k and tight as k grows
(``log_likelihood`` estimates log p(x) with it; ``iwae_bound`` trains with it).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from .. import backend
from ..autograd import ops
from ..autograd.function import no_grad
from ..autograd.tensor import Tensor
from ..nn.layers import Dense, ReLU
from ..nn.module import Module, Parameter, Sequential
from .latent_gaussian import (
    bernoulli_log_likelihood, gaussian_log_likelihood, kl_to_standard_normal, log_prior_minus_log_posterior,
)
from ._checks import check_batch, positive_int
from .objectives import VariationalObjective, check_kl_weight

__all__ = ["VAE", "EncodedPosterior", "make_mlp_vae"]

LIKELIHOODS = ("bernoulli", "gaussian")
ESTIMATORS = ("A", "B")
DECODER_VARIANCES = ("pixel", "shared", "output")
# Memory bound of one decoder pass while estimating log p(x): samples x rows x features.
_ELEMENTS_PER_PASS = 1 << 22


class EncodedPosterior(NamedTuple):
    """q(z | x) = N(mean, diag exp(log_var)), each of shape (batch, latent_dim)."""

    mean: Tensor
    log_var: Tensor

    @property
    def std(self) -> Tensor:
        return ops.exp(0.5 * self.log_var)


def _positive_int(value: object, name: str) -> int:
    return positive_int(value, name, "VAE")


class VAE(Module):
    """Gaussian-encoder VAE with a Bernoulli or Gaussian decoder (K&W section 3, appendix C).

    Parameters
    ----------
    encoder : Module
        x (batch, n_features) -> a Tensor (batch, 2 * latent_dim) holding [mu, log sigma^2], or a
        pair of Tensors (mu, log sigma^2) of shape (batch, latent_dim) each.
    decoder : Module
        z (batch, latent_dim) -> logits (Bernoulli) or means (Gaussian) of shape (batch, n_features);
        with ``decoder_variance="output"``, (batch, 2 * n_features) holding [mean, log variance].
    latent_dim : int
        J, the size of z.
    likelihood : "bernoulli" or "gaussian"
        p(x | z). Bernoulli needs x in [0, 1] (grey levels are read as probabilities of ink).
    decoder_variance : "pixel", "shared", "output" or float
        Gaussian decoder's variance: a learned log-variance per feature (default), one shared
        learned log-variance (probabilistic PCA's sigma^2), produced by the decoder, or fixed.
    estimator : "A" or "B"
        SGVB estimator (K&W eq. 6 or eq. 7).
    n_samples : int
        L, samples of z per data point.
    log_var_bound : float or None
        The encoder's log sigma^2 (and a Gaussian decoder's learned one) is soft-clamped to (-bound, bound) by bound * tanh(raw / bound)
        (default 30: sigma^2 between 1e-13 and 1e13), so exp never overflows nor the KL becomes
        infinite, in float32 too. A soft clamp, not a clip: a clipped unit has zero gradient and
        can never come back, while tanh keeps a gradient and is nearly the identity for
        |log sigma^2| < 10 (the relative change is below 4%). ``None`` disables it.
    validate_args : bool
        Check every batch for its width, finiteness and (Bernoulli) range in [0, 1]. Costs one
        device-to-host sync per call; check the data set once and switch it off in a hot loop.
    """

    def __init__(self, encoder: Module, decoder: Module, latent_dim: int, *, likelihood: str = "bernoulli",
                 decoder_variance: str | float = "pixel", estimator: str = "B", n_samples: int = 1,
                 log_var_bound: float | None = 30.0, validate_args: bool = True) -> None:
        super().__init__()
        for name, value in (("encoder", encoder), ("decoder", decoder)):
            if not isinstance(value, Module):
                raise TypeError(f"VAE: {name} must be a Module, got {type(value).__name__}")
        latent_dim = _positive_int(latent_dim, "latent_dim")
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"VAE: likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
        if estimator not in ESTIMATORS:
            raise ValueError(f"VAE: estimator must be 'A' (K&W eq. 6) or 'B' (eq. 7), got {estimator!r}")
        fixed_variance = None
        if likelihood == "gaussian" and not isinstance(decoder_variance, str):
            if isinstance(decoder_variance, bool) or not isinstance(decoder_variance, (int, float)) \
                    or not math.isfinite(decoder_variance) or decoder_variance <= 0:
                raise ValueError(f"VAE: decoder_variance must be one of {DECODER_VARIANCES} or a positive "
                                 f"number, got {decoder_variance!r}")
            fixed_variance = float(decoder_variance)
        elif likelihood == "gaussian" and decoder_variance not in DECODER_VARIANCES:
            raise ValueError(f"VAE: decoder_variance must be one of {DECODER_VARIANCES} or a positive number, "
                             f"got {decoder_variance!r}")
        if log_var_bound is not None and (isinstance(log_var_bound, bool) or not isinstance(log_var_bound, (int, float))
                                          or not 0 < log_var_bound < math.inf):
            raise ValueError(f"VAE: log_var_bound must be a positive number or None, got {log_var_bound!r}")
        self.encoder, self.decoder = encoder, decoder
        self.latent_dim, self.likelihood, self.estimator = latent_dim, likelihood, estimator
        self.decoder_variance = decoder_variance if fixed_variance is None else fixed_variance
        self.n_samples = _positive_int(n_samples, "n_samples")
        self.log_var_bound = None if log_var_bound is None else float(log_var_bound)
        self.validate_args = bool(validate_args)
        self.n_features, self.dtype = self._probe_decoder()
        if likelihood == "gaussian" and decoder_variance in ("pixel", "shared"):
            shape = (self.n_features,) if decoder_variance == "pixel" else ()
            # log sigma^2 = 0 at the start: unit variance, the scale of standardised data.
            self.decoder_log_var = Parameter(backend.xp().zeros(shape, dtype=self.dtype))

    def _probe_decoder(self) -> tuple[int, object]:
        """n_features and the parameter dtype, read off one decoder pass at z = 0."""
        parameters = list(self.decoder.parameters())
        dtype = parameters[0].dtype if parameters else backend.get_default_dtype()
        training = self.decoder.training
        # Eval mode: a Dropout in the decoder neither draws (the random stream stays as it was)
        # nor changes the output's shape.
        self.decoder.eval()
        try:
            with no_grad():
                out = self.decoder(Tensor(backend.xp().zeros((1, self.latent_dim), dtype=dtype)))
        finally:
            self.decoder.train(training)
        if not isinstance(out, Tensor) or out.ndim != 2:
            raise ValueError(f"VAE: decoder must map (batch, latent_dim) to (batch, features), got "
                             f"{getattr(out, 'shape', type(out).__name__)}")
        width = out.shape[1]
        if self.likelihood == "gaussian" and self.decoder_variance == "output":
            if width % 2:
                raise ValueError(f"VAE: with decoder_variance='output' the decoder must give 2 * n_features "
                                 f"outputs (mean, log variance), got {width}")
            width //= 2
        return width, dtype

    # ------------------------------------------------------------------ input
    def _check_x(self, x: object, name: str = "x") -> Tensor:
        """x as a constant Tensor (batch, n_features) of the model's dtype; value checks if validate_args."""
        return check_batch(x, self.n_features, self.dtype, "VAE", name=name,
                           unit_interval=self.likelihood == "bernoulli", validate=self.validate_args)

    # ------------------------------------------------------------------ the two networks
    def encode(self, x: object) -> EncodedPosterior:
        """q(z | x): mean and (soft-clamped) log-variance, each (batch, latent_dim)."""
        return self._encode(self._check_x(x))

    def _encode(self, x: Tensor) -> EncodedPosterior:
        out = self.encoder(x)
        if isinstance(out, (tuple, list)) and len(out) == 2:
            mean, log_var = out
        elif isinstance(out, Tensor) and out.ndim == 2 and out.shape[1] == 2 * self.latent_dim:
            mean, log_var = out[:, : self.latent_dim], out[:, self.latent_dim:]
        else:
            raise ValueError(f"VAE: encoder must return (mean, log_var) or one Tensor (batch, "
                             f"{2 * self.latent_dim}), got {getattr(out, 'shape', type(out).__name__)}")
        if mean.shape != (x.shape[0], self.latent_dim) or log_var.shape != mean.shape:
            raise ValueError(f"VAE: encoder's mean and log_var must be ({x.shape[0]}, {self.latent_dim}), "
                             f"got {mean.shape} and {log_var.shape}")
        return EncodedPosterior(mean, self._clamp(log_var))

    def _clamp(self, log_var: Tensor) -> Tensor:
        """The soft clamp bound * tanh(log_var / bound) of ``log_var_bound`` (identity when None)."""
        if self.log_var_bound is None:
            return log_var
        return self.log_var_bound * ops.tanh(log_var * (1.0 / self.log_var_bound))

    def _decode(self, z: Tensor) -> tuple[Tensor, Tensor | None]:
        """Decoder parameters at z: (logits, None) or (mean, log variance broadcastable to it)."""
        out = self.decoder(z)
        if self.likelihood == "bernoulli":
            return out, None
        if self.decoder_variance == "output":
            return out[:, : self.n_features], self._clamp(out[:, self.n_features:])
        if isinstance(self.decoder_variance, float):
            return out, Tensor(backend.xp().full((), math.log(self.decoder_variance), dtype=self.dtype))
        # Learned variances are clamped too: a pixel that is constant in the data (Fashion-MNIST's
        # borders) would otherwise drive its sigma^2 to 0 and the likelihood to +infinity.
        return out, self._clamp(self.decoder_log_var)

    def _log_likelihood(self, x: Tensor, z: Tensor) -> Tensor:
        """log p(x | z) per row (summed over features); x and z share their first axis."""
        first, second = self._decode(z)
        if self.likelihood == "bernoulli":
            elementwise = bernoulli_log_likelihood(x, first)
        else:
            elementwise = gaussian_log_likelihood(x, first, ops.broadcast_to(second, first.shape))
        return elementwise.sum(axis=1)

    def _draw_noise(self, n_samples: int, batch: int, noise: object) -> Tensor:
        shape = (n_samples, batch, self.latent_dim)
        if noise is None:
            return Tensor(backend.rng().standard_normal(shape, dtype=self.dtype))
        data = backend.asarray(noise.data if isinstance(noise, Tensor) else noise, dtype=self.dtype)
        if tuple(data.shape) != shape:
            raise ValueError(f"VAE: noise must have shape (n_samples, batch, latent_dim) = {shape}, "
                             f"got {tuple(data.shape)}")
        return Tensor(data)

    # ------------------------------------------------------------------ objectives
    def elbo(self, x: object, *, n_samples: int | None = None, estimator: str | None = None,
             kl_weight: float = 1.0, noise: object = None) -> VariationalObjective:
        """The SGVB estimate of the ELBO per data point, averaged over the batch (K&W eqs. 6-7, 10).

        Parameters
        ----------
        x : array of shape (batch, n_features)
        n_samples, estimator : override the model's L and estimator for this call.
        kl_weight : float
            beta of a KL warm-up: ``loss = nll + beta * kl``; the reported ``elbo`` is the true one.
        noise : array of shape (L, batch, latent_dim), optional
            The eps of the reparameterisation (drawn from the backend generator when omitted).
        """
        estimator = self.estimator if estimator is None else estimator
        if estimator not in ESTIMATORS:
            raise ValueError(f"VAE.elbo: estimator must be 'A' or 'B', got {estimator!r}")
        n_samples = self.n_samples if n_samples is None else _positive_int(n_samples, "n_samples")
        kl_weight = check_kl_weight(kl_weight)
        x = self._check_x(x)
        batch = x.shape[0]
        posterior = self._encode(x)
        eps = self._draw_noise(n_samples, batch, noise)
        # (L, batch, J) -> (L * batch, J): one decoder pass over every sample.
        z = (posterior.mean + posterior.std * eps).reshape(n_samples * batch, self.latent_dim)
        x_rows = x if n_samples == 1 else Tensor(backend.array_module(x.data).concatenate([x.data] * n_samples))
        rows = n_samples * batch
        reconstruction = self._log_likelihood(x_rows, z).sum() * (1.0 / rows)
        if estimator == "B":
            kl = kl_to_standard_normal(posterior.mean, posterior.log_var).sum() * (1.0 / batch)
        else:
            log_ratio = log_prior_minus_log_posterior(z, eps.reshape(rows, self.latent_dim),
                                                      ops.broadcast_to(posterior.log_var, eps.shape)
                                                      .reshape(rows, self.latent_dim))
            kl = -log_ratio.sum() * (1.0 / rows)
        return VariationalObjective.from_terms(reconstruction, kl, kl_weight)

    def forward(self, x: object) -> VariationalObjective:
        return self.elbo(x)

    def loss(self, x: object, **options: object) -> Tensor:
        """-ELBO per data point (``elbo(x, **options).loss``): what a training step minimises."""
        return self.elbo(x, **options).loss

    def dataset_elbo(self, x: object, n_data: int, **options: object) -> Tensor:
        """K&W eq. 8: L(X) ~ (N / M) sum_{i=1}^M L(x_i) for a minibatch of M of the N points."""
        n_data = _positive_int(n_data, "n_data")
        return self.elbo(x, **options).elbo * float(n_data)

    def _log_weights(self, x: Tensor, posterior: EncodedPosterior, eps: Tensor) -> tuple[Tensor, Tensor]:
        """log w_k = log p(x | z_k) + log p(z_k) - log q(z_k | x) for z_k = mu + sigma * eps_k, and
        log p(x | z_k) alone; both of shape (k, batch)."""
        k, batch = eps.shape[0], x.shape[0]
        z = posterior.mean + posterior.std * eps
        rows = k * batch
        x_rows = x if k == 1 else Tensor(backend.array_module(x.data).concatenate([x.data] * k))
        log_likelihood = self._log_likelihood(x_rows, z.reshape(rows, self.latent_dim)).reshape(k, batch)
        return log_likelihood + log_prior_minus_log_posterior(z, eps, posterior.log_var).sum(axis=2), log_likelihood

    def iwae_bound(self, x: object, k: int, *, noise: object = None) -> VariationalObjective:
        """The k-sample importance-weighted bound (Burda et al. 2016, eq. 8), per data point:

            L_k = E[log (1/k) sum_{i=1}^k w_i],  w_i = p(x, z_i) / q(z_i | x),

        computed with logsumexp. L_1 is the ELBO (estimator A); L_k <= L_{k+1} <= log p(x) in
        expectation. Differentiable: training on it is the IWAE objective. The returned parts are
        diagnostics: ``reconstruction`` the mean log p(x | z_i), ``kl`` the Monte Carlo KL of the k draws.
        """
        k = _positive_int(k, "k")
        x = self._check_x(x)
        posterior = self._encode(x)
        eps = self._draw_noise(k, x.shape[0], noise)
        log_w, log_likelihood = self._log_weights(x, posterior, eps)
        bound = (ops.logsumexp(log_w, axis=0) - math.log(k)).mean()
        reconstruction = log_likelihood.mean()
        return VariationalObjective.from_bound(bound, reconstruction, reconstruction - log_w.mean())

    def log_likelihood(self, x: object, k: int = 1000, batch_size: int = 100) -> object:
        """log p(x) estimated by the importance-weighted bound with k samples, per row: shape (n,).

        Rows are taken ``batch_size`` at a time and samples in chunks so that one decoder pass
        holds at most about 4M numbers (k = 5000 on 784 pixels fits in a few hundred MB).
        The estimate is a stochastic lower bound that tightens as k grows (Burda et al. 2016).
        """
        k = _positive_int(k, "k")
        batch_size = _positive_int(batch_size, "batch_size")
        x = self._check_x(x)
        xp = backend.array_module(x.data)
        estimates = []
        with no_grad():
            for start in range(0, x.shape[0], batch_size):
                rows = Tensor(x.data[start: start + batch_size])
                posterior = self._encode(rows)
                chunk = max(1, _ELEMENTS_PER_PASS // (rows.shape[0] * max(self.n_features, self.latent_dim)))
                log_w = []
                for done in range(0, k, chunk):
                    eps = self._draw_noise(min(chunk, k - done), rows.shape[0], None)
                    log_w.append(self._log_weights(rows, posterior, eps)[0].data)
                log_w = xp.concatenate(log_w, axis=0)
                estimates.append(ops.logsumexp(Tensor(log_w), axis=0).data - math.log(k))
        return xp.concatenate(estimates)

    # ------------------------------------------------------------------ diagnostics
    def kl_per_dimension(self, x: object) -> object:
        """Closed-form KL(q(z_j | x) || N(0, 1)) averaged over the rows of x, shape (latent_dim,).

        A dimension whose KL stays near zero carries no information about x: the posterior has
        collapsed onto the prior there.
        """
        with no_grad():
            posterior = self.encode(x)
            return kl_to_standard_normal(posterior.mean, posterior.log_var).mean(axis=0).data

    def active_units(self, x: object, threshold: float = 1e-2) -> tuple[int, object]:
        """Burda et al. (2016), section 5.2: unit u is active when A_u = Cov_x(E_q(u|x)[u]) > threshold.

        Returns the number of active units and A_u for every unit, shape (latent_dim,).
        """
        with no_grad():
            means = self.encode(x).mean.data
        xp = backend.array_module(means)
        activity = xp.var(means, axis=0)
        return int((activity > threshold).sum()), activity

    # ------------------------------------------------------------------ generation
    def sample(self, n: int, temperature: float = 1.0, mean: bool = True) -> object:
        """n draws of x from the model: z ~ N(0, temperature^2 I), then p(x | z).

        With ``mean=True`` (the figures' convention) returns E[x | z] (Bernoulli: sigmoid of the
        logits); else a draw from p(x | z). Shape (n, n_features), a backend array.
        """
        n = _positive_int(n, "n")
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0 \
                or not math.isfinite(temperature):
            raise ValueError(f"VAE.sample: temperature must be a positive number, got {temperature!r}")
        generator = backend.rng()
        with no_grad():
            z = Tensor(generator.standard_normal((n, self.latent_dim), dtype=self.dtype) * self.dtype.type(temperature))
            return self._draw_or_mean(z, mean, generator)

    def decode(self, z: object, mean: bool = True) -> object:
        """E[x | z] (or a draw) for latent points z of shape (n, latent_dim): the manifold figures."""
        data = z.data if isinstance(z, Tensor) else backend.asarray(z, dtype=self.dtype)
        if data.ndim != 2 or data.shape[1] != self.latent_dim:
            raise ValueError(f"VAE.decode: z must have shape (n, {self.latent_dim}), got {tuple(data.shape)}")
        with no_grad():
            return self._draw_or_mean(Tensor(data.astype(self.dtype, copy=False)), mean, backend.rng())

    def _draw_or_mean(self, z: Tensor, mean: bool, generator: object) -> object:
        first, second = self._decode(z)
        if self.likelihood == "bernoulli":
            probabilities = ops.sigmoid(first).data
            return probabilities if mean else (generator.random(probabilities.shape) < probabilities).astype(self.dtype)
        if mean:
            return first.data
        std = ops.exp(0.5 * ops.broadcast_to(second, first.shape)).data
        return first.data + std * generator.standard_normal(first.shape, dtype=self.dtype)

    def reconstruct(self, x: object) -> object:
        """E[x | z = mu(x)]: the decoder's mean at the posterior mean, shape (batch, n_features)."""
        with no_grad():
            return self._draw_or_mean(self.encode(x).mean, True, backend.rng())

    def extra_repr(self) -> str:
        return (f"latent_dim={self.latent_dim}, likelihood={self.likelihood!r}, estimator={self.estimator!r}, "
                f"n_samples={self.n_samples}")


def make_mlp_vae(n_features: int = 784, hidden: int = 400, latent_dim: int = 20, *, dtype: object = None,
                 **options: object) -> VAE:
    """The VAE of the course and of K&W's MNIST experiments: one hidden layer each way,
    n_features-hidden-2J encoder and J-hidden-n_features decoder, ReLU (He-initialised).

    ``options`` go to ``VAE`` (``likelihood``, ``estimator``, ...).
    """
    encoder = Sequential(Dense(n_features, hidden, dtype=dtype), ReLU(), Dense(hidden, 2 * latent_dim, dtype=dtype))
    width = 2 * n_features if options.get("decoder_variance") == "output" else n_features
    decoder = Sequential(Dense(latent_dim, hidden, dtype=dtype), ReLU(), Dense(hidden, width, dtype=dtype))
    return VAE(encoder, decoder, latent_dim, **options)
