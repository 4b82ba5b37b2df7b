"""The three regressors of the UCI comparison in ``demos/uncertainty.py``, in the contract of
``models.uci_protocol`` (``fit(X, y)`` on standardised data, ``predict(X)``), and the run itself.

MC dropout follows Gal & Ghahramani (2016, section 5.1): one hidden layer of 50 ReLU units,
dropout before both weight layers, the objective E[-log N(y | f, 1/tau)] + KL / N (their appendix),
T = 100 passes at test time, and the test log-likelihood of the mixture
(1/T) sum_t N(y | f_t(x), 1/tau). The plain network is the same without dropout, with the
training residual variance as its noise; Bayesian linear regression maximises its evidence.
"""

from __future__ import annotations

import numpy as np

import minibayes as mb
from minibayes import nn, optim
from minibayes.data import DataLoader, load_wine_quality
from minibayes.models import (
    BayesianLinearRegression, PredictiveSamples, mc_dropout_objective, predict_mc, uci_protocol,
)
from minibayes.nn import functional as F
from minibayes.train import fit

HIDDEN = 50


def _network(n_features: int, dropout: float) -> nn.Module:
    layers = [nn.Dropout(dropout)] if dropout else []
    layers += [nn.Dense(n_features, HIDDEN), nn.ReLU()] + ([nn.Dropout(dropout)] if dropout else [])
    return nn.Sequential(*layers, nn.Dense(HIDDEN, 1))


class MCDropoutRegressor:
    def __init__(self, dropout: float, tau: float, epochs: int = 40, length_scale: float = 1e-2, T: int = 100):
        self.dropout, self.tau, self.epochs, self.length_scale, self.T = dropout, tau, epochs, length_scale, T

    def fit(self, X, y):
        dtype = mb.get_default_dtype()
        self.model = _network(X.shape[1], self.dropout)
        loader = DataLoader((X.astype(dtype), y.astype(dtype)), batch_size=32, shuffle=True, seed=0)
        n_data = len(X)

        def loss(model, batch):
            return mc_dropout_objective(model, batch[0], batch[1], n_data, length_scale=self.length_scale,
                                        tau=self.tau).loss

        fit(self.model, optim.Adam(self.model.parameters(), lr=1e-3), loader, loss, epochs=self.epochs,
            progress=False)
        return self

    def predict(self, X):
        result = predict_mc(self.model.eval(), X.astype(mb.get_default_dtype()), self.T, noise_variance=1.0 / self.tau)
        return PredictiveSamples(mb.to_numpy(result.samples)[:, :, 0], 1.0 / self.tau)


class PlainRegressor:
    def __init__(self, epochs: int = 40):
        self.epochs = epochs

    def fit(self, X, y):
        dtype = mb.get_default_dtype()
        self.model = _network(X.shape[1], 0.0)
        loader = DataLoader((X.astype(dtype), y[:, None].astype(dtype)), batch_size=32, shuffle=True, seed=0)
        fit(self.model, optim.Adam(self.model.parameters(), lr=1e-3), loader,
            lambda m, batch: F.mse_loss(m(batch[0]), batch[1]), epochs=self.epochs, progress=False)
        self.noise_variance = float(np.mean((self._mean(X) - y) ** 2))
        return self

    def _mean(self, X):
        with mb.no_grad():
            return mb.to_numpy(self.model(mb.asarray(X.astype(mb.get_default_dtype()))).data)[:, 0]

    def predict(self, X):
        return self._mean(X), np.full(len(X), self.noise_variance)


class LinearRegressor:
    def fit(self, X, y):
        self.model = BayesianLinearRegression(fit_hyperparameters=True).fit(X, y)
        return self

    def predict(self, X):
        mean, std = self.model.predict(X, return_std=True)
        return mb.to_numpy(mean), mb.to_numpy(std) ** 2


def run_uci(args, out) -> dict:
    """Red wine and diabetes under the UCI protocol; prints a Markdown table, draws uci.png."""
    import matplotlib.pyplot as plt  # noqa: PLC0415 (the demo has set the Agg backend)
    from sklearn.datasets import load_diabetes  # noqa: PLC0415 (a dev dependency, bundled data)

    n_splits = args.uci_splits or (3 if args.quick else 20)
    epochs = 10 if args.quick else 40
    grid = ([{"dropout": 0.05, "tau": t} for t in (2.0, 5.0)] if args.quick else
            [{"dropout": p, "tau": t} for p in (0.005, 0.05) for t in (1.0, 3.0, 10.0)])
    datasets = {"wine-red": load_wine_quality("red"), "diabetes": load_diabetes(return_X_y=True)}
    contenders = {"MC dropout": (lambda **p: MCDropoutRegressor(epochs=epochs, **p), grid),
                  "plain network": (lambda: PlainRegressor(epochs), [{}]),
                  "Bayesian linear": (LinearRegressor, [{}])}
    table = {}
    print("| data | model | test RMSE | test log-likelihood |\n|---|---|---|---|")
    for name, (X, y) in datasets.items():
        for label, (make, params) in contenders.items():
            result = uci_protocol(X, y, make, params, n_splits=n_splits, seed=args.seed)
            table[(name, label)] = result
            print(f"| {name} | {label} | {result.rmse_mean:.3f} ± {result.rmse_se:.3f} | "
                  f"{result.log_likelihood_mean:.3f} ± {result.log_likelihood_se:.3f} |", flush=True)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, (metric, se, title) in zip(axes, (("rmse_mean", "rmse_se", "test RMSE"),
                                               ("log_likelihood_mean", "log_likelihood_se", "test log-likelihood"))):
        for offset, label in enumerate(contenders):
            values = [getattr(table[(d, label)], metric) for d in datasets]
            errors = [getattr(table[(d, label)], se) for d in datasets]
            ax.bar(np.arange(len(datasets)) + 0.27 * (offset - 1), values, 0.27, yerr=errors, capsize=3, label=label)
        ax.set_xticks(range(len(datasets)), [f"{d} (per-set units)" for d in datasets])
        ax.set(title=f"{title}, {n_splits} splits (mean ± s.e.)")
        ax.grid(alpha=0.3, axis="y")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "uci.png", dpi=110)
    plt.close(fig)
    return {f"{d}/{m}": {"rmse": (r.rmse_mean, r.rmse_se), "log_likelihood": (r.log_likelihood_mean,
                                                                            r.log_likelihood_se)}
            for (d, m), r in table.items()}
