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
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
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
    print(json.dumps(counts))
"""


def test_a_training_step_reads_the_device_once():
    """Before: about 15 syncs per step (a float per parameter in the guard, int() in cross_entropy, item())."""
    counts = run_under_fakecupy(TRAINING)
    assert counts and all(per_step == 1 for per_step in counts.values()), counts
