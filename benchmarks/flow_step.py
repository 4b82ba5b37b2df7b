"""One Adam step of an 8-layer RealNVP (affine couplings, alternating masks), against the same model in PyTorch.

Two workloads, float32 (issue 14):
- moons: D = 2, batch 256 of two-moons points, coupling networks 2-64-64-4;
- fashion: D = 784, batch 128 of dequantised, logit-transformed Fashion-MNIST images,
  coupling networks 784-512-1568.
A step is: forward through the 8 couplings, the mean negative log-likelihood under N(0, I),
backward, Adam. Each contender runs in fresh processes taking turns (see mlp_step.py for why);
before timing, both models are built from the same weights and their losses on one batch must
agree, so the comparison is between the same computation. ``--cupy`` adds minibayes on CuPy
and PyTorch CUDA.

Usage: python benchmarks/flow_step.py [--quick] [--cupy] [--processes N]
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import minibayes as mb  # noqa: E402
from benchmarks._timing import median_step_seconds, run_fresh  # noqa: E402
from minibayes import flows, optim  # noqa: E402
from minibayes.data import load_fashion_mnist_or_small, two_moons  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

N_LAYERS, SCALE_BOUND = 8, 3.0
WORKLOADS = {"moons": {"dim": 2, "batch": 256, "hidden": (64, 64)},
             "fashion": {"dim": 784, "batch": 128, "hidden": (512,)}}
CONTENDERS = ("minibayes", "torch", "minibayes_cupy", "torch_cuda")


def batch_of(workload: str) -> np.ndarray:
    spec = WORKLOADS[workload]
    if workload == "moons":
        return two_moons(spec["batch"], noise=0.05, seed=0)[0].astype(np.float32)
    images = load_fashion_mnist_or_small("train", quiet=True)[0][: spec["batch"]].reshape(spec["batch"], -1)
    y = (images + np.random.default_rng(0).random(images.shape)) / 256.0
    squeezed = 0.05 + 0.9 * y
    return np.log(squeezed / (1 - squeezed)).astype(np.float32)  # the logit transform, done once


def minibayes_flow(workload: str, backend_name: str = "numpy"):
    spec = WORKLOADS[workload]
    with mb.using(backend_name):
        mb.seed(0)
        flow = flows.make_realnvp(spec["dim"], N_LAYERS, hidden=spec["hidden"], scale_bound=SCALE_BOUND,
                                  validate_args=False)
        # Move the zero-initialised last layers so that every part of the graph does real work.
        generator = np.random.default_rng(1)
        for parameter in flow.parameters():
            if not parameter.data.any():
                parameter.data[...] = mb.asarray(0.01 * generator.standard_normal(parameter.shape), dtype=parameter.dtype)
    return flow


class TorchRealNVP(torch.nn.Module if torch is not None else object):
    """The same flow in PyTorch: z_B = x_B exp(s) + t with s soft-clamped, log_det = sum s (Dinh et al. eqs. 6-9)."""

    def __init__(self, flow):
        super().__init__()
        self.dim = flow.event_dim
        self.nets = torch.nn.ModuleList()
        masks = []
        for coupling in flow.chain.links:
            dense = [layer for layer in coupling.net if hasattr(layer, "weight")]
            layers = []
            for index, layer in enumerate(dense):
                linear = torch.nn.Linear(layer.in_features, layer.out_features)
                with torch.no_grad():
                    linear.weight.copy_(torch.from_numpy(mb.to_numpy(layer.weight.data).T.copy()))
                    linear.bias.copy_(torch.from_numpy(mb.to_numpy(layer.bias.data).copy()))
                layers += [linear] + ([torch.nn.ReLU()] if index < len(dense) - 1 else [])
            self.nets.append(torch.nn.Sequential(*layers))
            masks.append(torch.from_numpy(mb.to_numpy(coupling.mask)))
        self.register_buffer("masks", torch.stack(masks))

    def loss(self, x):
        total = 0.0
        for net, mask in zip(self.nets, self.masks):
            raw = net(x * mask)
            s = SCALE_BOUND * torch.tanh(raw[:, : self.dim] / SCALE_BOUND) * (1 - mask)
            t = raw[:, self.dim:] * (1 - mask)
            x = x * torch.exp(s) + t
            total = total + s.sum(dim=1)
        log_prob = -0.5 * (x * x).sum(dim=1) - 0.5 * self.dim * math.log(2 * math.pi) + total
        return -log_prob.mean()


def minibayes_stepper(workload: str, backend_name: str = "numpy"):
    flow = minibayes_flow(workload, backend_name)
    with mb.using(backend_name):
        optimizer = optim.Adam(flow.parameters(), lr=1e-3)
        x = mb.asarray(batch_of(workload))

    def step():
        with mb.using(backend_name):
            optimizer.zero_grad()
            flow.loss(x).backward()
            optimizer.step()

    return step, flow, x


def torch_stepper(workload: str, device: str = "cpu"):
    model = TorchRealNVP(minibayes_flow(workload)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.from_numpy(batch_of(workload)).to(device)

    def step():
        optimizer.zero_grad()
        model.loss(x).backward()
        optimizer.step()

    return step, model, x


def check_same_model(workload: str) -> float:
    """|loss_minibayes - loss_torch| on one batch before any step (they must agree to float32 rounding)."""
    _, flow, x = minibayes_stepper(workload)
    _, model, x_torch = torch_stepper(workload)
    with mb.no_grad(), torch.no_grad():
        return abs(flow.loss(x).item() - model.loss(x_torch).item())


def time_step(name: str, workload: str, steps: int, repeats: int) -> float:
    if name == "minibayes":
        return median_step_seconds(minibayes_stepper(workload)[0], steps, repeats)
    if name == "torch":
        return median_step_seconds(torch_stepper(workload)[0], steps, repeats)
    if name == "minibayes_cupy":
        import cupy

        return median_step_seconds(minibayes_stepper(workload, "cupy")[0], steps, repeats,
                                   cupy.cuda.Device().synchronize)
    if name == "torch_cuda":
        return median_step_seconds(torch_stepper(workload, "cuda")[0], steps, repeats, torch.cuda.synchronize)
    raise ValueError(f"unknown contender {name!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cupy", action="store_true", help="also time the CuPy backend and PyTorch CUDA")
    parser.add_argument("--processes", type=int, default=5)
    parser.add_argument("--only", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--workload", choices=tuple(WORKLOADS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    steps, repeats = (3, 2) if args.quick else (20, 7)
    threads = os.cpu_count()
    if torch is not None:
        torch.set_num_threads(threads)
    if args.only:
        print(json.dumps(time_step(args.only, args.workload, steps, repeats)))
        return 0
    if torch is None:
        print("PyTorch is not installed: `pip install torch==2.13.0` (CPU build) gives the peer.", file=sys.stderr)
        return 1

    names = ["minibayes", "torch"] + (["minibayes_cupy", "torch_cuda"] if args.cupy else [])
    processes = 1 if args.quick else args.processes
    rows = []
    for workload, spec in WORKLOADS.items():
        gap = check_same_model(workload)
        if not gap < 1e-3 * max(1.0, spec["dim"]):
            raise RuntimeError(f"{workload}: the two models' losses differ by {gap}; not the same computation")
        per_process = {name: [] for name in names}
        for _ in range(processes):
            for name in names:
                per_process[name].append(run_fresh(__file__, ["--only", name, "--workload", workload]
                                                   + (["--quick"] if args.quick else [])))
        rows.append({"workload": workload, "gap": gap, **spec,
                     **{name: statistics.median(t) for name, t in per_process.items()}})

    print(f"{datetime.date.today()} · {platform.machine()} · {threads} cores · NumPy {np.__version__} · "
          f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads\n")
    print("| workload | D | batch | minibayes (NumPy) | PyTorch CPU | minibayes / PyTorch | loss gap |\n"
          "|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['workload']} | {r['dim']} | {r['batch']} | {r['minibayes'] * 1e3:.2f} ms | "
              f"{r['torch'] * 1e3:.2f} ms | {r['minibayes'] / r['torch']:.2f}x | {r['gap']:.1e} |")
    if args.cupy:
        print("\n| workload | minibayes (CuPy) | PyTorch CUDA | ratio |\n|---|---|---|---|")
        for r in rows:
            print(f"| {r['workload']} | {r['minibayes_cupy'] * 1e3:.3f} ms | {r['torch_cuda'] * 1e3:.3f} ms | "
                  f"{r['minibayes_cupy'] / r['torch_cuda']:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
