"""Variational autoencoders on Fashion-MNIST (Kingma & Welling 2014; seed Day 3, lecture 000).

    python demos/vae.py [--quick] [--out DIR] [--seed N] [--backend numpy|cupy] [--epochs N]
                        [--batch-size N] [--lr LR] [--latent N] [--warmup-epochs N] [--iwae-k K]
                        [--iwae-images N] [--data DIR]

Trains, with Adam on minibatches of pixels scaled to [0, 1]:
1. the 784-400-J VAE (J = 20) with a Bernoulli decoder, SGVB estimator B (closed-form KL,
   K&W eq. 10), L = 1, printing per epoch the train and test ELBO with its two parts in nats
   per image and the number of active units (Burda et al. 2016), so a collapse is visible;
2. the same model with J = 2, whose latent space can be drawn: the learned manifold
   (K&W Figure 4: a grid on the unit square through the inverse Gaussian CDF) and the test
   images' posterior means coloured by class;
3. a deterministic autoencoder (784-400-J, binary cross-entropy) for reconstructions beside the VAE's.

At the end it estimates log p(x) of the J = 20 model on test images by the importance-weighted
bound with k = 1000 samples (``VAE.log_likelihood``; on grey levels a bound on the Bernoulli
cross-entropy objective, on ``--binarise``d images on a true log p(x)), and measures, on a 1-D Gaussian, the
variance of the score-function and reparameterisation gradient estimators (K&W section 2.2).

Figures (OUT/...png): vae_elbo.png (ELBO curves), vae_samples.png (draws from the prior),
vae_reconstructions.png (inputs, VAE and AE reconstructions), vae_manifold.png,
vae_latent_space.png, gradient_estimators.png. ``--quick`` trains on the 2,000 / 500 image
subset shipped with minibayes for 3 epochs.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402  (host-side figures and tables only)
from scipy.stats import norm  # noqa: E402

import minibayes as mb  # noqa: E402
from minibayes import nn, optim  # noqa: E402
from minibayes.data import DataLoader  # noqa: E402
from minibayes.models import Autoencoder, gaussian_gradient_estimates, kl_warmup, make_mlp_vae  # noqa: E402
from minibayes.train import fit  # noqa: E402

from demos._fashion_mnist import load_data as load_fashion_mnist_splits  # noqa: E402

CLASSES = ("T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Boot")


def load_data(quick: bool, path: str | None, binarise: bool = False):
    """Flattened images in [0, 1] (host float32, (N, 784)) with labels, and "full" or "small".

    ``binarise``: pixels > 0.5 become 1, the rest 0, so that the Bernoulli decoder is a normalised
    model of the data and its ELBO and IWAE estimate bound a true log p(x) (K&W binarise MNIST).
    On grey levels the Bernoulli "log-likelihood" is the cross-entropy the course trains with,
    not a density of grey images.
    """
    (x_train, y_train), (x_test, y_test), source = load_fashion_mnist_splits(quick, path)
    flat = [x_train, x_test]
    if binarise:
        flat = [(x > 0.5).astype(x.dtype) for x in flat]
    for name, x in zip(("train", "test"), flat):
        # Checked once here, so that the models can skip the per-batch check (validate_args=False).
        if not (np.isfinite(x).all() and x.min() >= 0 and x.max() <= 1):
            raise ValueError(f"vae demo: {name} images must lie in [0, 1]")
    return (flat[0], y_train), (flat[1], y_test), source


def evaluate(vae, x: np.ndarray, batch_size: int = 1000) -> dict[str, float]:
    """ELBO and its parts in nats per image over all of x (one pass, estimator B, L = 1)."""
    totals = {"reconstruction": 0.0, "kl": 0.0}
    with mb.no_grad():
        for start in range(0, len(x), batch_size):
            result = vae.elbo(x[start: start + batch_size])
            rows = len(x[start: start + batch_size])
            totals["reconstruction"] += result.reconstruction.item() * rows
            totals["kl"] += result.kl.item() * rows
    out = {name: value / len(x) for name, value in totals.items()}
    out["elbo"] = out["reconstruction"] - out["kl"]
    return out


def train_vae(latent_dim, x_train, x_test, args, epochs, log=True):
    """One VAE trained by ``train.fit``; returns it and its per-epoch history."""
    vae = make_mlp_vae(784, 400, latent_dim, validate_args=False)
    optimizer = optim.Adam(vae.parameters(), lr=args.lr)
    loader = DataLoader((x_train,), batch_size=args.batch_size, shuffle=True, seed=args.seed)
    warmup_steps = args.warmup_epochs * len(loader)
    step = 0
    history = {name: [] for name in ("epoch", "train_elbo", "train_reconstruction", "train_kl", "test_elbo",
                                      "test_reconstruction", "test_kl", "active_units", "kl_min", "kl_max", "seconds")}
    epoch_start = time.perf_counter()

    def loss(model, batch):
        nonlocal step
        step += 1
        return model.elbo(batch[0], kl_weight=kl_warmup(step, warmup_steps)).terms()

    def end_of_epoch(epoch, model):
        nonlocal epoch_start
        seconds = time.perf_counter() - epoch_start
        model.eval()
        train, test = evaluate(model, x_train[:10_000]), evaluate(model, x_test)
        active, _ = model.active_units(x_test)
        kl_per_dimension = mb.to_numpy(model.kl_per_dimension(x_test))
        row = {"epoch": epoch, "seconds": seconds, "active_units": active,
               "kl_min": float(kl_per_dimension.min()), "kl_max": float(kl_per_dimension.max()),
               **{f"train_{k}": v for k, v in train.items()}, **{f"test_{k}": v for k, v in test.items()}}
        for name in history:
            history[name].append(row[name])
        if log:
            print(f"{latent_dim:>3} {epoch:>5} {train['elbo']:>10.2f} {train['reconstruction']:>10.2f} "
                  f"{train['kl']:>7.2f} {test['elbo']:>10.2f} {test['reconstruction']:>10.2f} {test['kl']:>7.2f} "
                  f"{active:>6} {row['kl_min']:>7.3f} {row['kl_max']:>7.2f} {seconds:>7.1f}", flush=True)
        epoch_start = time.perf_counter()
        return {}

    fit(vae, optimizer, loader, loss, epochs=epochs, callbacks=[end_of_epoch], progress=False)
    return vae, history


def train_autoencoder(latent_dim, x_train, args, epochs):
    ae = Autoencoder(nn.Sequential(nn.Dense(784, 400), nn.ReLU(), nn.Dense(400, latent_dim)),
                     nn.Sequential(nn.Dense(latent_dim, 400), nn.ReLU(), nn.Dense(400, 784)), loss="bce")
    optimizer = optim.Adam(ae.parameters(), lr=args.lr)
    loader = DataLoader((x_train,), batch_size=args.batch_size, shuffle=True, seed=args.seed)
    fit(ae, optimizer, loader, lambda model, batch: model.loss(batch[0]), epochs=epochs, progress=False)
    return ae


def image_grid(images: np.ndarray, rows: int, cols: int) -> np.ndarray:
    images = images.reshape(rows, cols, 28, 28)
    return images.transpose(0, 2, 1, 3).reshape(rows * 28, cols * 28)


def save_image(array: np.ndarray, path: Path, title: str) -> None:
    fig, ax = plt.subplots(figsize=(array.shape[1] / 40, array.shape[0] / 40 + 0.5))
    ax.imshow(array, cmap="gray_r", vmin=0, vmax=1)
    ax.set_axis_off()
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_elbo(histories: dict, path: Path, source: str) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for (latent_dim, history), colour in zip(histories.items(), ("tab:blue", "tab:orange")):
        for part, ax in zip(("elbo", "reconstruction", "kl"), axes):
            ax.plot(history["epoch"], history[f"train_{part}"], "o-", color=colour, label=f"J={latent_dim} train")
            ax.plot(history["epoch"], history[f"test_{part}"], "s--", color=colour, label=f"J={latent_dim} test")
    for ax, title in zip(axes, ("ELBO", "E_q[log p(x|z)]", "KL(q(z|x) || p(z))")):
        ax.set(xlabel="epoch", ylabel="nats per image", title=title)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"VAE on Fashion-MNIST ({source} set), SGVB estimator B")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_latent_space(vae2, x_test, y_test, path: Path) -> None:
    means = mb.to_numpy(vae2.encode(x_test).mean.data)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    scatter = ax.scatter(means[:, 0], means[:, 1], c=y_test, cmap="tab10", s=4, alpha=0.7)
    handles = [plt.Line2D([], [], marker="o", ls="", color=scatter.cmap(scatter.norm(k))) for k in range(10)]
    ax.legend(handles, CLASSES, fontsize=7, loc="best", markerscale=0.8)
    ax.set(xlabel="z_1", ylabel="z_2", title="test images' posterior means E[z|x], J = 2")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_gradient_estimators(path: Path) -> dict[str, list[float]]:
    """Variance of the two estimators of d/dm E[f(z)], f(z) = z^2, z ~ N(m, 1), over m (K&W section 2.2)."""
    means = np.linspace(-3, 3, 13)
    score_var, path_var = [], []
    for m in means:
        estimates = gaussian_gradient_estimates(lambda z: z * z, float(m), 1.0, 20_000)
        score_var.append(float(mb.to_numpy(estimates.score_function[:, 0]).var()))
        path_var.append(float(mb.to_numpy(estimates.reparameterisation[:, 0]).var()))
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.semilogy(means, score_var, "o-", label="score function f(z) d/dm log q(z)")
    ax.semilogy(means, path_var, "s-", label="reparameterisation f'(m + eps)")
    ax.set(xlabel="m", ylabel="variance of one-sample gradient estimate",
           title="d/dm E_{N(m,1)}[z^2] = 2m: two unbiased estimators")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return {"means": means.tolist(), "score_function": score_var, "reparameterisation": path_var}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy", choices=["numpy", "cupy"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="the shipped 2,000/500 subset and 3 epochs")
    parser.add_argument("--out", default="demos/out/vae", help="folder of the PNGs (created)")
    parser.add_argument("--epochs", type=int, default=None, help="default 10, or 3 with --quick")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--latent", type=int, default=20, help="J of the main model")
    parser.add_argument("--warmup-epochs", type=int, default=0, help="KL warm-up length (0: none)")
    parser.add_argument("--iwae-k", type=int, default=None, help="importance samples for log p(x) (1000, 100 quick)")
    parser.add_argument("--iwae-images", type=int, default=None, help="test images for log p(x) (default all, 200 quick)")
    parser.add_argument("--data", default=None, help="folder of the Fashion-MNIST IDX files")
    parser.add_argument("--binarise", action="store_true",
                        help="threshold pixels at 0.5: the Bernoulli decoder then models the data exactly")
    args = parser.parse_args(argv)
    epochs = args.epochs if args.epochs is not None else (3 if args.quick else 10)
    args.iwae_k = args.iwae_k if args.iwae_k is not None else (100 if args.quick else 1000)
    for name, value in (("--epochs", epochs), ("--batch-size", args.batch_size), ("--latent", args.latent),
                        ("--iwae-k", args.iwae_k)):
        if value <= 0:
            parser.error(f"{name} must be positive, got {value}")
    if args.warmup_epochs < 0:
        parser.error(f"--warmup-epochs must be >= 0, got {args.warmup_epochs}")

    with mb.using(args.backend):
        mb.seed(args.seed)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (x_train, y_train), (x_test, y_test), source = load_data(args.quick, args.data, args.binarise)
        print(f"Fashion-MNIST ({source} set): {len(x_train)} train / {len(x_test)} test images, backend "
              f"{args.backend}, {epochs} epochs, batch {args.batch_size}, Adam lr {args.lr:g}; nats per image")
        print(f"{'J':>3} {'epoch':>5} {'train ELBO':>10} {'E log p':>10} {'KL':>7} {'test ELBO':>10} "
              f"{'E log p':>10} {'KL':>7} {'active':>6} {'KL/dim min':>7} {'max':>7} {'seconds':>7}")
        start = time.perf_counter()
        vae, history = train_vae(args.latent, x_train, x_test, args, epochs)
        vae2, history2 = train_vae(2, x_train, x_test, args, epochs)
        ae = train_autoencoder(args.latent, x_train, args, epochs)

        n_iwae = args.iwae_images or (200 if args.quick else len(x_test))
        vae.eval()
        log_px = float(mb.to_numpy(vae.log_likelihood(x_test[:n_iwae], k=args.iwae_k)).mean())
        test_elbo_subset = evaluate(vae, x_test[:n_iwae])["elbo"]
        what = "log p(x)" if args.binarise else "Bernoulli cross-entropy 'log p(x)' of grey levels"
        print(f"J={args.latent}: test ELBO {history['test_elbo'][-1]:.2f} nats/image; on the first {n_iwae} "
              f"test images ELBO {test_elbo_subset:.2f}, IWAE estimate of {what} (k={args.iwae_k}) {log_px:.2f}; "
              f"active units {history['active_units'][-1]}/{args.latent}")

        plot_elbo({args.latent: history, 2: history2}, out / "vae_elbo.png", source)
        save_image(image_grid(mb.to_numpy(vae.sample(100)), 10, 10), out / "vae_samples.png",
                   f"E[x|z] for z ~ N(0, I), J = {args.latent} (samples from the prior)")
        shown = x_test[:10]
        rows = [shown, mb.to_numpy(vae.reconstruct(shown)), mb.to_numpy(ae.reconstruct(shown))]
        save_image(image_grid(np.concatenate(rows), 3, 10), out / "vae_reconstructions.png",
                   "test images; VAE reconstructions E[x|z=mu(x)]; autoencoder reconstructions")
        grid = norm.ppf(np.linspace(0.05, 0.95, 15))          # K&W Figure 4: the unit square via Phi^-1
        z = np.array([[a, b] for b in grid[::-1] for a in grid])
        save_image(image_grid(mb.to_numpy(vae2.decode(z)), 15, 15), out / "vae_manifold.png",
                   "learned manifold, J = 2: E[x|z] on a grid through the inverse Gaussian CDF")
        plot_latent_space(vae2, x_test, y_test, out / "vae_latent_space.png")
        estimator_variances = plot_gradient_estimators(out / "gradient_estimators.png")
        seconds = time.perf_counter() - start
    print(f"done in {seconds:.1f} s; wrote the figures to {out}")
    return {"history": history, "history_2d": history2, "log_likelihood": log_px, "iwae_images": n_iwae,
            "test_elbo_subset": test_elbo_subset, "estimator_variances": estimator_variances, "data": source,
            "seconds": seconds, "out": out}


if __name__ == "__main__":
    main()
