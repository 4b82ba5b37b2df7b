"""Generative adversarial nets (Goodfellow et al. 2014; seed Day 3): the 1-D game, mode coverage on the
ring of Gaussians, and an MLP GAN on Fashion-MNIST.

    python demos/gan.py [--quick] [--out DIR] [--seed N] [--backend numpy|cupy] [--seeds N]
                        [--ring-iterations N] [--oned-iterations N] [--epochs N] [--data DIR]

1. The seeds' 1-D picture (Goodfellow Figure 1): p_data = N(2, 0.5^2), a 1-16-16-1 generator from
   z ~ N(0, 1) and a 1-32-32-1 discriminator trained by Algorithm 1 (k = 1, non-saturating loss).
   At several stages: the data density, the generator's density (a kernel density estimate from 4,000 draws), the
   discriminator D(x) and the optimal D*(x) = p_data / (p_data + p_g) (Proposition 1) beside it,
   with JSD(p_data || p_g) and C(G) = -log 4 + 2 JSD (eqs. 4-6) by quadrature in the title.
2. The ring of 8 Gaussians (radius 2, std 0.02; Metz et al. 2017): the minimax, non-saturating and
   WGAN-GP variants with the same networks (2-layer MLPs of width 128, N(0, 0.02^2) weights),
   samples over training, and the modes captured and high-quality fraction
   (``models.mode_coverage``) over ``--seeds`` seeds. The settings and their sources are written
   above ``RING_SETTINGS``.
3. Fashion-MNIST (the shipped 2,000-image subset with ``--quick``, the full set when installed):
   a 100-256-512-784 generator and 784-512-256-1 discriminator (pixels scaled to [-1, 1], tanh
   output), samples after each epoch and the loss curves of both players. Default 10 epochs of
   len(images) / 64 iterations (Algorithm 1, k = 1, batch 64): one iteration is ~10 ms on a quiet
   core but measured ~95 ms on the shared 2-core machine under load, where 20 epochs would take
   half an hour.

Figures (OUT/...png): gan_1d.png, gan_ring.png, gan_ring_coverage.png, gan_fashion_samples.png,
gan_fashion_losses.png.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402  (host-side figures and tables only)
from scipy import stats  # noqa: E402

import minibayes as mb  # noqa: E402
from minibayes import nn, optim  # noqa: E402
from minibayes.data import images_to_float, load_fashion_mnist, load_fashion_mnist_or_small  # noqa: E402
from minibayes.models import GAN, make_mlp_gan, mode_coverage, ring_centres, ring_of_gaussians, train_gan  # noqa: E402
from minibayes.models import gan_theory  # noqa: E402

VARIANTS = ("minimax", "non_saturating", "wgan_gp")
DATA_MEAN, DATA_STD = 2.0, 0.5


# --------------------------------------------------------------------------- 1. the 1-D game
def one_d_gan() -> GAN:
    generator = nn.Sequential(nn.Dense(1, 16), nn.Tanh(), nn.Dense(16, 16), nn.Tanh(), nn.Dense(16, 1, init="glorot"))
    discriminator = nn.Sequential(nn.Dense(1, 32), nn.Tanh(), nn.Dense(32, 32), nn.Tanh(),
                                  nn.Dense(32, 1, init="glorot"))
    return GAN(generator, discriminator, 1)


def one_d_stage(gan: GAN, grid: np.ndarray, edges: np.ndarray) -> dict:
    """Densities, D and D* on the grid at the current generator, and the game's values by quadrature."""
    samples = mb.to_numpy(gan.sample(4000)).ravel().astype(np.float64)
    # p_g by a Gaussian kernel density estimate: a histogram's empty bins would make D* jump to 1.
    p_g = stats.gaussian_kde(samples)(grid) if samples.std() > 1e-6 else np.histogram(samples, edges, density=True)[0]
    p_data = stats.norm(DATA_MEAN, DATA_STD).pdf(grid)
    with mb.no_grad():
        logits = mb.to_numpy(gan.logits(grid[:, None].astype(gan.dtype)).data).astype(np.float64)
    d = 1 / (1 + np.exp(-logits))
    jsd = gan_theory.jensen_shannon(p_data, p_g, grid)
    return {"p_g": p_g, "p_data": p_data, "D": d, "D_star": gan_theory.optimal_discriminator(p_data, p_g),
            "jsd": jsd, "criterion": gan_theory.virtual_training_criterion(p_data, p_g, grid),
            "value": gan_theory.value_function_on_grid(logits, p_data, p_g, grid)}


