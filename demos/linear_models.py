"""Bayesian linear models demo: the seeds' Day-1 figures from PRML chapters 3, 4 and 6.

    python demos/linear_models.py [--quick] [--out DIR] [--seed N] [--backend numpy|cupy]

Writes six PNGs into ``--out``:

* ``sequential_posterior.png``  PRML Figure 3.7: y = w_0 + w_1 x learnt one point at a time
  (``partial_fit``): the likelihood of the newest point, the posterior over (w_0, w_1), and lines
  y(x, w) for w drawn from it.
* ``predictive.png``  Figures 3.8 and 3.9: 9 Gaussian basis functions on sin(2 pi x) data, N = 1, 2,
  4, 25: the predictive mean with one standard deviation (3.58, 3.59), and functions drawn from the posterior.
* ``evidence_vs_order.png``  Figure 3.14 beside Figure 1.5: the log evidence (3.86) of polynomials of
  order M = 0..9 (alpha = 5e-3, beta = 11.1 as in PRML), and the train/test RMS error of least squares.
* ``linear_bayes_fully_bayes.png``  the seed's comparison slide: least squares (a point estimate),
  Bayesian linear regression with alpha, beta by evidence maximisation (empirical Bayes), and
  ``BayesianRidge`` with Gamma hyperpriors on both precisions.
* ``gaussian_process.png``  GP prior samples, then the posterior after fitting the hyperparameters.
* ``logistic_predictive.png``  Bayesian logistic regression on two moons: the MAP plug-in sigma(w^T phi)
  against the Laplace predictive (4.155), whose contours spread out away from the data.

Returns a dict of key numbers, e.g. ``best_order`` (PRML finds M = 3 on its data).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402  (host-side plotting grids and the true functions only)

import minibayes as mb  # noqa: E402
from minibayes.data import sinusoidal, two_moons  # noqa: E402
from minibayes.models._validation import ConvergenceWarning  # noqa: E402
from minibayes.models.basis import GaussianBasis, IdentityBasis, PolynomialBasis  # noqa: E402
from minibayes.models.bayesian_ridge import BayesianRidge  # noqa: E402
from minibayes.models.gp import GaussianProcessRegressor  # noqa: E402
from minibayes.models.kernels import RBF  # noqa: E402
from minibayes.models.linear import BayesianLinearRegression, least_squares, log_evidence  # noqa: E402
from minibayes.models.logistic import BayesianLogisticRegression  # noqa: E402

host = mb.to_numpy
GRID = np.linspace(0, 1, 200)


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# --------------------------------------------------------------------------- Figure 3.7
def sequential_figure(out: Path, seed: int, resolution: int) -> dict:
    a0, a1, beta, alpha = -0.3, 0.5, 25.0, 2.0  # PRML section 3.3.1
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, 20)
    t = a0 + a1 * x + rng.normal(0, 1 / np.sqrt(beta), 20)
    w0, w1 = np.meshgrid(np.linspace(-1, 1, resolution), np.linspace(-1, 1, resolution))
    W = np.stack([w0.ravel(), w1.ravel()], axis=1)
    model = BayesianLinearRegression(IdentityBasis(), alpha=alpha, beta=beta)
    fig, axes = plt.subplots(4, 3, figsize=(9, 11))
    seen, lines_x = 0, np.linspace(-1, 1, 2)
    for row, n in enumerate((0, 1, 2, 20)):
        if n > seen:
            model.partial_fit(x[seen:n], t[seen:n])  # the posterior becomes the prior for the next points
            seen = n
        if n:  # likelihood of the newest point, N(t_n | w_0 + w_1 x_n, 1/beta), over the weight plane
            like = np.exp(-0.5 * beta * (t[n - 1] - W[:, 0] - W[:, 1] * x[n - 1]) ** 2)
            axes[row, 0].contourf(w0, w1, like.reshape(w0.shape), levels=20, cmap="jet")
        if n == 0:
            mean, cov = np.zeros(2), np.eye(2) / alpha
        else:
            mean, cov = host(model.posterior_mean_), host(model.posterior_covariance_)
        diff = W - mean
        density = np.exp(-0.5 * np.einsum("ni,ij,nj->n", diff, np.linalg.inv(cov), diff))
        axes[row, 1].contourf(w0, w1, density.reshape(w0.shape), levels=20, cmap="jet")
        axes[row, 1].plot(a0, a1, "w+", markersize=12)
        samples = (np.random.default_rng(seed + row).multivariate_normal(mean, cov, 6) if n == 0
                   else host(model.sample_weights(6, random_state=seed + row)))
        for w in samples:
            axes[row, 2].plot(lines_x, w[0] + w[1] * lines_x, color="tab:red", lw=1)
        axes[row, 2].plot(x[:n], t[:n], "o", mfc="none", color="tab:blue")
        axes[row, 2].set(xlim=(-1, 1), ylim=(-1, 1))
        axes[row, 0].set_ylabel(f"N = {n}")
    for ax, title in zip(axes[0], ("likelihood", "prior/posterior", "data space")):
        ax.set_title(title)
    axes[0, 0].axis("off")
    axes[-1, 1].set(xlabel="w_0", ylabel="w_1")
    axes[-1, 2].set(xlabel="x", ylabel="y")
    _save(fig, out / "sequential_posterior.png")
    return {"sequential_posterior_mean": host(model.posterior_mean_).tolist()}


# --------------------------------------------------------------------------- Figures 3.8, 3.9
def predictive_figure(out: Path, seed: int, n_draws: int) -> dict:
    x, t = sinusoidal(25, noise=0.2, seed=seed, random_x=True)
    basis = GaussianBasis(np.linspace(0, 1, 9), 0.1, bias=False)  # 9 Gaussians of the form (3.4)
    fig, axes = plt.subplots(2, 4, figsize=(13, 5.5), sharex=True, sharey=True)
    widths = {}
    for col, n in enumerate((1, 2, 4, 25)):
        model = BayesianLinearRegression(basis, alpha=2.0, beta=25.0).fit(x[:n], t[:n])
        mean, std = (host(a) for a in model.predict(GRID, return_std=True))
        widths[n] = float(std.mean())
        for ax in axes[:, col]:
            ax.plot(GRID, np.sin(2 * np.pi * GRID), color="tab:green")
            ax.plot(x[:n], t[:n], "o", mfc="none", color="tab:blue")
        axes[0, col].plot(GRID, mean, color="tab:red")
        axes[0, col].fill_between(GRID, mean - std, mean + std, color="tab:pink", alpha=0.5)
        axes[0, col].set_title(f"N = {n}")
        for curve in host(model.sample_functions(GRID, n_draws, random_state=seed + n)):
            axes[1, col].plot(GRID, curve, color="tab:red", lw=1)
    axes[0, 0].set(ylim=(-1.5, 1.5), ylabel="predictive (3.58)")
    axes[1, 0].set_ylabel("posterior draws")
    _save(fig, out / "predictive.png")
    return {"predictive_mean_std": widths}


# --------------------------------------------------------------------------- Figures 3.14, 1.5
def evidence_figure(out: Path, seed: int) -> dict:
    x, t = sinusoidal(10, noise=0.3, seed=seed)
    x_test, t_test = sinusoidal(100, noise=0.3, seed=seed + 1, random_x=True)
    orders = list(range(10))
    evidence, train_rms, test_rms = [], [], []
    for M in orders:
        basis = PolynomialBasis(M)
        evidence.append(log_evidence(basis(x), t, 5e-3, 11.1))  # PRML's alpha and beta = 1/0.3^2
        w, _ = least_squares(basis(x), t)
        # E_RMS = sqrt(2 E(w*) / N) = root mean square residual (1.3)
        train_rms.append(float(np.sqrt(np.mean((host(basis(x) @ w) - t) ** 2))))
        test_rms.append(float(np.sqrt(np.mean((host(basis(x_test) @ w) - t_test) ** 2))))
    best = int(np.argmax(evidence))
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.plot(orders, evidence, "o-", color="tab:red")
    left.axvline(best, color="gray", ls=":")
    left.set(xlabel="M", ylabel="ln p(t | alpha, beta)", title=f"Figure 3.14: evidence, best M = {best}")
    right.plot(orders, train_rms, "o-", color="tab:blue", label="training")
    right.plot(orders, test_rms, "o-", color="tab:red", label="test")
    right.set(xlabel="M", ylabel="E_RMS", ylim=(0, 1.2), title="Figure 1.5: least squares")
    right.legend()
    _save(fig, out / "evidence_vs_order.png")
    return {"best_order": best, "log_evidence": evidence, "train_rms": train_rms, "test_rms": test_rms}


# --------------------------------------------------------------------------- the comparison slide
def comparison_figure(out: Path, seed: int) -> dict:
    x, t = sinusoidal(12, noise=0.3, seed=seed + 2, random_x=True)
    basis = PolynomialBasis(6)
    w, beta_ml = least_squares(basis(x), t)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        empirical = BayesianLinearRegression(basis, alpha=1.0, beta=1.0, fit_hyperparameters=True).fit(x, t)
    features = lambda values: basis(values)[:, 1:]  # noqa: E731  BayesianRidge fits its own intercept
    fully = BayesianRidge().fit(features(x), t)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), sharey=True)
    curves = [
        ("linear regression\n(point estimate, +- 1/sqrt(beta_ML))", host(basis(GRID) @ w),
         np.full(len(GRID), 1 / np.sqrt(beta_ml))),
        ("Bayesian linear regression\n(empirical Bayes: alpha, beta by evidence)",
         *map(host, empirical.predict(GRID, return_std=True))),
        ("fully Bayesian\n(Gamma hyperpriors: BayesianRidge)",
         *map(host, fully.predict(features(GRID), return_std=True))),
    ]
    for ax, (title, mean, std) in zip(axes, curves):
        ax.plot(GRID, np.sin(2 * np.pi * GRID), color="tab:green")
        ax.plot(x, t, "o", mfc="none", color="tab:blue")
        ax.plot(GRID, mean, color="tab:red")
        ax.fill_between(GRID, mean - std, mean + std, color="tab:pink", alpha=0.5)
        ax.set_title(title, fontsize=10)
        ax.set_ylim(-2, 2)
    axes[0].set_ylabel("M = 6 polynomial")
    _save(fig, out / "linear_bayes_fully_bayes.png")
    return {"empirical_bayes": (empirical.alpha_, empirical.beta_), "fully_bayes": (fully.lambda_, fully.alpha_)}


# --------------------------------------------------------------------------- Gaussian process
def gp_figure(out: Path, seed: int, n_points: int) -> dict:
    x, t = sinusoidal(n_points, noise=0.2, seed=seed + 3, random_x=True)
    grid = GRID[:, None]
    prior = GaussianProcessRegressor(RBF(1.0, 0.2), noise=0.04)
    prior_draws = host(prior.sample_functions(grid, 5, random_state=seed))
    model = GaussianProcessRegressor(RBF(1.0, 0.2), noise=0.04).fit(x, t)
    mean, std = (host(a) for a in model.predict(grid, return_std=True))
    draws = host(model.sample_functions(grid, 5, random_state=seed + 1))
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    left.plot(GRID, prior_draws.T, lw=1)
    left.set_title("GP prior draws: RBF(variance 1, length scale 0.2)", fontsize=10)
    left.set_ylim(-3, 3)
    right.fill_between(GRID, mean - 2 * std, mean + 2 * std, color="tab:pink", alpha=0.5, label="mean +- 2 std")
    right.plot(GRID, draws.T, lw=1)
    right.plot(GRID, mean, color="tab:red", lw=2)
    right.plot(x, t, "o", mfc="none", color="tab:blue")
    right.set_title(f"posterior draws after fitting theta:\n{model.kernel_}, noise {model.noise_:.3g}", fontsize=10)
    _save(fig, out / "gaussian_process.png")
    return {"gp_log_marginal_likelihood": model.log_marginal_likelihood_value_, "gp_noise": model.noise_}


# --------------------------------------------------------------------------- Bayesian logistic regression
def logistic_figure(out: Path, seed: int, resolution: int, n_mc: int) -> dict:
    X, t = two_moons(100, noise=0.2, seed=seed)
    model = BayesianLogisticRegression(GaussianBasis(X[::5], 0.5), alpha=0.3).fit(X, t)
    g0, g1 = np.meshgrid(np.linspace(-2, 3, resolution), np.linspace(-1.5, 2, resolution))
    grid = np.stack([g0.ravel(), g1.ravel()], axis=1)
    plug_in = 1 / (1 + np.exp(-host(model.basis(grid) @ model.coef_)))
    probit = host(model.predict_proba(grid))[:, 1]
    mc = host(model.predict_proba(grid[:: max(1, len(grid) // 200)], method="monte_carlo", n_samples=n_mc,
                                  random_state=seed))[:, 1]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, p, title in ((axes[0], plug_in, "MAP plug-in sigma(w_MAP^T phi)"),
                         (axes[1], probit, "Laplace predictive, probit (4.155)")):
        shown = ax.contourf(g0, g1, p.reshape(g0.shape), levels=np.linspace(0, 1, 11), cmap="RdBu_r")
        ax.contour(g0, g1, p.reshape(g0.shape), levels=[0.1, 0.5, 0.9], colors="k", linewidths=1)
        ax.scatter(X[:, 0], X[:, 1], c=t, cmap="RdBu_r", edgecolors="k", s=15)
        ax.set_title(title)
    fig.colorbar(shown, ax=axes, shrink=0.8)
    fig.savefig(out / "logistic_predictive.png", dpi=100)
    plt.close(fig)
    accuracy = float(np.mean(host(model.predict(X)) == t))
    probit_at_mc = probit[:: max(1, len(grid) // 200)]
    return {"logistic_accuracy": accuracy, "probit_vs_monte_carlo": float(np.abs(probit_at_mc - mc).max())}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy", choices=["numpy", "cupy"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="coarser grids, fewer draws and GP points")
    parser.add_argument("--out", default="demos/out/linear_models")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    resolution, n_draws, n_gp, n_mc = (60, 5, 20, 2000) if args.quick else (150, 5, 40, 20000)
    start = time.perf_counter()
    summary: dict = {}
    mb.backend.apply_host_memory_policy()  # the engine runs its own work here: recycle freed host memory
    with mb.using(args.backend):
        mb.seed(args.seed)
        summary.update(sequential_figure(out, args.seed, resolution))
        summary.update(predictive_figure(out, args.seed, n_draws))
        summary.update(evidence_figure(out, args.seed))
        summary.update(comparison_figure(out, args.seed))
        summary.update(gp_figure(out, args.seed, n_gp))
        summary.update(logistic_figure(out, args.seed, resolution, n_mc))
    summary["seconds"] = time.perf_counter() - start
    print(f"evidence favours M = {summary['best_order']} (PRML: M = 3); "
          f"test RMS at M = 9: {summary['test_rms'][9]:.2f} vs M = 3: {summary['test_rms'][3]:.2f}")
    print("predictive std shrinks with N: " + ", ".join(f"N={n}: {v:.3f}" for n, v in
                                                        summary["predictive_mean_std"].items()))
    print(f"logistic: accuracy {summary['logistic_accuracy']:.2f}, "
          f"max |probit - Monte Carlo| {summary['probit_vs_monte_carlo']:.3f}")
    print(f"wrote 6 PNGs to {out} in {summary['seconds']:.1f} s")
    return summary


if __name__ == "__main__":
    main()
