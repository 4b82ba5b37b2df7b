"""MC-dropout prediction: T = 100 stochastic passes of a 784-400-400-10 ReLU network (dropout 0.5
before the two last layers) over Fashion-MNIST test images, batched over T, against PyTorch.

minibayes runs ``models.predict_mc(model, x, 100, task="classification")`` (T copies of each chunk
of images in one pass of at most 8,192 rows; probabilities, entropies and mutual information);
PyTorch runs the same network in train mode under ``torch.no_grad()`` on the same chunks, then the
same softmax average and entropies. float32, each contender in fresh processes taking turns.

Usage: python benchmarks/mc_predict.py [--quick] [--cupy] [--processes N] [--images N]
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
from benchmarks._timing import machine_line, run_fresh  # noqa: E402
from minibayes import nn  # noqa: E402
from minibayes.data import images_to_float, load_fashion_mnist_or_small  # noqa: E402
from minibayes.models import predict_mc  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

T, ROWS = 100, 8192
CONTENDERS = ("minibayes", "torch", "minibayes_cupy", "torch_cuda")


def test_images(n: int) -> np.ndarray:
    images, _ = load_fashion_mnist_or_small("test")
    return images_to_float(images).reshape(len(images), -1)[:n]


def minibayes_predict(x: np.ndarray, backend_name: str = "numpy"):
    with mb.using(backend_name):
        mb.seed(0)
        model = nn.Sequential(nn.Dense(784, 400), nn.ReLU(), nn.Dropout(0.5), nn.Dense(400, 400), nn.ReLU(),
                              nn.Dropout(0.5), nn.Dense(400, 10)).eval()
        xd = mb.asarray(x)

    def run():
        with mb.using(backend_name):
            return predict_mc(model, xd, T, task="classification").mutual_information

    return run


def torch_predict(x: np.ndarray, device: str = "cpu"):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 400), torch.nn.ReLU(), torch.nn.Dropout(0.5),
                                torch.nn.Linear(400, 400), torch.nn.ReLU(), torch.nn.Dropout(0.5),
                                torch.nn.Linear(400, 10)).to(device).train()
    xt = torch.from_numpy(x).to(device)
    chunk = max(1, ROWS // T)

    def run():
        with torch.no_grad():
            outputs = []
            for start in range(0, len(xt), chunk):
                rows = xt[start: start + chunk]
                outputs.append(model(rows.repeat(T, 1)).reshape(T, len(rows), 10))
            p = torch.softmax(torch.cat(outputs, dim=1), dim=2)
            mean = p.mean(0)
            predictive = -(mean * mean.clamp_min(1e-30).log()).sum(1)
            expected = -(p * p.clamp_min(1e-30).log()).sum(2).mean(0)
            return predictive - expected

    return run


def time_one(name: str, images: int, repeats: int) -> float:
    x = test_images(images)
    if name == "minibayes":
        run, sync = minibayes_predict(x), lambda: None
    elif name == "torch":
        run, sync = torch_predict(x), lambda: None
    elif name == "minibayes_cupy":
        import cupy

        run, sync = minibayes_predict(x, "cupy"), cupy.cuda.Device().synchronize
    else:
        run, sync = torch_predict(x, "cuda"), torch.cuda.synchronize
    run()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 images, 1 repeat")
    parser.add_argument("--cupy", action="store_true")
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--images", type=int, default=None, help="test images (10,000, or 1,000 quick)")
    parser.add_argument("--only", choices=CONTENDERS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    images = args.images or (1000 if args.quick else 10_000)
    repeats = 1 if args.quick else 3
    threads = os.cpu_count()
    if torch is not None:
        torch.set_num_threads(threads)
    if args.only:
        if args.only.startswith("minibayes"):
            mb.backend.apply_host_memory_policy()   # as the engine runs its own work: freed host memory recycled
        print(json.dumps(time_one(args.only, images, repeats)))
        return 0
    if torch is None:
        print("PyTorch is not installed: `pip install torch==2.13.0` (CPU build) gives the peer.", file=sys.stderr)
        return 1
    names = ["minibayes", "torch"] + (["minibayes_cupy", "torch_cuda"] if args.cupy else [])
    per_process = {name: [] for name in names}
    for _ in range(args.processes):
        for name in names:
            per_process[name].append(run_fresh(__file__, ["--only", name, "--images", str(images)]
                                               + (["--quick"] if args.quick else [])))
    times = {name: statistics.median(values) for name, values in per_process.items()}
    print(f"{machine_line(torch)} · {images} images x T = {T}\n")
    print("| minibayes (NumPy) | PyTorch CPU | minibayes / PyTorch |\n|---|---|---|")
    print(f"| {times['minibayes']:.2f} s | {times['torch']:.2f} s | {times['minibayes'] / times['torch']:.2f}x |")
    if args.cupy:
        print(f"\n| minibayes (CuPy) | PyTorch CUDA | ratio |\n|---|---|---|\n| {times['minibayes_cupy']:.3f} s | "
              f"{times['torch_cuda']:.3f} s | {times['minibayes_cupy'] / times['torch_cuda']:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
