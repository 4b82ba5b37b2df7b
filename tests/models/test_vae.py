"""VAE: loss conventions against a hand-written NumPy ELBO, the two SGVB estimators, gradients,
diagnostics, sampling and bad input."""

import numpy as np
import pytest
from scipy import integrate, stats

import minibayes as mb
from minibayes import nn
from minibayes.distributions import Normal, kl_divergence
from minibayes.models import VAE, make_mlp_vae
from minibayes.models.latent_gaussian import kl_to_standard_normal, log_prior_minus_log_posterior

from ..module_gradcheck import module_gradcheck

D, H, J = 6, 5, 3


def small_vae(likelihood="bernoulli", **options):
    mb.seed(0)
    return make_mlp_vae(D, H, J, dtype="float64", likelihood=likelihood, **options)


def binary_batch(n=4, seed=0):
    return (np.random.default_rng(seed).random((n, D)) < 0.4).astype("float64")


def numpy_forward(vae, x, eps):
    """The whole ELBO of one batch in NumPy, from the weights: K&W eqs. 6, 7 and 10 written out."""
    e0, e2 = vae.encoder[0], vae.encoder[2]
    d0, d2 = vae.decoder[0], vae.decoder[2]
    out = np.maximum(x @ e0.weight.data + e0.bias.data, 0) @ e2.weight.data + e2.bias.data
    mu, raw = out[:, :J], out[:, J:]
    log_var = vae.log_var_bound * np.tanh(raw / vae.log_var_bound)
    sigma = np.exp(0.5 * log_var)
    z = mu + sigma * eps                                  # (L, n, J)
    logits = np.maximum(z @ d0.weight.data + d0.bias.data, 0) @ d2.weight.data + d2.bias.data
    p = 1 / (1 + np.exp(-logits))
    log_px_z = (x * np.log(p) + (1 - x) * np.log(1 - p)).sum(-1)          # (L, n)
    log_q = stats.norm(mu, sigma).logpdf(z).sum(-1)
    log_p_z = stats.norm(0, 1).logpdf(z).sum(-1)
    kl_closed = -0.5 * (1 + log_var - mu ** 2 - sigma ** 2).sum(-1)       # K&W eq. 10
    return {"reconstruction": log_px_z.mean(), "kl_A": (log_q - log_p_z).mean(), "kl_B": kl_closed.mean()}


@pytest.mark.parametrize("estimator", ["A", "B"])
@pytest.mark.parametrize("n_samples", [1, 3])
def test_elbo_equals_a_hand_written_numpy_elbo_term_by_term(estimator, n_samples):
    vae, x = small_vae(), binary_batch()
    eps = np.random.default_rng(1).standard_normal((n_samples, len(x), J))
    result = vae.elbo(x, estimator=estimator, n_samples=n_samples, noise=eps)
    expected = numpy_forward(vae, x, eps)
    kl = expected["kl_" + estimator]
    assert result.reconstruction.item() == pytest.approx(expected["reconstruction"], rel=1e-12)
    assert result.kl.item() == pytest.approx(kl, rel=1e-12)
    assert result.elbo.item() == pytest.approx(expected["reconstruction"] - kl, rel=1e-12)
    assert result.loss.item() == pytest.approx(kl - expected["reconstruction"], rel=1e-12)
    assert result.nll.item() == pytest.approx(-expected["reconstruction"], rel=1e-12)


def test_kl_warmup_weights_only_the_loss_and_dataset_elbo_is_eq_8():
    vae, x = small_vae(), binary_batch()
    eps = np.random.default_rng(2).standard_normal((1, len(x), J))
    full = vae.elbo(x, noise=eps)
    warm = vae.elbo(x, noise=eps, kl_weight=0.25)
    assert warm.elbo.item() == pytest.approx(full.elbo.item(), rel=1e-14)
    assert warm.loss.item() == pytest.approx(full.nll.item() + 0.25 * full.kl.item(), rel=1e-14)
    assert sum(t.item() for t in warm.terms().values()) == pytest.approx(warm.loss.item(), rel=1e-14)
    # K&W eq. 8: (N / M) sum over the minibatch = N x the per-point mean
    assert vae.dataset_elbo(x, 1000, noise=eps).item() == pytest.approx(1000 * full.elbo.item(), rel=1e-14)


def test_closed_form_kl_matches_the_normal_registry_quadrature_and_monte_carlo():
    rng = np.random.default_rng(3)
    mu, log_var = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    closed = kl_to_standard_normal(mb.tensor(mu), mb.tensor(log_var)).numpy()
    registry = kl_divergence(Normal(mu, np.exp(0.5 * log_var)), Normal(np.zeros(2), np.ones(2))).numpy()
    np.testing.assert_allclose(closed, registry, rtol=1e-12)
    q = stats.norm(mu[0, 0], np.exp(0.5 * log_var[0, 0]))
    quadrature, _ = integrate.quad(lambda z: q.pdf(z) * (q.logpdf(z) - stats.norm.logpdf(z)), -30, 30)
    assert closed[0, 0] == pytest.approx(quadrature, rel=1e-8)
    # Monte Carlo mean of log q - log p (estimator A's KL) within 5 standard errors
    eps = rng.standard_normal((200_000, 4, 2))
    z = mu + np.exp(0.5 * log_var) * eps
    samples = -log_prior_minus_log_posterior(mb.tensor(z), mb.tensor(eps), mb.tensor(log_var)).numpy()
    error = samples.std(axis=0) / np.sqrt(len(samples))
    assert np.all(np.abs(samples.mean(axis=0) - closed) < 5 * error)


