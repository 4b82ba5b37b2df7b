"""Normalising flows: change of variables, two moons (RealNVP and MAF), Fashion-MNIST (lecture 000 flows).

    python demos/flows.py [--quick] [--out DIR] [--seed N] [--backend numpy|cupy] [--moons-epochs N]
                          [--fashion-epochs N] [--batch-size N] [--lr LR] [--data DIR] [--parts LIST]

1. The lecture's change of variables in 1-D: z ~ N(0, 1) pushed through the inverse of a monotone
   map z = f(x), so p_x(x) = p_z(f(x)) |dz/dx| with |dz/dx| from the engine's autograd; the
   density is checked against a histogram of the pushed samples and integrated numerically.
2. Two moons as in the course's notebook (``two_moons(10000, noise=0.05)``, raw coordinates):
   a RealNVP (8 ActNorm + affine coupling steps, alternating masks) and a MAF (8 MADE layers,
   reversed orders between them) trained by maximum likelihood with Adam (cosine-decayed rate); test NLL in nats per point on a fresh
   10,000-point draw, beside the NLL of the true density (the generator's, by quadrature over
   the arcs): the floor no model can beat except by chance. Figures: density heat-maps, samples,
   and the data pushed through each layer back to the Gaussian.
3. Fashion-MNIST: a dense RealNVP (couplings with checkerboard masks) on uniformly
   dequantised, logit-transformed pixels; test bits per dimension (the dequantisation's 8 bits
   and the logit's log-determinant counted, ``flows.bits_per_dim``) and samples at
   temperatures 1.0 and 0.7.

Figures (OUT/...png): flows_change_of_variables.png, flows_moons_density.png,
flows_moons_samples.png, flows_moons_layers_realnvp.png, flows_moons_layers_maf.png,
flows_moons_training.png, flows_fashion_samples.png. ``--quick`` trains briefly on 2,000 moons
and the shipped 2,000 / 500 image subset.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402  (host-side data, quadrature and figures only)
from scipy.special import logsumexp  # noqa: E402

import minibayes as mb  # noqa: E402
from minibayes import flows, optim  # noqa: E402
from minibayes.data import load_fashion_mnist, load_fashion_mnist_or_small, two_moons  # noqa: E402

MOONS_NOISE = 0.05


# --------------------------------------------------------------------------- 1. change of variables
def monotone_map(x):
    """z = f(x) = x + 0.8 tanh(2 x) - 0.5: strictly increasing (f' = 1 + 1.6 sech^2(2x) > 0)."""
    return x + 0.8 * mb.tanh(2.0 * x) - 0.5


def change_of_variables(path: Path, rng: np.random.Generator) -> dict:
    """p_x(x) = p_z(f(x)) |df/dx| on a grid, against a histogram of x = f^-1(z), z ~ N(0, 1)."""
    grid = np.linspace(-5.0, 5.0, 2001)
    x = mb.tensor(grid, dtype="float64", requires_grad=True)
    z = monotone_map(x)
    (slope,) = mb.grad(mb.sum(z), x)  # f acts elementwise, so the gradient of the sum is df/dx
    z, slope = z.numpy(), slope.numpy()
    p_z = np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)
    p_x = p_z * np.abs(slope)
    integral = float(np.sum(p_x) * (grid[1] - grid[0]))
    # Samples of x by inverting f by bisection (f is increasing): independent of the formula.
    draws = rng.standard_normal(200_000)
    low, high = np.full_like(draws, -10.0), np.full_like(draws, 10.0)
    for _ in range(60):
        middle = 0.5 * (low + high)
        above = monotone_map(mb.tensor(middle, dtype="float64")).numpy() > draws
        high, low = np.where(above, middle, high), np.where(above, low, middle)
    samples = 0.5 * (low + high)
    counts, edges = np.histogram(samples, bins=80, range=(-5, 5), density=True)
    centres = 0.5 * (edges[1:] + edges[:-1])
    histogram_error = float(np.max(np.abs(counts - np.interp(centres, grid, p_x))))

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    axes[0].plot(grid, np.exp(-0.5 * grid**2) / math.sqrt(2 * math.pi))
    axes[0].set_title("base density p_z(z) = N(0, 1)")
    axes[0].set_xlabel("z")
    axes[1].plot(grid, z, label="z = f(x)")
    axes[1].plot(grid, slope, label="|dz/dx| (autograd)")
    axes[1].legend()
    axes[1].set_title("monotone map and its derivative")
    axes[1].set_xlabel("x")
    axes[2].bar(centres, counts, width=edges[1] - edges[0], alpha=0.4, label="x = f^-1(z), z ~ p_z")
    axes[2].plot(grid, p_x, "k", label="p_z(f(x)) |dz/dx|")
    axes[2].legend()
    axes[2].set_title(f"p_x(x); integral {integral:.4f}")
    axes[2].set_xlabel("x")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"change of variables: integral of p_x = {integral:.5f}, largest histogram gap {histogram_error:.4f}")
    return {"integral": integral, "histogram_error": histogram_error}


