"""Flow as a distribution: normalisation, sampling consistency, gradients, ActNorm state, images, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

import minibayes as mb
from minibayes import flows
from minibayes.data import two_moons
from minibayes.distributions import Normal

from ..module_gradcheck import module_gradcheck

from tests.flows._helpers import perturb


def small_flow(seed: int = 0, dim: int = 2, scale: float = 0.4) -> flows.Flow:
    rng = np.random.default_rng(seed)
    flow = flows.Flow(None, [
        flows.AffineCoupling(flows.alternating_mask(dim), hidden=8, activation="tanh", dtype="float64"),
        flows.InvertibleLinear(dim, random_state=seed, dtype="float64"),
        flows.MaskedAutoregressive(dim, hidden=(8,), dtype="float64"),
        flows.AffineCoupling(flows.alternating_mask(dim, flip=True), hidden=8, activation="tanh", dtype="float64"),
    ])
    perturb(flow, rng, scale)
    return flow


def test_a_two_dimensional_flow_density_integrates_to_one():
    mb.seed(0)
    flow = small_flow(0, scale=0.25)
    half_width, n = 20.0, 401
    grid = np.linspace(-half_width, half_width, n)
    step = grid[1] - grid[0]
    points = np.stack(np.meshgrid(grid, grid, indexing="ij"), axis=-1).reshape(-1, 2)
    with mb.no_grad():
        density = np.exp(flow.log_prob(points).numpy())
    mass_on_grid = density.sum() * step**2  # midpoint-style Riemann sum of a smooth density
    # The flow's tails reach past any fixed grid, so the grid must hold P(inside), which the
    # flow's own samples estimate independently (binomial standard error).
    samples = flow.sample(50_000).numpy()
    inside = np.mean(np.all(np.abs(samples) <= half_width + step / 2, axis=1))
    standard_error = math.sqrt(max(inside * (1 - inside), 1e-12) / len(samples))
    assert mass_on_grid > 0.99
    assert mass_on_grid == pytest.approx(inside, abs=5 * standard_error + 1e-3)  # 1e-3: quadrature error
    assert mass_on_grid == pytest.approx(1.0, abs=2e-3)


def test_log_prob_of_samples_matches_sample_and_log_prob_and_the_base_is_pluggable():
    flow = small_flow(1)
    x, log_density = flow.sample_and_log_prob(50)
    np.testing.assert_allclose(flow.log_prob(x.numpy()).numpy(), log_density.numpy(), rtol=1e-10, atol=1e-10)
    # The same flow on an explicit N(0, I) base (batch shape (2,) of scalar normals) gives the same density.
    explicit = flows.Flow(Normal(np.zeros(2), np.ones(2)), flow.chain)
    np.testing.assert_allclose(explicit.log_prob(x.numpy()).numpy(), log_density.numpy(), rtol=1e-12)
    # With no bijector but the identity-like ActNorm at zero, the flow is its base: scipy's N(0, I).
    identity = flows.Flow(None, [flows.ActNorm(3, dtype="float64")]).eval()
    point = np.random.default_rng(2).normal(size=(4, 3))
    np.testing.assert_allclose(identity.log_prob(point).numpy(),
                               scipy.stats.multivariate_normal(np.zeros(3), np.eye(3)).logpdf(point), rtol=1e-12)


def test_samples_follow_the_flow_density_and_temperature_shrinks_them():
    mb.seed(3)
    flow = small_flow(3)
    x = flow.sample(4000).numpy()
    z = flow.transform(x)[0].numpy()  # pushed back to the base, draws are N(0, I)
    for column in z.T:
        assert scipy.stats.kstest(column, "norm").pvalue > 1e-3
    cold = flow.transform(flow.sample(4000, temperature=0.5).numpy())[0].numpy()
    assert cold.std(axis=0) == pytest.approx([0.5, 0.5], rel=0.08)


def test_rsample_is_differentiable_in_the_parameters():
    flow = small_flow(4)
    mb.seed(5)
    first = flow.rsample(7)
    (first * first).sum().backward()
    assert all(p.grad is not None and np.abs(p.grad.numpy()).max() > 0 for p in flow.parameters())


def test_log_prob_gradients_pass_gradcheck_in_float64():
    flow = small_flow(6, dim=3)
    x = np.random.default_rng(7).normal(size=(4, 3))
    # module_gradcheck first asserts every parameter's gradient is non-zero somewhere (not vacuous)
    assert module_gradcheck(flow, lambda: flow.log_prob(x))
    # ... and with respect to the data itself, and second order (double backprop) in x.
    assert mb.gradcheck(lambda t: flow.log_prob(t), [mb.tensor(x, dtype="float64", requires_grad=True)])
    assert mb.gradgradcheck(lambda t: flow.log_prob(t).sum(), [mb.tensor(x, dtype="float64", requires_grad=True)])


def test_actnorm_initialises_on_the_first_batch_only_and_survives_save_and_load(tmp_path):
    rng = np.random.default_rng(8)
    x = rng.normal([3.0, -2.0, 0.5], [5.0, 0.1, 2.0], size=(64, 3))
    actnorm = flows.ActNorm(3, dtype="float64")
    z = actnorm.forward(x)[0].numpy()
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-12)
    sd = x.std(axis=0)
    np.testing.assert_allclose(z.std(axis=0), sd / (sd + actnorm.eps), rtol=1e-12)  # unit variance but for eps
    assert np.all(np.abs(z.std(axis=0) - 1) < 1e-4)
    state = actnorm.log_scale.numpy().copy()
    actnorm.forward(rng.normal(size=(64, 3)))               # a second batch does not re-initialise
    np.testing.assert_array_equal(actnorm.log_scale.numpy(), state)
    assert bool(actnorm.state_dict()["initialized"])
    mb.save(actnorm.state_dict(), tmp_path / "actnorm.npz")
    fresh = flows.ActNorm(3, dtype="float64")
    fresh.load_state_dict(mb.load(tmp_path / "actnorm.npz"))
    fresh.forward(rng.normal(size=(64, 3)) * 100)            # loaded: not initialised from this batch
    np.testing.assert_array_equal(fresh.log_scale.numpy(), state)
    np.testing.assert_array_equal(fresh.forward(x)[0].numpy(), z)


def test_a_flows_random_permutation_is_saved_with_it(tmp_path):
    flow = flows.Flow(None, [flows.Permutation(6, "random", random_state=1),
                             flows.AffineCoupling(flows.half_mask(6), hidden=4, dtype="float64")])
    mb.save(flow.state_dict(), tmp_path / "flow.npz")
    other = flows.Flow(None, [flows.Permutation(6, "random", random_state=2),
                              flows.AffineCoupling(flows.half_mask(6), hidden=4, dtype="float64")])
    assert not np.array_equal(other.chain[0].order, flow.chain[0].order)
    other.load_state_dict(mb.load(tmp_path / "flow.npz"))
    np.testing.assert_array_equal(other.chain[0].order, flow.chain[0].order)
    x = np.random.default_rng(0).normal(size=(3, 6))
    np.testing.assert_array_equal(other.log_prob(x).numpy(), flow.log_prob(x).numpy())


def test_lu_linear_stays_invertible_whatever_its_parameters():
    layer = flows.InvertibleLinear(5, random_state=0, dtype="float64")
    rng = np.random.default_rng(9)
    for scale in (0.1, 1.0, 3.0):  # the last one makes W ill-conditioned (entries of L and U ~ 3-5)
        perturb(layer, rng, scale)
        weight = layer.weight().numpy()
        sign, log_abs_det = np.linalg.slogdet(weight)
        assert sign != 0 and log_abs_det == pytest.approx(layer.log_s.numpy().sum(), rel=1e-7, abs=1e-7)
        z = rng.normal(size=(4, 5))
        x, _ = layer.inverse(z)
        np.testing.assert_allclose(x.numpy() @ weight, z, rtol=1e-7, atol=1e-7)


def test_training_raises_the_likelihood_and_stays_finite():
    mb.seed(10)
    x = two_moons(512, noise=0.05, seed=0)[0]
    flow = flows.make_realnvp(2, 4, hidden=(32,), dtype="float64", validate_args=False)
    optimizer = mb.optim.Adam(flow.parameters(), lr=5e-3)
    first = flow.loss(x).item()
    for _ in range(150):
        optimizer.zero_grad()
        loss = flow.loss(x)
        loss.backward()
        optimizer.step()
    assert math.isfinite(loss.item()) and loss.item() < first - 0.5


def test_dequantised_bits_per_dimension_of_the_uniform_model_is_eight():
    mb.seed(11)
    pixels = np.random.default_rng(12).integers(0, 256, size=(10, 16)).astype(np.uint8)
    y = mb.to_numpy(flows.dequantize(pixels, dtype="float64"))
    assert y.min() >= 0 and y.max() < 1
    np.testing.assert_array_equal(np.floor(y * 256).astype(np.uint8), pixels)   # u only fills the bin
    assert flows.bits_per_dim(0.0, 16) == pytest.approx(8.0)                      # uniform on [0, 1)^D
    # A flow whose first link is the logit transform: its log_prob is the density on [0, 1)^D,
    # and the logit-space NLL less the log-det gives the same bits per dimension.
    logit = flows.LogitTransform(16)
    flow = flows.Flow(None, [logit])
    nll = -flow.log_prob(y).numpy()
    z, log_det = logit.forward(y)
    nll_z = 0.5 * (z.numpy() ** 2).sum(axis=1) + 8 * math.log(2 * math.pi)
    np.testing.assert_allclose(flows.bits_per_dim(nll_z, 16, logit_log_det=log_det.numpy()),
                               flows.bits_per_dim(nll, 16), rtol=1e-12)
    np.testing.assert_allclose(flows.bits_per_dim(nll, 16), nll / (16 * math.log(2)) + 8, rtol=1e-12)


@pytest.mark.parametrize("call, message", [
    (lambda f: f.log_prob(np.zeros((4, 3))), r"shape \(batch, 2\)"),
    (lambda f: f.log_prob(np.array([[0.0, np.nan]])), "NaN or inf"),
    (lambda f: f.sample(5, temperature=0.0), "temperature"),
    (lambda f: f.sample(5, temperature=-1.0), "temperature"),
    (lambda f: f.sample(0), "positive int"),
    (lambda f: f.chain.forward(np.zeros((2, 5))), r"\(batch, 2\)"),
    (lambda f: f.chain[0].inverse(np.array([[np.inf, 0.0]])), "NaN or inf"),
])
def test_bad_input_gets_a_clear_error(call, message):
    flow = small_flow(12)
    with pytest.raises(ValueError, match=message):
        call(flow)


def test_bad_constructor_arguments_are_refused():
    with pytest.raises(TypeError, match="array or Tensor of numbers"):
        small_flow(12).log_prob(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="same event_dim"):
        flows.Chain([flows.ActNorm(2), flows.ActNorm(3)])
    with pytest.raises(ValueError, match="event shape"):
        flows.Flow(Normal(np.zeros(3), np.ones(3)), [flows.ActNorm(2)])
    with pytest.raises(TypeError, match="Bijector"):
        flows.Flow(None, [flows.ActNorm(2), "layer"])
    with pytest.raises(ValueError, match="hidden"):
        flows.MADE(5, hidden=(3,))
    with pytest.raises(ValueError, match="kind"):
        flows.Permutation(3, "sorted")
    with pytest.raises(TypeError, match="integers"):
        flows.dequantize(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="alpha"):
        flows.LogitTransform(4, alpha=0.5)
