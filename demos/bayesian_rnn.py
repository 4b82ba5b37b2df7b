"""Bayes by Backprop for a recurrent network (Fortunato, Blundell & Vinyals 2017; seed Day 3, row 41):
a Bayesian LSTM forecasting a noisy quasi-periodic series, with predictive bands that widen past
the training horizon.

    python demos/bayesian_rnn.py [--quick] [--out DIR] [--seed N] [--backend numpy|cupy] [--epochs N]

Data: y_t = sin(2 pi t / 25) + 0.5 sin(2 pi t / 63) + e_t, e_t ~ N(0, 0.1^2), generated here. The
model reads y_t and predicts y_{t+1} (Gaussian likelihood, the known noise std 0.1):
a BayesianLSTMCell (16 units, weights drawn once per truncated sequence minibatch) and a linear
readout. Training: B sequences of the first T_train steps cut into C truncated sequences of 25
steps, each step minimising (NLL_c + KL / C) / B (Algorithm 1; ``nn.truncated_sequence_loss``),
the state carried (detached) from chunk to chunk.

Forecast: after reading the observed series, each of S = 100 weight draws runs on by itself,
feeding its own noisy prediction back; the 5-95% band of the S trajectories is narrow on the
observed part and widens as the forecast leaves the data.

Figure (OUT/bayesian_rnn_forecast.png).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402  (host-side data and figures)

import minibayes as mb  # noqa: E402
from minibayes import nn, optim  # noqa: E402
from minibayes.autograd import ops  # noqa: E402

NOISE_STD = 0.1


def series(n: int, seed: int, phase: float = 0.0) -> np.ndarray:
    t = np.arange(n) + phase
    rng = np.random.default_rng(seed)
    return np.sin(2 * np.pi * t / 25) + 0.5 * np.sin(2 * np.pi * t / 63) + rng.normal(0, NOISE_STD, n)


class Forecaster(nn.Module):
    """y_t -> prediction of y_{t+1}: Bayesian LSTM then a linear readout. Time-major (T, N, 1)."""

    def __init__(self, hidden: int = 16) -> None:
        super().__init__()
        self.rnn = nn.Recurrent(nn.BayesianLSTMCell(1, hidden, prior=nn.GaussianPrior(1.0),
                                                    posterior_rho_init=(-4.0, -3.0)))
        self.readout = nn.Dense(hidden, 1, init="glorot")

    def forward(self, x, state=None):
        hidden, state = self.rnn(x, state)
        return self.readout(hidden), state


def gaussian_nll(prediction, target) -> mb.Tensor:
    """-log N(target | prediction, NOISE_STD^2), summed over every element."""
    difference = prediction - target
    return (difference * difference).sum() * (0.5 / NOISE_STD**2) + target.size * (
        math.log(NOISE_STD) + 0.5 * math.log(2 * math.pi))


def train(model: Forecaster, data: np.ndarray, epochs: int, length: int) -> list[float]:
    """data (T, B): truncated BPTT over C = ceil(T / length) chunks per epoch, Fortunato et al.'s scaling."""
    x = mb.asarray(data[:-1, :, None])
    y = mb.asarray(data[1:, :, None])
    batch = data.shape[1]
    chunks = math.ceil(x.shape[0] / length)
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    history = []
    for _ in range(epochs):
        state, total = None, 0.0
        for x_c, y_c in nn.truncated_sequences(x, y, length):
            optimizer.zero_grad()
            prediction, state = model(x_c, state)
            state = nn.detach_state(state)
            loss = nn.truncated_sequence_loss(gaussian_nll(prediction, y_c), nn.model_kl(model, "monte_carlo"),
                                              batch, chunks)
            loss.backward()
            optimizer.step()
            total += loss.item()
        history.append(total)  # one epoch: the full-sequence negative ELBO per sequence (at varying draws)
    return history


def forecast(model: Forecaster, observed: np.ndarray, horizon: int, draws: int) -> np.ndarray:
    """(draws, len(observed) - 1 + horizon) one-step predictions then free-running trajectories,
    one weight draw per trajectory (all trajectories as one batch: draws are per call)."""
    cell = model.rnn.cell
    x = mb.asarray(np.repeat(observed[:, None, None], 1, axis=1))
    paths = []
    generator = np.random.default_rng(0)
    with mb.no_grad(), nn.stochastic():
        for _ in range(draws):
            w_x, w_h, b = cell.weights()  # one draw for the whole trajectory
            state = cell.initial_state(1, mb.Tensor(x))
            values = []
            for t in range(len(observed)):
                state = cell.step(ops.linear(mb.Tensor(x[t]), w_x, b), state, w_h)
                values.append(model.readout(cell.output(state)).item())
            for _ in range(horizon):
                previous = values[-1] + generator.normal(0, NOISE_STD)
                step_input = mb.Tensor(mb.asarray(np.array([[previous]], dtype=np.float32)))
                state = cell.step(ops.linear(step_input, w_x, b), state, w_h)
                values.append(model.readout(cell.output(state)).item())
            paths.append(values)
    return np.array(paths)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default="demo_out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", default="numpy", choices=("numpy", "cupy"))
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    epochs = args.epochs or (15 if args.quick else 150)
    train_steps, horizon, batch = (100, 60, 4) if args.quick else (200, 100, 8)
    with mb.using(args.backend):
        mb.seed(args.seed)
        data = np.stack([series(train_steps + 1, args.seed + i, phase=17.0 * i) for i in range(batch)], axis=1)
        model = Forecaster()
        history = train(model, data.astype(np.float32), epochs, length=25)
        observed = series(train_steps, args.seed + 100, phase=5.0).astype(np.float32)
        paths = forecast(model, observed, horizon, 20 if args.quick else 100)
    low, high = np.percentile(paths, [5, 95], axis=0)
    t = np.arange(1, train_steps + horizon + 1)  # value k predicts y at time k + 1
    truth = series(train_steps + horizon + 1, args.seed + 100, phase=5.0)
    inside = float(np.mean((high - low)[: train_steps - 1]))
    far = float(np.mean((high - low)[-horizon // 3:]))
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(np.arange(len(truth)), truth, ".", ms=3, color="black", label="series")
    ax.fill_between(t, low, high, alpha=0.3, label="5-95% of 1-step / free-running predictions")
    ax.plot(t, np.median(paths, 0), color="tab:blue", label="median")
    ax.axvline(train_steps - 0.5, color="grey", ls="--", label="end of observations")
    ax.set(title="Bayes by Backprop LSTM (Fortunato et al. 2017): forecast bands", xlabel="t")
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(out / "bayesian_rnn_forecast.png", dpi=110)
    plt.close(fig)
    print(f"negative ELBO per sequence: first epoch {history[0]:.1f}, last {history[-1]:.1f}; "
          f"band width observed {inside:.3f}, far forecast {far:.3f}")
    return {"history": history, "band_inside": inside, "band_far": far}


if __name__ == "__main__":
    main()
