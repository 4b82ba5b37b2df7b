"""GAN losses from logits: the formulas of Goodfellow et al. (2014) eq. 1 against NumPy, stability,
the two generator losses' common fixed point and different gradients, and WGAN-GP's penalty with its
second-order gradient."""

import numpy as np
import pytest

import minibayes as mb
from minibayes.autograd import ops
from minibayes.models import gan_losses as L


def log_sigmoid_reference(a):
    return -np.logaddexp(0.0, -a)  # log(1 / (1 + e^-a)), exact in float64 for |a| <= 700


def f64(values, requires_grad=True):
    return mb.tensor(np.asarray(values, dtype="float64"), requires_grad=requires_grad)


def test_losses_equal_the_formulas_of_eq_1_and_stay_finite_for_confident_logits():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=7) * 3, rng.normal(size=5) * 3
    d_real, d_fake = 1 / (1 + np.exp(-real)), 1 / (1 + np.exp(-fake))
    value = np.log(d_real).mean() + np.log(1 - d_fake).mean()
    np.testing.assert_allclose(L.value_function(f64(real), f64(fake[:, None])).item(), value, rtol=1e-12)
    np.testing.assert_allclose(L.discriminator_loss(f64(real), f64(fake)).item(), -value, rtol=1e-12)
    np.testing.assert_allclose(L.generator_loss(f64(fake), "minimax").item(), np.log(1 - d_fake).mean(), rtol=1e-12)
    np.testing.assert_allclose(L.generator_loss(f64(fake)).item(), -np.log(d_fake).mean(), rtol=1e-12)
    np.testing.assert_allclose(L.critic_loss(f64(real), f64(fake)).item(), fake.mean() - real.mean(), rtol=1e-12)
    # A discriminator that is sure (logit +-1000): sigmoid then log would give log 0 = -inf.
    extreme = f64([-1000.0, 1000.0])
    for loss in (L.discriminator_loss(extreme, extreme), L.generator_loss(extreme, "minimax"),
                 L.generator_loss(extreme, "non_saturating")):
        loss.backward()
        assert np.isfinite(loss.item()) and np.isfinite(extreme.grad.data).all()
        extreme.grad = None
    np.testing.assert_allclose(L.generator_loss(extreme).item(), 500.0, rtol=1e-12)  # -(log s(-1000) + 0) / 2


@pytest.mark.parametrize("loss", [
    lambda r, f: L.value_function(r, f), lambda r, f: L.discriminator_loss(r, f),
    lambda r, f: L.generator_loss(f, "minimax") + 0 * r.sum(), lambda r, f: L.generator_loss(f) + 0 * r.sum(),
    lambda r, f: L.critic_loss(r, f), lambda r, f: L.wasserstein_generator_loss(f) + 0 * r.sum(),
], ids=["value", "discriminator", "minimax", "non_saturating", "critic", "wasserstein_generator"])
def test_every_loss_passes_gradcheck_in_float64(loss):
    rng = np.random.default_rng(1)
    assert mb.gradcheck(loss, [f64(rng.normal(size=6) * 4), f64(rng.normal(size=(4, 1)) * 4)])


def test_minimax_and_non_saturating_losses_share_their_fixed_points_but_not_their_gradients():
    """A point-mass generator G(z) = theta against a fixed discriminator logit a(x) = 2 - (x - 1)^2.

    d/dtheta of the minimax loss is -D a'(theta), of the non-saturating one -(1 - D) a'(theta):
    the same zero (a' = 0, theta = 1) and the same sign everywhere, but where D rejects the sample
    (D -> 0) the first vanishes and the second does not."""
    theta = f64(np.linspace(-6, 8, 29))

    def gradients(kind):
        theta.grad = None
        logits = 2.0 - (theta - 1.0) ** 2
        (g,) = mb.grad(L.generator_loss(logits, kind) * theta.shape[0], theta)  # per-sample gradients
        return g.data

    minimax, non_saturating = gradients("minimax"), gradients("non_saturating")
    x = theta.data
    d = 1 / (1 + np.exp(-(2 - (x - 1) ** 2)))
    slope = -2 * (x - 1)
    # atol: the engine's sigmoid (tanh form) is exact to ~1e-16 absolute, not relative, for D << 1.
    np.testing.assert_allclose(minimax, -d * slope, rtol=1e-10, atol=1e-15)       # -D a'
    np.testing.assert_allclose(non_saturating, -(1 - d) * slope, rtol=1e-10)      # -(1 - D) a'
    zero = x == 1.0
    assert zero.sum() == 1 and minimax[zero] == 0 and non_saturating[zero] == 0
    resolved = ~zero & (d > 1e-12)                    # where float64 resolves D a' at all
    assert np.all(np.sign(minimax[resolved]) == np.sign(non_saturating[resolved]))
    far = d < 1e-6                                    # confidently rejected samples, |theta - 1| >= 4
    assert far.sum() >= 8
    assert np.all(np.abs(minimax[far]) < 1e-4 * np.abs(non_saturating[far]))
    assert np.all(np.abs(non_saturating[far]) > 1.0)


def tanh_critic(w1, b1, w2):
    return lambda x: ops.tanh(x @ w1 + b1) @ w2


def test_gradient_penalty_gradient_with_respect_to_the_critic_passes_gradcheck():
    """The penalty contains grad_x f, so its gradient in the critic's weights runs through the
    backward pass of f a second time (create_graph=True); central differences check that path."""
    rng = np.random.default_rng(2)
    real, fake, mix = rng.normal(size=(5, 3)), rng.normal(size=(5, 3)) + 1.0, rng.random(5)
    weights = [f64(rng.normal(size=(3, 4))), f64(rng.normal(size=4) * 0.5), f64(rng.normal(size=(4, 1)))]
    assert mb.gradcheck(lambda w1, b1, w2: L.gradient_penalty(tanh_critic(w1, b1, w2), real, fake, mix), weights)


def test_gradient_penalty_of_a_linear_critic_is_its_slope_norm_minus_one_squared():
    rng = np.random.default_rng(3)
    w = rng.normal(size=(4, 1))
    penalty = L.gradient_penalty(lambda x: x @ mb.tensor(w), rng.normal(size=(6, 4)), rng.normal(size=(6, 4)),
                                 rng.random(6))
    np.testing.assert_allclose(penalty.item(), (np.linalg.norm(w) - 1) ** 2, rtol=1e-12)
    # A flat critic (zero input gradient): the norm's derivative is undefined at 0; the penalty is
    # exactly 1 with a finite (zero) gradient, not NaN.
    flat = f64(np.zeros((4, 1)))
    penalty = L.gradient_penalty(lambda x: x @ flat, np.ones((3, 4)), np.zeros((3, 4)), np.full(3, 0.5))
    penalty.backward()
    assert penalty.item() == 1.0 and np.all(flat.grad.data == 0)


def test_bad_logit_shapes_and_kinds_are_refused():
    with pytest.raises(ValueError, match="kind must be one of"):
        L.generator_loss(f64([0.0]), "wasserstein")
    with pytest.raises(ValueError, match="real_logits must hold one logit per sample"):
        L.value_function(f64(np.zeros((3, 2))), f64([0.0]))
    with pytest.raises(ValueError, match="mix must have shape"):
        L.gradient_penalty(lambda x: x.sum(axis=1), np.zeros((3, 2)), np.zeros((3, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="same shape"):
        L.gradient_penalty(lambda x: x.sum(axis=1), np.zeros((3, 2)), np.zeros((3, 3)), np.zeros(3))
