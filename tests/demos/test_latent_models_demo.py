"""The latent-models demo in quick mode: its figures exist and its numbers say what the theory says."""

from __future__ import annotations

import numpy as np

from demos import latent_models as demo

FIGURES = ("kmeans_old_faithful.png", "kmeans_objective.png", "gmm_em_old_faithful.png", "gmm_responsibilities.png",
           "variational_gmm.png", "ppca_fashion_mnist.png", "ppca_em_convergence.png", "general_em.png")


def test_quick_run_writes_the_figures_and_reproduces_the_theory(tmp_path):
    summary = demo.main(["--quick", "--out", str(tmp_path)])
    for name in FIGURES:
        assert (tmp_path / name).stat().st_size > 10_000, name
    # Figure 9.2: J never increases; Old Faithful splits in two clusters with J well below the start.
    J = np.array(summary["kmeans_J"])
    assert np.all(np.diff(J) <= 1e-9 * J[0]) and summary["kmeans_final_J"] < 0.1 * J[0]
    # Figure 9.8: EM raises ln p(X) at every cycle.
    assert np.all(np.diff(summary["gmm_lower_bounds"]) >= -1e-12)
    # EM reaches the two-cluster optimum of Old Faithful (ln p(X) = -385.46, standardised; the
    # same as scikit-learn's from the same start), not the saddle between the clusters (about -541).
    assert summary["gmm_log_likelihood"] > -390
    assert summary["responsibility_rows_sum"] < 1e-12
    # The seeds' slide: a small alpha_0 switches components off, a large one keeps them.
    active = summary["bgmm_active_components"]
    assert active[1e-3] < active[10.0] and active[1e-3] == 2 and active[10.0] == 6
    along = summary["bgmm_active_along_iterations"]
    assert along[0] == 6 and along[-1] == 2 and all(a >= b for a, b in zip(along, along[1:]))
    # PPCA-EM approaches the closed form: the subspace angle and the likelihood gap shrink.
    angles, gaps = summary["ppca_em_angles"], summary["ppca_em_gaps"]
    assert angles[-1] < 1e-6 < angles[0] and gaps[-1] < gaps[0] and min(gaps) >= 0
    assert 0 < summary["ppca_sigma2"] < 0.1
    # General EM (9.70): the identity holds, KL is 0 after each E step and positive after each M step,
    # and ln p(X) never decreases.
    kl = np.array(summary["em_kl"])
    assert summary["em_identity_error"] < 1e-9
    assert np.all(np.abs(kl[0::2]) < 1e-9) and np.all(kl[1::2] > 0)
    assert np.all(np.diff(summary["em_log_likelihood"]) >= -1e-9)
