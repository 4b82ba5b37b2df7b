"""One training step of the 784-400-400-10 ReLU MLP: forward, backward, Adam. float32.

In one run, at batch 128 and 1024:
- minibayes on the NumPy backend (``Sequential`` of ``Dense``/``ReLU``, ``cross_entropy``, ``Adam``);
- a hand-written NumPy forward/backward/Adam of the same network, written the plain way
  (the floor, or at least the yardstick, for any NumPy engine);
- PyTorch CPU eager with the same thread count, when installed.
With ``--cupy`` (on a GPU), also minibayes on CuPy and PyTorch CUDA.

Usage: python benchmarks/mlp_step.py [--quick] [--cupy] [--processes N] [--peer-malloc system|reuse]
Prints a Markdown table of median step times and ratios: each contender runs in N fresh
processes, each timing 7 repeats of 20 steps; the figure is the median over processes of
each process's median. minibayes recycles freed host memory (``backend.keep_freed_host_memory``);
the peers run with glibc's defaults unless ``--peer-malloc reuse``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import json
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import minibayes as mb  # noqa: E402
from benchmarks._timing import median_step_seconds  # noqa: E402
from minibayes import nn, optim  # noqa: E402
from minibayes.nn import functional as F  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

SIZES = (784, 400, 400, 10)


def batch(batch_size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((batch_size, SIZES[0]), dtype=np.float32), rng.integers(0, 10, batch_size)


# --------------------------------------------------------------------------- minibayes
def minibayes_step(x, y, backend_name="numpy"):
    with mb.using(backend_name):
        mb.seed(0)
        model = nn.Sequential(nn.Dense(784, 400), nn.ReLU(), nn.Dense(400, 400), nn.ReLU(), nn.Dense(400, 10))
        optimizer = optim.Adam(model.parameters(), lr=1e-3)
        x_device, y_device = mb.asarray(x), mb.asarray(y)

    def step():
        optimizer.zero_grad()
        F.cross_entropy(model(x_device), y_device).backward()
        optimizer.step()

    return step


# --------------------------------------------------------------------------- hand-written NumPy
def numpy_step(x, y):
    """The plain hand-written version: every expression allocates its result."""
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((i, o), dtype=np.float32) * np.float32(np.sqrt(2 / i)) for i, o in zip(SIZES, SIZES[1:])]
    biases = [np.zeros(o, dtype=np.float32) for o in SIZES[1:]]
    params = weights + biases
    moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
    lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-8
    t = [0]
    onehot = np.eye(10, dtype=np.float32)[y]

    def step():
        h1 = np.maximum(x @ weights[0] + biases[0], 0)
        h2 = np.maximum(h1 @ weights[1] + biases[1], 0)
        logits = h2 @ weights[2] + biases[2]
        shifted = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(shifted)
        p /= p.sum(axis=1, keepdims=True)
        g3 = (p - onehot) / len(x)
        g2 = (g3 @ weights[2].T) * (h2 > 0)
        g1 = (g2 @ weights[1].T) * (h1 > 0)
        grads = [x.T @ g1, h1.T @ g2, h2.T @ g3, g1.sum(0), g2.sum(0), g3.sum(0)]
        t[0] += 1
        for param, grad, (m, v) in zip(params, grads, moments):
            m[...] = b1 * m + (1 - b1) * grad
            v[...] = b2 * v + (1 - b2) * grad * grad
            m_hat = m / (1 - b1 ** t[0])
            v_hat = v / (1 - b2 ** t[0])
            param -= lr * m_hat / (np.sqrt(v_hat) + eps)

    return step


# --------------------------------------------------------------------------- PyTorch
def torch_step(x, y, device="cpu"):
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 400), torch.nn.ReLU(), torch.nn.Linear(400, 400), torch.nn.ReLU(), torch.nn.Linear(400, 10)
    ).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    xt, yt = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad()
        loss_fn(model(xt), yt).backward()
        optimizer.step()

    return step


CONTENDERS = ("minibayes", "numpy", "torch", "minibayes_cupy", "torch_cuda")


def time_one(name: str, batch_size: int, steps: int, repeats: int) -> float:
    """Median step time of one contender (run in its own process by ``main``)."""
    # The allocator the parent asked for (MINIBAYES_HOST_MALLOC): minibayes' reuse, as train.fit
    # applies it, or glibc's defaults. Importing minibayes alone no longer sets it.
    mb.backend.apply_host_memory_policy()
    x, y = batch(batch_size)
    if name == "minibayes":
        return median_step_seconds(minibayes_step(x, y), steps, repeats)
    if name == "numpy":
        return median_step_seconds(numpy_step(x, y), steps, repeats)
    if name == "torch":
        return median_step_seconds(torch_step(x, y), steps, repeats)
    if name == "minibayes_cupy":
        import cupy

        return median_step_seconds(minibayes_step(x, y, "cupy"), steps, repeats, cupy.cuda.Device().synchronize)
    if name == "torch_cuda":
        return median_step_seconds(torch_step(x, y, "cuda"), steps, repeats, torch.cuda.synchronize)
    raise ValueError(f"unknown contender {name!r}; one of {CONTENDERS}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cupy", action="store_true", help="also time the CuPy backend and PyTorch CUDA")
    parser.add_argument("--processes", type=int, default=5, help="fresh processes per contender (default 5)")
    parser.add_argument(
        "--peer-malloc", choices=["system", "reuse"], default="system",
        help="glibc malloc settings for the peers (hand-written NumPy, PyTorch): 'system' (default: "
             "what their users get) or 'reuse' (minibayes' keep_freed_host_memory, as minibayes runs)",
    )
    parser.add_argument("--only", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    steps, repeats = (5, 3) if args.quick else (20, 7)
    threads = os.cpu_count()
    if torch is not None:
        torch.set_num_threads(threads)
    if args.only:
        print(json.dumps(time_one(args.only, args.batch, steps, repeats)))
        return 0

    # Each contender runs in a fresh process: the BLAS and OpenMP thread pools of one
    # library keep spinning for a while after a call and would slow the next one down.
    names = ["minibayes", "numpy"] + (["torch"] if torch is not None else [])
    if args.cupy:
        names += ["minibayes_cupy"] + (["torch_cuda"] if torch is not None and torch.cuda.is_available() else [])
    rows = []
    for batch_size in (128, 1024):
        per_process = {name: [] for name in names}
        # Contenders take turns, one fresh process each per round: a slow spell of this
        # shared machine then hits every contender alike instead of one of them.
        for _ in range(args.processes):
            for name in names:
                command = [sys.executable, __file__, "--only", name, "--batch", str(batch_size)] + (["--quick"] if args.quick else [])
                # Every process applies the allocator asked for here (time_one): minibayes as train.fit runs it.
                malloc = "reuse" if name.startswith("minibayes") else args.peer_malloc
                environment = {**os.environ, "MINIBAYES_HOST_MALLOC": malloc}
                result = subprocess.run(command, capture_output=True, text=True, check=True, env=environment)
                per_process[name].append(json.loads(result.stdout))
        # Timings swing by 2x now and then (shared cores): the median over processes, each
        # reporting its own median, is what we report.
        rows.append({"batch": batch_size, **{name: statistics.median(times) for name, times in per_process.items()}})

    torch_note = f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads" if torch else "PyTorch not installed"
    print(f"{datetime.date.today()} · {platform.machine()} · {threads} cores · NumPy {np.__version__} · {torch_note} · "
          f"peers' malloc: {args.peer_malloc}\n")
    print("| batch | minibayes (NumPy) | hand-written NumPy | minibayes / hand-written | PyTorch CPU | minibayes / PyTorch |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        torch_cells = f"{r['torch'] * 1e3:.2f} ms | {r['minibayes'] / r['torch']:.2f}x" if "torch" in r else "n/a | n/a"
        print(f"| {r['batch']} | {r['minibayes'] * 1e3:.2f} ms | {r['numpy'] * 1e3:.2f} ms | "
              f"{r['minibayes'] / r['numpy']:.2f}x | {torch_cells} |")
    if args.cupy:
        print("\n| batch | minibayes (CuPy) | PyTorch CUDA | ratio |\n|---|---|---|---|")
        for r in rows:
            cuda = r.get("torch_cuda")
            gpu = r["minibayes_cupy"]
            cuda_cells = "n/a | n/a" if cuda is None else f"{cuda * 1e3:.3f} ms | {gpu / cuda:.2f}x"
            print(f"| {r['batch']} | {gpu * 1e3:.3f} ms | {cuda_cells} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
