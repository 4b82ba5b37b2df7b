"""Small float64 VAEs whose every term can be written down: shared by the VAE tests."""

from __future__ import annotations

import numpy as np

import minibayes as mb
from minibayes import nn
from minibayes.models import PPCA, VAE


def assign(parameter, value) -> None:
    """Write host values into a parameter on whatever backend it lives (NumPy or CuPy)."""
    parameter.data[...] = mb.asarray(np.asarray(value, dtype=parameter.dtype))


def host(parameter) -> np.ndarray:
    return mb.to_numpy(parameter.data)


def linear_gaussian_vae(n_features: int, latent_dim: int, **options) -> VAE:
    """Linear encoder x -> [mu, log sigma^2] and linear decoder z -> W z + b with a shared
    learned variance: the decoder is probabilistic PCA's p(x | z) = N(W z + mu, sigma^2 I)."""
    encoder = nn.Dense(n_features, 2 * latent_dim, dtype="float64")
    encoder.weight.data[:, latent_dim:] = 0.0            # start at sigma = 1 (He-scaled log-variances
    #                                                       of unstandardised data start far from it)
    decoder = nn.Dense(latent_dim, n_features, dtype="float64")
    return VAE(encoder, decoder, latent_dim, likelihood="gaussian", decoder_variance="shared", **options)


def set_decoder_to_ppca(vae: VAE, ppca: PPCA) -> tuple[np.ndarray, np.ndarray, float]:
    """Copy PPCA's (W, mu, sigma^2) into the VAE's decoder; returns them as NumPy arrays."""
    W = np.asarray(mb.to_numpy(ppca.components_)).T          # (D, J)
    mean = np.asarray(mb.to_numpy(ppca.mean_))
    sigma2 = float(ppca.noise_variance_)
    assign(vae.decoder.weight, W.T)
    assign(vae.decoder.bias, mean)
    # the learned log-variance goes through the soft clamp bound * tanh(raw / bound): invert it
    assign(vae.decoder_log_var, vae.log_var_bound * np.arctanh(np.log(sigma2) / vae.log_var_bound))
    return W, mean, sigma2


def decoder_variance(vae: VAE) -> float:
    """sigma^2 of the shared-variance decoder, after the soft clamp."""
    return float(np.exp(vae.log_var_bound * np.tanh(host(vae.decoder_log_var) / vae.log_var_bound)))


def encoder_outputs(vae: VAE, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mu, log sigma^2) of the linear encoder, computed in NumPy from its weights."""
    J = vae.latent_dim
    out = X @ host(vae.encoder.weight) + host(vae.encoder.bias)
    bound = vae.log_var_bound
    return out[:, :J], bound * np.tanh(out[:, J:] / bound)


def exact_expected_log_likelihood(X, mu, log_var, W, mean, sigma2) -> np.ndarray:
    """E_{q(z|x)}[log N(x | W z + mean, sigma^2 I)] for q = N(mu, diag exp(log_var)), per row:

        -D/2 log(2 pi sigma^2) - (||x - W mu - mean||^2 + tr(W diag(s^2) W^T)) / (2 sigma^2).
    """
    D = X.shape[1]
    residual = X - mu @ W.T - mean
    trace = (np.exp(log_var) * (W * W).sum(axis=0)).sum(axis=1)
    return -0.5 * D * np.log(2 * np.pi * sigma2) - ((residual ** 2).sum(axis=1) + trace) / (2 * sigma2)


def kl_diagonal_to_full(mu, log_var, mean_p, cov_p) -> np.ndarray:
    """KL(N(mu_n, diag exp(log_var_n)) || N(mean_p_n, cov_p)) per row, by the Gaussian formula (PRML 2.44-style)."""
    J = mu.shape[1]
    precision = np.linalg.inv(cov_p)
    _, logdet_p = np.linalg.slogdet(cov_p)
    diff = mean_p - mu
    trace = (np.exp(log_var) * np.diag(precision)).sum(axis=1)
    maha = np.einsum("ni,ij,nj->n", diff, precision, diff)
    return 0.5 * (trace + maha - J + logdet_p - log_var.sum(axis=1))
