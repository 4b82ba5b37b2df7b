"""What every step benchmark here shares: the median-of-repeats timer, and running one contender
in a fresh Python process (so that one library's BLAS/OpenMP thread pools, still spinning after
its calls, cannot slow the next contender down)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from typing import Callable


def median_step_seconds(step: Callable[[], object], steps: int, repeats: int,
                        synchronize: Callable[[], object] = lambda: None) -> float:
    """Median over ``repeats`` of the mean time of one step over ``steps`` steps, after 3 warm-up
    steps (allocator, caches, lazy initialisation); ``synchronize`` waits for a GPU to finish."""
    for _ in range(3):
        step()
    synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        synchronize()
        times.append((time.perf_counter() - start) / steps)
    return statistics.median(times)


def run_fresh(script: str, arguments: list[str], environment: dict[str, str] | None = None) -> object:
    """Run ``script`` with ``arguments`` in a new interpreter; its last stdout line is JSON."""
    result = subprocess.run([sys.executable, script, *arguments], capture_output=True, text=True, check=True,
                            env={**os.environ, **(environment or {})})
    return json.loads(result.stdout.strip().splitlines()[-1])
