"""Bayesian linear models against scikit-learn, in one run.

1. Bayesian ridge regression with Gamma hyperpriors, N = 100,000, D = 100 (float64):
   ``minibayes.models.BayesianRidge`` (one pass forming the D x D matrix X^T X, its eigenvectors,
   then O(D) per re-estimation step) against ``sklearn.linear_model.BayesianRidge`` (an SVD of the
   N x D design). Both fit the same data; the table also gives the largest relative difference of
   coef_, alpha_ and lambda_.
2. Gaussian-process regression, N = 2,000, RBF kernel plus white noise, hyperparameters by
   L-BFGS-B from the same start (variance 1, length scale 1, noise 0.1) within the same bounds:
   ``minibayes.models.GaussianProcessRegressor`` (gradient by the autograd through cholesky and
   solve_triangular) against ``sklearn.gaussian_process.GaussianProcessRegressor`` (hand-written
   gradient). The table gives the log marginal likelihood each one reaches.

Usage: python benchmarks/linear_models.py [--quick] [--repeats R] [--cupy]
Each figure is the median over R repeats (default 5 for the ridge, after one warm-up fit each; 3 for
the GP) of one full ``fit``; the libraries alternate within a repeat, so slow spells on a shared
machine hit both.
``--quick`` shrinks the problems (N = 20,000 and N = 500) to check the script runs.
``--cupy`` adds minibayes on the CuPy backend (data moved to the GPU before timing).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import minibayes as mb  # noqa: E402
from minibayes.models.bayesian_ridge import BayesianRidge  # noqa: E402
from minibayes.models.gp import GaussianProcessRegressor  # noqa: E402
from minibayes.models.kernels import RBF  # noqa: E402

import scipy  # noqa: E402
import sklearn  # noqa: E402
from sklearn import gaussian_process as sk_gp  # noqa: E402
from sklearn import linear_model as sk_linear  # noqa: E402
from sklearn.gaussian_process import kernels as sk_kernels  # noqa: E402


def ridge_data(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * rng.uniform(0.5, 2.0, d) + rng.uniform(-3.0, 3.0, d)
    return X, X @ rng.standard_normal(d) + rng.standard_normal(n) + 1.0


def gp_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(-3.0, 3.0, (n, 1))
    return X, np.sin(2.0 * X[:, 0]) + 0.3 * rng.standard_normal(n)


def timed(fit, synchronize=lambda: None) -> tuple[float, object]:
    start = time.perf_counter()
    model = fit()
    synchronize()
    return time.perf_counter() - start, model


def compare(contenders: dict, repeats: int, warm_up: bool = True) -> tuple[dict, dict]:
    """Median seconds of each contender's fit, alternating contenders within every repeat; and the last models."""
    times = {name: [] for name in contenders}
    models = {}
    for name, (fit, sync) in contenders.items() if warm_up else ():  # imports, allocator, BLAS threads
        timed(fit, sync)
    for _ in range(repeats):
        for name, (fit, sync) in contenders.items():
            # NumPy and SciPy each bring an OpenBLAS whose threads spin for a while after a call;
            # a 2 s pause lets the previous contender's threads go to sleep before the next one runs.
            time.sleep(2.0)
            seconds, models[name] = timed(fit, sync)
            times[name].append(seconds)
    return {name: statistics.median(values) for name, values in times.items()}, models


def cupy_sync():
    import cupy  # noqa: PLC0415

    return cupy.cuda.Device().synchronize


