"""Goodfellow et al. (2014) section 4.1 on known 1-D densities: Proposition 1 and eqs. 4-6 by quadrature,
proven against scipy's adaptive quadrature and closed forms, and a discriminator trained on samples
converging to D*."""

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st
from scipy import integrate, stats

import minibayes as mb
from minibayes import nn, optim
from minibayes.models import gan_losses, gan_theory as T

DATA, MODEL = stats.norm(0.0, 1.0), stats.norm(1.5, 0.7)
GRID = np.linspace(-12.0, 12.0, 24_001)


def scipy_jsd(p, q, lower=-12.0, upper=12.0):
    """JSD by scipy's adaptive quadrature of the two KL terms in log space (an independent route)."""
    def half_kl(a, b):
        def integrand(x):
            log_m = np.logaddexp(a.logpdf(x), b.logpdf(x)) - math.log(2)
            return a.pdf(x) * (a.logpdf(x) - log_m)
        return 0.5 * integrate.quad(integrand, lower, upper, points=[0.0, 1.5], epsabs=1e-13, limit=200)[0]
    return half_kl(p, q) + half_kl(q, p)


def test_criterion_at_the_optimal_discriminator_is_minus_log_4_plus_twice_the_jsd():
    p_data, p_g = DATA.pdf(GRID), MODEL.pdf(GRID)
    reference = scipy_jsd(DATA, MODEL)
    assert 0.05 < reference < math.log(2) - 0.05                 # a non-trivial pair
    criterion = T.virtual_training_criterion(p_data, p_g, GRID)  # V(D*, G) on the grid, eq. 4
    np.testing.assert_allclose(criterion, -math.log(4) + 2 * reference, atol=1e-8)   # eq. 6
    np.testing.assert_allclose(T.jensen_shannon(p_data, p_g, GRID), reference, atol=1e-8)
    # Theorem 1: at p_g = p_data, D* = 1/2 and C(G) = -log 4, its global minimum.
    np.testing.assert_allclose(T.optimal_discriminator(p_data, p_data), 0.5)
    np.testing.assert_allclose(T.virtual_training_criterion(p_data, p_data, GRID), -math.log(4), atol=1e-10)


def test_optimal_discriminator_maximises_the_value_function():
    p_data, p_g = DATA.pdf(GRID), MODEL.pdf(GRID)
    best = T.optimal_discriminator(p_data, p_g)
    np.testing.assert_allclose(best, p_data / (p_data + p_g))
    logit = DATA.logpdf(GRID) - MODEL.logpdf(GRID)              # logit D* = log p_data - log p_g
    np.testing.assert_allclose(1 / (1 + np.exp(-logit)), best, atol=1e-15)
    v_best = T.value_function_on_grid(logit, p_data, p_g, GRID)
    np.testing.assert_allclose(v_best, T.virtual_training_criterion(p_data, p_g, GRID), atol=1e-12)
    rng = np.random.default_rng(0)
    for _ in range(20):
        # A smooth random perturbation of the logit, of either sign and of any size.
        centre, width, size = rng.uniform(-3, 4), rng.uniform(0.2, 2), rng.choice([-1, 1]) * rng.uniform(1e-3, 2)
        perturbed = logit + size * np.exp(-0.5 * ((GRID - centre) / width) ** 2)
        assert T.value_function_on_grid(perturbed, p_data, p_g, GRID) < v_best
    # Second order: d^2/da^2 log sigma(+-a) = -D(1 - D), so V(a* + eps h) - V(a*) =
    # -eps^2 / 2 int (p_data + p_g) D*(1 - D*) h^2 = -eps^2 / 2 int p_data p_g / (p_data + p_g) h^2 + O(eps^3).
    h = np.exp(-0.5 * GRID ** 2)
    curvature = np.trapezoid(p_data * p_g / (p_data + p_g) * h * h, GRID)
    for eps in (1e-2, 1e-3):
        drop = T.value_function_on_grid(logit + eps * h, p_data, p_g, GRID) - v_best
        np.testing.assert_allclose(drop, -0.5 * eps ** 2 * curvature, rtol=5 * eps)