def test_estimators_a_and_b_agree_in_expectation():
    vae, x = small_vae(), binary_batch(8)
    mb.seed(5)
    a = np.array([vae.elbo(x, estimator="A", n_samples=20).elbo.item() for _ in range(400)])
    b = np.array([vae.elbo(x, estimator="B", n_samples=20).elbo.item() for _ in range(400)])
    error = np.hypot(a.std(ddof=1), b.std(ddof=1)) / np.sqrt(400)
    assert abs(a.mean() - b.mean()) < 5 * error
    assert b.var() < a.var()          # K&W: B "typically has less variance"


@pytest.mark.parametrize("options", [
    {"estimator": "A"}, {"estimator": "B", "n_samples": 2},
    {"likelihood": "gaussian"}, {"likelihood": "gaussian", "decoder_variance": "shared"},
    {"likelihood": "gaussian", "decoder_variance": "output"}, {"likelihood": "gaussian", "decoder_variance": 0.5},
])
def test_loss_gradients_pass_gradcheck(options):
    likelihood = options.pop("likelihood", "bernoulli")
    vae = small_vae(likelihood, **options)
    x = binary_batch(3) if likelihood == "bernoulli" else np.random.default_rng(4).normal(size=(3, D))
    eps = np.random.default_rng(5).standard_normal((vae.n_samples, 3, J))
    assert module_gradcheck(vae, lambda: vae.loss(x, noise=eps))


def test_iwae_bound_and_warmup_loss_gradients_pass_gradcheck():
    vae, x = small_vae(), binary_batch(3)
    eps = np.random.default_rng(6).standard_normal((4, 3, J))
    assert module_gradcheck(vae, lambda: vae.iwae_bound(x, 4, noise=eps).loss)
    eps1 = eps[:1]
    assert module_gradcheck(vae, lambda: vae.elbo(x, noise=eps1, kl_weight=0.3).loss)


def test_iwae_with_one_sample_is_estimator_a():
    vae, x = small_vae(), binary_batch()
    eps = np.random.default_rng(7).standard_normal((1, len(x), J))
    assert vae.iwae_bound(x, 1, noise=eps).elbo.item() == pytest.approx(
        vae.elbo(x, estimator="A", noise=eps).elbo.item(), rel=1e-13)


def test_kl_per_dimension_and_active_units_see_a_collapsed_unit():
    vae, x = small_vae(), np.random.default_rng(8).random((200, D))
    last = vae.encoder[2]
    last.weight.data[:, 0] = 0.0           # unit 0: mean independent of x -> inactive
    last.bias.data[0] = 0.0
    last.weight.data[:, J] = 0.0           # and its log-variance 0: q = N(0, 1), the prior
    last.bias.data[J] = 0.0
    per_dim = vae.kl_per_dimension(x)
    assert per_dim.shape == (J,) and per_dim[0] == pytest.approx(0.0, abs=1e-15)
    assert per_dim.sum() == pytest.approx(vae.elbo(x).kl.item(), rel=1e-12)
    count, activity = vae.active_units(x)
    mu = vae.encode(x).mean.numpy()
    np.testing.assert_allclose(activity, mu.var(axis=0), rtol=1e-12)
    assert activity[0] == 0.0 and count == int((mu.var(axis=0) > 1e-2).sum()) and count < J


def test_sampling_decoding_and_reconstruction_shapes_and_ranges():
    vae = small_vae()
    mb.seed(1)
    means = vae.sample(5)
    assert means.shape == (5, D) and np.all((means > 0) & (means < 1))
    draws = vae.sample(5, mean=False)
    assert set(np.unique(mb.to_numpy(draws))) <= {0.0, 1.0}
    # temperature scales z: at a tiny temperature every sample is the decoder's mean at z = 0
    cold = vae.sample(3, temperature=1e-12)
    np.testing.assert_allclose(cold, np.broadcast_to(vae.decode(np.zeros((1, J))), (3, D)), rtol=1e-9)
    assert vae.reconstruct(binary_batch()).shape == (4, D)
    gaussian = small_vae("gaussian")
    assert gaussian.sample(4, mean=False).shape == (4, D)


