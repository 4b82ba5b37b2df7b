"""One Bayes by Backprop training step of a 784-400-400-10 ReLU classifier against the same model
in PyTorch. float32, Gaussian prior N(0, 1) with its closed-form KL, one weight draw per step.

Contenders, each in fresh processes taking turns (see mlp_step.py for why), at batch 128 and 1024:
- minibayes, weight sampling (the default, Blundell eq. 3) and local reparameterisation;
- the same two in PyTorch CPU eager, same thread count (hand-written layers: torch has no BBB layer);
- the floor: minibayes' plain MLP step of the same size plus drawing the 477,600 + 810 normal
  numbers of one weight sample (what BBB must do beyond a plain network).
With ``--cupy``, also minibayes on CuPy and PyTorch CUDA.

``--one-process`` (for a loaded machine, run with OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1): the
contenders single-threaded in one process, taking turns per round (3 rounds, medians); it reports
ratios, not figures comparable to a quiet machine's.

Usage: python benchmarks/bbb_step.py [--quick] [--cupy] [--processes N] [--one-process]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import minibayes as mb  # noqa: E402
from benchmarks._timing import (  # noqa: E402
    interleaved_medians, machine_line, median_step_seconds, require_single_thread, run_fresh, step_times_in_turns,
)
from minibayes import nn, optim  # noqa: E402
from minibayes.models import bbb_objective, categorical_log_likelihood  # noqa: E402
from minibayes.nn import functional as F  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

SIZES = (784, 400, 400, 10)
N_DATA = 60_000
CONTENDERS = ("minibayes", "minibayes_local", "torch", "torch_local", "floor", "minibayes_cupy", "torch_cuda")


def minibayes_step(x, y, local=False, backend_name="numpy"):
    with mb.using(backend_name):
        mb.seed(0)
        layers = []
        for i, (fan_in, fan_out) in enumerate(zip(SIZES, SIZES[1:])):
            layers.append(nn.BayesianDense(fan_in, fan_out, local_reparameterisation=local))
            if i < len(SIZES) - 2:
                layers.append(nn.ReLU())
        model = nn.Sequential(*layers)
        optimizer = optim.Adam(model.parameters(), lr=1e-3)
        xd, yd = mb.asarray(x), mb.asarray(y)

    def step():
        with mb.using(backend_name):
            optimizer.zero_grad()
            bbb_objective(model, xd, yd, categorical_log_likelihood, N_DATA).loss.backward()
            optimizer.step()

    return step


def floor_step(x, y):
    """A plain MLP step plus one weight sample's worth of standard normals."""
    mb.seed(0)
    model = nn.Sequential(nn.Dense(784, 400), nn.ReLU(), nn.Dense(400, 400), nn.ReLU(), nn.Dense(400, 10))
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    xd, yd = mb.asarray(x), mb.asarray(y)
    generator = mb.backend.rng()
    shapes = [p.shape for p in model.parameters()]

    def step():
        for shape in shapes:
            generator.standard_normal(shape, dtype=np.float32)
        optimizer.zero_grad()
        F.cross_entropy(model(xd), yd).backward()
        optimizer.step()

    return step


class TorchBayesianLinear(torch.nn.Module if torch is not None else object):
    """Blundell's layer in PyTorch: w = mu + softplus(rho) eps; or local reparameterisation."""

    def __init__(self, fan_in, fan_out, local):
        super().__init__()
        self.local = local
        self.weight_mu = torch.nn.Parameter(torch.randn(fan_in, fan_out) * (2 / fan_in) ** 0.5)
        self.weight_rho = torch.nn.Parameter(torch.empty(fan_in, fan_out).uniform_(-5, -4))
        self.bias_mu = torch.nn.Parameter(torch.zeros(fan_out))
        self.bias_rho = torch.nn.Parameter(torch.empty(fan_out).uniform_(-5, -4))

    def forward(self, x):
        sigma_w = torch.nn.functional.softplus(self.weight_rho)
        sigma_b = torch.nn.functional.softplus(self.bias_rho)
        if self.local:
            mean = x @ self.weight_mu + self.bias_mu
            variance = (x * x) @ (sigma_w * sigma_w) + sigma_b * sigma_b
            return mean + variance.sqrt() * torch.randn_like(mean)
        weight = self.weight_mu + sigma_w * torch.randn_like(sigma_w)
        bias = self.bias_mu + sigma_b * torch.randn_like(sigma_b)
        return x @ weight + bias

    def kl(self):
        total = 0.0
        for mu, rho in ((self.weight_mu, self.weight_rho), (self.bias_mu, self.bias_rho)):
            sigma = torch.nn.functional.softplus(rho)
            total = total + (-torch.log(sigma) + 0.5 * (sigma * sigma + mu * mu) - 0.5).sum()
        return total