@given(st.floats(-3, 3), st.floats(0.3, 3), st.floats(-3, 3), st.floats(0.3, 3))
def test_jsd_is_symmetric_bounded_and_zero_only_for_equal_densities(m1, s1, m2, s2):
    p, q = stats.norm(m1, s1).pdf(GRID), stats.norm(m2, s2).pdf(GRID)
    forward, backward = T.jensen_shannon(p, q, GRID), T.jensen_shannon(q, p, GRID)
    assert forward == pytest.approx(backward, abs=1e-14)
    assert 0 <= forward <= math.log(2)
    assert T.jensen_shannon(p, p, GRID) == 0.0
    if abs(m1 - m2) > 0.05 or abs(s1 - s2) > 0.05:
        assert forward > 1e-5


@pytest.mark.parametrize("shift", [0.0, 0.25, 0.5, 0.9, 1.0, 2.5])
def test_jsd_of_shifted_uniforms_matches_the_closed_form_and_disjoint_supports_give_log_2(shift):
    x = np.linspace(-1.0, 5.0, 60_001)            # a step of 1e-4 that has every support edge on the grid
    p = ((x >= 0) & (x <= 1)).astype(float)
    q = ((x >= shift) & (x <= 1 + shift)).astype(float)
    value = T.jensen_shannon(p, q, x)
    np.testing.assert_allclose(value, T.jensen_shannon_shifted_uniforms(shift), atol=2e-4)   # O(h) at the jumps
    if shift >= 1:
        assert value == pytest.approx(math.log(2), abs=2e-4)
        # Disjoint supports: D* is 1 on the data, 0 on the model; C(G) = -log 4 + 2 log 2 = 0.
        assert T.virtual_training_criterion(p, q, x) == pytest.approx(0.0, abs=4e-4)


def test_a_discriminator_trained_on_samples_approaches_the_optimal_one():
    """Minimising -V(D, G) (eq. 1) on fresh samples of the two densities: D -> D* (Proposition 1).

    Tolerance: max |D - D*| < 0.03 on the grid [-2, 3] (where both densities exceed 1% of their peak)."""
    mb.seed(0)
    rng = np.random.default_rng(0)
    discriminator = nn.Sequential(nn.Dense(1, 32, init="glorot", dtype="float64"), nn.Tanh(),
                                  nn.Dense(32, 1, init="glorot", dtype="float64"))
    optimizer = optim.Adam(discriminator.parameters(), lr=0.02)
    for step in range(600):
        if step == 400:
            optimizer.hyperparameters["lr"] = 0.003
        real, fake = DATA.rvs((1024, 1), random_state=rng), MODEL.rvs((1024, 1), random_state=rng)
        optimizer.zero_grad()
        gan_losses.discriminator_loss(discriminator(real), discriminator(fake)).backward()
        optimizer.step()
    grid = np.linspace(-2, 3, 101)
    with mb.no_grad():
        trained = 1 / (1 + np.exp(-discriminator(grid[:, None]).data[:, 0]))
    error = np.abs(trained - T.optimal_discriminator(DATA.pdf(grid), MODEL.pdf(grid)))
    assert error.max() < 0.03, error.max()


def test_bad_input_is_refused_with_the_argument_named():
    x = np.linspace(0, 1, 5)
    with pytest.raises(ValueError, match="strictly increasing"):
        T.jensen_shannon(np.ones(5), np.ones(5), x[::-1])
    with pytest.raises(ValueError, match="p must be a density"):
        T.jensen_shannon(-np.ones(5), np.ones(5), x)
    with pytest.raises(ValueError, match="q must have the grid's shape"):
        T.jensen_shannon(np.ones(5), np.ones(4), x)
    with pytest.raises(ValueError, match="logits contains NaN"):
        T.value_function_on_grid(np.full(5, np.nan), np.ones(5), np.ones(5), x)
    with pytest.raises(ValueError, match="same shape"):
        T.optimal_discriminator(np.ones(5), np.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        T.jensen_shannon(np.full(5, np.nan), np.ones(5), x)
