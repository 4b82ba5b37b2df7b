"""The Fashion-MNIST MLP GAN (G 100-256-512-784 tanh, D 784-512-256-1 LeakyReLU 0.2) against the same
models written in PyTorch, float32, batch 128, same initial weights.

Two workloads, each contender in fresh processes taking turns (see mlp_step.py for why):
- ``alg1``: one full iteration of Goodfellow et al.'s Algorithm 1 with k = 1: a discriminator
  step on -V(D, G) (data and G(z) without a graph through G), then a generator step on the
  non-saturating loss, Adam for each player;
- ``critic``: one WGAN-GP critic step (Gulrajani et al. 2017): E[f(G(z))] - E[f(x)] + 10 x the
  gradient penalty, whose inner gradient is taken with create_graph=True (double backprop).
PyTorch CPU runs with the same thread count; with ``--cupy`` also minibayes on CuPy and PyTorch CUDA.

Usage: python benchmarks/gan_step.py [--quick] [--cupy] [--processes N]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import minibayes as mb  # noqa: E402
from minibayes import optim  # noqa: E402
from minibayes.models import make_mlp_gan  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

from benchmarks._timing import median_step_seconds, run_fresh as run_script  # noqa: E402

BATCH, NOISE, FEATURES = 128, 100, 784
CONTENDERS = ("minibayes", "torch", "minibayes_cupy", "torch_cuda")
WORKLOADS = ("alg1", "critic")


def minibayes_gan(objective: str, backend_name: str = "numpy"):
    with mb.using(backend_name):
        mb.seed(0)
        return make_mlp_gan(FEATURES, NOISE, (256, 512), (512, 256), output="tanh", objective=objective)


def dense_layers(sequential) -> list:
    return [layer for layer in sequential if hasattr(layer, "weight")]


def torch_networks(gan, device: str):
    """torch.nn copies of the minibayes networks (nn.Linear stores W transposed)."""
    def build(layers, hidden_activation, last):
        modules = []
        for index, layer in enumerate(layers):
            linear = torch.nn.Linear(*layer.weight.shape)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(mb.to_numpy(layer.weight.data).T.copy()))
                linear.bias.copy_(torch.from_numpy(mb.to_numpy(layer.bias.data).copy()))
            modules.append(linear)
            modules.append(hidden_activation() if index < len(layers) - 1 else last())
        return torch.nn.Sequential(*[m for m in modules if m is not None]).to(device)

    generator = build(dense_layers(gan.generator), torch.nn.ReLU, torch.nn.Tanh)
    discriminator = build(dense_layers(gan.discriminator), lambda: torch.nn.LeakyReLU(0.2), lambda: torch.nn.Identity())
    return generator, discriminator


def data_batch() -> np.ndarray:
    return np.random.default_rng(0).uniform(-1, 1, size=(BATCH, FEATURES)).astype(np.float32)


def minibayes_stepper(workload: str, backend_name: str = "numpy"):
    gan = minibayes_gan("wgan_gp" if workload == "critic" else "non_saturating", backend_name)
    betas = (0.0, 0.9) if workload == "critic" else (0.5, 0.999)
    with mb.using(backend_name):
        d_opt = optim.Adam(gan.discriminator.parameters(), lr=1e-4, betas=betas)
        g_opt = optim.Adam(gan.generator.parameters(), lr=1e-4, betas=betas)
        x = mb.asarray(data_batch())

    def step():
        with mb.using(backend_name):
            d_opt.zero_grad()
            gan.discriminator_loss(x, gan.sample_noise(BATCH)).backward()
            d_opt.step()
            if workload == "alg1":
                g_opt.zero_grad()
                gan.generator_loss(gan.sample_noise(BATCH)).backward()
                g_opt.step()

    return step


def torch_stepper(workload: str, device: str = "cpu"):
    gan = minibayes_gan("wgan_gp" if workload == "critic" else "non_saturating")
    generator, discriminator = torch_networks(gan, device)
    betas = (0.0, 0.9) if workload == "critic" else (0.5, 0.999)
    d_opt = torch.optim.Adam(discriminator.parameters(), lr=1e-4, betas=betas)
    g_opt = torch.optim.Adam(generator.parameters(), lr=1e-4, betas=betas)
    x = torch.from_numpy(data_batch()).to(device)
    log_sigmoid = torch.nn.functional.logsigmoid

    def critic_loss(real, fake):
        scores = discriminator(torch.cat([real, fake]))[:, 0]
        mix = torch.rand(BATCH, 1, device=device)
        x_hat = (mix * real + (1 - mix) * fake).requires_grad_(True)
        (gradient,) = torch.autograd.grad(discriminator(x_hat).sum(), x_hat, create_graph=True)
        penalty = ((gradient.norm(2, dim=1) - 1) ** 2).mean()
        return scores[BATCH:].mean() - scores[:BATCH].mean() + 10.0 * penalty

    def step():
        d_opt.zero_grad()
        with torch.no_grad():
            fake = generator(torch.randn(BATCH, NOISE, device=device))
        if workload == "critic":
            loss = critic_loss(x, fake)
        else:
            scores = discriminator(torch.cat([x, fake]))[:, 0]
            loss = -(log_sigmoid(scores[:BATCH]).mean() + log_sigmoid(-scores[BATCH:]).mean())
        loss.backward()
        d_opt.step()
        if workload == "alg1":
            g_opt.zero_grad()
            (-log_sigmoid(discriminator(generator(torch.randn(BATCH, NOISE, device=device)))[:, 0]).mean()).backward()
            g_opt.step()

    return step


def time_step(name: str, workload: str, steps: int, repeats: int) -> float:
    if name == "minibayes":
        return median_step_seconds(minibayes_stepper(workload), steps, repeats)
    if name == "torch":
        return median_step_seconds(torch_stepper(workload), steps, repeats)
    if name == "minibayes_cupy":
        import cupy

        return median_step_seconds(minibayes_stepper(workload, "cupy"), steps, repeats, cupy.cuda.Device().synchronize)
    if name == "torch_cuda":
        return median_step_seconds(torch_stepper(workload, "cuda"), steps, repeats, torch.cuda.synchronize)
    raise ValueError(f"unknown contender {name!r}")


def run_fresh(arguments: list[str]) -> object:
    return run_script(__file__, arguments)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cupy", action="store_true", help="also time the CuPy backend and PyTorch CUDA")
    parser.add_argument("--processes", type=int, default=5)
    parser.add_argument("--only", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--workload", choices=WORKLOADS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    # Every process (contenders run in fresh ones) recycles freed host memory, as train.fit does.
    mb.backend.apply_host_memory_policy()
    steps, repeats = (3, 3) if args.quick else (20, 7)
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
    for workload in WORKLOADS:
        per_process = {name: [] for name in names}
        for _ in range(processes):
            for name in names:
                per_process[name].append(run_fresh(["--only", name, "--workload", workload]
                                                   + (["--quick"] if args.quick else [])))
        rows.append({"workload": workload, **{n: statistics.median(t) for n, t in per_process.items()}})
    titles = {"alg1": "Algorithm 1 iteration (k = 1: D step + G step)", "critic": "WGAN-GP critic step"}
    print(f"{datetime.date.today()} · {platform.machine()} · {threads} cores · NumPy {np.__version__} · "
          f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads · batch {BATCH}\n")
    print("| workload | minibayes (NumPy) | PyTorch CPU | minibayes / PyTorch |\n|---|---|---|---|")
    for r in rows:
        print(f"| {titles[r['workload']]} | {r['minibayes'] * 1e3:.2f} ms | {r['torch'] * 1e3:.2f} ms | "
              f"{r['minibayes'] / r['torch']:.2f}x |")
    if args.cupy:
        print("\n| workload | minibayes (CuPy) | PyTorch CUDA | ratio |\n|---|---|---|---|")
        for r in rows:
            print(f"| {titles[r['workload']]} | {r['minibayes_cupy'] * 1e3:.3f} ms | {r['torch_cuda'] * 1e3:.3f} ms | "
                  f"{r['minibayes_cupy'] / r['torch_cuda']:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
