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


def require_single_thread(flag: str) -> None:
    """Refuse to start a one-process comparison unless BLAS was limited to one thread at start-up."""
    if os.environ.get("OPENBLAS_NUM_THREADS") != "1":
        raise SystemExit(f"{flag}: set OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 before starting Python")


def interleaved_medians(contenders: dict[str, Callable[[], object]], steps: int, rounds: int = 3,
                        repeats: int = 3) -> dict[str, float]:
    """Step times of several contenders in this one process, taking turns for ``rounds`` rounds
    (so that a slow spell of a loaded machine hits all alike): the median over rounds of
    ``median_step_seconds``. For ratios on a busy machine, not for figures comparable to a quiet one's."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, step in contenders.items():
            times[name].append(median_step_seconds(step, steps, repeats))
    return {name: statistics.median(values) for name, values in times.items()}


def run_fresh(script: str, arguments: list[str], environment: dict[str, str] | None = None) -> object:
    """Run ``script`` with ``arguments`` in a new interpreter; its last stdout line is JSON."""
    result = subprocess.run([sys.executable, script, *arguments], capture_output=True, text=True, check=True,
                            env={**os.environ, **(environment or {})})
    return json.loads(result.stdout.strip().splitlines()[-1])


def step_times_in_turns(script: str, names: list[str], batch_sizes: tuple[int, ...], processes: int,
                        extra: list[str] = ()) -> list[dict]:
    """For each batch size, every contender's step time: ``processes`` rounds in which each
    contender runs once in a fresh process (``script --only NAME --batch B``), so that a slow spell
    of a shared machine hits all contenders alike; the figure is the median over rounds."""
    rows = []
    for batch_size in batch_sizes:
        per_process = {name: [] for name in names}
        for _ in range(processes):
            for name in names:
                per_process[name].append(run_fresh(script, ["--only", name, "--batch", str(batch_size), *extra]))
        rows.append({"batch": batch_size, **{n: statistics.median(t) for n, t in per_process.items()}})
    return rows


def machine_line(torch: object) -> str:
    """Date, machine, cores and library versions, for the head of a results table."""
    import datetime  # noqa: PLC0415
    import platform  # noqa: PLC0415

    import numpy  # noqa: PLC0415

    peer = f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads" if torch else "PyTorch not installed"
    return f"{datetime.date.today()} · {platform.machine()} · {os.cpu_count()} cores · NumPy {numpy.__version__} · {peer}"
