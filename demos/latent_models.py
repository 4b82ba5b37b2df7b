"""Latent-variable models demo (the seeds' Day 2): K-means, GMM, variational GMM, PPCA, general EM.

    python demos/latent_models.py [--quick] [--out DIR] [--seed N] [--backend numpy|cupy] [--data small|full]

Writes into ``--out``:

* ``kmeans_old_faithful.png``  PRML Figure 9.1: K-means on the standardised Old Faithful data from
  Bishop's poor start, alternating E steps (assignments) and M steps (means).
* ``kmeans_objective.png``  PRML Figure 9.2: J after each E step (blue) and M step (red).
* ``gmm_em_old_faithful.png``  PRML Figure 9.8: EM for a two-component GMM, points coloured by
  their responsibilities, one-standard-deviation ellipses, after L = 0, 1, 2, 5, 20 cycles.
* ``gmm_responsibilities.png``  PRML Figure 9.5: samples of a three-component mixture, (a) complete
  (coloured by z), (b) incomplete, (c) coloured by the responsibilities gamma(z_nk).
* ``variational_gmm.png``  the seeds' variational GMM slides: six components offered to Old
  Faithful under alpha_0 = 1e-3, 0.1, 1, 10, the posterior mean weights E[pi_k] (10.69), and
  for alpha_0 = 1e-3 the weights along the iterations, components switching off.
* ``ppca_fashion_mnist.png``  PPCA on Fashion-MNIST: the mean, the first principal directions,
  and reconstructions from M components.
* ``ppca_em_convergence.png``  PPCA-EM approaching the closed form (12.45)-(12.46): the
  log-likelihood gap and the largest principal angle to the closed-form subspace.
* ``general_em.png``  PRML Figures 9.11-9.13 in numbers: ln p(X), L(q, theta) and KL(q || p)
  after each E and M step of EM for the GMM of Figure 9.8.

``main`` returns a dict of the key numbers (the quick-mode test checks them).
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402  (host-side plotting and bookkeeping only)
from matplotlib.patches import Ellipse  # noqa: E402
from scipy.linalg import subspace_angles  # noqa: E402

import minibayes as mb  # noqa: E402
from minibayes import backend  # noqa: E402
from minibayes.data import images_to_float, load_fashion_mnist, old_faithful  # noqa: E402
from minibayes.models import em  # noqa: E402
from minibayes.models.bayesian_mixture import BayesianGaussianMixture  # noqa: E402
from minibayes.models.kmeans import KMeans  # noqa: E402
from minibayes.models.mixture import GaussianMixture, sample_mixture  # noqa: E402
from minibayes.models.pca import PCA  # noqa: E402
from minibayes.models.ppca import PPCA  # noqa: E402

host = backend.to_numpy
# Bishop's deliberately poor start for Figures 9.1 and 9.8 (standardised data).
START = np.array([[-1.25, 1.25], [1.25, -1.25]])
# For EM the start is tilted off the anti-diagonal: exactly symmetric about the data's main axis it
# sits near a saddle, where EM needs about 100 cycles to break the tie between the two clusters
# (measured); tilted, the components separate within 20 cycles, as in Figure 9.8.
GMM_START = np.array([[-1.5, 1.0], [1.5, -1.0]])


def _quietly(fit):
    """Run a fit whose early stop (max_iter reached) is the point of the figure."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit()


def _ellipse(ax, mean, covariance, color, n_std=1.0):
    values, vectors = np.linalg.eigh(covariance)
    angle = np.degrees(np.arctan2(vectors[1, 1], vectors[0, 1]))
    width, height = 2 * n_std * np.sqrt(values[::-1])
    ax.add_patch(Ellipse(mean, width, height, angle=angle, fill=False, color=color, lw=2))


def _save(fig, out, name):
    fig.tight_layout()
    fig.savefig(out / name, dpi=100)
    plt.close(fig)