def test_training_raises_the_elbo():
    vae, x = small_vae(), binary_batch(64, seed=9)
    mb.seed(2)
    before = np.mean([vae.elbo(x).elbo.item() for _ in range(20)])
    optimizer = mb.optim.Adam(vae.parameters(), lr=1e-2)
    for _ in range(200):
        optimizer.zero_grad()
        vae.loss(x).backward()
        optimizer.step()
    after = np.mean([vae.elbo(x).elbo.item() for _ in range(20)])
    assert after > before + 0.5


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, message", [
    (lambda v: v.elbo(np.zeros((2, D + 1))), "x must have shape"),
    (lambda v: v.elbo(np.full((2, D), np.nan)), "NaN"),
    (lambda v: v.elbo(np.full((2, D), 2.0)), r"\[0, 1\]"),
    (lambda v: v.elbo(np.full((2, D), -0.5)), r"\[0, 1\]"),
    (lambda v: v.elbo(np.zeros(D)), "x must have shape"),
    (lambda v: v.elbo(["a"]), "x must be an array"),
    (lambda v: v.iwae_bound(np.zeros((2, D)), 0), "k must be a positive int"),
    (lambda v: v.log_likelihood(np.zeros((2, D)), k=0), "k must be a positive int"),
    (lambda v: v.elbo(np.zeros((2, D)), n_samples=0), "n_samples"),
    (lambda v: v.elbo(np.zeros((2, D)), estimator="C"), "estimator"),
    (lambda v: v.elbo(np.zeros((2, D)), kl_weight=-1.0), "kl_weight"),
    (lambda v: v.elbo(np.zeros((2, D)), noise=np.zeros((1, 3, J))), "noise must have shape"),
    (lambda v: v.sample(0), "n must be"),
    (lambda v: v.sample(2, temperature=0.0), "temperature"),
    (lambda v: v.decode(np.zeros((2, J + 1))), "z must have shape"),
])
def test_bad_input_raises_before_any_state_changes(call, message):
    vae = small_vae()
    before = [p.data.copy() for p in vae.parameters()]
    mb.seed(3)
    with pytest.raises((ValueError, TypeError), match=message):
        call(vae)
    for old, parameter in zip(before, vae.parameters()):
        np.testing.assert_array_equal(old, parameter.data)
    # the random stream was not advanced by the failed call
    expected = np.random.default_rng(3).standard_normal(4)
    np.testing.assert_array_equal(mb.backend.rng().standard_normal(4), expected)


@pytest.mark.parametrize("kwargs, message", [
    ({"latent_dim": 0}, "latent_dim"), ({"latent_dim": 2.5}, "latent_dim"),
    ({"likelihood": "poisson"}, "likelihood"), ({"estimator": "C"}, "estimator"),
    ({"n_samples": 0}, "n_samples"), ({"log_var_bound": -1.0}, "log_var_bound"),
    ({"likelihood": "gaussian", "decoder_variance": -1.0}, "decoder_variance"),
    ({"likelihood": "gaussian", "decoder_variance": "pixels"}, "decoder_variance"),
])
def test_bad_construction_arguments_are_named(kwargs, message):
    arguments = {"latent_dim": J, **kwargs}
    encoder, decoder = nn.Dense(D, 2 * J, dtype="float64"), nn.Dense(J, D, dtype="float64")
    with pytest.raises((ValueError, TypeError), match=message):
        VAE(encoder, decoder, **arguments)


def test_encoder_of_the_wrong_width_is_named():
    vae = VAE(nn.Dense(D, J, dtype="float64"), nn.Dense(J, D, dtype="float64"), J)
    with pytest.raises(ValueError, match="encoder must return"):
        vae.elbo(binary_batch())


def test_numpy_integer_sizes_are_accepted():
    vae = small_vae()
    assert vae.sample(np.int64(2)).shape == (2, D)
    assert vae.log_likelihood(binary_batch(), k=np.int64(3)).shape == (4,)


def test_construction_draws_nothing_and_keeps_a_dropout_decoder_in_its_mode():
    decoder = nn.Sequential(nn.Dense(J, H, dtype="float64"), nn.Dropout(0.5), nn.Dense(H, D, dtype="float64"))
    encoder = nn.Dense(D, 2 * J, dtype="float64")
    mb.seed(11)
    vae = VAE(encoder, decoder, J)
    expected = np.random.default_rng(11).standard_normal(3)
    np.testing.assert_array_equal(mb.backend.rng().standard_normal(3), expected)
    assert vae.decoder.training and vae.n_features == D


def test_learned_decoder_variance_is_clamped_like_the_encoders():
    vae = small_vae("gaussian")
    vae.decoder_log_var.data[...] = -1e4                 # a pixel driven towards sigma^2 = 0
    x = np.random.default_rng(12).normal(size=(3, D))
    result = vae.elbo(x, noise=np.zeros((1, 3, J)))
    assert np.isfinite(result.elbo.item())
    _, log_var = vae._decode(mb.tensor(np.zeros((1, J))))
    assert log_var.numpy().min() >= -vae.log_var_bound


def test_noise_of_another_dtype_is_cast_to_the_model():
    vae = small_vae()
    eps = np.random.default_rng(13).standard_normal((1, 4, J)).astype("float32")
    assert vae.elbo(binary_batch(), noise=eps).elbo.dtype == np.float64