# --------------------------------------------------------------------------- 2. two moons
def true_moons_log_density(x: np.ndarray, noise: float = MOONS_NOISE, n_angles: int = 2000) -> np.ndarray:
    """log p(x) of the generator: an even mixture of the two arcs, each uniform in angle, blurred by N(0, noise^2 I).

    p(x) = (1/2) sum_arc (1/pi) int_0^pi N(x | c_arc(a), noise^2 I) da, by the midpoint rule in a
    (the arc step pi / n_angles = 0.0016 is 30 times finer than the noise, so the rule is exact
    to many digits). Evaluated in chunks of points to bound memory.
    """
    angles = (np.arange(n_angles) + 0.5) * np.pi / n_angles
    centres = np.concatenate([np.stack([np.cos(angles), np.sin(angles)], 1),
                              np.stack([1 - np.cos(angles), 0.5 - np.sin(angles)], 1)])
    result = np.empty(len(x))
    for start in range(0, len(x), 1000):
        chunk = x[start: start + 1000]
        squared = ((chunk[:, None, :] - centres[None]) ** 2).sum(-1)
        log_kernel = -squared / (2 * noise**2) - math.log(2 * math.pi * noise**2)
        result[start: start + 1000] = logsumexp(log_kernel, axis=1) - math.log(2 * n_angles)
    return result