# --------------------------------------------------------------------------- Figures 9.1, 9.2
def kmeans_figures(X, out):
    steps = _quietly(lambda: KMeans(2, init=mb.asarray(START), max_iter=50).fit(X))
    history = steps.objective_history_
    panels = min(4, steps.n_iter_)
    fig, axes = plt.subplots(2, panels, figsize=(3 * panels, 6), squeeze=False)
    Xh, centers = host(X), START
    for t in range(panels):
        labels = np.argmin(((Xh[:, None] - centers[None]) ** 2).sum(-1), axis=1)        # E step (9.2)
        new_centers = host(_quietly(lambda: KMeans(2, init=mb.asarray(START), max_iter=t + 1).fit(X)).cluster_centers_)
        for row, (title, shown) in enumerate((("E step", centers), ("M step", new_centers))):
            ax = axes[row, t]
            ax.scatter(Xh[:, 0], Xh[:, 1], c=np.where(labels == 0, "tab:red", "tab:blue"), s=8)
            ax.scatter(shown[:, 0], shown[:, 1], c=["darkred", "darkblue"], marker="X", s=160, edgecolors="white")
            ax.set_title(f"cycle {t + 1}: {title}")
            ax.set_xlim(-2.5, 2.5)
            ax.set_ylim(-2.5, 2.5)
        centers = new_centers
    _save(fig, out, "kmeans_old_faithful.png")

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(np.arange(1, len(history) + 1), history, color="gray", lw=1)
    ax.scatter(np.arange(1, len(history) + 1, 2), history[0::2], color="tab:blue", label="after E step", zorder=3)
    ax.scatter(np.arange(2, len(history) + 1, 2), history[1::2], color="tab:red", label="after M step", zorder=3)
    ax.set_xlabel("step")
    ax.set_ylabel("J (9.1)")
    ax.legend()
    _save(fig, out, "kmeans_objective.png")
    return {"kmeans_J": history, "kmeans_final_J": steps.inertia_, "kmeans_iterations": steps.n_iter_}


# --------------------------------------------------------------------------- Figure 9.8
def gmm_figure(X, out, quick):
    xp = backend.array_module(X)
    start = dict(weights_init=xp.asarray([0.5, 0.5]), means_init=mb.asarray(GMM_START),
                 precisions_init=xp.stack([xp.eye(2) * 4.0] * 2))  # small circles, as in Bishop's panel (a)
    cycles = [1, 2, 5, 20] if quick else [1, 2, 5, 20, 50]
    fig, axes = plt.subplots(1, len(cycles) + 1, figsize=(3 * (len(cycles) + 1), 3.2))
    Xh = host(X)
    for ax, L in zip(axes, [0] + cycles):
        if L == 0:
            model = _quietly(lambda: GaussianMixture(2, max_iter=1, **start).fit(X))
            means, covariances = GMM_START, np.stack([np.eye(2) / 4.0] * 2)
            resp = host(em.gmm_posterior(X, xp.asarray([0.5, 0.5]), mb.asarray(GMM_START), mb.asarray(covariances)))
        else:
            model = _quietly(lambda: GaussianMixture(2, max_iter=L, tol=0.0, **start).fit(X))
            means, covariances, resp = host(model.means_), host(model.covariances_), host(model.predict_proba(X))
        colors = resp[:, :1] * np.array([[0.85, 0.1, 0.1]]) + resp[:, 1:] * np.array([[0.1, 0.1, 0.85]])
        ax.scatter(Xh[:, 0], Xh[:, 1], c=colors, s=8)
        for mean, covariance, color in zip(means, covariances, ("darkred", "darkblue")):
            _ellipse(ax, mean, covariance, color)
        ax.set_title(f"L = {L}")
        ax.set_xlim(-2.5, 2.5)
        ax.set_ylim(-2.5, 2.5)
    _save(fig, out, "gmm_em_old_faithful.png")
    final = GaussianMixture(2, **start).fit(X)
    return {"gmm_log_likelihood": final.lower_bound_ * X.shape[0], "gmm_n_iter": final.n_iter_,
            "gmm_lower_bounds": final.lower_bounds_}


# --------------------------------------------------------------------------- Figure 9.5
def responsibilities_figure(out, seed):
    xp = backend.xp()
    weights = xp.asarray([0.5, 0.3, 0.2])
    means = xp.asarray([[0.22, 0.45], [0.5, 0.5], [0.77, 0.55]])
    covariances = xp.asarray([[[0.011, -0.008], [-0.008, 0.011]], [[0.018, 0.010], [0.010, 0.018]],
                              [[0.011, -0.006], [-0.006, 0.011]]])
    X, z = sample_mixture(weights, means, covariances, "full", 500, xp.random.default_rng(seed))
    gamma = host(em.gmm_posterior(X, weights, means, covariances))   # (9.23) with the true parameters
    Xh, zh = host(X), host(z)
    palette = np.array([[0.85, 0.1, 0.1], [0.1, 0.7, 0.1], [0.1, 0.1, 0.85]])
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
    for ax, colors, title in zip(axes, (palette[zh], "black", gamma @ palette),
                                 ("(a) complete: p(z) p(x|z)", "(b) incomplete: p(x)", "(c) responsibilities")):
        ax.scatter(Xh[:, 0], Xh[:, 1], c=colors, s=6)
        ax.set_title(title)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
    _save(fig, out, "gmm_responsibilities.png")
    return {"responsibility_rows_sum": float(np.abs(gamma.sum(1) - 1).max())}