def torch_step(x, y, local=False, device="cpu"):
    torch.manual_seed(0)
    layers = [TorchBayesianLinear(a, b, local) for a, b in zip(SIZES, SIZES[1:])]
    model = torch.nn.ModuleList(layers).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    xt, yt = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)

    def step():
        optimizer.zero_grad()
        h = xt
        for i, layer in enumerate(model):
            h = layer(h)
            if i < len(model) - 1:
                h = torch.relu(h)
        nll = torch.nn.functional.cross_entropy(h, yt)
        kl = sum(layer.kl() for layer in model)
        (nll + kl / N_DATA).backward()
        optimizer.step()

    return step


def time_one(name: str, batch_size: int, steps: int, repeats: int) -> float:
    rng = np.random.default_rng(0)
    x, y = rng.random((batch_size, 784), dtype=np.float32), rng.integers(0, 10, batch_size)
    if name in ("minibayes", "minibayes_local"):
        return median_step_seconds(minibayes_step(x, y, name.endswith("local")), steps, repeats)
    if name in ("torch", "torch_local"):
        return median_step_seconds(torch_step(x, y, name.endswith("local")), steps, repeats)
    if name == "floor":
        return median_step_seconds(floor_step(x, y), steps, repeats)
    if name == "minibayes_cupy":
        import cupy

        return median_step_seconds(minibayes_step(x, y, False, "cupy"), steps, repeats, cupy.cuda.Device().synchronize)
    if name == "torch_cuda":
        return median_step_seconds(torch_step(x, y, False, "cuda"), steps, repeats, torch.cuda.synchronize)
    raise ValueError(f"unknown contender {name!r}")


def one_process(rounds: int = 3) -> None:
    """Single-threaded minibayes, PyTorch and the floor in this process, interleaved per round; medians."""
    require_single_thread("--one-process")
    torch.set_num_threads(1)
    print(machine_line(torch) + " (one process, one thread each)\n")
    print("| batch | sampling | minibayes (NumPy) | PyTorch CPU | minibayes / PyTorch | floor (MLP step + draws) |"
          "\n|---|---|---|---|---|---|")
    for batch_size in (128, 1024):
        rng = np.random.default_rng(0)
        x, y = rng.random((batch_size, 784), dtype=np.float32), rng.integers(0, 10, batch_size)
        contenders = {"minibayes": minibayes_step(x, y), "torch": torch_step(x, y),
                      "minibayes_local": minibayes_step(x, y, True), "torch_local": torch_step(x, y, True),
                      "floor": floor_step(x, y)}
        r = interleaved_medians(contenders, 10 if batch_size == 128 else 4, rounds)
        for label, ours, theirs in (("weights", "minibayes", "torch"), ("local", "minibayes_local", "torch_local")):
            print(f"| {batch_size} | {label} | {r[ours] * 1e3:.2f} ms | {r[theirs] * 1e3:.2f} ms | "
                  f"{r[ours] / r[theirs]:.2f}x | {r['floor'] * 1e3:.2f} ms |", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cupy", action="store_true")
    parser.add_argument("--processes", type=int, default=5)
    parser.add_argument("--one-process", action="store_true")
    parser.add_argument("--only", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    # Every process (contenders run in fresh ones) recycles freed host memory, as it did when
    # importing minibayes set it: train.fit applies the same policy.
    mb.backend.apply_host_memory_policy()
    steps, repeats = (5, 3) if args.quick else (20, 7)
    threads = os.cpu_count()
    if torch is not None:
        torch.set_num_threads(threads)
    if args.only:
        print(json.dumps(time_one(args.only, args.batch, steps, repeats)))
        return 0
    if args.one_process and torch is not None:
        one_process()
        return 0
    if torch is None:
        print("PyTorch is not installed: `pip install torch==2.13.0` (CPU build) gives the peer.", file=sys.stderr)
        return 1
    names = ["minibayes", "torch", "minibayes_local", "torch_local", "floor"]
    if args.cupy:
        names += ["minibayes_cupy", "torch_cuda"]
    rows = step_times_in_turns(__file__, names, (128, 1024), args.processes, ["--quick"] if args.quick else [])
    print(machine_line(torch) + "\n")
    print("| batch | sampling | minibayes (NumPy) | PyTorch CPU | minibayes / PyTorch | floor (MLP step + draws) |"
          "\n|---|---|---|---|---|---|")
    for r in rows:
        for label, ours, theirs in (("weights", "minibayes", "torch"), ("local", "minibayes_local", "torch_local")):
            print(f"| {r['batch']} | {label} | {r[ours] * 1e3:.2f} ms | {r[theirs] * 1e3:.2f} ms | "
                  f"{r[ours] / r[theirs]:.2f}x | {r['floor'] * 1e3:.2f} ms |")
    if args.cupy:
        print("\n| batch | minibayes (CuPy) | PyTorch CUDA | ratio |\n|---|---|---|---|")
        for r in rows:
            print(f"| {r['batch']} | {r['minibayes_cupy'] * 1e3:.3f} ms | {r['torch_cuda'] * 1e3:.3f} ms | "
                  f"{r['minibayes_cupy'] / r['torch_cuda']:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
