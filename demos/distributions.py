"""Distributions demo: the seeds' Figure 2.3, Dirichlet densities, and KL(q||p) versus KL(p||q).

    python demos/distributions.py [--quick] [--out DIR] [--seed N] [--backend numpy|cupy]

Writes three PNGs into ``--out``:

* ``beta_bernoulli.png``  PRML Figure 2.3: the prior Beta(2, 2) times the likelihood of one
  observation x = 1 gives the posterior Beta(3, 2) (``beta_bernoulli``).
* ``dirichlet_simplex.png``  Dir(mu | alpha) on the 2-simplex for alpha = 0.1, 1 and 10 (PRML Figure 2.5).
* ``kl_asymmetry.png``  PRML Figures 10.2 and 10.3: a factorised Gaussian fitted to a correlated
  Gaussian, and a single Gaussian fitted to a two-component mixture, each by gradient descent
  through the autograd, once on KL(q||p) (mode-seeking, too compact) and once on KL(p||q)
  (mass-covering, too broad).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.tri as mtri  # noqa: E402
import numpy as np  # noqa: E402  (host-side plotting grids only)

import minibayes as mb  # noqa: E402
from minibayes import distributions as D  # noqa: E402


def _t(values) -> mb.Tensor:
    return mb.tensor(np.asarray(values, dtype=np.float64), dtype="float64")


# --------------------------------------------------------------------------- Figure 2.3
def beta_bernoulli_figure(out: Path) -> dict:
    prior = D.Beta(_t(2.0), _t(2.0))
    posterior = D.beta_bernoulli(prior, _t([1.0]))
    mu = np.linspace(1e-3, 1 - 1e-3, 400)
    fig, axes = plt.subplots(1, 3, figsize=(10, 2.8), sharex=True)
    axes[0].plot(mu, prior.prob(_t(mu)).numpy(), color="tab:red")
    axes[0].set_title("prior Beta(2, 2)")
    axes[1].plot(mu, mu, color="tab:blue")  # Bern(x = 1 | mu) = mu
    axes[1].set_title("likelihood, one x = 1")
    axes[2].plot(mu, posterior.prob(_t(mu)).numpy(), color="tab:red")
    axes[2].set_title(f"posterior Beta({posterior.concentration1.item():g}, {posterior.concentration0.item():g})")
    for ax in axes:
        ax.set_xlabel(r"$\mu$")
        ax.set_ylim(0, 2)
    fig.tight_layout()
    fig.savefig(out / "beta_bernoulli.png", dpi=110)
    plt.close(fig)
    return {"posterior": (posterior.concentration1.item(), posterior.concentration0.item())}


# --------------------------------------------------------------------------- Figure 2.5
def dirichlet_figure(out: Path, resolution: int) -> dict:
    # Barycentric grid on the triangle, away from the edges where alpha < 1 densities diverge.
    steps = np.linspace(0.005, 0.99, resolution)
    mu1, mu2 = np.meshgrid(steps, steps)
    inside = mu1 + mu2 < 0.995
    points = np.stack([mu1[inside], mu2[inside], 1 - mu1[inside] - mu2[inside]], axis=-1)
    # Corners of an equilateral triangle: (1,0,0) -> (0,0), (0,1,0) -> (1,0), (0,0,1) -> (1/2, sqrt3/2).
    x = points[:, 1] + 0.5 * points[:, 2]
    y = math.sqrt(3) / 2 * points[:, 2]
    triangulation = mtri.Triangulation(x, y)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.8))
    peaks = {}
    for ax, alpha in zip(axes, (0.1, 1.0, 10.0)):
        log_density = D.Dirichlet(_t([alpha] * 3)).log_prob(_t(points)).numpy()
        peaks[alpha] = float(log_density.max())
        ax.tricontourf(triangulation, log_density, levels=30, cmap="viridis")
        ax.set_title(rf"ln Dir($\mu$ | $\alpha$ = {alpha:g})")
        ax.set_aspect("equal")
        ax.axis("off")
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    fig.savefig(out / "dirichlet_simplex.png", dpi=110)
    plt.close(fig)
    return {"dirichlet_max_log_density": peaks}


# --------------------------------------------------------------------------- Figures 10.2, 10.3
def _fit(loss_of, params, steps: int, lr: float) -> None:
    optimizer = mb.optim.Adam(params, lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss_of().backward()
        optimizer.step()


def factorised_gaussian_fits(steps: int) -> dict:
    """Fit q(z) = N(z1 | m1, s1^2) N(z2 | m2, s2^2) to a correlated p(z) = N(mu, Sigma).

    Both KLs are closed forms between Gaussians (the registry). PRML §10.1.2: minimising
    KL(q||p) gives s_i^2 = 1 / Lambda_ii (compact), minimising KL(p||q) gives s_i^2 = Sigma_ii.
    """
    sigma = np.array([[1.0, 0.9], [0.9, 1.0]])
    p = D.MultivariateNormal(_t([0.0, 0.0]), covariance_matrix=_t(sigma))
    fits = {}
    for direction in ("q||p", "p||q"):
        loc = mb.nn.Parameter(_t([0.5, -0.5]).data)
        log_scale = mb.nn.Parameter(_t([0.0, 0.0]).data)

        def q() -> D.MultivariateNormal:
            return D.MultivariateNormal(loc, scale_tril=mb.diag(mb.exp(log_scale)))

        loss = (lambda: D.kl_divergence(q(), p)) if direction == "q||p" else (lambda: D.kl_divergence(p, q()))
        _fit(loss, [loc, log_scale], steps, lr=0.05)
        fits[direction] = (loc.numpy().copy(), np.exp(2 * log_scale.numpy()))
    return {"p_covariance": sigma, "fits": fits}


def mixture_log_prob(z: mb.Tensor) -> mb.Tensor:
    """ln p(z) of the two-component mixture p = 1/2 N(-2, 0.6^2) + 1/2 N(2, 0.6^2), by logsumexp."""
    components = D.Normal(_t([-2.0, 2.0]), _t([0.6, 0.6]))
    return mb.logsumexp(components.log_prob(z.unsqueeze(-1)) + math.log(0.5), axis=-1)


def single_gaussian_fits(steps: int, n_samples: int) -> dict:
    """Fit one Gaussian q to the bimodal mixture p.

    KL(q||p) = E_q[ln q - ln p] by reparameterised Monte Carlo (rsample): q locks onto one mode.
    KL(p||q) = const - E_p[ln q] with samples of p: q matches p's mean and variance and covers both.
    """
    mb.seed(0)
    which = np.random.default_rng(1).random(n_samples) < 0.5
    p_draws = _t(np.where(which, -2.0, 2.0) + 0.6 * np.random.default_rng(2).standard_normal(n_samples))
    fits = {}
    for direction in ("q||p", "p||q"):
        loc = mb.nn.Parameter(_t(0.7).data)  # started off-centre: the reverse KL picks the nearer mode
        log_scale = mb.nn.Parameter(_t(0.0).data)

        def q() -> D.Normal:
            return D.Normal(loc, mb.exp(log_scale))

        if direction == "q||p":
            def loss():
                z = q().rsample((n_samples,))
                return (q().log_prob(z) - mixture_log_prob(z)).mean()
        else:
            def loss():
                return -q().log_prob(p_draws).mean()

        _fit(loss, [loc, log_scale], steps, lr=0.05)
        fits[direction] = (float(loc.item()), float(np.exp(log_scale.item())))
    return {"fits": fits}


def kl_figure(out: Path, steps: int, n_samples: int) -> dict:
    factorised = factorised_gaussian_fits(steps)
    single = single_gaussian_fits(steps, n_samples)
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    grid = np.linspace(-2.5, 2.5, 200)
    z1, z2 = np.meshgrid(grid, grid)
    cov = factorised["p_covariance"]
    inverse = np.linalg.inv(cov)
    quadratic = inverse[0, 0] * z1**2 + 2 * inverse[0, 1] * z1 * z2 + inverse[1, 1] * z2**2
    for ax, direction, colour in zip(axes[:2], ("q||p", "p||q"), ("tab:red", "tab:blue")):
        ax.contour(z1, z2, quadratic, levels=[1.0, 4.0], colors="tab:green")
        loc, variance = factorised["fits"][direction]
        q_quadratic = (z1 - loc[0]) ** 2 / variance[0] + (z2 - loc[1]) ** 2 / variance[1]
        ax.contour(z1, z2, q_quadratic, levels=[1.0, 4.0], colors=colour)
        ax.set_title(f"minimise KL({direction}): factorised q")
        ax.set_aspect("equal")
        ax.set_xlabel("$z_1$")
        ax.set_ylabel("$z_2$")
    x = np.linspace(-5, 5, 400)
    ax = axes[2]
    ax.fill_between(x, np.exp(mixture_log_prob(_t(x)).numpy()), color="tab:green", alpha=0.3, label="p (mixture)")
    for direction, colour in (("q||p", "tab:red"), ("p||q", "tab:blue")):
        loc, scale = single["fits"][direction]
        ax.plot(x, D.Normal(_t(loc), _t(scale)).prob(_t(x)).numpy(), color=colour, label=f"q minimising KL({direction})")
    ax.legend(fontsize=8)
    ax.set_title("single Gaussian fitted to a mixture")
    fig.tight_layout()
    fig.savefig(out / "kl_asymmetry.png", dpi=110)
    plt.close(fig)
    return {"factorised": factorised, "single": single}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy", choices=["numpy", "cupy"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="fewer optimisation steps and a coarser grid")
    parser.add_argument("--out", default="demos/out/distributions")
    args = parser.parse_args(argv)

    mb.backend.apply_host_memory_policy()
    # using(): the caller's backend is back when the demo returns (or raises).
    with mb.using(args.backend):
        return _run(args)


def _run(args: argparse.Namespace) -> dict:
    mb.seed(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    steps, resolution, n_samples = (300, 60, 500) if args.quick else (1500, 150, 4000)
    summary = {}
    summary.update(beta_bernoulli_figure(out))
    summary.update(dirichlet_figure(out, resolution))
    summary.update(kl_figure(out, steps, n_samples))
    summary["seconds"] = time.perf_counter() - start

    fits = summary["factorised"]["fits"]
    print("factorised q fitted to N(0, [[1, .9], [.9, 1]]):")
    print(f"  KL(q||p): variances {fits['q||p'][1].round(3)}  (theory 1/Lambda_ii = {1 - 0.9 ** 2:.3f})")
    print(f"  KL(p||q): variances {fits['p||q'][1].round(3)}  (theory Sigma_ii = 1.000)")
    single = summary["single"]["fits"]
    print("single Gaussian fitted to 1/2 N(-2, .36) + 1/2 N(2, .36):")
    print(f"  KL(q||p): mean {single['q||p'][0]:+.3f}, std {single['q||p'][1]:.3f}  (one mode)")
    print(f"  KL(p||q): mean {single['p||q'][0]:+.3f}, std {single['p||q'][1]:.3f}  (theory std {math.sqrt(4 + 0.36):.3f})")
    print(f"wrote beta_bernoulli.png, dirichlet_simplex.png, kl_asymmetry.png to {out} in {summary['seconds']:.1f} s")
    return summary


if __name__ == "__main__":
    main()
