"""Per-op cost of the autograd: forward, and forward + backward, against raw NumPy and PyTorch CPU.

For each op (add, mul, exp, matmul, sum) at one element and at 10^6 elements
(matmul: 1 x 1 and 256 x 256), in one run:

- minibayes forward (recording the graph) vs raw NumPy forward: the cost of the Tensor layer;
- minibayes forward + backward vs a hand-written NumPy forward + backward of the same op
  (the floor for any NumPy engine) and vs PyTorch CPU eager, when installed.

Usage: python benchmarks/op_overhead.py [--quick]
Prints a Markdown table; each figure is the median over repeats of the mean time per call.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import statistics
import sys
import timeit
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import minibayes as mb  # noqa: E402

try:
    import torch
except ImportError:  # the peer is optional
    torch = None


def per_call_seconds(fn: Callable[[], object], repeats: int, min_time: float) -> float:
    """Median over ``repeats`` of the mean time of one call, each repeat lasting about ``min_time``."""
    timer = timeit.Timer(fn)
    loops = 1
    while timer.timeit(loops) < min_time / 5:
        loops *= 2
    loops = max(1, int(loops * 5 * min_time / max(timer.timeit(loops), 1e-9) / 5))
    return statistics.median(timer.timeit(loops) / loops for _ in range(repeats))


def workloads(size: str) -> dict[str, dict]:
    """For each op: input arrays, the op on each library, and the hand-written NumPy backward."""
    rng = np.random.default_rng(0)
    n = 1 if size == "1" else 10**6
    m = 1 if size == "1" else 256
    a, b = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    ma, mb_ = rng.standard_normal((m, m)).astype(np.float32), rng.standard_normal((m, m)).astype(np.float32)

    def numpy_add(x, y, g):
        return x + y, (g, g)

    def numpy_mul(x, y, g):
        return x * y, (g * y, g * x)

    def numpy_exp(x, g):
        out = np.exp(x)
        return out, (g * out,)

    def numpy_matmul(x, y, g):
        return x @ y, (g @ y.T, x.T @ g)

    def numpy_sum(x, g):
        return x.sum(), (np.broadcast_to(g, x.shape),)

    return {
        "add": dict(arrays=[a, b], mb=lambda x, y: x + y, torch=lambda x, y: x + y, np=lambda x, y: x + y, np_fb=numpy_add),
        "mul": dict(arrays=[a, b], mb=lambda x, y: x * y, torch=lambda x, y: x * y, np=lambda x, y: x * y, np_fb=numpy_mul),
        "exp": dict(arrays=[a], mb=mb.exp, torch=lambda x: x.exp(), np=np.exp, np_fb=numpy_exp),
        f"matmul {m}x{m}": dict(arrays=[ma, mb_], mb=lambda x, y: x @ y, torch=lambda x, y: x @ y, np=lambda x, y: x @ y, np_fb=numpy_matmul),
        "sum": dict(arrays=[a], mb=mb.sum, torch=lambda x: x.sum(), np=np.sum, np_fb=numpy_sum),
    }


def measure(size: str, repeats: int, min_time: float) -> list[dict]:
    rows = []
    for name, w in workloads(size).items():
        arrays = w["arrays"]
        tensors = [mb.tensor(x, requires_grad=True) for x in arrays]
        out_shape = np.shape(w["np"](*arrays))
        seed = np.ones(out_shape, dtype=np.float32)
        seed_tensor = mb.tensor(seed) if out_shape != () else None

        def mb_forward():
            return w["mb"](*tensors)

        def mb_forward_backward():
            w["mb"](*tensors).backward(seed_tensor)
            for t in tensors:  # measure one backward, not the accumulation into an old .grad
                t.grad = None

        row = {
            "op": name,
            "size": size,
            "np_f": per_call_seconds(lambda: w["np"](*arrays), repeats, min_time),
            "np_fb": per_call_seconds(lambda: w["np_fb"](*arrays, seed), repeats, min_time),
            "mb_f": per_call_seconds(mb_forward, repeats, min_time),
            "mb_fb": per_call_seconds(mb_forward_backward, repeats, min_time),
        }
        if torch is not None:
            torch_inputs = [torch.tensor(x, requires_grad=True) for x in arrays]
            torch_seed = torch.tensor(seed)

            def torch_forward_backward():
                w["torch"](*torch_inputs).backward(torch_seed)
                for t in torch_inputs:  # keep .grad from growing a chain of accumulations
                    t.grad = None

            row["torch_fb"] = per_call_seconds(torch_forward_backward, repeats, min_time)
        rows.append(row)
    return rows


def format_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    return f"{seconds * 1e3:.2f} ms"


def table(rows: list[dict]) -> str:
    header = (
        "| op | size | NumPy fwd | minibayes fwd | ratio | NumPy fwd+bwd (hand-written) | minibayes fwd+bwd | ratio |"
        " PyTorch fwd+bwd | minibayes / PyTorch |"
    )
    lines = [header, "|" + "---|" * 10]
    for r in rows:
        torch_cells = (
            f"{format_time(r['torch_fb'])} | {r['mb_fb'] / r['torch_fb']:.2f}x" if "torch_fb" in r else "n/a | n/a"
        )
        lines.append(
            f"| {r['op']} | {r['size']} | {format_time(r['np_f'])} | {format_time(r['mb_f'])} | "
            f"{r['mb_f'] / r['np_f']:.2f}x | {format_time(r['np_fb'])} | {format_time(r['mb_fb'])} | "
            f"{r['mb_fb'] / r['np_fb']:.2f}x | {torch_cells} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter repeats")
    args = parser.parse_args(argv)
    mb.backend.apply_host_memory_policy()  # as the engine runs its own work: freed host memory recycled
    repeats, min_time = (3, 0.05) if args.quick else (7, 0.2)
    rows = measure("1", repeats, min_time) + measure("10^6", repeats, min_time)
    torch_note = f"PyTorch {torch.__version__} ({torch.get_num_threads()} threads)" if torch else "PyTorch not installed"
    print(
        f"{datetime.date.today()} · {platform.processor() or platform.machine()} · "
        f"Python {platform.python_version()} · NumPy {np.__version__} · {torch_note} · "
        "NumPy backend, float32\n"
    )
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
