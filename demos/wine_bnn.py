"""The course's wine BNN (lecture 000, "bayesian_neural_networks_wine"): Bayesian dense layers
regressing the quality score of the UCI white wines on their 11 measurements.

    python demos/wine_bnn.py [--quick] [--out DIR] [--seed N] [--backend numpy|cupy]
                             [--splits N] [--epochs N]

Over repeated random 85/15 train/test splits (inputs and target standardised on the training
part), three models:
- Bayesian linear regression with its evidence maximised (PRML 3.92-3.95), the baseline;
- a deterministic 11-32-32-1 ReLU network trained by Adam on the squared error (its Gaussian NLL
  uses the training residual variance);
- the same network with ``BayesianDense`` layers (Gaussian prior N(0, 1), mean-field posterior),
  a learned homoscedastic noise sigma, trained on Bayes by Backprop's ELBO (Blundell eq. 1,
  minibatch loss = mean NLL + KL / N); predictions average T = 100 weight draws, and the
  predictive variance is the spread of the draws plus sigma^2.
Test RMSE and Gaussian NLL in quality units (mean and standard error over splits). Then the
course's lesson: the BNN trained on 30%, 60% and 100% of a training part, and the spread of its
predictions (the standard deviation over weight draws, averaged over test wines) shrinking as
the data grow. The course's networks reach test RMSE 0.75-0.79; linear regression about 0.75.

Figures (OUT/...png): wine_scores.png, wine_spread.png, wine_predictions.png.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402  (host-side splits, tables and figures)

import minibayes as mb  # noqa: E402
from minibayes import nn, optim  # noqa: E402
from minibayes.autograd import ops  # noqa: E402
from minibayes.data import DataLoader, load_wine_quality  # noqa: E402
from minibayes.models import BayesianLinearRegression, bbb_objective, predictive_samples  # noqa: E402
from minibayes.nn import functional as F  # noqa: E402
from minibayes.train import fit  # noqa: E402

HIDDEN = 32
FRACTIONS = (0.3, 0.6, 1.0)


class WineBNN(nn.Module):
    """11-32-32-1 ReLU with Bayesian dense layers and a learned noise level log sigma."""

    def __init__(self, n_features: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.BayesianDense(n_features, HIDDEN), nn.ReLU(), nn.BayesianDense(HIDDEN, HIDDEN),
                                 nn.ReLU(), nn.BayesianDense(HIDDEN, 1))
        self.log_noise_std = nn.Parameter(mb.backend.xp().full((), math.log(0.5), dtype=mb.get_default_dtype()))

    def forward(self, x):
        return self.net(x)

    def log_likelihood(self, output, y):
        """Mean over the batch of log N(y | output, sigma^2) with sigma learned."""
        log_var = ops.broadcast_to(2.0 * self.log_noise_std, output.shape)
        return -F.gaussian_nll(y.reshape(output.shape), output, log_var, reduction="none", full=True).mean()


def deterministic_network(n_features: int) -> nn.Module:
    return nn.Sequential(nn.Dense(n_features, HIDDEN), nn.ReLU(), nn.Dense(HIDDEN, HIDDEN), nn.ReLU(),
                         nn.Dense(HIDDEN, 1))


def gaussian_nll(y, mean, variance) -> float:
    return float(np.mean(0.5 * np.log(2 * np.pi * variance) + 0.5 * (y - mean) ** 2 / variance))


def train_bnn(x, y, epochs, seed):
    model = WineBNN(x.shape[1])
    loader = DataLoader((x, y), batch_size=128, shuffle=True, seed=seed)
    n_data = len(x)

    def loss(m, batch):
        return bbb_objective(m, batch[0], mb.tensor(batch[1]), m.log_likelihood, n_data).terms()

    fit(model, optim.Adam(model.parameters(), lr=3e-3), loader, loss, epochs=epochs, progress=False)
    return model


def bnn_predict(model, x, draws=100):
    """Predictive mean, the spread over weight draws (std), and sigma (host arrays)."""
    samples = mb.to_numpy(predictive_samples(model, mb.asarray(x), draws))[:, :, 0]
    return samples.mean(0), samples.std(0), float(np.exp(mb.to_numpy(model.log_noise_std.data)))


def one_split(X, y, rng, args, epochs):
    order = rng.permutation(len(X))
    cut = int(0.85 * len(X))
    train, test = order[:cut], order[cut:]
    x_mean, x_std = X[train].mean(0), X[train].std(0)
    y_mean, y_std = y[train].mean(), y[train].std()
    x_train, x_test = (X[train] - x_mean) / x_std, (X[test] - x_mean) / x_std
    t_train = (y[train] - y_mean) / y_std
    dtype = mb.get_default_dtype()
    out = {}

    blr = BayesianLinearRegression(fit_hyperparameters=True).fit(x_train, t_train)
    mean, std = (mb.to_numpy(a) for a in blr.predict(x_test, return_std=True))
    out["linear"] = (mean * y_std + y_mean, (std * y_std) ** 2)

    network = deterministic_network(X.shape[1])
    loader = DataLoader((x_train.astype(dtype), t_train[:, None].astype(dtype)), batch_size=128, shuffle=True,
                        seed=int(rng.integers(2**31)))
    fit(network, optim.Adam(network.parameters(), lr=3e-3), loader,
        lambda m, batch: F.mse_loss(m(batch[0]), batch[1]), epochs=epochs, progress=False)
    with mb.no_grad():
        fitted = mb.to_numpy(network(mb.asarray(x_train.astype(dtype))).data)[:, 0]
        predicted = mb.to_numpy(network(mb.asarray(x_test.astype(dtype))).data)[:, 0]
    residual_variance = np.mean((fitted - t_train) ** 2)
    out["network"] = (predicted * y_std + y_mean, np.full(len(test), residual_variance * y_std ** 2))

    bnn = train_bnn(x_train.astype(dtype), t_train.astype(dtype), epochs, int(rng.integers(2**31)))
    mean, spread, sigma = bnn_predict(bnn, x_test.astype(dtype))
    out["bnn"] = (mean * y_std + y_mean, (spread ** 2 + sigma ** 2) * y_std ** 2)
    scores = {name: {"rmse": float(np.sqrt(np.mean((m - y[test]) ** 2))), "nll": gaussian_nll(y[test], m, v)}
              for name, (m, v) in out.items()}
    return scores, (x_train, t_train, x_test, y[test], y_mean, y_std, mean, spread, sigma)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy", choices=["numpy", "cupy"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="one split, fewer epochs")
    parser.add_argument("--out", default="demos/out/wine_bnn", help="folder of the PNGs (created)")
    parser.add_argument("--splits", type=int, default=None, help="random 85/15 splits (5, or 1 with --quick)")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (150, or 20 with --quick)")
    args = parser.parse_args(argv)
    splits = args.splits or (1 if args.quick else 5)
    epochs = args.epochs or (20 if args.quick else 150)
    if splits <= 0 or epochs <= 0:
        parser.error("--splits and --epochs must be positive")
    X, y = load_wine_quality("white")
    rng = np.random.default_rng(args.seed)
    with mb.using(args.backend):
        mb.seed(args.seed)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        per_split = []
        for index in range(splits):
            scores, last = one_split(X, y, rng, args, epochs)
            per_split.append(scores)
            print(f"split {index + 1}/{splits}: " + ", ".join(
                f"{name} RMSE {s['rmse']:.3f} NLL {s['nll']:.3f}" for name, s in scores.items()), flush=True)
        summary = {name: {metric: (float(np.mean([s[name][metric] for s in per_split])),
                                   float(np.std([s[name][metric] for s in per_split], ddof=1) / math.sqrt(splits))
                                   if splits > 1 else 0.0)
                          for metric in ("rmse", "nll")} for name in per_split[0]}
        print("| model | test RMSE | test NLL |\n|---|---|---|")
        for name, s in summary.items():
            print(f"| {name} | {s['rmse'][0]:.3f} ± {s['rmse'][1]:.3f} | {s['nll'][0]:.3f} ± {s['nll'][1]:.3f} |")

        x_train, t_train, x_test, y_test, y_mean, y_std, mean, spread, sigma = last
        dtype = mb.get_default_dtype()
        spreads = {}
        for fraction in FRACTIONS:
            n = int(fraction * len(x_train))
            model = train_bnn(x_train[:n].astype(dtype), t_train[:n].astype(dtype),
                              max(epochs, int(epochs / fraction)), args.seed)
            spreads[fraction] = float(bnn_predict(model, x_test.astype(dtype))[1].mean() * y_std)
            print(f"BNN on {fraction:.0%} of the training part ({n} wines): mean spread of predictions "
                  f"{spreads[fraction]:.4f} quality points")
        seconds = time.perf_counter() - start

    names = list(summary)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, metric in zip(axes, ("rmse", "nll")):
        ax.bar(names, [summary[n][metric][0] for n in names], yerr=[summary[n][metric][1] for n in names],
               color=["tab:gray", "tab:blue", "tab:red"], capsize=4)
        ax.set(title=f"test {metric.upper()} over {splits} splits (white wine)")
        ax.grid(alpha=0.3, axis="y")
    axes[0].axhline(0.75, color="k", ls="--", lw=1, label="course: linear regression")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "wine_scores.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 3.8))
    ax.plot([100 * f for f in FRACTIONS], list(spreads.values()), "o-", color="tab:red")
    ax.set(xlabel="share of the training part used (%)", ylabel="mean std of predictions over weight draws",
           title="epistemic spread shrinks with more data")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "wine_spread.png", dpi=110)
    plt.close(fig)

    shown = np.argsort(y_test)[:: max(1, len(y_test) // 60)]
    predicted = mean * y_std + y_mean
    band = 2 * np.sqrt(spread ** 2 + sigma ** 2) * y_std
    fig, ax = plt.subplots(figsize=(9, 3.8))
    ax.errorbar(np.arange(len(shown)), predicted[shown], yerr=band[shown], fmt="o", color="tab:red", ms=3,
                label="BNN mean ± 2 std (draws + noise)")
    ax.errorbar(np.arange(len(shown)), predicted[shown], yerr=2 * spread[shown] * y_std, fmt="none",
                color="k", lw=2, label="± 2 std over weight draws")
    ax.plot(np.arange(len(shown)), y_test[shown], "k_", ms=10, label="true quality")
    ax.set(xlabel="test wines (sorted by quality)", ylabel="quality", title="BNN predictions on test wines")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "wine_predictions.png", dpi=110)
    plt.close(fig)
    print(f"done in {seconds:.1f} s; wrote the figures to {out}")
    return {"summary": summary, "spreads": spreads, "splits": splits, "epochs": epochs, "seconds": seconds}


if __name__ == "__main__":
    main()
