"""General EM: ln p(X) = L(q, theta) + KL(q || p(Z | X)) for any q (PRML 9.70), for a GMM and for PPCA."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from minibayes.models import em
from minibayes.models.ppca import PPCA, ppca_posterior

from .test_mixture import blobs


@st.composite
def gmm_problems(draw):
    """A new strategy: data, GMM parameters and an arbitrary q(Z) (rows on the simplex, some exact zeros)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    N, D, K = draw(st.integers(1, 30)), draw(st.integers(1, 3)), draw(st.integers(1, 4))
    X = rng.normal(size=(N, D)) * 2
    weights = rng.dirichlet(np.ones(K))
    means = rng.normal(size=(K, D)) * 2
    A = rng.normal(size=(K, D, D))
    covariances = A @ A.transpose(0, 2, 1) + 0.3 * np.eye(D)
    q = rng.dirichlet(np.full(K, 0.5), size=N)
    q[rng.random(size=q.shape) < 0.2] = 0.0  # 0 ln 0 = 0 must hold
    q[q.sum(1) == 0, 0] = 1.0
    return X, q / q.sum(1, keepdims=True), (weights, means, covariances)


@st.composite
def ppca_problems(draw):
    """A new strategy: data, PPCA parameters and Gaussian q(z_n) = N(m_n, S_n) with random SPD S_n."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    N, M = draw(st.integers(1, 20)), draw(st.integers(1, 3))
    D = M + draw(st.integers(1, 3))
    X = rng.normal(size=(N, D))
    theta = (rng.normal(size=D), rng.normal(size=(D, M)), float(rng.uniform(0.2, 2.0)))
    B = rng.normal(size=(N, M, M))
    q_covariances = B @ B.transpose(0, 2, 1) + 0.1 * np.eye(M)
    return X, rng.normal(size=(N, M)), q_covariances, theta


@settings(max_examples=50, deadline=None)
@given(problem=gmm_problems())
def test_gmm_decomposition_holds_for_any_q(problem):
    X, q, theta = problem
    log_px, elbo, kl = em.gmm_decomposition(X, q, *theta)
    assert log_px == pytest.approx(elbo + kl, rel=1e-12, abs=1e-10)       # (9.70)
    assert kl >= -1e-10                                                   # KL >= 0 (Jensen)
    assert elbo <= log_px + 1e-10                                         # L is a lower bound
    exact = em.gmm_posterior(X, *theta)
    log_px2, elbo2, kl2 = em.gmm_decomposition(X, exact, *theta)
    assert abs(kl2) < 1e-10 and elbo2 == pytest.approx(log_px, rel=1e-12, abs=1e-10)  # the E-step closes the gap


@settings(max_examples=25, deadline=None)
@given(problem=gmm_problems())
def test_gmm_decomposition_terms_by_scipy_and_bayes_rule(problem):
    """Each term of (9.70) by a route that shares nothing with ``gmm_log_joint``, so that a wrong joint
    (which would still satisfy ln p(X) = L + KL, all three being built from it) fails here:

        ln p(x_n, k)  = ln pi_k + ln N(x_n | mu_k, Sigma_k)         scipy.stats.multivariate_normal
        ln p(X)       = sum_n logsumexp_k ln p(x_n, k)              (9.14)
        p(k | x_n)    = p(x_n, k) / p(x_n)                           Bayes' rule (9.13)
        L(q)          = sum_nk q_nk {ln p(x_n, k) - ln q_nk}         (9.71)
        KL(q || p)    = sum_nk q_nk {ln q_nk - ln p(k | x_n)}        (9.72), 0 ln 0 = 0
    """
    X, q, (weights, means, covariances) = problem
    log_joint = np.stack([np.log(w) + multivariate_normal(m, c).logpdf(X).reshape(-1)
                          for w, m, c in zip(weights, means, covariances)], axis=1)
    log_px = logsumexp(log_joint, axis=1)
    log_posterior = log_joint - log_px[:, None]
    log_q = np.log(np.where(q > 0, q, 1.0))
    log_px_total, elbo, kl = em.gmm_decomposition(X, q, weights, means, covariances)
    assert log_px_total == pytest.approx(log_px.sum(), rel=1e-10, abs=1e-10)
    assert elbo == pytest.approx((q * (log_joint - log_q)).sum(), rel=1e-10, abs=1e-10)
    assert kl == pytest.approx((q * (log_q - log_posterior)).sum(), rel=1e-9, abs=1e-9)
    np.testing.assert_allclose(em.gmm_posterior(X, weights, means, covariances), np.exp(log_posterior),
                               rtol=1e-9, atol=1e-12)


def test_gmm_log_likelihood_by_scipy():
    rng = np.random.default_rng(0)
    X, weights, means = rng.normal(size=(20, 2)), np.array([0.2, 0.8]), rng.normal(size=(2, 2))
    covariances = np.stack([np.eye(2), np.array([[2.0, 0.5], [0.5, 1.0]])])
    density = sum(w * multivariate_normal(m, c).pdf(X) for w, m, c in zip(weights, means, covariances))
    assert em.gmm_log_likelihood(X, weights, means, covariances) == pytest.approx(np.log(density).sum(), rel=1e-10)


def test_em_cycle_raises_bound_and_likelihood():
    """One E step and one M step, the picture of PRML Figures 9.12-9.13."""
    X = blobs(0, n_per=30)
    rng = np.random.default_rng(1)
    theta = (np.full(3, 1 / 3), X[rng.choice(len(X), 3, replace=False)], np.stack([np.eye(2)] * 3))
    for _ in range(5):
        q = em.gmm_posterior(X, *theta)                    # E-step: KL = 0, L = ln p(X | theta_old)
        before = em.gmm_decomposition(X, q, *theta)
        new_theta = em.gmm_m_step(X, q)                    # M-step: maximise Q over theta
        after = em.gmm_decomposition(X, q, *new_theta)
        assert abs(before.kl) < 1e-10
        assert after.elbo >= before.elbo - 1e-10
        assert after.log_likelihood >= after.elbo - 1e-10 and after.kl >= -1e-10
        assert after.log_likelihood - before.log_likelihood >= after.elbo - before.elbo - 1e-9
        theta = new_theta


def test_m_step_maximises_expected_complete_log_likelihood():
    X = blobs(2, n_per=20)
    rng = np.random.default_rng(0)
    q = rng.dirichlet(np.ones(3), size=len(X))
    best = em.gmm_m_step(X, q)
    Q_best = em.gmm_expected_complete_log_likelihood(X, q, *best)
    for _ in range(20):
        weights = rng.dirichlet(200 * best[0])
        means = best[1] + 0.05 * rng.normal(size=best[1].shape)
        A = 0.05 * rng.normal(size=best[2].shape)
        covariances = best[2] + A @ A.transpose(0, 2, 1)
        assert em.gmm_expected_complete_log_likelihood(X, q, weights, means, covariances) < Q_best
    # With one-hot q it is the complete-data log-likelihood (9.36), summed term by term.
    labels = rng.integers(3, size=len(X))
    one_hot = np.eye(3)[labels]
    direct = sum(np.log(best[0][z]) + multivariate_normal(best[1][z], best[2][z]).logpdf(x) for x, z in zip(X, labels))
    assert em.gmm_expected_complete_log_likelihood(X, one_hot, *best) == pytest.approx(direct, rel=1e-12)


def test_categorical_entropy_handles_zeros():
    assert em.categorical_entropy(np.array([[1.0, 0.0], [0.5, 0.5]])) == pytest.approx(np.log(2))


@settings(max_examples=50, deadline=None)
@given(problem=ppca_problems())
def test_ppca_decomposition_holds_for_any_gaussian_q(problem):
    X, q_means, q_covariances, theta = problem
    log_px, elbo, kl = em.ppca_decomposition(X, q_means, q_covariances, *theta)
    assert log_px == pytest.approx(elbo + kl, rel=1e-12, abs=1e-10)
    assert kl >= -1e-10
    posterior = ppca_posterior(X, *theta)
    log_px2, elbo2, kl2 = em.ppca_decomposition(X, posterior.mean, posterior.covariance, *theta)
    assert abs(kl2) < 1e-9 and elbo2 == pytest.approx(log_px, rel=1e-12, abs=1e-9)


def test_ppca_m_step_maximises_q_and_textbook_em_reaches_the_closed_form():
    """Q of (12.53) at the posterior under theta_old rises in the M-step (12.56)-(12.57).

    Iterated, the textbook EM reaches the closed form (12.45)-(12.46).
    """
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5)) @ np.diag([3.0, 2.0, 1.0, 0.5, 0.2]) + 1.0
    theta = (X.mean(0), rng.normal(size=(5, 2)), 1.0)
    history = []
    for step in range(300):
        q = ppca_posterior(X, *theta)                                     # E-step (12.54)-(12.55)
        Q_old = em.ppca_expected_complete_log_likelihood(X, q.mean, q.covariance, *theta)
        new_theta = em.ppca_m_step(X, q.mean, q.covariance)              # M-step
        Q_new = em.ppca_expected_complete_log_likelihood(X, q.mean, q.covariance, *new_theta)
        assert Q_new >= Q_old - 1e-9
        if step == 0:
            mean, W, sigma2 = new_theta
            def Q(W, sigma2):
                return em.ppca_expected_complete_log_likelihood(X, q.mean, q.covariance, mean, W, sigma2)

            for factor in (0.95, 1.05):
                assert Q(W * factor, sigma2) < Q_new and Q(W, sigma2 * factor) < Q_new
        theta = new_theta
        history.append(em.ppca_decomposition(X, q.mean, q.covariance, *theta).log_likelihood)
    assert np.all(np.diff(history) >= -1e-9)
    closed = PPCA(2).fit(X)
    assert theta[2] == pytest.approx(closed.noise_variance_, rel=1e-8)
    assert history[-1] == pytest.approx(closed.score(X) * len(X), rel=1e-10)
