"""Latent-variable models: one EM iteration of a Gaussian mixture, and PCA/PPCA on 60,000 x 784.

In one run:
- GaussianMixture (full covariances), N = 100,000, D = 10, K = 8: seconds per EM iteration,
  minibayes against scikit-learn, both started from the same parameters (weights_init,
  means_init, precisions_init). Per iteration = (median fit time at max_iter = 11 minus median
  fit time at max_iter = 1) / 10, so set-up (validation, the sufficient statistics) is reported
  apart. The lower bounds of both runs are compared as a check that they did the same work.
- PCA with 50 components on 60,000 x 784 float64: Fashion-MNIST's training images (scaled to
  [0, 1]) when /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz exists, else random
  data of that shape (the table says which). minibayes PCA (S by blocks + eigh), PPCA closed form,
  and PPCA-EM seconds per iteration, against scikit-learn PCA with svd_solver "full",
  "randomized" and "covariance_eigh". The largest principal angle to scikit-learn's full solver
  is the accuracy check.
- With --cupy (and a CUDA device), minibayes on the CuPy backend as well.

Usage: python benchmarks/latent_models.py [--quick] [--cupy] [--repeats R]
Prints a Markdown table; every figure is a median over R repeats measured in this run.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy
import sklearn
from scipy.linalg import subspace_angles
from sklearn.decomposition import PCA as SkPCA
from sklearn.mixture import GaussianMixture as SkGaussianMixture

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import minibayes as mb  # noqa: E402
from minibayes import backend  # noqa: E402
from minibayes.data.idx import read_idx  # noqa: E402
from minibayes.models.mixture import GaussianMixture  # noqa: E402
from minibayes.models.pca import PCA  # noqa: E402
from minibayes.models.ppca import PPCA  # noqa: E402

FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")


def median_seconds(run, repeats, synchronize=lambda: None, warmup=True):
    """Median wall time of ``run()`` over ``repeats`` calls, after one warm-up call (unless ``warmup`` is False)."""
    if warmup:
        run()
        synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def gmm_data(n_samples, n_features=10, n_components=8, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(n_components, n_features)) * 4
    scales = rng.uniform(0.5, 2.0, size=(n_components, n_features))
    labels = rng.integers(n_components, size=n_samples)
    return centers[labels] + scales[labels] * rng.normal(size=(n_samples, n_features))


def image_data(n_samples):
    if FASHION_MNIST.exists():
        images = read_idx(FASHION_MNIST)[:n_samples]
        flat = images.reshape(len(images), -1).astype(np.float64) / 255.0
        return flat, f"Fashion-MNIST train images ({FASHION_MNIST})"
    rng = np.random.default_rng(0)
    return rng.random((n_samples, 784)), "random uniform data (Fashion-MNIST file not found)"


def bench_gmm(X, n_components, repeats, rows, xp_name="numpy"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = SkGaussianMixture(n_components, max_iter=1, random_state=0).fit(X)
    init = dict(weights_init=start.weights_, means_init=start.means_, precisions_init=start.precisions_, tol=0.0)
    long_iter = 11

    def sklearn_fit(iterations):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return SkGaussianMixture(n_components, max_iter=iterations, **init).fit(X)

    X_ours, init_ours, synchronize = X, init, lambda: None
    if xp_name == "cupy":
        import cupy  # noqa: PLC0415

        X_ours = cupy.asarray(X)
        init_ours = {k: (cupy.asarray(v) if isinstance(v, np.ndarray) else v) for k, v in init.items()}
        synchronize = cupy.cuda.Device().synchronize

    def ours_fit(iterations):
        # Estimators put their input on the active backend: make it the one being timed.
        with warnings.catch_warnings(), mb.using(xp_name):
            warnings.simplefilter("ignore")
            return GaussianMixture(n_components, max_iter=iterations, **init_ours).fit(X_ours)

    ours_1 = median_seconds(lambda: ours_fit(1), repeats, synchronize)
    ours_n = median_seconds(lambda: ours_fit(long_iter), repeats, synchronize)
    ours_iter = (ours_n - ours_1) / (long_iter - 1)
    label = f"minibayes GaussianMixture ({xp_name})"
    reference = np.array(sklearn_fit(long_iter).lower_bounds_)
    check = np.max(np.abs(np.array(ours_fit(long_iter).lower_bounds_) - reference) / np.abs(reference))
    if xp_name == "numpy":
        sk_1 = median_seconds(lambda: sklearn_fit(1), repeats)
        sk_n = median_seconds(lambda: sklearn_fit(long_iter), repeats)
        sk_iter = (sk_n - sk_1) / (long_iter - 1)
        rows.append(("GMM EM iteration", "scikit-learn GaussianMixture", sk_iter, 1.0,
                     f"fit with 1 iteration: {sk_1:.3f} s"))
        rows.append(("GMM EM iteration", label, ours_iter, None,
                     f"fit with 1 iteration: {ours_1:.3f} s; max rel. diff of lower_bounds_: {check:.1e}"))
        return sk_iter
    rows.append(("GMM EM iteration", label, ours_iter, None,
                 f"fit with 1 iteration: {ours_1:.3f} s; max rel. diff of lower_bounds_: {check:.1e}"))
    return None


def bench_pca(X, n_components, repeats, rows, xp_name="numpy", reference=None):
    synchronize, X_ours = (lambda: None), X
    if xp_name == "cupy":
        import cupy  # noqa: PLC0415

        X_ours, synchronize = cupy.asarray(X), cupy.cuda.Device().synchronize
    results = {}
    if xp_name == "numpy":
        for solver in ("full", "randomized", "covariance_eigh"):
            model = SkPCA(n_components, svd_solver=solver, random_state=0)
            # The full SVD takes seconds: one timed run, no warm-up, keeps the benchmark short.
            slow = solver == "full"
            seconds = median_seconds(lambda: model.fit(X), 1 if slow else repeats, warmup=not slow)
            results[f"scikit-learn PCA ({solver})"] = (seconds, model)
        reference = results["scikit-learn PCA (full)"][1].components_
    ours, ppca = PCA(n_components), PPCA(n_components)

    def on_backend(fit):
        def run():
            with mb.using(xp_name):
                return fit(X_ours)
        return run

    results[f"minibayes PCA ({xp_name})"] = (median_seconds(on_backend(ours.fit), repeats, synchronize), ours)
    results[f"minibayes PPCA closed form ({xp_name})"] = (
        median_seconds(on_backend(ppca.fit), repeats, synchronize), ppca)
    peer = results.get("scikit-learn PCA (randomized)", (None,))[0]
    for name, (seconds, model) in results.items():
        angle = subspace_angles(backend.to_numpy(model.components_).T, reference.T).max()
        ratio = seconds / peer if peer else None
        rows.append(("PCA, 50 components", name, seconds, ratio, f"largest angle to sklearn 'full': {angle:.1e} rad"))
    # PPCA-EM: seconds per iteration (E and M steps over all 60,000 rows).
    em_iterations = 6

    def em_fit(iterations):
        with warnings.catch_warnings(), mb.using(xp_name):
            warnings.simplefilter("ignore")
            return PPCA(n_components, method="em", max_iter=iterations, tol=0.0, random_state=0).fit(X_ours)

    per_iter = (median_seconds(lambda: em_fit(em_iterations), repeats, synchronize)
                - median_seconds(lambda: em_fit(1), repeats, synchronize)) / (em_iterations - 1)
    rows.append(("PPCA EM iteration", f"minibayes PPCA EM ({xp_name})", per_iter, None,
                 "E-step (12.54-55) + M-step (12.56-57)"))
    return reference


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke test of the script")
    parser.add_argument("--cupy", action="store_true", help="also time minibayes on the CuPy backend (needs a GPU)")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per figure (default 5, quick 2)")
    args = parser.parse_args(argv)
    mb.backend.apply_host_memory_policy()  # as the engine runs its own work: freed host memory recycled
    repeats = args.repeats or (2 if args.quick else 5)
    n_gmm, n_images = (20_000, 10_000) if args.quick else (100_000, 60_000)
    use_cupy = args.cupy and backend.cupy_available()

    rows = []
    X = gmm_data(n_gmm)
    bench_gmm(X, 8, repeats, rows)
    if use_cupy:
        bench_gmm(X, 8, repeats, rows, "cupy")
    images, source = image_data(n_images)
    reference = bench_pca(images, 50, max(1, repeats - 2), rows)
    if use_cupy:
        bench_pca(images, 50, max(1, repeats - 2), rows, "cupy", reference)

    gmm_peer = next(seconds for task, name, seconds, _, _ in rows if name.startswith("scikit-learn GaussianMixture"))
    print(f"Run: {datetime.date.today()} · {platform.machine()} · {platform.processor() or platform.platform()} · "
          f"{os.cpu_count()} cores · Python {platform.python_version()} · NumPy {np.__version__} · "
          f"SciPy {scipy.__version__} · scikit-learn {sklearn.__version__} · minibayes {mb.__version__} · "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    for line in backend.device_info():
        print(f"Device: {line}")
    if args.cupy and not use_cupy:
        print("--cupy asked for, but no CUDA device/CuPy here: CuPy rows skipped.")
    print(f"GMM data: {n_gmm} x 10 float64, 8 Gaussian blobs; PCA data: {images.shape[0]} x {images.shape[1]} "
          f"float64, {source}. Medians over {repeats} (GMM) / {max(1, repeats - 2)} (PCA) repeats.\n")
    print("| workload | contender | median time | ratio to peer | notes |")
    print("|---|---|---|---|---|")
    for task, name, seconds, ratio, note in rows:
        if ratio is None and task == "GMM EM iteration":
            ratio = seconds / gmm_peer
        ratio_text = "" if ratio is None else f"{ratio:.2f}x"
        print(f"| {task} | {name} | {seconds * 1e3:.1f} ms | {ratio_text} | {note} |")
    print("\nPeers: scikit-learn GaussianMixture for the GMM rows; scikit-learn PCA (randomized) for the PCA rows "
          "(ratio < 1 is faster than the peer).")
    return rows


if __name__ == "__main__":
    main()
