"""Device-to-host syncs, counted with the strict CuPy stand-in (shared/tools/fakecupy).

On a GPU every read of a device value back to the host stalls the queue of
kernels. A training step of ``train.fit`` must read the device once (the loss
terms and the finiteness flags, together), and a distribution's ``log_prob``
with ``validate_args=False`` must not read it at all. The stand-in counts each
sync per call site; it runs in a subprocess, so that its ``cupy`` module never
shadows a real one in this process. Skipped where the stand-in is not beside
the repository (``../shared/tools/fakecupy`` from the repository root).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FAKECUPY = ROOT.parent / "shared" / "tools" / "fakecupy"

pytestmark = pytest.mark.skipif(not (FAKECUPY / "cupy" / "__init__.py").is_file(),
                                reason=f"the fakecupy stand-in is not at {FAKECUPY}")


def run_under_fakecupy(script: str) -> dict:
    """Run ``script`` with the stand-in as ``cupy``; it prints one JSON line, returned parsed."""
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([str(FAKECUPY), str(ROOT)]))
    environment.pop("FAKECUPY_REPORT", None)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=environment, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


TRAINING = """
    import json
    import numpy as np
    import cupy
    import minibayes as mb
    from minibayes import nn, optim
    from minibayes.data import DataLoader
    from minibayes.nn import functional as F
    from minibayes.train import fit

    assert cupy.__version__.endswith("+fake")
    mb.set_backend("cupy")
    mb.seed(0)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 20)).astype("float32"), rng.integers(0, 10, 64)
    model = nn.Sequential(nn.Dense(20, 16), nn.ReLU(), nn.Dense(16, 16), nn.ReLU(), nn.Dense(16, 10))
    loader = DataLoader((X, y), batch_size=16, seed=0)
    counts = {}
    for name, optimizer in [("adam", optim.Adam(model.parameters(), lr=1e-3)),
                            ("sgd", optim.SGD(model.parameters(), lr=0.1, momentum=0.9))]:
        for check_finite in (True, False):
            cupy.EVENTS.clear()
            fit(model, optimizer, loader, lambda m, b: F.cross_entropy(m(b[0]), b[1]), epochs=2,
                progress=False, check_finite=check_finite)
            syncs = sum(n for (kind, _), n in cupy.EVENTS.items() if kind.startswith("sync"))
            counts[f"{name}, check_finite={check_finite}"] = syncs / (2 * len(loader))
    REPORT["training"] = counts
"""


@pytest.fixture(scope="module")
def report() -> dict:
    """The three scripts below, run in one subprocess (one import of minibayes and the stand-in)."""
    header = "import json\nREPORT = {}\n"
    body = "".join(textwrap.dedent(script) for script in (TRAINING, DISTRIBUTIONS, CROSS_ENTROPY))
    return run_under_fakecupy(header + body + "print(json.dumps(REPORT))\n")


def test_a_training_step_reads_the_device_once(report):
    """Before: about 15 syncs per step (a float per parameter in the guard, int() in cross_entropy, item())."""
    counts = report["training"]
    assert counts and all(per_step == 1 for per_step in counts.values()), counts


DISTRIBUTIONS = """
    import json
    import numpy as np
    import cupy
    import cupyx
    import minibayes as mb
    from minibayes import distributions as D

    mb.set_backend("cupy")
    mb.set_default_dtype("float64")
    t = lambda a: mb.tensor(np.asarray(a, dtype=np.float64))
    # family: (build without validation, values: one inside and one outside the support)
    rows = {
        "Normal": (lambda: D.Normal(t([0.5, 1.0]), t(2.0), validate_args=False), [1.0, np.inf]),
        "Bernoulli": (lambda: D.Bernoulli(probs=t([0.3, 0.6]), validate_args=False), [1.0, 2.0]),
        "Bernoulli(logits)": (lambda: D.Bernoulli(logits=t([0.3, 0.6]), validate_args=False), [1.0, 2.0]),
        "Binomial": (lambda: D.Binomial(t([4.0, 4.0]), probs=t(0.3), validate_args=False), [3.0, 5.0]),
        "Categorical": (lambda: D.Categorical(probs=t([0.2, 0.3, 0.5]), validate_args=False), [2.0, 5.0]),
        "Categorical(logits)": (lambda: D.Categorical(logits=t([0.2, 0.3, 0.5]), validate_args=False), [2.0, 5.0]),
        "Multinomial": (lambda: D.Multinomial(3, probs=t([0.5, 0.5]), validate_args=False), [[1.0, 2.0], [1.0, 1.0]]),
        # With scale_tril: from a covariance, the Cholesky op reads the device to detect a failure.
        "MultivariateNormal": (lambda: D.MultivariateNormal(t([0.0, 1.0]), scale_tril=t(np.eye(2)), validate_args=False),
                               [[0.5, 0.5], [np.inf, 0.0]]),
        "Beta": (lambda: D.Beta(t(2.0), t(3.0), validate_args=False), [0.3, 1.5]),
        "Gamma": (lambda: D.Gamma(t(0.5), t(2.0), validate_args=False), [0.7, -1.0]),
        "Dirichlet": (lambda: D.Dirichlet(t([0.5, 2.0]), validate_args=False), [[0.3, 0.7], [0.2, 0.2]]),
        "NormalGamma": (lambda: D.NormalGamma(t(0.0), t(1.0), t(2.0), t(1.0), validate_args=False), [[0.3, 1.5], [0.0, -1.0]]),
    }
    results = {}
    for name, (make, values) in rows.items():
        values = t(values)
        with cupyx.allow_synchronize(False):  # raises at the first device-to-host read
            log_p = make().log_prob(values)
        results[name] = [float(v) for v in log_p.numpy().reshape(len(values), -1)[:, 0]]
    REPORT["distributions"] = results
"""


def test_log_prob_without_validation_never_reads_the_device(report):
    """Construction and log_prob with validate_args=False run under allow_synchronize(False);
    the value outside the support still comes out as -inf."""
    results = report["distributions"]
    assert len(results) == 12
    for name, (inside, outside) in results.items():
        assert inside > -float("inf") and outside == -float("inf"), (name, inside, outside)


CROSS_ENTROPY = """
    import json
    import numpy as np
    import cupy
    import cupyx
    import minibayes as mb
    from minibayes.nn import functional as F

    mb.set_backend("cupy")
    logits = mb.tensor(np.zeros((3, 4)), dtype="float64")
    device_labels = mb.tensor(np.array([0, 7, -1]))
    with cupyx.allow_synchronize(False):
        rows = F.cross_entropy(logits, device_labels, reduction="none")
    try:
        F.cross_entropy(logits, np.array([0, 7, 1]))
        host = "no error"
    except ValueError as error:
        host = str(error)
    REPORT["cross_entropy"] = {"rows": [float(v) if np.isfinite(v) else str(v) for v in rows.numpy()], "host": host}
"""


def test_cross_entropy_with_device_labels_reads_nothing_and_gives_nan_rows_for_bad_labels(report):
    result = report["cross_entropy"]
    assert result["rows"][1:] == ["nan", "nan"]
    assert abs(result["rows"][0] - math.log(4)) < 1e-12
    assert result["host"].startswith("cross_entropy: labels must lie in [0, 4), got [0, 7]")