# --------------------------------------------------------------------------- variational GMM
def variational_figure(X, out, seed, quick):
    alphas = (1e-3, 0.1, 1.0, 10.0)
    K, max_iter = 6, (300 if quick else 1000)
    Xh = host(X)
    fig, axes = plt.subplots(2, len(alphas) + 1, figsize=(3.2 * (len(alphas) + 1), 6.4))
    active, weights_by_alpha = {}, {}
    for column, alpha in enumerate(alphas):
        model = _quietly(lambda: BayesianGaussianMixture(K, weight_concentration_prior=alpha, max_iter=max_iter,
                                                         random_state=seed).fit(X))
        weights = host(model.weights_)
        weights_by_alpha[alpha] = weights
        active[alpha] = int((weights > 0.01).sum())
        ax = axes[0, column]
        ax.scatter(Xh[:, 0], Xh[:, 1], c="lightgray", s=6)
        for k in np.flatnonzero(weights > 0.01):
            _ellipse(ax, host(model.means_[k]), host(model.covariances_[k]), plt.cm.tab10(k))
        ax.set_title(rf"$\alpha_0$ = {alpha:g}: {active[alpha]} of {K} used")
        ax.set_xlim(-2.5, 2.5)
        ax.set_ylim(-2.5, 2.5)
        axes[1, column].bar(np.arange(K), weights, color=[plt.cm.tab10(k) for k in range(K)])
        axes[1, column].set_ylim(0, 1)
        axes[1, column].set_xlabel("component k")
        axes[1, column].set_title(r"E[$\pi_k$] (10.69)")
    # Weights along the iterations for the smallest alpha_0 (the seeds' "components switching off" slide).
    checkpoints = [1, 2, 5, 10, 20, 50, 100] + ([] if quick else [200, 400])
    trace = np.array([host(_quietly(lambda: BayesianGaussianMixture(
        K, weight_concentration_prior=alphas[0], max_iter=t, tol=0.0, random_state=seed).fit(X)).weights_)
        for t in checkpoints])
    ax = axes[0, -1]
    for k in range(K):
        ax.plot(checkpoints, trace[:, k], marker="o", color=plt.cm.tab10(k))
    ax.set_xscale("log")
    ax.set_xlabel("iteration")
    ax.set_title(rf"E[$\pi_k$] along EM, $\alpha_0$ = {alphas[0]:g}")
    axes[1, -1].plot(checkpoints, (trace > 0.01).sum(1), marker="o", color="black")
    axes[1, -1].set_xscale("log")
    axes[1, -1].set_xlabel("iteration")
    axes[1, -1].set_title("components with E[pi_k] > 0.01")
    _save(fig, out, "variational_gmm.png")
    return {"bgmm_active_components": active, "bgmm_weights": weights_by_alpha,
            "bgmm_active_along_iterations": (trace > 0.01).sum(1).tolist()}


# --------------------------------------------------------------------------- PPCA on Fashion-MNIST
def ppca_figures(images, out, seed, quick):
    X = mb.asarray(images)
    M = 8 if quick else 16
    closed = PPCA(M).fit(X)
    pca = PCA(M).fit(X)
    mean, W = host(closed.mean_), host(closed.components_)
    fig, axes = plt.subplots(3, 6, figsize=(10, 5.4))
    axes[0, 0].imshow(mean.reshape(28, 28), cmap="gray")
    axes[0, 0].set_title("mean")
    for i in range(5):
        axes[0, i + 1].imshow(host(pca.components_[i]).reshape(28, 28), cmap="RdBu_r")
        axes[0, i + 1].set_title(f"u_{i + 1}, lambda={host(pca.explained_variance_)[i]:.2f}", fontsize=8)
    originals = images[:6]
    reconstructed = host(pca.inverse_transform(pca.transform(mb.asarray(originals))))
    for i in range(6):
        axes[1, i].imshow(originals[i].reshape(28, 28), cmap="gray")
        axes[2, i].imshow(np.clip(reconstructed[i], 0, 1).reshape(28, 28), cmap="gray")
    axes[1, 0].set_ylabel("image")
    axes[2, 0].set_ylabel(f"M = {M}")
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    _save(fig, out, "ppca_fashion_mnist.png")

    # EM against the closed form: refits from the same random start stop after t iterations.
    checkpoints = [1, 2, 5, 10, 20, 50] + ([] if quick else [100, 200, 500])
    best = closed.score(X)
    gaps, angles = [], []
    for t in checkpoints:
        model = _quietly(lambda: PPCA(M, method="em", max_iter=t, tol=0.0, random_state=seed).fit(X))
        gaps.append(max(best - model.score(X), 1e-16))
        angles.append(float(subspace_angles(host(model.components_).T, W.T).max()))
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    axes[0].semilogy(checkpoints, gaps, marker="o")
    axes[0].set_xlabel("EM iteration")
    axes[0].set_ylabel("closed form - EM,  ln p(X) / N")
    axes[1].semilogy(checkpoints, angles, marker="o", color="tab:red")
    axes[1].set_xlabel("EM iteration")
    axes[1].set_ylabel("largest principal angle (rad)")
    for ax in axes:
        ax.set_xscale("log")
    _save(fig, out, "ppca_em_convergence.png")
    return {"ppca_sigma2": closed.noise_variance_, "ppca_log_likelihood": best, "ppca_em_gaps": gaps,
            "ppca_em_angles": angles}


