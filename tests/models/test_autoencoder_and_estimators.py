"""Autoencoder (seed row 32), the score-function vs reparameterisation estimators (row 34) and the
shared variational objective's conventions."""

import numpy as np
import pytest

import minibayes as mb
from minibayes import nn
from minibayes.models import Autoencoder, PCA, VariationalObjective, gaussian_gradient_estimates, kl_warmup

from ..module_gradcheck import module_gradcheck


def linear_autoencoder(D, k):
    return Autoencoder(nn.Dense(D, k, dtype="float64"), nn.Dense(k, D, dtype="float64"), loss="mse")


def test_autoencoder_losses_match_numpy():
    mb.seed(0)
    ae = linear_autoencoder(4, 2)
    x = np.random.default_rng(0).random((5, 4))
    out = (x @ ae.encoder.weight.data + ae.encoder.bias.data) @ ae.decoder.weight.data + ae.decoder.bias.data
    assert ae.loss(x).item() == pytest.approx(((out - x) ** 2).sum(axis=1).mean(), rel=1e-13)
    bce = Autoencoder(ae.encoder, ae.decoder, loss="bce")
    p = 1 / (1 + np.exp(-out))
    expected = -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=1).mean()
    assert bce.loss(x).item() == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(bce.reconstruct(x), p, rtol=1e-12)
    assert module_gradcheck(bce, lambda: bce.loss(x))


def test_linear_autoencoder_learns_the_pca_subspace():
    """A linear AE's optimum reconstructs through the principal subspace (Baldi & Hornik 1989):
    its squared error per point reaches PCA's, the sum of the discarded eigenvalues (PRML 12.18)."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 2)) @ rng.normal(size=(2, 5)) * 2 + 0.3 * rng.normal(size=(300, 5))
    pca = PCA(n_components=2).fit(X)
    residual = ((X - pca.inverse_transform(pca.transform(X))) ** 2).sum(axis=1).mean()
    mb.seed(1)
    ae = linear_autoencoder(5, 2)
    optimizer = mb.optim.Adam(ae.parameters(), lr=0.02)
    for step in range(1500):
        optimizer.zero_grad()
        ae.loss(X).backward()
        optimizer.step()
    assert ae.loss(X).item() == pytest.approx(residual, rel=2e-3)
    assert ae.loss(X).item() >= residual * (1 - 1e-9)


def test_autoencoder_bad_input():
    with pytest.raises(ValueError, match="loss must be"):
        Autoencoder(nn.Dense(2, 1), nn.Dense(1, 2), loss="l1")
    with pytest.raises(TypeError, match="encoder must be a Module"):
        Autoencoder(lambda x: x, nn.Dense(1, 2))
    with pytest.raises(ValueError, match="shape \\(batch, n_features\\)"):
        Autoencoder(nn.Dense(2, 1), nn.Dense(1, 2)).loss(np.zeros(2))
    with pytest.raises(ValueError, match="NaN"):
        Autoencoder(nn.Dense(2, 1), nn.Dense(1, 2)).loss(np.array([[0.5, np.nan]]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        Autoencoder(nn.Dense(2, 1), nn.Dense(1, 2), loss="bce").loss(np.array([[0.5, 3.0]]))


def test_both_gradient_estimators_are_unbiased_and_reparameterisation_has_less_variance():
    # f(z) = z^2: E[f] = m^2 + s^2, so the exact gradient is (2 m, 2 s).
    mean, std, n = 0.7, 1.3, 400_000
    mb.seed(0)
    estimates = gaussian_gradient_estimates(lambda z: z * z, mean, std, n)
    exact = np.array([2 * mean, 2 * std])
    for per_draw in estimates:
        error = per_draw.std(axis=0) / np.sqrt(n)
        assert np.all(np.abs(per_draw.mean(axis=0) - exact) < 5 * error)
    assert np.all(estimates.score_function.var(axis=0) > 3 * estimates.reparameterisation.var(axis=0))


def test_gradient_estimators_share_the_noise_and_check_their_arguments():
    eps = np.array([0.5, -1.0])
    score, path = gaussian_gradient_estimates(lambda z: mb.sin(z), 0.2, 2.0, 2, noise=eps)
    z = 0.2 + 2.0 * eps
    np.testing.assert_allclose(path, np.stack([np.cos(z), np.cos(z) * eps], axis=1), rtol=1e-14)
    np.testing.assert_allclose(score, np.stack([np.sin(z) * eps / 2.0, np.sin(z) * (eps ** 2 - 1) / 2.0], axis=1),
                               rtol=1e-14)
    with pytest.raises(ValueError, match="std must be positive"):
        gaussian_gradient_estimates(lambda z: z, 0.0, 0.0, 3)
    with pytest.raises(ValueError, match="n_samples"):
        gaussian_gradient_estimates(lambda z: z, 0.0, 1.0, 0)
    with pytest.raises(ValueError, match="elementwise"):
        gaussian_gradient_estimates(lambda z: z.sum(), 0.0, 1.0, 3)


def test_variational_objective_conventions():
    reconstruction, kl = mb.tensor(-90.0, dtype="float64"), mb.tensor(12.0, dtype="float64")
    result = VariationalObjective.from_terms(reconstruction, kl)
    assert (result.elbo.item(), result.loss.item(), result.nll.item()) == (-102.0, 102.0, 90.0)
    assert set(result.terms()) == {"nll", "kl"}
    # a global KL (Bayes by Backprop): per-point share KL / N
    global_kl = VariationalObjective.from_global_kl(reconstruction, mb.tensor(600.0, dtype="float64"), 50)
    assert global_kl.kl.item() == 12.0 and global_kl.loss.item() == 102.0
    bound = VariationalObjective.from_bound(mb.tensor(-95.0, dtype="float64"), reconstruction, kl)
    assert bound.loss.item() == 95.0 and set(bound.terms()) == {"negative_bound"}
    with pytest.raises(ValueError, match="n_data"):
        VariationalObjective.from_global_kl(reconstruction, kl, 0)
    with pytest.raises(ValueError, match="kl_weight"):
        VariationalObjective.from_terms(reconstruction, kl, kl_weight=float("nan"))


def test_kl_warmup_schedule():
    assert [kl_warmup(s, 4) for s in (0, 1, 4, 10)] == [0.0, 0.25, 1.0, 1.0]
    assert kl_warmup(0, 0) == 1.0
    with pytest.raises(ValueError, match="warmup_steps"):
        kl_warmup(1, -1)