def train_flow(flow, x_train: np.ndarray, x_test: np.ndarray, epochs: int, batch_size: int, lr: float,
               rng: np.random.Generator, name: str) -> dict:
    """Adam on the mean NLL; per epoch the train NLL (running mean) and the test NLL, nats per point."""
    optimizer = optim.Adam(flow.parameters(), lr=lr)
    steps_per_epoch = math.ceil(len(x_train) / batch_size)
    total_steps = epochs * steps_per_epoch
    history = {"train_nll": [], "test_nll": [evaluate_nll(flow, x_test)]}
    step = 0
    for epoch in range(epochs):
        order = rng.permutation(len(x_train))
        running = None
        for start in range(0, len(x_train), batch_size):
            # Cosine decay of the learning rate: large steps first, fine ones at the end.
            optimizer.hyperparameters["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / total_steps))
            batch = mb.asarray(x_train[order[start: start + batch_size]], dtype=mb.get_default_dtype())
            optimizer.zero_grad()
            loss = flow.loss(batch)
            loss.backward()
            optimizer.step()
            running = loss.detach() if running is None else running + loss.detach()  # no device read per step
            step += 1
        history["train_nll"].append(running.item() / steps_per_epoch)
        history["test_nll"].append(evaluate_nll(flow, x_test))
        if epoch == epochs - 1 or epoch % max(1, epochs // 5) == 0:
            print(f"{name:>8} epoch {epoch + 1:3d}: train NLL {history['train_nll'][-1]:.3f}, "
                  f"test NLL {history['test_nll'][-1]:.3f} nats/point")
    return history


def evaluate_nll(flow, x: np.ndarray, batch_size: int = 5000) -> float:
    total = 0.0
    with mb.no_grad():
        flow.eval()
        for start in range(0, len(x), batch_size):
            total -= float(mb.to_numpy(flow.log_prob(x[start: start + batch_size]).data).sum())
        flow.train()
    return total / len(x)


def moons_figures(models: dict, x_data: np.ndarray, labels: np.ndarray, out: Path, true_nll: float) -> None:
    lo, hi = np.array([-1.5, -1.0]), np.array([2.5, 1.5])
    a, b = np.meshgrid(np.linspace(lo[0], hi[0], 300), np.linspace(lo[1], hi[1], 200))
    points = np.stack([a.ravel(), b.ravel()], 1)
    fig, axes = plt.subplots(1, 1 + len(models), figsize=(4.6 * (1 + len(models)), 3.4))
    axes[0].imshow(np.exp(true_moons_log_density(points)).reshape(a.shape), origin="lower",
                   extent=(lo[0], hi[0], lo[1], hi[1]), aspect="auto")
    axes[0].set_title(f"true density (test NLL {true_nll:.3f})")
    for axis, (name, (flow, history)) in zip(axes[1:], models.items()):
        with mb.no_grad():
            flow.eval()
            density = np.exp(mb.to_numpy(flow.log_prob(points).data)).reshape(a.shape)
        axis.imshow(density, origin="lower", extent=(lo[0], hi[0], lo[1], hi[1]), aspect="auto")
        axis.set_title(f"{name} density (test NLL {history['test_nll'][-1]:.3f})")
    fig.tight_layout()
    fig.savefig(out / "flows_moons_density.png", dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 1 + len(models), figsize=(4.6 * (1 + len(models)), 3.4))
    axes[0].scatter(*x_data[:2000].T, s=2, c=labels[:2000], cmap="coolwarm")
    axes[0].set_title("data (2,000 points)")
    for axis, (name, (flow, _)) in zip(axes[1:], models.items()):
        samples = mb.to_numpy(flow.sample(2000).data)
        axis.scatter(*samples.T, s=2, color="k")
        axis.set_title(f"{name} samples")
    for axis in axes:
        axis.set_xlim(lo[0], hi[0])
        axis.set_ylim(lo[1], hi[1])
    fig.tight_layout()
    fig.savefig(out / "flows_moons_samples.png", dpi=110)
    plt.close(fig)

    for name, (flow, _) in models.items():
        with mb.no_grad():
            states = [mb.to_numpy(s.data) for s in flow.trace(x_data[:2000])]
        cols = 5
        rows = math.ceil(len(states) / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(3.0 * cols, 2.8 * rows), squeeze=False)
        for index, axis in enumerate(axes.ravel()):
            if index >= len(states):
                axis.axis("off")
                continue
            axis.scatter(*states[index].T, s=1, c=labels[:2000], cmap="coolwarm")
            title = "data x" if index == 0 else f"after {type(flow.chain[index - 1]).__name__} {index}"
            axis.set_title(title if index < len(states) - 1 else f"{title} = z", fontsize=8)
        fig.suptitle(f"{name}: the data pushed through each layer to the Gaussian")
        fig.tight_layout()
        fig.savefig(out / f"flows_moons_layers_{name.lower()}.png", dpi=100)
        plt.close(fig)

    fig, axis = plt.subplots(figsize=(6, 3.6))
    for name, (_, history) in models.items():
        axis.plot(range(1, len(history["train_nll"]) + 1), history["train_nll"], label=f"{name} train")
        axis.plot(range(len(history["test_nll"])), history["test_nll"], "--", label=f"{name} test")
    axis.axhline(true_nll, color="k", lw=0.8, label="true density (floor)")
    axis.set_ylim(true_nll - 0.2, true_nll + 2.5)
    axis.set_xlabel("epoch")
    axis.set_ylabel("NLL, nats per point")
    axis.legend()
    fig.tight_layout()
    fig.savefig(out / "flows_moons_training.png", dpi=110)
    plt.close(fig)


def two_moons_part(args, out: Path, quick: bool) -> dict:
    n_train = 2000 if quick else 10_000
    x_train, _ = two_moons(n_train, noise=MOONS_NOISE, seed=args.seed)
    x_test, labels = two_moons(10_000, noise=MOONS_NOISE, seed=args.seed + 1)   # a fresh draw
    true_nll = float(-true_moons_log_density(x_test).mean())
    epochs = args.moons_epochs if args.moons_epochs is not None else (8 if quick else 150)
    rng = np.random.default_rng(args.seed)
    # Full runs: the sizes that came closest to the floor in a few trials (RealNVP with ActNorm
    # 0.36, MAF 0.33 nats/point against 0.285); quick runs: smaller and faster.
    hidden, maf_layers = ((64, 64), 5) if quick else ((128, 128), 8)
    models = {
        "RealNVP": flows.make_realnvp(2, 8, hidden=hidden, actnorm=True, validate_args=False),
        "MAF": flows.make_maf(2, maf_layers, hidden=hidden, validate_args=False),
    }
    print(f"two moons: {n_train} training points, test on a fresh 10,000; true density's test NLL "
          f"{true_nll:.3f} nats/point")
    trained = {}
    for name, flow in models.items():
        history = train_flow(flow, x_train, x_test, epochs, args.batch_size, args.lr or 2e-3, rng, name)
        trained[name] = (flow, history)
    moons_figures(trained, x_test, labels, out, true_nll)
    return {"true_nll": true_nll, **{name.lower(): history for name, (_, history) in trained.items()}}


# --------------------------------------------------------------------------- 3. Fashion-MNIST
def fashion_part(args, out: Path, quick: bool) -> dict:
    if quick:
        (x_train, _), (x_test, _) = (load_fashion_mnist(split, subset="small") for split in ("train", "test"))
    else:
        (x_train, _), (x_test, _) = (load_fashion_mnist_or_small(split, path=args.data) for split in ("train", "test"))
    x_train, x_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
    dim = x_train.shape[1]
    n_layers, hidden = (4, (256,)) if quick else (8, (1024,))
    masks = [flows.checkerboard_mask(28, 28, flip=bool(k % 2)) for k in range(n_layers)]
    # Near-constant pixels (the corners, 0 in almost every image) invite scales large enough that
    # a rare image lit there lands thousands of standard deviations out, and one such image sets
    # the mean NLL: with ActNorm's data-dependent start (scales ~50 at once) a validation image
    # reached 7,497 bits/dim after 100 steps in a trial; without ActNorm but with s bounded by 3
    # per coupling (a factor up to e^12 per pixel over the 4 couplings that transform it), the
    # validation mean was 964 bits/dim after an epoch (train 5.6). The bound 1 still allows the
    # factor e^4 ~ 55 that a pixel uniform on one grey level needs to become N(0, 1).
    flow = flows.make_realnvp(dim, n_layers, hidden=hidden, masks=masks, actnorm=False, scale_bound=1.0,
                              preprocess=[flows.LogitTransform(dim, alpha=0.05)], validate_args=False)
    lr = args.lr or 1e-3
    optimizer = optim.Adam(flow.parameters(), lr=lr)
    # Five epochs: about an hour on one loaded CPU core (a step is ~0.07 s at two threads quiet).
    epochs = args.fashion_epochs if args.fashion_epochs is not None else (2 if quick else 5)
    # A rare image far in the tail gives one batch an enormous gradient (batch NLLs of 1e8
    # bits/dim at lr 1e-3 in trials with ActNorm); clipping the gradient norm keeps one such
    # batch from wrecking the weights, and leaves the NLL itself untouched.
    max_grad_norm = 50.0
    # As Papamakarios et al. (2017, section 4): the last 10% of the training images are a
    # validation set and the model kept is the epoch with the best validation NLL; the learning
    # rate decays along a cosine to zero.
    n_valid = len(x_train) // 10
    x_train, x_valid = x_train[:-n_valid], x_train[-n_valid:]

    def per_image_nll(x: np.ndarray) -> np.ndarray:
        """-log p(x) in nats for each dequantised image (fixed noise: the same draw at every call)."""
        values = []
        with mb.no_grad(), mb.backend.seeded(12345):
            flow.eval()
            for start in range(0, len(x), 500):
                y = flows.dequantize(x[start: start + 500])
                values.append(-mb.to_numpy(flow.log_prob(y).data))
            flow.train()
        return np.concatenate(values).astype(np.float64)

    def bpd(nll: float) -> float:
        return float(flows.bits_per_dim(nll, dim))

    print(f"Fashion-MNIST: {len(x_train)} train / {n_valid} validation / {len(x_test)} test images; RealNVP with "
          f"{n_layers} couplings, hidden {hidden}; bits per dimension")
    history = {"train_bpd": [], "valid_bpd": [bpd(per_image_nll(x_valid).mean())]}  # [0]: before training
    batch_size = 128
    rng = np.random.default_rng(args.seed)
    started, step = time.time(), 0
    total_steps = epochs * math.ceil(len(x_train) / batch_size)
    best = (math.inf, None, 0)        # (validation bpd, parameters, epoch)
    for epoch in range(epochs):
        order, running, steps = rng.permutation(len(x_train)), None, 0
        for start in range(0, len(x_train), batch_size):
            optimizer.hyperparameters["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / total_steps))
            y = flows.dequantize(x_train[order[start: start + batch_size]])  # fresh noise every epoch
            optimizer.zero_grad()
            loss = flow.loss(y)
            loss.backward()
            optim.clip_grad_norm_(flow.parameters(), max_grad_norm)
            optimizer.step()
            running = loss.detach() if running is None else running + loss.detach()
            steps, step = steps + 1, step + 1
        history["train_bpd"].append(bpd(running.item() / steps))
        history["valid_bpd"].append(bpd(per_image_nll(x_valid).mean()))
        if history["valid_bpd"][-1] < best[0]:
            best = (history["valid_bpd"][-1], {k: v.copy() for k, v in flow.state_dict().items()}, epoch + 1)
        print(f"  epoch {epoch + 1}: train {history['train_bpd'][-1]:.3f}, validation {history['valid_bpd'][-1]:.3f} "
              f"bits/dim ({time.time() - started:.0f} s)", flush=True)
    flow.load_state_dict(best[1])
    test_nll = per_image_nll(x_test)
    history.update(best_epoch=best[2], test_bpd=bpd(test_nll.mean()), test_bpd_median_image=bpd(float(np.median(test_nll))))
    print(f"  kept epoch {best[2]}: test {history['test_bpd']:.3f} bits/dim (median image "
          f"{history['test_bpd_median_image']:.3f})", flush=True)
    flow.eval()
    rows = []
    for temperature in (1.0, 0.7):
        images = mb.to_numpy(flow.sample(10, temperature=temperature).data).reshape(10, 28, 28)
        rows.append(np.concatenate(list(np.clip(images, 0, 1)), axis=1))
    fig, axis = plt.subplots(figsize=(10, 2.4))
    axis.imshow(np.concatenate(rows), cmap="gray_r")
    axis.set_title("RealNVP samples, temperature 1.0 (top) and 0.7 (bottom); "
                   f"test {history['test_bpd']:.2f} bits/dim")
    axis.axis("off")
    fig.tight_layout()
    fig.savefig(out / "flows_fashion_samples.png", dpi=110)
    plt.close(fig)
    finite = bool(np.all(np.isfinite(np.concatenate(rows))))
    return {**history, "samples_finite": finite, "n_train": len(x_train)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy", choices=["numpy", "cupy"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="2,000 moons, the shipped image subset, short training")
    parser.add_argument("--out", default="demos/out/flows", help="folder of the PNGs (created)")
    parser.add_argument("--moons-epochs", type=int, default=None, help="default 150, or 8 with --quick")
    parser.add_argument("--fashion-epochs", type=int, default=None, help="default 5, or 2 with --quick")
    parser.add_argument("--batch-size", type=int, default=256, help="two-moons batch size")
    parser.add_argument("--lr", type=float, default=None,
                        help="Adam's peak learning rate (default 2e-3 for the moons, 1e-3 for Fashion-MNIST)")
    parser.add_argument("--data", default=None, help="folder of the Fashion-MNIST IDX files")
    parser.add_argument("--parts", default="change,moons,fashion",
                        help="comma-separated parts to run (change, moons, fashion); default all")
    args = parser.parse_args(argv)
    parts = set(args.parts.split(","))
    if not parts or not parts <= {"change", "moons", "fashion"}:
        parser.error(f"--parts must name some of change, moons, fashion, got {args.parts!r}")
    for name, value in (("--moons-epochs", args.moons_epochs), ("--fashion-epochs", args.fashion_epochs),
                        ("--batch-size", args.batch_size)):
        if value is not None and value <= 0:
            parser.error(f"{name} must be positive, got {value}")

    with mb.using(args.backend):
        mb.seed(args.seed)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        summary = {}
        if "change" in parts:
            summary["change_of_variables"] = change_of_variables(out / "flows_change_of_variables.png",
                                                                 np.random.default_rng(args.seed))
        if "moons" in parts:
            summary["moons"] = two_moons_part(args, out, args.quick)
        if "fashion" in parts:
            summary["fashion"] = fashion_part(args, out, args.quick)
        seconds = time.perf_counter() - start
    print(f"done in {seconds:.1f} s; wrote the figures to {out}")
    return {**summary, "seconds": seconds, "out": out}


if __name__ == "__main__":
    main()