# --------------------------------------------------------------------------- general EM
def general_em_figure(X, out, cycles):
    xp = backend.array_module(X)
    theta = (xp.asarray([0.5, 0.5]), mb.asarray(START), mb.asarray(np.stack([np.eye(2) / 4.0] * 2)))
    labels, values = [], []
    for cycle in range(1, cycles + 1):
        q = em.gmm_posterior(X, *theta)                        # E-step: q = p(Z | X, theta_old), KL = 0
        values.append(em.gmm_decomposition(X, q, *theta))
        labels.append(f"E{cycle}")
        theta = em.gmm_m_step(X, q)                            # M-step: theta = argmax Q (9.24-9.27)
        values.append(em.gmm_decomposition(X, q, *theta))      # same q, new theta: KL > 0
        labels.append(f"M{cycle}")
    log_px, elbo, kl = (np.array(column) for column in zip(*values))
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [2, 1]})
    steps = np.arange(len(labels))
    axes[0].plot(steps, log_px, marker="o", label="ln p(X | theta)")
    axes[0].plot(steps, elbo, marker="s", label="L(q, theta)")
    axes[0].set_xticks(steps, labels, fontsize=7)
    axes[0].legend()
    axes[0].set_title("ln p(X) = L(q, theta) + KL(q || p)  (9.70)")
    axes[1].bar(steps, kl, color=["tab:blue" if label[0] == "E" else "tab:red" for label in labels])
    axes[1].set_xticks(steps, labels, fontsize=7)
    axes[1].set_title("KL(q || p(Z | X, theta))")
    _save(fig, out, "general_em.png")
    return {"em_log_likelihood": log_px.tolist(), "em_elbo": elbo.tolist(), "em_kl": kl.tolist(),
            "em_identity_error": float(np.abs(log_px - elbo - kl).max())}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("numpy", "cupy"), default="numpy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="fewer iterations and panels (for tests)")
    parser.add_argument("--out", default="demos/out/latent_models")
    parser.add_argument("--data", choices=("small", "full"), default="small",
                        help="Fashion-MNIST: the shipped 2,000-image subset, or the full training set")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    mb.backend.apply_host_memory_policy()  # the engine runs its own work here: recycle freed host memory
    with mb.using(args.backend):
        mb.seed(args.seed)
        faithful = mb.asarray(old_faithful(standardize=True))
        images, _ = load_fashion_mnist("train", subset="small" if args.data == "small" else None)
        images = images_to_float(images, dtype=np.float64)
        if args.quick:
            images = images[:1000]
        summary = {}
        summary.update(kmeans_figures(faithful, out))
        summary.update(gmm_figure(faithful, out, args.quick))
        summary.update(responsibilities_figure(out, args.seed))
        summary.update(variational_figure(faithful, out, args.seed, args.quick))
        summary.update(ppca_figures(images, out, args.seed, args.quick))
        summary.update(general_em_figure(faithful, out, 5 if args.quick else 10))
    print(f"K-means: J = {summary['kmeans_final_J']:.3f} after {summary['kmeans_iterations']} cycles; "
          f"GMM: ln p(X) = {summary['gmm_log_likelihood']:.3f} after {summary['gmm_n_iter']} EM cycles; "
          f"variational GMM components used per alpha_0: {summary['bgmm_active_components']}; "
          f"PPCA sigma^2 = {summary['ppca_sigma2']:.5f}; figures in {out}")
    return summary


if __name__ == "__main__":
    main()
