"""The 784-400-20 VAE (Bernoulli decoder, SGVB estimator B, L = 1): one Adam step, one epoch, and
the test ELBO after training, against the same model written in PyTorch. float32.

Three measurements, each contender in fresh processes taking turns (see mlp_step.py for why):
- step: forward (encoder, reparameterisation, decoder, BCE and closed-form KL), backward, Adam,
  at batch 128 and 1024; with ``--cupy`` also minibayes on CuPy and PyTorch CUDA;
- epoch (``--epoch``): one shuffled pass over Fashion-MNIST's 60,000 training images at batch 128;
- quality (``--train-epochs N``): both trained N epochs from the same initial weights and the
  same minibatch order, then both scored by the same code (minibayes' ELBO on the 10,000 test
  images, estimator B, L = 1, averaged over 5 passes); the aim is a gap under 2 nats per image.

Usage: python benchmarks/vae_step.py [--quick] [--cupy] [--processes N] [--epoch] [--train-epochs N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import minibayes as mb  # noqa: E402
from benchmarks._timing import machine_line, median_step_seconds, run_fresh, step_times_in_turns  # noqa: E402
from minibayes import optim  # noqa: E402
from minibayes.data import images_to_float, load_fashion_mnist_or_small  # noqa: E402
from minibayes.models import make_mlp_vae  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

N_FEATURES, HIDDEN, LATENT = 784, 400, 20
CONTENDERS = ("minibayes", "torch", "minibayes_cupy", "torch_cuda")


# --------------------------------------------------------------------------- the two models
def minibayes_vae(backend_name: str = "numpy"):
    with mb.using(backend_name):
        mb.seed(0)
        vae = make_mlp_vae(N_FEATURES, HIDDEN, LATENT, validate_args=False)
    return vae


class TorchVAE(torch.nn.Module if torch is not None else object):
    """The same network and loss in PyTorch: -ELBO per image = BCE summed over pixels + KL (K&W eq. 10)."""

    def __init__(self):
        super().__init__()
        self.encoder = torch.nn.Sequential(torch.nn.Linear(N_FEATURES, HIDDEN), torch.nn.ReLU(),
                                           torch.nn.Linear(HIDDEN, 2 * LATENT))
        self.decoder = torch.nn.Sequential(torch.nn.Linear(LATENT, HIDDEN), torch.nn.ReLU(),
                                           torch.nn.Linear(HIDDEN, N_FEATURES))

    def loss(self, x):
        out = self.encoder(x)
        mu, log_var = out[:, :LATENT], out[:, LATENT:]
        log_var = 30.0 * torch.tanh(log_var / 30.0)       # minibayes' default soft clamp, for the same model
        z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
        logits = self.decoder(z)
        nll = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
        kl = 0.5 * (log_var.exp() + mu * mu - 1.0 - log_var).sum() / len(x)
        return nll + kl


def torch_vae_like(vae, device="cpu"):
    """A TorchVAE holding copies of the minibayes VAE's weights (nn.Linear stores W transposed)."""
    torch.manual_seed(0)
    model = TorchVAE()
    ours = [vae.encoder[0], vae.encoder[2], vae.decoder[0], vae.decoder[2]]
    theirs = [model.encoder[0], model.encoder[2], model.decoder[0], model.decoder[2]]
    with torch.no_grad():
        for mine, layer in zip(ours, theirs):
            layer.weight.copy_(torch.from_numpy(mb.to_numpy(mine.weight.data).T.copy()))
            layer.bias.copy_(torch.from_numpy(mb.to_numpy(mine.bias.data).copy()))
    return model.to(device)


def copy_torch_into(model, vae) -> None:
    ours = [vae.encoder[0], vae.encoder[2], vae.decoder[0], vae.decoder[2]]
    theirs = [model.encoder[0], model.encoder[2], model.decoder[0], model.decoder[2]]
    for mine, layer in zip(ours, theirs):
        mine.weight.data[...] = mb.asarray(layer.weight.detach().cpu().numpy().T)
        mine.bias.data[...] = mb.asarray(layer.bias.detach().cpu().numpy())


def minibayes_stepper(x: np.ndarray, backend_name: str = "numpy"):
    vae = minibayes_vae(backend_name)
    with mb.using(backend_name):
        optimizer = optim.Adam(vae.parameters(), lr=1e-3)
        device_x = mb.asarray(x)

    def step(batch=None):
        with mb.using(backend_name):
            optimizer.zero_grad()
            vae.loss(device_x if batch is None else batch).backward()
            optimizer.step()

    return step, vae