def on_cupy(fit):
    """``fit`` run with CuPy as the active backend (minibayes moves inputs to the active backend)."""
    def run():
        with mb.using("cupy"):
            return fit()
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small problems, to check the script runs")
    parser.add_argument("--repeats", type=int, default=None, help="repeats per contender (default 5 ridge, 3 GP)")
    parser.add_argument("--cupy", action="store_true", help="also time minibayes on the CuPy backend")
    args = parser.parse_args(argv)
    mb.backend.apply_host_memory_policy()  # as the engine runs its own work: freed host memory recycled
    n_ridge, d_ridge, n_gp = (20_000, 100, 500) if args.quick else (100_000, 100, 2_000)
    ridge_repeats = args.repeats or 5
    gp_repeats = args.repeats or 3

    rows = []
    # ------------------------------------------------------------------ Bayesian ridge
    X, t = ridge_data(n_ridge, d_ridge)
    contenders = {
        "minibayes": (lambda: BayesianRidge().fit(X, t), lambda: None),
        "scikit-learn": (lambda: sk_linear.BayesianRidge().fit(X, t), lambda: None),
    }
    if args.cupy:
        with mb.using("cupy"):
            X_gpu, t_gpu = mb.asarray(X), mb.asarray(t)
        contenders["minibayes (CuPy)"] = (on_cupy(lambda: BayesianRidge().fit(X_gpu, t_gpu)), cupy_sync())
    medians, models = compare(contenders, ridge_repeats)
    ours, theirs = models["minibayes"], models["scikit-learn"]
    difference = max(np.abs(ours.coef_ - theirs.coef_).max() / np.abs(theirs.coef_).max(),
                     abs(ours.alpha_ / theirs.alpha_ - 1), abs(ours.lambda_ / theirs.lambda_ - 1))
    rows.append((f"BayesianRidge fit, N = {n_ridge:,}, D = {d_ridge}", medians,
                 f"max rel. diff. of coef_, alpha_, lambda_: {difference:.1e}; "
                 f"n_iter_ {ours.n_iter_} / {theirs.n_iter_}"))

    # ------------------------------------------------------------------ Gaussian process
    X, t = gp_data(n_gp)
    sk_kernel = sk_kernels.ConstantKernel(1.0) * sk_kernels.RBF(1.0) + sk_kernels.WhiteKernel(0.1)
    contenders = {
        "minibayes": (lambda: GaussianProcessRegressor(RBF(1.0, 1.0), noise=0.1).fit(X, t), lambda: None),
        "scikit-learn": (lambda: sk_gp.GaussianProcessRegressor(sk_kernel, alpha=0.0).fit(X, t), lambda: None),
    }
    if args.cupy:
        with mb.using("cupy"):
            X_gpu, t_gpu = mb.asarray(X), mb.asarray(t)
        contenders["minibayes (CuPy)"] = (
            on_cupy(lambda: GaussianProcessRegressor(RBF(1.0, 1.0), noise=0.1).fit(X_gpu, t_gpu)), cupy_sync())
    medians, models = compare(contenders, gp_repeats, warm_up=False)  # a fit of seconds warms up by itself
    ours, theirs = models["minibayes"], models["scikit-learn"]
    rows.append((f"GaussianProcessRegressor fit, N = {n_gp:,}, RBF + noise", medians,
                 f"log marginal likelihood {ours.log_marginal_likelihood_value_:.6f} / "
                 f"{theirs.log_marginal_likelihood_value_:.6f}; minibayes L-BFGS iterations {ours.n_iter_}"))

    # ------------------------------------------------------------------ report
    print(f"{datetime.datetime.now():%Y-%m-%d %H:%M} · {platform.machine()} · {platform.processor() or 'cpu'} · "
          f"{os.cpu_count()} cores · Python {platform.python_version()} · NumPy {np.__version__} · "
          f"SciPy {scipy.__version__} · scikit-learn {sklearn.__version__} · minibayes {mb.__version__}")
    if args.cupy:
        print("GPU: " + "; ".join(line for line in mb.backend.device_info() if line.startswith("cuda")))
    print(f"Medians over {ridge_repeats} (ridge) and {gp_repeats} (GP) repeats of one fit; ratio = minibayes / "
          "scikit-learn (below 1: minibayes faster).\n")
    extra = " | minibayes (CuPy) | CuPy / scikit-learn" if args.cupy else ""
    print(f"| workload | minibayes (NumPy) | scikit-learn | ratio{extra} | agreement |")
    print("|---|---|---|---|" + ("---|---|" if args.cupy else "") + "---|")
    for name, medians, note in rows:
        ours, theirs = medians["minibayes"], medians["scikit-learn"]
        gpu = (f" | {medians['minibayes (CuPy)'] * 1e3:.1f} ms | {medians['minibayes (CuPy)'] / theirs:.3f}x"
               if args.cupy else "")
        print(f"| {name} | {ours * 1e3:.1f} ms | {theirs * 1e3:.1f} ms | {ours / theirs:.3f}x{gpu} | {note} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
