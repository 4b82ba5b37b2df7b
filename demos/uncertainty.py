"""MC dropout and the two uncertainties (Gal & Ghahramani 2016; Kendall & Gal 2017; seed Day 3).

    python demos/uncertainty.py [--quick] [--out DIR] [--seed N] [--backend numpy|cupy]
                                [--epochs N] [--uci-splits N] [--data DIR]

1. Kendall & Gal's three regression panels on 1-D data: a homoscedastic model on data with small
   noise, the same on data with large noise, and a heteroscedastic model (mean and log-variance
   heads, eq. 5) on data whose noise grows with x; each with MC dropout (T = 100), the epistemic
   band and the total band drawn separately (eq. 9).
2. Gal & Ghahramani's rotated-image figure: a Fashion-MNIST test image rotated from 0 to 180
   degrees; 100 passes of an MC-dropout classifier; per rotation the scatter of the softmax
   inputs and outputs of the leading classes, the predictive entropy and the mutual information.
3. The UCI protocol (``models.uci_protocol``: 20 random 90/10 splits, hyperparameters on a
   validation split) on the red wine quality and scikit-learn's diabetes sets: MC dropout beside
   a plain network and Bayesian linear regression. Gal & Ghahramani's Table 1 reports, on red
   wine, test RMSE 0.62 +/- 0.04 and test log-likelihood -0.93 +/- 0.06. Here tau (the model
   precision) is in standardised units of y, as the harness hands the model standardised
   targets; Gal's grid is in original units, so the grids differ, not the protocol.
4. Classification uncertainty on Fashion-MNIST: a deterministic network, MC dropout, and a
   logit-noise network (eqs. 10-12): accuracy, NLL, ECE, reliability diagrams, and the most and
   least uncertain test images by predictive entropy.

Figures (OUT/...png): regression_uncertainty.png, rotated_image.png, uci.png, reliability.png,
uncertain_images.png. ``--quick`` uses the shipped image subset, fewer steps and 3 UCI splits.
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
from scipy import ndimage  # noqa: E402

import minibayes as mb  # noqa: E402
from minibayes import nn, optim  # noqa: E402
from minibayes.data import FASHION_MNIST_CLASSES, DataLoader  # noqa: E402
from minibayes.models import (  # noqa: E402
    expected_calibration_error, heteroscedastic_nll, logit_noise_nll, mc_dropout_objective, predict_mc,
    reliability_bins,
)
from minibayes.nn import functional as F  # noqa: E402
from minibayes.train import fit  # noqa: E402

from demos._fashion_mnist import load_data  # noqa: E402


# --------------------------------------------------------------------------- 1. regression panels
def toy(n, noise, rng, heteroscedastic=False):
    x = np.concatenate([rng.uniform(-1.0, -0.2, n // 2), rng.uniform(0.2, 1.0, n - n // 2)])[:, None]
    std = 0.02 + 0.3 * (x[:, 0] + 1) / 2 if heteroscedastic else np.full(n, noise)
    return x, np.sin(3 * x[:, 0]) + std * rng.normal(size=n), std


def regression_net(outputs):
    return nn.Sequential(nn.Dense(1, 100), nn.ReLU(), nn.Dropout(0.1), nn.Dense(100, 100), nn.ReLU(),
                         nn.Dropout(0.1), nn.Dense(100, outputs))


def regression_panels(args, out: Path) -> dict:
    rng = np.random.default_rng(args.seed)
    steps = args.regression_steps or (800 if args.quick else 4000)
    grid = np.linspace(-2.0, 2.0, 201)[:, None]
    panels = [("homoscedastic, small noise", 0.05, False), ("homoscedastic, large noise", 0.3, False),
              ("heteroscedastic", None, True)]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4), sharey=True)
    summary = {}
    for ax, (title, noise, hetero) in zip(axes, panels):
        x, y, std = toy(200, noise, rng, hetero)
        model = regression_net(2 if hetero else 1)
        optimizer = optim.Adam(model.parameters(), lr=3e-3)
        xd, yd = mb.asarray(x), mb.asarray(y)
        tau = None if hetero else 1.0 / noise ** 2      # the model precision of the known noise
        for _ in range(steps):
            optimizer.zero_grad()
            loss = heteroscedastic_nll(model(xd), yd) if hetero else \
                mc_dropout_objective(model, xd, yd, len(x), length_scale=1e-2, tau=tau).loss
            loss.backward()
            optimizer.step()
        result = predict_mc(model.eval(), mb.asarray(grid), 100, output="mean_log_var" if hetero else "mean",
                            noise_variance=0.0 if hetero else 1.0 / tau)
        mean, epistemic, total = (mb.to_numpy(a)[:, 0] for a in (result.mean, result.epistemic, result.variance))
        aleatoric = mb.to_numpy(result.aleatoric)[:, 0]
        ax.fill_between(grid[:, 0], mean - 2 * np.sqrt(total), mean + 2 * np.sqrt(total), color="tab:orange",
                        alpha=0.3, label="± 2 sd total (aleatoric + epistemic)")
        ax.fill_between(grid[:, 0], mean - 2 * np.sqrt(epistemic), mean + 2 * np.sqrt(epistemic), color="tab:blue",
                        alpha=0.5, label="± 2 sd epistemic")
        ax.plot(grid[:, 0], mean, "k", lw=1, label="predictive mean")
        ax.plot(x[:, 0], y, "k.", ms=2)
        ax.set(title=title, xlabel="x", ylim=(-2.5, 2.5))
        ax.grid(alpha=0.3)
        on_data = (np.abs(grid[:, 0]) > 0.2) & (np.abs(grid[:, 0]) < 1.0)
        summary[title] = {"aleatoric_std_on_data": float(np.sqrt(aleatoric[on_data]).mean()),
                          "epistemic_std_on_data": float(np.sqrt(epistemic[on_data]).mean()),
                          "epistemic_std_far": float(np.sqrt(epistemic[np.abs(grid[:, 0]) > 1.5]).mean())}
        if hetero:
            x_right = (grid[:, 0] > 0.6) & (grid[:, 0] < 1.0)
            x_left = (grid[:, 0] > -1.0) & (grid[:, 0] < -0.6)
            summary[title]["aleatoric_std_left_right"] = (float(np.sqrt(aleatoric[x_left]).mean()),
                                                          float(np.sqrt(aleatoric[x_right]).mean()))
    axes[0].set_ylabel("y")
    axes[0].legend(fontsize=7, loc="lower left")
    fig.suptitle("Kendall & Gal (2017): aleatoric and epistemic uncertainty, MC dropout, T = 100")
    fig.tight_layout()
    fig.savefig(out / "regression_uncertainty.png", dpi=110)
    plt.close(fig)
    for title, s in summary.items():
        print(f"regression, {title}: aleatoric sd {s['aleatoric_std_on_data']:.3f} on the data; epistemic sd "
              f"{s['epistemic_std_on_data']:.3f} on the data, {s['epistemic_std_far']:.3f} far from it")
    return summary


# --------------------------------------------------------------------------- 2, 4. images
def classifier(kind: str) -> nn.Module:
    dropout = [nn.Dropout(0.5)] if kind == "mc_dropout" else []
    head = 20 if kind == "logit_noise" else 10                # logits and their log-variances
    return nn.Sequential(nn.Dense(784, 400), nn.ReLU(), *dropout, nn.Dense(400, 400), nn.ReLU(), *dropout,
                         nn.Dense(400, head))


def train_classifier(kind, x, y, epochs, seed):
    model = classifier(kind)
    loader = DataLoader((x, y), batch_size=128, shuffle=True, seed=seed)
    if kind == "logit_noise":
        def loss(m, batch):
            return logit_noise_nll(m(batch[0]), batch[1], n_samples=10)
    else:
        def loss(m, batch):
            return F.cross_entropy(m(batch[0]), batch[1])
    fit(model, optim.Adam(model.parameters(), lr=1e-3), loader, loss, epochs=epochs, progress=False)
    return model.eval()


def class_probabilities(kind, model, x, T=50):
    """(n, 10) predictive probabilities and their entropy (n,): T MC-dropout passes; for the
    logit-noise network the average of softmax(f + sigma * eps_t) over T noise draws (the
    predictive of Kendall & Gal's eq. 12, so its learned variance counts); else one pass."""
    if kind == "mc_dropout":
        result = predict_mc(model, mb.asarray(x), T, task="classification")
        return mb.to_numpy(result.probabilities), mb.to_numpy(result.predictive_entropy)
    with mb.no_grad():
        out = mb.to_numpy(model(mb.asarray(x)).data)
    if kind == "logit_noise":
        eps = np.random.default_rng(0).standard_normal((T,) + out[:, :10].shape).astype(out.dtype)
        logits = out[:, :10] + np.exp(0.5 * out[:, 10:]) * eps                    # (T, n, 10)
    else:
        logits = out[None]
    p = np.exp(logits - logits.max(2, keepdims=True))
    p = (p / p.sum(2, keepdims=True)).mean(0)
    return p, -(p * np.log(np.maximum(p, 1e-30))).sum(1)


def rotated_image(model, x_test, y_test, out: Path) -> dict:
    index = int(np.flatnonzero(y_test == 1)[0])              # a trouser: its class is clear upright
    angles = np.linspace(0, 180, 13)
    images = np.stack([np.clip(ndimage.rotate(x_test[index].reshape(28, 28), a, reshape=False, order=1), 0, 1)
                       .reshape(784) for a in angles]).astype(x_test.dtype)
    with mb.no_grad(), nn.stochastic():
        tiled = mb.asarray(np.repeat(images, 100, axis=0))
        logits = mb.to_numpy(model(tiled).data).reshape(len(angles), 100, 10)
    probabilities = np.exp(logits - logits.max(2, keepdims=True))
    probabilities /= probabilities.sum(2, keepdims=True)
    # entropy and mutual information of the very passes drawn in the scatter
    mean = probabilities.mean(1)
    entropy = -(mean * np.log(np.maximum(mean, 1e-30))).sum(1)
    information = np.maximum(entropy + (probabilities * np.log(np.maximum(probabilities, 1e-30))).sum(2).mean(1), 0.0)
    top = np.argsort(-probabilities.mean((0, 1)))[:3]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for k, colour in zip(top, ("tab:blue", "tab:red", "tab:green")):
        for i, a in enumerate(angles):
            axes[0].scatter(np.full(100, a), logits[i, :, k], s=2, color=colour, alpha=0.3)
            axes[1].scatter(np.full(100, a), probabilities[i, :, k], s=2, color=colour, alpha=0.3)
        axes[1].plot([], [], "o", color=colour, label=FASHION_MNIST_CLASSES[k])
    axes[0].set(title="softmax input (100 MC-dropout passes)", xlabel="rotation (degrees)")
    axes[1].set(title="softmax output", xlabel="rotation (degrees)")
    axes[1].legend(fontsize=8)
    axes[2].plot(angles, entropy, "o-", label="predictive entropy")
    axes[2].plot(angles, information, "s-", label="mutual information (epistemic)")
    axes[2].set(title="uncertainty per rotation (nats)", xlabel="rotation (degrees)")
    axes[2].legend(fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout(rect=(0, 0, 1, 0.85))
    strip = fig.add_axes([0.05, 0.86, 0.3, 0.12])        # the image at every third rotation
    strip.imshow(np.concatenate([im.reshape(28, 28) for im in images[::3]], axis=1), cmap="gray_r")
    strip.set_axis_off()
    fig.savefig(out / "rotated_image.png", dpi=110)
    plt.close(fig)
    print("rotated trouser: predictive entropy " + " ".join(f"{e:.2f}" for e in entropy))
    return {"angles": angles.tolist(), "entropy": entropy.tolist(), "mutual_information": information.tolist()}


def classification(args, out: Path) -> dict:
    (x_train, y_train), (x_test, y_test), _ = load_data(args.quick, args.data)
    epochs = args.epochs or (3 if args.quick else 10)
    results, models, entropies = {}, {}, {}
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, kind in zip(axes, ("deterministic", "mc_dropout", "logit_noise")):
        start = time.perf_counter()
        models[kind] = train_classifier(kind, x_train, y_train, epochs, args.seed)
        p, entropies[kind] = class_probabilities(kind, models[kind], x_test)
        nll = float(-np.log(np.maximum(p[np.arange(len(y_test)), y_test], 1e-12)).mean())
        results[kind] = {"accuracy": float((p.argmax(1) == y_test).mean()), "nll": nll,
                         "ece": expected_calibration_error(p, y_test), "seconds": time.perf_counter() - start}
        bins = reliability_bins(p, y_test, 10)
        centres = mb.to_numpy(bins.edges)[:-1] + 0.05
        ax.bar(centres, np.nan_to_num(mb.to_numpy(bins.accuracy)), width=0.1, edgecolor="k", alpha=0.7)
        ax.plot([0, 1], [0, 1], "r--")
        ax.set(title=f"{kind}: ECE {results[kind]['ece']:.3f}", xlabel="confidence", ylabel="accuracy")
        r = results[kind]
        print(f"{kind:>13}: test accuracy {r['accuracy']:.2%}, NLL {r['nll']:.4f}, ECE {r['ece']:.4f}", flush=True)
    fig.tight_layout()
    fig.savefig(out / "reliability.png", dpi=110)
    plt.close(fig)

    order = np.argsort(entropies["mc_dropout"])
    shown = np.concatenate([order[:8], order[-8:]])
    fig, axes = plt.subplots(2, 8, figsize=(12, 3.6))
    for ax, i in zip(axes.ravel(), shown):
        ax.imshow(x_test[i].reshape(28, 28), cmap="gray_r")
        ax.set_title(f"{FASHION_MNIST_CLASSES[y_test[i]]}\nH={entropies['mc_dropout'][i]:.2f}", fontsize=7)
        ax.set_axis_off()
    fig.suptitle("MC dropout: the least (top) and most (bottom) uncertain test images by predictive entropy")
    fig.tight_layout()
    fig.savefig(out / "uncertain_images.png", dpi=110)
    plt.close(fig)
    return {"results": results, "rotation": rotated_image(models["mc_dropout"], x_test, y_test, out)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy", choices=["numpy", "cupy"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default="demos/out/uncertainty", help="folder of the PNGs (created)")
    parser.add_argument("--epochs", type=int, default=None, help="image classifiers' epochs (10, 3 quick)")
    parser.add_argument("--uci-splits", type=int, default=None, help="UCI random splits (20, 3 quick)")
    parser.add_argument("--data", default=None, help="folder of the Fashion-MNIST IDX files")
    parser.add_argument("--regression-steps", type=int, default=None, help="full-batch steps (4000, 800 quick)")
    parser.add_argument("--parts", default="regression,images,uci", help="comma-separated parts to run")
    args = parser.parse_args(argv)
    parts = set(args.parts.split(","))
    if not parts <= {"regression", "images", "uci"}:
        parser.error(f"--parts takes regression, images and uci, got {args.parts}")
    for name, value in (("--epochs", args.epochs), ("--uci-splits", args.uci_splits),
                        ("--regression-steps", args.regression_steps)):
        if value is not None and value <= 0:
            parser.error(f"{name} must be positive, got {value}")
    summary = {}
    with mb.using(args.backend):
        mb.seed(args.seed)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        if "regression" in parts:
            summary["regression"] = regression_panels(args, out)
        if "images" in parts:
            summary["classification"] = classification(args, out)
        if "uci" in parts:
            from demos._uci_models import run_uci  # noqa: PLC0415 (scikit-learn's diabetes set, a dev extra)

            summary["uci"] = run_uci(args, out)
    print(f"wrote the figures to {out}")
    return summary


if __name__ == "__main__":
    main()
