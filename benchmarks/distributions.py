"""log_prob of Normal and MultivariateNormal against scipy.stats, in one run.

Workloads (float64, the NumPy backend):

- Normal: 10^5 x 50 values under one batch of 50 Normals, vs ``scipy.stats.norm(loc, scale).logpdf``;
- MultivariateNormal, D = 50, 10^5 points, from a covariance matrix (Cholesky path), vs
  ``scipy.stats.multivariate_normal(mean, cov).logpdf``. Timed twice: building the
  distribution and evaluating (both factorise the covariance: Cholesky here, eigh in scipy),
  and evaluating an already built ("frozen") distribution.

Usage: python benchmarks/distributions.py [--repeats N]
Prints a Markdown table; each figure is the median over ``--repeats`` timed calls.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import scipy
import scipy.stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import minibayes as mb  # noqa: E402
from minibayes import distributions as D  # noqa: E402


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up: imports, caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    mb.backend.apply_host_memory_policy()  # as the engine runs its own work: freed host memory recycled
    mb.set_default_dtype("float64")
    rng = np.random.default_rng(0)
    n, d = 100_000, 50

    loc, scale = rng.standard_normal(d), rng.uniform(0.5, 2.0, d)
    x = rng.standard_normal((n, d))
    normal = D.Normal(mb.tensor(loc), mb.tensor(scale), validate_args=False)
    frozen_normal = scipy.stats.norm(loc, scale)
    x_tensor = mb.tensor(x)
    np.testing.assert_allclose(normal.log_prob(x_tensor).numpy(), frozen_normal.logpdf(x), rtol=1e-10)

    root = rng.standard_normal((d, d))
    cov = root @ root.T / d + np.eye(d)
    mean = rng.standard_normal(d)
    mvn = D.MultivariateNormal(mb.tensor(mean), covariance_matrix=mb.tensor(cov), validate_args=False)
    frozen_mvn = scipy.stats.multivariate_normal(mean, cov)
    np.testing.assert_allclose(mvn.log_prob(x_tensor).numpy(), frozen_mvn.logpdf(x), rtol=1e-9)

    rows = [
        ("Normal, 10^5 x 50", lambda: normal.log_prob(x_tensor), lambda: frozen_normal.logpdf(x)),
        ("MultivariateNormal D=50, 10^5 points: build + log_prob",
         lambda: D.MultivariateNormal(mb.tensor(mean), covariance_matrix=mb.tensor(cov)).log_prob(x_tensor),
         lambda: scipy.stats.multivariate_normal(mean, cov).logpdf(x)),
        ("MultivariateNormal D=50, 10^5 points: log_prob (built)", lambda: mvn.log_prob(x_tensor),
         lambda: frozen_mvn.logpdf(x)),
    ]
    print(f"{datetime.date.today()} · {platform.machine()} · Python {platform.python_version()} · "
          f"NumPy {np.__version__} · SciPy {scipy.__version__} · float64\n")
    print("| workload | minibayes | scipy.stats | minibayes / scipy |")
    print("|---|---|---|---|")
    for name, ours, theirs in rows:
        t_ours, t_theirs = median_seconds(ours, args.repeats), median_seconds(theirs, args.repeats)
        print(f"| {name} | {t_ours * 1e3:.1f} ms | {t_theirs * 1e3:.1f} ms | {t_ours / t_theirs:.2f}x |")


if __name__ == "__main__":
    main()
