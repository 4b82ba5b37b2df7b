"""The GAN module and Algorithm 1: seedable sampling, the k discriminator steps, each player's optimiser
moving only its own parameters, learning a 1-D Gaussian, and bad input refused before any change."""

import numpy as np
import pytest
from scipy import stats

import minibayes as mb
from minibayes import nn, optim
from minibayes.models import GAN, gan_losses, make_mlp_gan, train_gan


def tiny_gan(objective="non_saturating", dtype="float64"):
    mb.seed(0)
    return make_mlp_gan(2, 3, (8,), (8,), output=None, objective=objective, dtype=dtype)


def parameters(module):
    return [p.data.copy() for p in module.parameters()]


def changed(before, module):
    return [not np.array_equal(b, p.data) for b, p in zip(before, module.parameters())]


def test_sampling_is_seedable_and_losses_are_those_of_gan_losses():
    gan = tiny_gan()
    assert gan.data_shape == (2,)
    np.testing.assert_array_equal(gan.sample(5, random_state=3), gan.sample(5, random_state=3))
    assert not np.array_equal(gan.sample(5, random_state=3), gan.sample(5, random_state=4))
    z = gan.sample_noise(6, random_state=1)
    np.testing.assert_array_equal(gan.generate(z).data, gan.sample(6, random_state=1))
    real = np.random.default_rng(0).normal(size=(6, 2))
    fake_logits, real_logits = gan.logits(gan.generate(z)), gan.logits(real)
    np.testing.assert_allclose(gan.discriminator_loss(real, z).item(),
                               gan_losses.discriminator_loss(real_logits, fake_logits).item(), rtol=1e-12)
    np.testing.assert_allclose(gan.generator_loss(z).item(), gan_losses.generator_loss(fake_logits).item(), rtol=1e-12)
    np.testing.assert_allclose(gan.probability(real), 1 / (1 + np.exp(-real_logits.data)), rtol=1e-12)


def test_algorithm_1_takes_k_discriminator_steps_and_each_optimiser_moves_only_its_player():
    gan = tiny_gan()
    data = np.random.default_rng(0).normal(size=(50, 2))
    d_before, g_before = parameters(gan.discriminator), parameters(gan.generator)
    frozen_g = optim.SGD(gan.generator.parameters(), lr=0.0)
    history = train_gan(gan, data, 3, batch_size=8, k=4, discriminator_optimizer=optim.SGD(gan.discriminator.parameters(), lr=0.1),
                        generator_optimizer=frozen_g, random_state=0)
    assert history.discriminator.shape == (12,) and history.generator.shape == (3,) and history.k == 4
    assert all(changed(d_before, gan.discriminator)) and not any(changed(g_before, gan.generator))
    # The discriminator steps do not touch G: its parameters get no gradient from them.
    gan.zero_grad()
    gan.discriminator_loss(data[:8], gan.sample_noise(8)).backward()
    assert all(p.grad is None for p in gan.generator.parameters())
    # With D frozen instead, only G moves.
    d_before, g_before = parameters(gan.discriminator), parameters(gan.generator)
    train_gan(gan, data, 2, batch_size=8, discriminator_optimizer=optim.SGD(gan.discriminator.parameters(), lr=0.0),
              generator_optimizer=optim.SGD(gan.generator.parameters(), lr=0.1), random_state=0)
    assert not any(changed(d_before, gan.discriminator)) and all(changed(g_before, gan.generator))


def test_the_same_seed_gives_the_same_training_run():
    runs = []
    for _ in range(2):
        gan = tiny_gan()
        history = train_gan(gan, np.random.default_rng(0).normal(size=(40, 2)), 5, batch_size=8, random_state=7)
        runs.append((history.discriminator, parameters(gan)))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("objective", ["non_saturating", "minimax"])
def test_each_gan_objective_learns_a_one_dimensional_gaussian(objective):
    """p_data = N(2, 0.5^2) from an affine generator G(z) = a z + b (starting at b = 0): the
    learnt samples pass a two-sample Kolmogorov-Smirnov comparison with the data."""
    mb.seed(0)
    generator = nn.Sequential(nn.Dense(1, 1, init="glorot", dtype="float64"))
    discriminator = nn.Sequential(nn.Dense(1, 16, init="glorot", dtype="float64"), nn.Tanh(),
                                  nn.Dense(16, 1, init="glorot", dtype="float64"))
    gan = GAN(generator, discriminator, 1, objective=objective)
    rng = np.random.default_rng(0)
    train_gan(gan, lambda m: rng.normal(2.0, 0.5, size=(m, 1)), 600, batch_size=128,
              discriminator_optimizer=optim.Adam(discriminator.parameters(), lr=0.02, betas=(0.5, 0.999)),
              generator_optimizer=optim.Adam(generator.parameters(), lr=0.02, betas=(0.5, 0.999)), random_state=0)
    samples = gan.sample(20_000, random_state=1)[:, 0]
    assert abs(samples.mean() - 2.0) < 0.15, samples.mean()
    assert abs(samples.std() - 0.5) < 0.15, samples.std()
    assert stats.ks_2samp(samples, rng.normal(2.0, 0.5, 20_000)).statistic < 0.1