def torch_stepper(x: np.ndarray, device: str = "cpu"):
    model = torch_vae_like(minibayes_vae(), device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    device_x = torch.from_numpy(x).to(device)

    def step(batch=None):
        optimizer.zero_grad()
        model.loss(device_x if batch is None else batch).backward()
        optimizer.step()

    return step, model


# --------------------------------------------------------------------------- measurements
def time_step(name: str, batch_size: int, steps: int, repeats: int) -> float:
    x = (np.random.default_rng(0).random((batch_size, N_FEATURES), dtype=np.float32) < 0.3).astype(np.float32)
    if name == "minibayes":
        return median_step_seconds(minibayes_stepper(x)[0], steps, repeats)
    if name == "torch":
        return median_step_seconds(torch_stepper(x)[0], steps, repeats)
    if name == "minibayes_cupy":
        import cupy

        return median_step_seconds(minibayes_stepper(x, "cupy")[0], steps, repeats, cupy.cuda.Device().synchronize)
    if name == "torch_cuda":
        return median_step_seconds(torch_stepper(x, "cuda")[0], steps, repeats, torch.cuda.synchronize)
    raise ValueError(f"unknown contender {name!r}")


def training_images() -> tuple[np.ndarray, np.ndarray]:
    splits = [load_fashion_mnist_or_small(split) for split in ("train", "test")]
    return tuple(images_to_float(x).reshape(len(x), -1) for x, _ in splits)


def train(name: str, epochs: int, batch_size: int = 128) -> dict:
    """Train one contender for ``epochs`` shuffled passes (the same order for both); time each epoch."""
    x_train, x_test = training_images()
    order = np.random.default_rng(0)
    if name == "minibayes":
        step, model = minibayes_stepper(x_train[:batch_size])
        to_batch = mb.asarray
    else:
        torch.manual_seed(0)
        step, model = torch_stepper(x_train[:batch_size])
        to_batch = torch.from_numpy
    seconds = []
    for _ in range(epochs):
        permutation = order.permutation(len(x_train))
        start = time.perf_counter()
        for first in range(0, len(x_train), batch_size):
            step(to_batch(x_train[permutation[first: first + batch_size]]))
        seconds.append(time.perf_counter() - start)
    vae = model if name == "minibayes" else minibayes_vae()
    if name != "minibayes":
        copy_torch_into(model, vae)
    mb.seed(1)
    with mb.no_grad():
        test_elbo = statistics.mean(
            statistics.mean(vae.elbo(x_test[i: i + 1000]).elbo.item() for i in range(0, len(x_test), 1000))
            for _ in range(5))
    return {"epoch_seconds": seconds, "test_elbo": test_elbo, "images": len(x_train)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cupy", action="store_true", help="also time the CuPy backend and PyTorch CUDA")
    parser.add_argument("--processes", type=int, default=5)
    parser.add_argument("--epoch", action="store_true", help="also time one epoch of Fashion-MNIST per contender")
    parser.add_argument("--train-epochs", type=int, default=0, help="train both N epochs and compare test ELBOs")
    parser.add_argument("--only", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--train-only", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    # Every process (contenders run in fresh ones) recycles freed host memory, as it did when
    # importing minibayes set it: train.fit applies the same policy.
    mb.backend.apply_host_memory_policy()
    steps, repeats = (5, 3) if args.quick else (20, 7)
    threads = os.cpu_count()
    if torch is not None:
        torch.set_num_threads(threads)
    if args.only and args.train_only:
        print(json.dumps(train(args.only, args.train_only)))
        return 0
    if args.only:
        print(json.dumps(time_step(args.only, args.batch, steps, repeats)))
        return 0
    if torch is None:
        print("PyTorch is not installed: `pip install torch==2.13.0` (CPU build) gives the peer.", file=sys.stderr)
        return 1

    names = ["minibayes", "torch"] + (["minibayes_cupy", "torch_cuda"] if args.cupy else [])
    rows = step_times_in_turns(__file__, names, (128, 1024), args.processes, ["--quick"] if args.quick else [])
    print(machine_line(torch) + "\n")
    print("| batch | minibayes (NumPy) | PyTorch CPU | minibayes / PyTorch |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['batch']} | {r['minibayes'] * 1e3:.2f} ms | {r['torch'] * 1e3:.2f} ms | "
              f"{r['minibayes'] / r['torch']:.2f}x |")
    if args.cupy:
        print("\n| batch | minibayes (CuPy) | PyTorch CUDA | ratio |\n|---|---|---|---|")
        for r in rows:
            print(f"| {r['batch']} | {r['minibayes_cupy'] * 1e3:.3f} ms | {r['torch_cuda'] * 1e3:.3f} ms | "
                  f"{r['minibayes_cupy'] / r['torch_cuda']:.2f}x |")
    epochs = max(args.train_epochs, 1 if args.epoch else 0)
    if epochs:
        results = {name: run_fresh(__file__, ["--only", name, "--train-only", str(epochs)]) for name in ("minibayes", "torch")}
        ours, theirs = results["minibayes"], results["torch"]
        print(f"\nFashion-MNIST, {ours['images']} training images, batch 128, {epochs} epoch(s), same initial "
              "weights and minibatch order\n")
        print("| | minibayes (NumPy) | PyTorch CPU | ratio or gap |\n|---|---|---|---|")
        first_ours, first_theirs = statistics.median(ours["epoch_seconds"]), statistics.median(theirs["epoch_seconds"])
        print(f"| median epoch | {first_ours:.2f} s | {first_theirs:.2f} s | {first_ours / first_theirs:.2f}x |")
        print(f"| test ELBO after {epochs} epoch(s) (nats/image) | {ours['test_elbo']:.2f} | "
              f"{theirs['test_elbo']:.2f} | {ours['test_elbo'] - theirs['test_elbo']:+.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