def run_one_d(iterations: int, seed: int, path: Path) -> dict:
    mb.seed(seed)
    gan = one_d_gan()
    rng = np.random.default_rng(seed)
    edges = np.linspace(-2.0, 6.0, 321)
    grid = 0.5 * (edges[1:] + edges[:-1])
    checkpoints = sorted({0, iterations // 10, iterations // 3, iterations})
    stages = {0: one_d_stage(gan, grid, edges)}
    train_gan(gan, lambda m: rng.normal(DATA_MEAN, DATA_STD, size=(m, 1)), iterations, batch_size=256,
              discriminator_optimizer=optim.Adam(gan.discriminator.parameters(), lr=2e-3, betas=(0.5, 0.999)),
              generator_optimizer=optim.Adam(gan.generator.parameters(), lr=2e-3, betas=(0.5, 0.999)),
              random_state=seed, callback=lambda i, g: stages.__setitem__(i, one_d_stage(g, grid, edges))
              if i in checkpoints else None, callback_every=1)
    fig, axes = plt.subplots(1, len(checkpoints), figsize=(4 * len(checkpoints), 3.4), sharey=True)
    for ax, step in zip(axes, checkpoints):
        s = stages[step]
        ax.plot(grid, s["p_data"], "k:", lw=2, label="p_data")
        ax.plot(grid, s["p_g"], "g-", label="p_g (kernel density of 4,000 draws)")
        ax.plot(grid, s["D"], "b--", label="D(x)")
        ax.plot(grid, s["D_star"], color="tab:orange", lw=1, label="D*(x) = p_data/(p_data+p_g)")
        ax.set(title=f"iteration {step}: JSD {s['jsd']:.3f}, C(G) {s['criterion']:.3f}", xlabel="x", ylim=(0, 1.6))
        ax.title.set_fontsize(9)
    axes[0].legend(fontsize=7, loc="upper left")
    fig.suptitle("Goodfellow et al. Figure 1: Algorithm 1 (k = 1, non-saturating G loss); C(G) = -log 4 + 2 JSD")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return {"iterations": checkpoints, "jsd": [stages[i]["jsd"] for i in checkpoints],
            "criterion": [stages[i]["criterion"] for i in checkpoints],
            "value": [stages[i]["value"] for i in checkpoints],
            "max_abs_d_minus_d_star": float(np.max(np.abs(stages[checkpoints[-1]]["D"] - stages[checkpoints[-1]]["D_star"])
                                                   [stages[checkpoints[-1]]["p_data"] > 0.05]))}


# --------------------------------------------------------------------------- 2. the ring
# Settings (one protocol for the three variants, chosen to fit a CPU budget of minutes, not the
# papers' 25,000-100,000 generator steps):
# - networks: Metz et al. (2017)'s ring sizes, G 16-128-128-2 (ReLU) and D 2-128-128-1 (LeakyReLU 0.2);
# - every weight drawn from N(0, 0.02^2), biases 0: Radford et al. (2016, section 4)'s initialisation,
#   also that of Gulrajani et al.'s toy-data code. It matters here: G starts as a point at the
#   origin that D's gradient spreads onto the ring, and mass that starts concentrated ends in
#   sharp modes. With He initialisation G starts as a blob of radius ~3, and in our runs of 1,500-3,000
#   steps it stayed one (minimax and WGAN-GP under 1% of samples within 3 std of a mode,
#   non-saturating 4-7%);
# - Adam(1e-3, betas (0.5, 0.999)), k = 1 for the minimax and non-saturating GANs; WGAN-GP with
#   Gulrajani et al.'s toy settings, k = 5 critic steps, betas (0.5, 0.9) and lambda = 0.1 ("smaller
#   lambda seems to help for toy tasks"), but lr 1e-3 instead of 1e-4 and half the plain GANs'
#   generator steps (each costs 5 critic steps with double backprop);
# - both learning rates decayed linearly to 0 over the run (Gulrajani et al.'s CIFAR-10 schedule),
#   so that each run ends at a settled generator rather than wherever its last oscillation left it.
RING_SETTINGS = {"minimax": dict(k=1, lr=1e-3, betas=(0.5, 0.999), share=1.0),
                 "non_saturating": dict(k=1, lr=1e-3, betas=(0.5, 0.999), share=1.0),
                 "wgan_gp": dict(k=5, lr=1e-3, betas=(0.5, 0.9), share=0.5)}
RING_PENALTY_WEIGHT = 0.1


def radford_normal(shape: tuple[int, ...], dtype: object) -> object:
    """N(0, 0.02^2) weights (Radford et al. 2016), from the seeded backend generator."""
    return 0.02 * mb.rng().standard_normal(shape, dtype=dtype)


def ring_gan(variant: str) -> GAN:
    """Metz et al.'s sizes: G 16-128-128-2 (ReLU), D 2-128-128-1 (LeakyReLU 0.2), N(0, 0.02^2) weights."""
    return make_mlp_gan(2, 16, (128, 128), (128, 128), output=None, objective=variant, init=radford_normal,
                        penalty_weight=RING_PENALTY_WEIGHT)


def ring_iterations_of(variant: str, iterations: int) -> int:
    """Generator steps of ``variant`` when the plain GANs take ``iterations``."""
    return max(1, round(RING_SETTINGS[variant]["share"] * iterations))


def ring_snapshots(iterations: int) -> list[int]:
    return sorted({max(1, iterations // 10), max(1, iterations // 3), iterations})


def run_ring(variant: str, seed: int, iterations: int) -> dict:
    """One seed of one variant: ``iterations`` generator steps with the settings of RING_SETTINGS."""
    mb.seed(seed)
    gan = ring_gan(variant)
    data_rng = np.random.default_rng(1000 + seed)
    settings = RING_SETTINGS[variant]
    optimizers = [optim.Adam(player.parameters(), lr=settings["lr"], betas=settings["betas"])
                  for player in (gan.discriminator, gan.generator)]
    snapshots, pictures = ring_snapshots(iterations), {}

    def after_iteration(i: int, g: GAN) -> None:
        for optimizer in optimizers:     # linear decay to 0 at the last step
            optimizer.hyperparameters["lr"] = settings["lr"] * (1 - i / iterations)
        if i in snapshots:
            pictures[i] = mb.to_numpy(g.sample(1000, random_state=7))

    history = train_gan(gan, lambda m: ring_of_gaussians(m, seed=data_rng), iterations, batch_size=256,
                        k=settings["k"], discriminator_optimizer=optimizers[0], generator_optimizer=optimizers[1],
                        random_state=seed, callback=after_iteration, callback_every=1)
    coverage = mode_coverage(gan.sample(2500, random_state=seed + 1))
    return {"coverage": coverage, "pictures": pictures, "history": history}


def plot_ring(pictures: dict, path: Path) -> None:
    centres = ring_centres()
    columns = max(len(p) for p in pictures.values())
    fig, axes = plt.subplots(len(VARIANTS), columns, figsize=(2.6 * columns, 2.6 * len(VARIANTS)), squeeze=False)
    for row, variant in enumerate(VARIANTS):
        for col, step in enumerate(sorted(pictures[variant])):
            ax = axes[row, col]
            ax.scatter(centres[:, 0], centres[:, 1], c="red", s=12, marker="x")
            points = pictures[variant][step]
            ax.scatter(points[:, 0], points[:, 1], s=1, alpha=0.4)
            ax.set(xlim=(-3, 3), ylim=(-3, 3), xticks=[], yticks=[])
            ax.set_title(f"{variant}, it {step}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_coverage(table: dict, path: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for i, variant in enumerate(VARIANTS):
        modes = [c.modes_captured for c in table[variant]]
        quality = [c.high_quality_fraction for c in table[variant]]
        axes[0].scatter(np.full(len(modes), i), modes)
        axes[1].scatter(np.full(len(quality), i), quality)
    axes[0].set(ylabel="modes captured (of 8)", ylim=(-0.5, 8.5))
    axes[1].set(ylabel="high-quality fraction (within 3 std)", ylim=(-0.05, 1.05))
    for ax in axes:
        ax.set_xticks(range(len(VARIANTS)), VARIANTS)
        ax.grid(alpha=0.3)
    fig.suptitle("8-Gaussian ring, one point per seed (2,500 samples each)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def ring_part(args, seeds: int, ring_iterations: int, out: Path):
    """Every variant over ``seeds`` seeds: the coverage table (printed) and the two ring figures."""
    table, pictures = {}, {}
    print(f"ring of 8 Gaussians, {seeds} seed(s), 2,500 samples each:")
    print(f"{'variant':>15} {'G steps':>7} {'modes mean':>10} {'min':>4} {'max':>4} {'high quality mean':>18} "
          f"{'min':>6} {'max':>6} {'seconds':>8}")
    for variant in VARIANTS:
        iterations = ring_iterations_of(variant, ring_iterations)
        start = time.perf_counter()
        runs = [run_ring(variant, args.seed + s, iterations) for s in range(seeds)]
        table[variant] = [r["coverage"] for r in runs]
        pictures[variant] = runs[0]["pictures"]
        modes = [c.modes_captured for c in table[variant]]
        quality = [c.high_quality_fraction for c in table[variant]]
        print(f"{variant:>15} {iterations:>7} {np.mean(modes):>10.2f} {min(modes):>4} {max(modes):>4} "
              f"{np.mean(quality):>18.3f} {min(quality):>6.3f} {max(quality):>6.3f} "
              f"{time.perf_counter() - start:>8.0f}", flush=True)
        print(f"{'':>15} modes per seed {modes}, high quality per seed {[round(q, 3) for q in quality]}")
    plot_ring(pictures, out / "gan_ring.png")
    plot_coverage(table, out / "gan_ring_coverage.png")
    true_ring = mode_coverage(ring_of_gaussians(2500, seed=args.seed))
    return table, true_ring


# --------------------------------------------------------------------------- 3. Fashion-MNIST
def load_images(quick: bool, path: str | None) -> tuple[np.ndarray, str]:
    images, _ = load_fashion_mnist("train", subset="small") if quick else load_fashion_mnist_or_small("train", path=path)
    x = images_to_float(images).reshape(len(images), -1) * 2.0 - 1.0      # [-1, 1] for the tanh output
    return x.astype(np.float32), ("small" if len(x) == 2000 else "full")


def run_fashion(x: np.ndarray, epochs: int, seed: int, out: Path, source: str) -> dict:
    mb.seed(seed)
    gan = make_mlp_gan(784, 100, (256, 512), (512, 256), output="tanh")
    d_opt = optim.Adam(gan.discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    g_opt = optim.Adam(gan.generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    data = mb.asarray(x)                                   # copied to the device once
    per_epoch = max(1, len(x) // 64)
    z = gan.sample_noise(10, random_state=seed)            # the same noise after every epoch
    rows, d_losses, g_losses = [], [], []
    for _ in range(epochs):
        history = train_gan(gan, data, per_epoch, batch_size=64, discriminator_optimizer=d_opt,
                            generator_optimizer=g_opt)   # noise and minibatches from the seeded backend generator
        d_losses += history.discriminator.tolist()
        g_losses += history.generator.tolist()
        with mb.no_grad():
            rows.append(mb.to_numpy(gan.generate(z).data))
    grid = np.concatenate(rows).reshape(epochs, 10, 28, 28).transpose(0, 2, 1, 3).reshape(epochs * 28, 280)
    fig, ax = plt.subplots(figsize=(7, 0.7 * epochs + 0.6))
    ax.imshow((grid + 1) / 2, cmap="gray_r", vmin=0, vmax=1)
    ax.set_axis_off()
    ax.set_title(f"G(z) for 10 fixed z after each of {epochs} epoch(s) (rows), Fashion-MNIST {source} set", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "gan_fashion_samples.png", dpi=110)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(7, 3.4))
    steps = np.arange(1, len(g_losses) + 1)
    ax.plot(steps, d_losses, lw=0.7, label="discriminator: -V(D, G)")
    ax.plot(steps, g_losses, lw=0.7, label="generator: -log D(G(z))")
    ax.axhline(math.log(4), color="k", ls=":", lw=1, label="log 4 (-V at D = 1/2)")
    ax.set(xlabel="iteration", ylabel="loss (nats)", title="MLP GAN on Fashion-MNIST, Algorithm 1 with k = 1")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "gan_fashion_losses.png", dpi=110)
    plt.close(fig)
    return {"discriminator_loss": d_losses, "generator_loss": g_losses, "samples": rows[-1],
            "images": len(x), "data": source}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy", choices=["numpy", "cupy"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="short runs, one ring seed, the shipped image subset")
    parser.add_argument("--out", default="demos/out/gan", help="folder of the PNGs (created)")
    parser.add_argument("--seeds", type=int, default=None, help="ring seeds per variant (5, 1 quick)")
    parser.add_argument("--ring-iterations", type=int, default=None, help="generator steps on the ring of the plain GANs (3000, 150 quick); WGAN-GP half")
    parser.add_argument("--oned-iterations", type=int, default=None, help="generator steps of the 1-D game (1500, 300 quick)")
    parser.add_argument("--epochs", type=int, default=None, help="Fashion-MNIST epochs (10, 1 quick)")
    parser.add_argument("--data", default=None, help="folder of the Fashion-MNIST IDX files")
    parser.add_argument("--parts", default="1d,ring,fashion", help="comma-separated subset of 1d, ring, fashion")
    args = parser.parse_args(argv)
    parts = set(args.parts.split(","))
    if not parts or not parts <= {"1d", "ring", "fashion"}:
        parser.error(f"--parts must name some of 1d, ring, fashion, got {args.parts!r}")
    seeds = args.seeds or (1 if args.quick else 5)
    ring_iterations = args.ring_iterations or (150 if args.quick else 3000)
    oned_iterations = args.oned_iterations or (300 if args.quick else 1500)
    epochs = args.epochs or (1 if args.quick else 10)
    for name, value in (("--seeds", seeds), ("--ring-iterations", ring_iterations),
                        ("--oned-iterations", oned_iterations), ("--epochs", epochs)):
        if value <= 0:
            parser.error(f"{name} must be positive, got {value}")
    mb.backend.apply_host_memory_policy()   # as train.fit: freed host memory recycled between steps
    start = time.perf_counter()
    with mb.using(args.backend):
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        one_d = table = true_ring = fashion = None
        if "1d" in parts:
            one_d = run_one_d(oned_iterations, args.seed, out / "gan_1d.png")
            print("1-D game: iteration " + ", ".join(f"{i}: JSD {j:.4f}" for i, j in zip(one_d["iterations"], one_d["jsd"]))
                  + f"; at the end max |D - D*| = {one_d['max_abs_d_minus_d_star']:.3f} where p_data > 0.05")
        if "ring" in parts:
            table, true_ring = ring_part(args, seeds, ring_iterations, out)
        if "fashion" in parts:
            x, source = load_images(args.quick, args.data)
            fashion = run_fashion(x, epochs, args.seed, out, source)
            print(f"Fashion-MNIST ({source} set, {len(x)} images), {epochs} epoch(s): last D loss "
                  f"{fashion['discriminator_loss'][-1]:.3f}, last G loss {fashion['generator_loss'][-1]:.3f}")
    seconds = time.perf_counter() - start
    print(f"done in {seconds:.1f} s; wrote the figures to {out}")
    return {"one_d": one_d, "ring": table, "true_ring": true_ring, "fashion": fashion, "seconds": seconds,
            "out": out, "ring_iterations": ring_iterations}


if __name__ == "__main__":
    main()
