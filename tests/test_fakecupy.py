"""The CuPy tests on the strict CPU stand-in for CuPy, in a subprocess, where the stand-in exists.

``../shared/tools/fakecupy`` (next to the checkout) wraps NumPy behind CuPy's boundary rules:
no implicit host conversion, no broadcasting ``linalg.solve``, NaNs (or finite garbage)
instead of an error from a failed Cholesky. ``tests/test_cupy_backend.py`` runs on it here
without a GPU (about 10 s); on a machine with CuPy it runs on the real thing as well.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STAND_IN = ROOT.parent / "shared" / "tools" / "fakecupy"


@pytest.mark.skipif(not (STAND_IN / "cupy").is_dir(), reason=f"the CuPy stand-in is not at {STAND_IN}")
def test_the_cupy_tests_pass_on_the_stand_in():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(STAND_IN), str(ROOT)])}
    for knob in ("FAKECUPY_FORCE_BACKEND", "FAKECUPY_CHOLESKY", "MINIBAYES_BACKEND"):
        env.pop(knob, None)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "fakecupy_pytest",
               "tests/test_cupy_backend.py"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    summary = result.stdout.strip().splitlines()[-1:] or [result.stderr[-2000:]]
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in summary[0] and "skipped" not in summary[0], summary  # it ran, on the stand-in
