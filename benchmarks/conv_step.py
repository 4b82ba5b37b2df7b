"""One training step of convolutional and recurrent models against the same models in PyTorch.

Workloads (float32, Adam):
- LeNet-5 on 28x28 images (conv 6@5x5 pad 2, max pool, conv 16@5x5, max pool, 120, 84, 10;
  cross-entropy) at batch 128 and 1024;
- the convolutional VAE of demos/conv_nets.py (conv 32/64 @4x4 stride 2 with batch norm and
  LeakyReLU, 2-D latent, transposed-conv decoder, Bernoulli logits) at batch 128;
- one LSTM step: 64 hidden units, input 32, 50 time steps, batch 64, squared error on the last output.
Contenders, each in fresh processes taking turns (see mlp_step.py for why): minibayes (NumPy:
im2col + one BLAS GEMM per convolution) and PyTorch CPU eager with the same thread count (its
convolutions use a tuned library, oneDNN). With ``--cupy``, also minibayes on CuPy and PyTorch CUDA.
``--profile [lenet|conv_vae|lstm]`` prints where minibayes' step spends its time (cProfile, top
functions; LeNet at batch 128 by default).

``--one-process`` (for a loaded machine, run with OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1): both
contenders single-threaded in one process, taking turns per round (3 rounds, medians), so that a
slow spell hits both alike; it reports the ratio, not figures comparable to a quiet machine's.

Usage: python benchmarks/conv_step.py [--quick] [--cupy] [--processes N] [--profile [WORKLOAD]] [--one-process]
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import json
import os
import platform
import pstats
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import minibayes as mb  # noqa: E402
from benchmarks._timing import interleaved_medians, median_step_seconds, require_single_thread, run_fresh  # noqa: E402
from minibayes import nn, optim  # noqa: E402
from minibayes.nn import functional as F  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

WORKLOADS = (("lenet", 128), ("lenet", 1024), ("conv_vae", 128), ("lstm", 64))
CONTENDERS = ("minibayes", "torch", "minibayes_cupy", "torch_cuda")
LSTM_SHAPE = dict(steps=50, inputs=32, hidden=64)


# --------------------------------------------------------------------------- minibayes
def minibayes_model(workload: str):
    if workload == "lenet":
        return nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
            nn.MaxPool2d(2), nn.Flatten(), nn.Dense(400, 120), nn.ReLU(), nn.Dense(120, 84), nn.ReLU(),
            nn.Dense(84, 10))
    if workload == "conv_vae":
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "demos"))
        from conv_nets import conv_vae

        return conv_vae()
    return _MinibayesLSTM()


class _MinibayesLSTM(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.Recurrent(nn.LSTMCell(LSTM_SHAPE["inputs"], LSTM_SHAPE["hidden"]))
        self.readout = nn.Dense(LSTM_SHAPE["hidden"], 1)

    def forward(self, x):
        outputs, _ = self.rnn(x)
        return self.readout(outputs[-1])


def data(workload: str, batch: int):
    rng = np.random.default_rng(0)
    if workload == "lenet":
        return rng.random((batch, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, batch)
    if workload == "conv_vae":
        return (rng.random((batch, 784)) < 0.3).astype(np.float32), None
    x = rng.normal(size=(LSTM_SHAPE["steps"], batch, LSTM_SHAPE["inputs"])).astype(np.float32)
    return x, rng.normal(size=(batch, 1)).astype(np.float32)


def minibayes_step(workload: str, batch: int, backend_name: str = "numpy"):
    with mb.using(backend_name):
        mb.seed(0)
        model = minibayes_model(workload)
        optimizer = optim.Adam(model.parameters(), lr=1e-3)
        x, y = data(workload, batch)
        xd, yd = mb.asarray(x), None if y is None else mb.asarray(y)

    def loss():
        if workload == "lenet":
            return F.cross_entropy(model(xd), yd)
        if workload == "conv_vae":
            return model.loss(xd)
        return F.mse_loss(model(xd), yd)

    def step():
        with mb.using(backend_name):
            optimizer.zero_grad()
            loss().backward()
            optimizer.step()

    return step


# --------------------------------------------------------------------------- PyTorch
def torch_model(workload: str):
    tnn = torch.nn
    if workload == "lenet":
        return tnn.Sequential(
            tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Conv2d(6, 16, 5), tnn.ReLU(),
            tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84), tnn.ReLU(),
            tnn.Linear(84, 10))
    if workload == "conv_vae":
        encoder = tnn.Sequential(
            tnn.Unflatten(1, (1, 28, 28)), tnn.Conv2d(1, 32, 4, 2, 1), tnn.BatchNorm2d(32), tnn.LeakyReLU(0.2),
            tnn.Conv2d(32, 64, 4, 2, 1), tnn.BatchNorm2d(64), tnn.LeakyReLU(0.2), tnn.Flatten(),
            tnn.Linear(64 * 49, 4))
        decoder = tnn.Sequential(
            tnn.Linear(2, 64 * 49), tnn.Unflatten(1, (64, 7, 7)), tnn.BatchNorm2d(64), tnn.LeakyReLU(0.2),
            tnn.ConvTranspose2d(64, 32, 4, 2, 1), tnn.BatchNorm2d(32), tnn.LeakyReLU(0.2),
            tnn.ConvTranspose2d(32, 1, 4, 2, 1), tnn.Flatten())
        return tnn.ModuleDict({"encoder": encoder, "decoder": decoder})
    return tnn.ModuleDict({"rnn": tnn.LSTM(LSTM_SHAPE["inputs"], LSTM_SHAPE["hidden"]),
                           "readout": tnn.Linear(LSTM_SHAPE["hidden"], 1)})


def torch_step(workload: str, batch: int, device: str = "cpu"):
    torch.manual_seed(0)
    model = torch_model(workload).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = data(workload, batch)
    xt = torch.from_numpy(x).to(device)
    yt = None if y is None else torch.from_numpy(y).to(device)

    def loss():
        if workload == "lenet":
            return torch.nn.functional.cross_entropy(model(xt), yt)
        if workload == "conv_vae":  # the same negative ELBO per image: Bernoulli from logits + Gaussian KL
            mu, log_var = model["encoder"](xt).chunk(2, dim=1)
            z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
            logits = model["decoder"](z)
            nll = torch.nn.functional.binary_cross_entropy_with_logits(logits, xt, reduction="sum")
            kl = 0.5 * (mu * mu + log_var.exp() - 1 - log_var).sum()
            return (nll + kl) / xt.shape[0]
        outputs, _ = model["rnn"](xt)
        return torch.nn.functional.mse_loss(model["readout"](outputs[-1]), yt)

    def step():
        optimizer.zero_grad()
        loss().backward()
        optimizer.step()

    return step


def time_one(name: str, workload: str, batch: int, steps: int, repeats: int) -> float:
    if name == "minibayes":
        return median_step_seconds(minibayes_step(workload, batch), steps, repeats)
    if name == "torch":
        return median_step_seconds(torch_step(workload, batch), steps, repeats)
    if name == "minibayes_cupy":
        import cupy

        return median_step_seconds(minibayes_step(workload, batch, "cupy"), steps, repeats,
                                   cupy.cuda.Device().synchronize)
    if name == "torch_cuda":
        return median_step_seconds(torch_step(workload, batch, "cuda"), steps, repeats, torch.cuda.synchronize)
    raise ValueError(f"unknown contender {name!r}")


def profile(workload: str = "lenet", batch: int = 128) -> None:
    step = minibayes_step(workload, 64 if workload == "lstm" else batch)
    step()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(10):
        step()
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(12)


def one_process(rounds: int = 3) -> None:
    """Single-threaded minibayes and PyTorch in this process, interleaved per round; medians."""
    require_single_thread("--one-process")
    torch.set_num_threads(1)
    print("| workload | batch | minibayes (NumPy) | PyTorch CPU | minibayes / PyTorch |\n|---|---|---|---|---|")
    for workload, batch in WORKLOADS:
        steps = 2 if batch == 1024 else 10
        times = interleaved_medians({"minibayes": minibayes_step(workload, batch), "torch": torch_step(workload, batch)},
                                    steps, rounds)
        a, b = times["minibayes"], times["torch"]
        print(f"| {workload} | {batch} | {a * 1e3:.2f} ms | {b * 1e3:.2f} ms | {a / b:.2f}x |", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cupy", action="store_true")
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--profile", nargs="?", const="lenet", choices=("lenet", "conv_vae", "lstm"))
    parser.add_argument("--one-process", action="store_true")
    parser.add_argument("--only", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--workload", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    steps, repeats = (2, 2) if args.quick else (10, 5)
    mb.backend.apply_host_memory_policy()
    threads = os.cpu_count()
    if torch is not None:
        torch.set_num_threads(threads)
    if args.only:
        print(json.dumps(time_one(args.only, args.workload, args.batch, steps, repeats)))
        return 0
    if args.profile:
        profile(args.profile)
        return 0
    if args.one_process and torch is not None:
        one_process()
        return 0
    if torch is None:
        print("PyTorch is not installed: `pip install torch==2.13.0` (CPU build) gives the peer.", file=sys.stderr)
        return 1
    names = ["minibayes", "torch"] + (["minibayes_cupy", "torch_cuda"] if args.cupy else [])
    workloads = WORKLOADS[:1] + WORKLOADS[2:] if args.quick else WORKLOADS
    processes = 1 if args.quick else args.processes
    rows = []
    for workload, batch in workloads:
        per_process = {name: [] for name in names}
        for _ in range(processes):
            for name in names:
                arguments = ["--only", name, "--workload", workload, "--batch", str(batch)]
                per_process[name].append(run_fresh(__file__, arguments + (["--quick"] if args.quick else [])))
        rows.append({"workload": workload, "batch": batch, **{n: statistics.median(t) for n, t in per_process.items()}})
    print(f"{datetime.date.today()} · {platform.machine()} · {threads} cores · NumPy {np.__version__} · "
          f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads\n")
    print("| workload | batch | minibayes (NumPy) | PyTorch CPU | minibayes / PyTorch |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['workload']} | {r['batch']} | {r['minibayes'] * 1e3:.2f} ms | {r['torch'] * 1e3:.2f} ms | "
              f"{r['minibayes'] / r['torch']:.2f}x |")
    if args.cupy:
        print("\n| workload | batch | minibayes (CuPy) | PyTorch CUDA | ratio |\n|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['workload']} | {r['batch']} | {r['minibayes_cupy'] * 1e3:.3f} ms | "
                  f"{r['torch_cuda'] * 1e3:.3f} ms | {r['minibayes_cupy'] / r['torch_cuda']:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
