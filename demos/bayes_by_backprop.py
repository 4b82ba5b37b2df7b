"""Bayes by Backprop (Blundell et al. 2015): regression bands (Figure 5) and Fashion-MNIST
classification with pruning by signal-to-noise ratio (Tables 1-2).

    python demos/bayes_by_backprop.py [--quick] [--out DIR] [--seed N] [--backend numpy|cupy]
                                      [--epochs N] [--data DIR]

1. Regression (Figure 5): y = x + 0.3 sin(2 pi (x + e)) + 0.3 sin(4 pi (x + e)) + e,
   e ~ N(0, 0.02) (variance 0.02), 200 points with x in [0, 0.5]. A 1-100-100-1 ReLU network
   with Bayesian dense layers (Gaussian likelihood, the known noise variance, scale-mixture
   prior) against the same network trained by least squares; BBB's median and interquartile
   range over 300 weight draws on [-0.2, 1.2] widen away from the data, the plain network's
   single curve does not say where it is guessing.
2. Classification: 784-400-400-10 ReLU on Fashion-MNIST (pixels in [0, 1]), Bayes by Backprop
   with the scale-mixture prior (pi = 0.5, sigma1 = 1, sigma2 = e^-6) beside the same network
   without and with dropout (p = 0.5), all trained by Adam. Test accuracy, test NLL and expected
   calibration error (15 bins); BBB predicts with 10 weight draws (averaged probabilities). Then
   the pruning table: the lowest-SNR fraction of weights removed, accuracy of the posterior mean.

Figures (OUT/...png): bbb_regression.png, bbb_snr_histogram.png, bbb_classification.png.
``--quick`` uses the 2,000 / 500 image subset shipped with minibayes and fewer steps.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402  (host-side data making, tables and figures)

import minibayes as mb  # noqa: E402
from minibayes import nn, optim  # noqa: E402
from minibayes.data import DataLoader  # noqa: E402
from minibayes.models import (  # noqa: E402
    bbb_objective, categorical_log_likelihood, gaussian_likelihood, predictive_samples,
)
from minibayes.models.calibration import expected_calibration_error  # noqa: E402
from minibayes.nn import functional as F  # noqa: E402
from minibayes.train import fit  # noqa: E402

from demos._fashion_mnist import load_data  # noqa: E402

NOISE_VARIANCE = 0.02
PRIOR = dict(pi=0.5, sigma1=1.0, sigma2=math.exp(-6))
PRUNE_FRACTIONS = (0.0, 0.5, 0.75, 0.95, 0.98)


# --------------------------------------------------------------------------- 1. regression
def curve_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 0.5, n)
    e = rng.normal(0.0, math.sqrt(NOISE_VARIANCE), n)
    y = x + 0.3 * np.sin(2 * np.pi * (x + e)) + 0.3 * np.sin(4 * np.pi * (x + e)) + e
    return x[:, None], y[:, None]


def regression(args, out: Path) -> dict:
    x, y = curve_data(200, args.seed)
    steps = args.regression_steps or (600 if args.quick else 3000)
    prior = nn.ScaleMixturePrior(**PRIOR)
    bbb = nn.Sequential(nn.BayesianDense(1, 100, prior=prior), nn.ReLU(), nn.BayesianDense(100, 100, prior=prior),
                        nn.ReLU(), nn.BayesianDense(100, 1, prior=prior))
    plain = nn.Sequential(nn.Dense(1, 100), nn.ReLU(), nn.Dense(100, 100), nn.ReLU(), nn.Dense(100, 1))
    likelihood = gaussian_likelihood(math.sqrt(NOISE_VARIANCE))
    bbb_optimizer, plain_optimizer = optim.Adam(bbb.parameters(), lr=1e-2), optim.Adam(plain.parameters(), lr=1e-2)
    x_device, y_device = mb.asarray(x), mb.asarray(y)
    for step in range(steps):
        if step == steps // 2:
            for optimizer in (bbb_optimizer, plain_optimizer):
                optimizer.hyperparameters["lr"] *= 0.1
        bbb_optimizer.zero_grad()
        bbb_objective(bbb, x_device, y_device, likelihood, len(x)).loss.backward()
        bbb_optimizer.step()
        plain_optimizer.zero_grad()
        F.mse_loss(plain(x_device), y_device).backward()
        plain_optimizer.step()

    grid = np.linspace(-0.2, 1.2, 281)[:, None]
    draws = mb.to_numpy(predictive_samples(bbb, mb.asarray(grid), 300))[:, :, 0]
    quartiles = np.percentile(draws, [25, 50, 75], axis=0)
    with mb.no_grad():
        plain_curve = mb.to_numpy(plain(mb.asarray(grid)).data)[:, 0]
    inside, outside = (grid[:, 0] >= 0) & (grid[:, 0] <= 0.5), grid[:, 0] >= 0.8
    width = quartiles[2] - quartiles[0]

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, title in zip(axes, ("Bayes by Backprop: median and interquartile range", "standard network")):
        ax.plot(x[:, 0], y[:, 0], "k.", ms=3, label="training data")
        ax.set(xlabel="x", title=title, xlim=(-0.2, 1.2), ylim=(-1.0, 2.0))
        ax.grid(alpha=0.3)
    axes[0].fill_between(grid[:, 0], quartiles[0], quartiles[2], color="tab:red", alpha=0.3, label="25%-75%")
    axes[0].plot(grid[:, 0], quartiles[1], color="tab:red", label="median")
    axes[1].plot(grid[:, 0], plain_curve, color="tab:blue", label="least squares")
    axes[0].set_ylabel("y")
    for ax in axes:
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle("Blundell et al. (2015), Figure 5: regression of y = x + 0.3 sin 2pi(x+e) + 0.3 sin 4pi(x+e) + e")
    fig.tight_layout()
    fig.savefig(out / "bbb_regression.png", dpi=110)
    plt.close(fig)
    summary = {"iqr_inside": float(width[inside].mean()), "iqr_far": float(width[outside].mean())}
    print(f"regression: mean interquartile width {summary['iqr_inside']:.3f} on the data (x in [0, 0.5]), "
          f"{summary['iqr_far']:.3f} far from it (x >= 0.8)")
    return summary


# --------------------------------------------------------------------------- 2. classification
def classifier(kind: str) -> nn.Module:
    if kind == "bbb":
        prior = nn.ScaleMixturePrior(**PRIOR)
        return nn.Sequential(nn.BayesianDense(784, 400, prior=prior), nn.ReLU(),
                             nn.BayesianDense(400, 400, prior=prior), nn.ReLU(), nn.BayesianDense(400, 10, prior=prior))
    dropout = [nn.Dropout(0.5)] if kind == "dropout" else []
    return nn.Sequential(nn.Dense(784, 400), nn.ReLU(), *dropout, nn.Dense(400, 400), nn.ReLU(), *dropout,
                         nn.Dense(400, 10))


def probabilities(model: nn.Module, x: np.ndarray, draws: int) -> np.ndarray:
    """Averaged softmax over ``draws`` weight samples (BBB), or one deterministic pass (eval mode)."""
    model.eval()
    chunks = []
    for start in range(0, len(x), 2000):
        batch = mb.asarray(x[start: start + 2000])
        if draws:
            logits = predictive_samples(model, batch, draws)
            shifted = np.exp(mb.to_numpy(logits) - mb.to_numpy(logits).max(axis=2, keepdims=True))
            chunks.append((shifted / shifted.sum(axis=2, keepdims=True)).mean(axis=0))
        else:
            with mb.no_grad():
                chunks.append(mb.to_numpy(mb.softmax(model(batch), axis=1).data))
    return np.concatenate(chunks)


def scores(p: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    return {"accuracy": float((p.argmax(1) == labels).mean()),
            "nll": float(-np.log(np.maximum(p[np.arange(len(labels)), labels], 1e-12)).mean()),
            "ece": expected_calibration_error(p, labels)}


def classification(args, out: Path) -> dict:
    (x_train, y_train), (x_test, y_test), _ = load_data(args.quick, args.data)
    epochs = args.epochs or (3 if args.quick else 10)
    n_data = len(x_train)
    results, models = {}, {}
    for kind in ("plain", "dropout", "bbb"):
        model = classifier(kind)
        optimizer = optim.Adam(model.parameters(), lr=1e-3)
        loader = DataLoader((x_train, y_train), batch_size=128, shuffle=True, seed=args.seed)
        if kind == "bbb":
            def loss(m, batch):
                return bbb_objective(m, batch[0], batch[1], categorical_log_likelihood, n_data).terms()
        else:
            def loss(m, batch):
                return F.cross_entropy(m(batch[0]), batch[1])
        start = time.perf_counter()
        fit(model, optimizer, loader, loss, epochs=epochs, progress=False)
        seconds = time.perf_counter() - start
        results[kind] = {**scores(probabilities(model, x_test, 10 if kind == "bbb" else 0), y_test),
                         "seconds": seconds}
        models[kind] = model
        r = results[kind]
        print(f"{kind:>8}: test accuracy {r['accuracy']:.2%}, NLL {r['nll']:.4f}, ECE {r['ece']:.4f} "
              f"({epochs} epochs, {seconds:.1f} s)", flush=True)

    bbb = models["bbb"]
    snr = mb.to_numpy(nn.signal_to_noise(bbb))
    pruning = []
    for fraction in PRUNE_FRACTIONS:
        removed = nn.prune(bbb, fraction)
        with nn.posterior_mean(bbb):
            accuracy = scores(probabilities(bbb, x_test, 0), y_test)["accuracy"]
        pruning.append({"fraction": fraction, "removed": removed, "accuracy": accuracy})
        print(f"pruned {fraction:>5.0%} of {snr.size} weights (lowest SNR): posterior-mean test accuracy {accuracy:.2%}")
    nn.prune(bbb, 0.0)

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.hist(10 * np.log10(np.maximum(snr, 1e-12)), bins=100, color="tab:purple")
    ax.set(xlabel="signal-to-noise ratio |mu| / sigma (dB)", ylabel="weights",
           title="Blundell et al. Figure 4 style: SNR of the BBB weights")
    fig.tight_layout()
    fig.savefig(out / "bbb_snr_histogram.png", dpi=110)
    plt.close(fig)

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    kinds = list(results)
    left.bar(kinds, [results[k]["accuracy"] for k in kinds], color=["tab:blue", "tab:green", "tab:red"])
    left.set(ylabel="test accuracy", ylim=(min(r["accuracy"] for r in results.values()) - 0.05, 1.0),
             title="Fashion-MNIST test accuracy")
    right.plot([100 * p["fraction"] for p in pruning], [p["accuracy"] for p in pruning], "o-", color="tab:red")
    right.set(xlabel="weights removed by SNR (%)", ylabel="test accuracy (posterior mean)",
              title="Blundell et al. Table 2: pruning")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "bbb_classification.png", dpi=110)
    plt.close(fig)
    return {"results": results, "pruning": pruning, "epochs": epochs, "n_train": n_data}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy", choices=["numpy", "cupy"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="the shipped 2,000/500 image subset, fewer steps")
    parser.add_argument("--out", default="demos/out/bayes_by_backprop", help="folder of the PNGs (created)")
    parser.add_argument("--epochs", type=int, default=None, help="classification epochs (10, or 3 with --quick)")
    parser.add_argument("--data", default=None, help="folder of the Fashion-MNIST IDX files")
    parser.add_argument("--regression-steps", type=int, default=None, help="full-batch steps (3000, 600 quick)")
    parser.add_argument("--skip-classification", action="store_true", help="only the regression figure")
    args = parser.parse_args(argv)
    for name, value in (("--epochs", args.epochs), ("--regression-steps", args.regression_steps)):
        if value is not None and value <= 0:
            parser.error(f"{name} must be positive, got {value}")
    with mb.using(args.backend):
        mb.seed(args.seed)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        summary = {"regression": regression(args, out)}
        if not args.skip_classification:
            summary["classification"] = classification(args, out)
    print(f"wrote the figures to {out}")
    return summary


if __name__ == "__main__":
    main()