def test_wgan_gp_moves_the_generator_onto_a_two_dimensional_gaussian():
    """p_data = N((2, -1), 0.25 I) from an affine generator starting at mean 0, k = 5 critic steps.

    Two dimensions, not one: in 1-D a critic of slope +1 can only become one of slope -1 by
    passing through slope 0, where the penalty (||f'|| - 1)^2 is at its maximum, so it gets stuck
    once G overshoots; in 2-D its gradient can turn round at norm 1."""
    mb.seed(0)
    generator = nn.Sequential(nn.Dense(2, 2, init="glorot", dtype="float64"))
    critic = nn.Sequential(nn.Dense(2, 16, init="glorot", dtype="float64"), nn.LeakyReLU(0.2),
                           nn.Dense(16, 1, init="glorot", dtype="float64"))
    gan = GAN(generator, critic, 2, objective="wgan_gp")
    rng = np.random.default_rng(0)
    train_gan(gan, lambda m: rng.normal(0.0, 0.5, size=(m, 2)) + np.array([2.0, -1.0]), 300, batch_size=128, k=5,
              discriminator_optimizer=optim.Adam(critic.parameters(), lr=0.01, betas=(0.0, 0.9)),
              generator_optimizer=optim.Adam(generator.parameters(), lr=0.01, betas=(0.0, 0.9)), random_state=0)
    samples = mb.to_numpy(gan.sample(20_000, random_state=1))
    assert np.linalg.norm(samples.mean(axis=0) - [2.0, -1.0]) < 0.25, samples.mean(axis=0)
    assert 0.2 < np.trace(np.cov(samples.T)) < 0.9                                  # the data's is 0.5


def test_bad_input_is_refused_before_any_parameter_changes():
    gan = tiny_gan()
    before = parameters(gan)
    data = np.zeros((10, 2))
    with pytest.raises(ValueError, match="k .*must be a positive int"):
        train_gan(gan, data, 5, k=0)
    with pytest.raises(ValueError, match=r"data has shape \(10, 3\) but the generator produces \(batch, 2\)"):
        train_gan(gan, np.zeros((10, 3)), 5)
    with pytest.raises(ValueError, match="data\\(1\\) has shape"):
        train_gan(gan, lambda m: np.zeros((m, 5)), 5)
    with pytest.raises(ValueError, match="iterations must be a positive int"):
        train_gan(gan, data, 0)
    with pytest.raises(ValueError, match=r"noise must have shape \(batch, noise_dim\) = \(batch, 3\)"):
        gan.generate(np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"noise must have shape"):
        gan.generator_loss(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="objective must be one of"):
        GAN(gan.generator, gan.discriminator, 3, objective="hinge")
    with pytest.raises(ValueError, match="discriminator must map the generator's output"):
        GAN(gan.generator, nn.Sequential(nn.Dense(2, 2)), 3)
    with pytest.raises(ValueError, match=r"generator does not accept noise of shape \(batch, noise_dim\) = \(batch, 4\)"):
        GAN(gan.generator, gan.discriminator, 4)
    with pytest.raises(ValueError, match="noise_dim must be a positive int"):
        GAN(gan.generator, gan.discriminator, 0)
    with pytest.raises(TypeError, match="generator must be a Module"):
        GAN(lambda z: z, gan.discriminator, 3)
    for a, b in zip(before, parameters(gan)):
        np.testing.assert_array_equal(a, b)


def test_non_finite_losses_are_reported_not_hidden():
    gan = tiny_gan()
    data = np.zeros((10, 2))
    data[3] = np.nan
    with pytest.raises(FloatingPointError, match="discriminator loss became non-finite at iteration"):
        train_gan(gan, data, 20, batch_size=10, random_state=0)


def batch_norm_gan():
    """A DCGAN-like pair with batch norm in both networks (Radford et al. 2016), on 3-feature data."""
    mb.seed(0)
    generator = nn.Sequential(nn.Dense(2, 6, dtype="float64"), nn.BatchNorm1d(6, dtype="float64"), nn.ReLU(),
                              nn.Dense(6, 3, dtype="float64"))
    discriminator = nn.Sequential(nn.Dense(3, 6, dtype="float64"), nn.BatchNorm1d(6, dtype="float64"),
                                  nn.LeakyReLU(0.2), nn.Dense(6, 1, dtype="float64"))
    return GAN(generator, discriminator, 2)


def test_with_batch_norm_real_and_generated_rows_get_their_own_batch_statistics():
    gan = batch_norm_gan()
    # Building the GAN probes both networks in evaluation mode: running statistics untouched, modes restored.
    for module in gan.modules():
        assert module.training
        if isinstance(module, nn.BatchNorm1d):
            np.testing.assert_array_equal(module.running_mean, 0.0)
            np.testing.assert_array_equal(module.running_var, 1.0)
    real = np.random.default_rng(0).normal(3.0, 2.0, size=(8, 3))
    z = gan.sample_noise(8, random_state=1)
    separate = gan_losses.discriminator_loss(gan.logits(real), gan.logits(gan.generate(z).detach())).item()
    np.testing.assert_allclose(gan.discriminator_loss(real, z).item(), separate, rtol=1e-12)
    # One stacked pass would normalise real and generated rows together: a different loss.
    scores = gan.logits(np.concatenate([real, gan.generate(z).data]))
    assert abs(gan_losses.discriminator_loss(scores[:8], scores[8:]).item() - separate) > 1e-3


def test_make_mlp_gan_init_sets_every_weight():
    def constant(shape, dtype):
        return np.full(shape, 0.25, dtype=dtype)

    gan = make_mlp_gan(2, 3, (4, 5), (6,), output=None, init=constant, dtype="float64")
    weights = [p.data for name, p in gan.named_parameters() if name.endswith("weight")]
    assert len(weights) == 5 and all(np.all(w == 0.25) for w in weights)
    mb.seed(0)
    default = make_mlp_gan(2, 3, (4,), (6,), output=None, dtype="float64")   # He hidden, Glorot output
    assert not any(np.all(p.data == 0.25) for p in default.parameters())
    with pytest.raises(ValueError, match="init"):
        make_mlp_gan(2, 3, (4,), (6,), init="uniform")
