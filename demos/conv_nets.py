"""Convolutional networks, plain and Bayesian: LeNet-5, MC dropout, a Bayesian CNN, a convolutional
VAE with a 2-D latent and DCGAN, all on Fashion-MNIST (seed Day 3; lecture 000's var_mod notebook).

    python demos/conv_nets.py [--quick] [--out DIR] [--seed N] [--backend numpy|cupy] [--epochs N]
                              [--parts lenet,vae,dcgan]

1. LeNet-5 (LeCun et al. 1998, with ReLU and max pooling): conv 6@5x5 (padding 2) - pool - conv
   16@5x5 - pool - 120 - 84 - 10, 15 epochs of Adam (lr 1e-3, batch 128). The same with MC
   dropout (Gal & Ghahramani 2016: dropout after every layer, kept on at test time) and as a
   Bayesian CNN (Bayes by Backprop with BayesianConv2d and BayesianDense, local
   reparameterisation); T = 20 stochastic passes at test time (5 in --quick).
   Test accuracy of each; the rotated-image figure (a trouser rotated 0-180 degrees: softmax
   outputs of 100 passes, predictive entropy and mutual information per angle) for the two
   Bayesian models.
2. The course's convolutional VAE, done right: conv encoder (32@4x4/2, 64@4x4/2, batch norm,
   LeakyReLU) to a 2-D Gaussian latent; transposed-conv decoder with batch norm and LeakyReLU to
   Bernoulli logits (one sigmoid, inside the likelihood); binarised images; the test ELBO in nats
   per image over the whole test set; samples from the prior; the 2-D manifold (decoder means on
   a grid of prior quantiles).
3. DCGAN (Radford et al. 2016: strided convolutions instead of pooling, transposed convolutions in
   the generator, batch norm in both nets except the generator output and discriminator input,
   ReLU in the generator with tanh output, LeakyReLU(0.2) in the discriminator, Adam lr 2e-4,
   beta1 0.5): ``minibayes.models.GAN`` trained by ``train_gan`` (Goodfellow et al. 2014 Algorithm 1
   with k = 1 and the non-saturating generator loss), batches of 64 drawn from the training images
   uniformly with replacement (Algorithm 1's "sample a minibatch from p_data");
   samples from fixed noise after each epoch (len(train) / 64 iterations).

Figures (OUT/...png): lenet_rotated.png, conv_vae_samples.png, conv_vae_manifold.png,
dcgan_samples.png. ``--quick`` uses 512 training and 200 test images of the shipped subset: 3
epochs for LeNet, one for the VAE and for DCGAN.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402  (host-side data, tables and figures)
from scipy import ndimage, stats  # noqa: E402

import minibayes as mb  # noqa: E402
from minibayes import nn, optim  # noqa: E402
from minibayes.data import (  # noqa: E402
    FASHION_MNIST_CLASSES, DataLoader, load_fashion_mnist, load_fashion_mnist_or_small)
from minibayes.models import GAN, bbb_objective, categorical_log_likelihood, predict_mc, train_gan  # noqa: E402
from minibayes.models.vae import VAE  # noqa: E402
from minibayes.nn import functional as F  # noqa: E402
from minibayes.train import fit  # noqa: E402


def load_images(args):
    """Images (N, 1, 28, 28) in [0, 1] and labels, train and test."""
    if args.quick:
        train, test = load_fashion_mnist("train", subset="small"), load_fashion_mnist("test", subset="small")
    else:
        train, test = load_fashion_mnist_or_small("train"), load_fashion_mnist_or_small("test")
    return [(images.reshape(-1, 1, 28, 28).astype(np.float32) / 255.0, labels) for images, labels in (train, test)]


# --------------------------------------------------------------------------- 1. LeNet-5
def lenet(kind: str) -> nn.Module:
    """LeNet-5 as plain, MC dropout (p after each layer) or Bayesian (BBB) network: (N, 1, 28, 28) -> 10 logits."""
    if kind == "bayesian":
        prior = nn.GaussianPrior(1.0)
        options = dict(prior=prior, local_reparameterisation=True)
        return nn.Sequential(
            nn.BayesianConv2d(1, 6, 5, padding=2, **options), nn.ReLU(), nn.MaxPool2d(2),
            nn.BayesianConv2d(6, 16, 5, **options), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.BayesianDense(400, 120, **options), nn.ReLU(), nn.BayesianDense(120, 84, **options), nn.ReLU(),
            nn.BayesianDense(84, 10, **options))
    p = 0.25 if kind == "mc_dropout" else 0.0

    def drop():
        return [nn.Dropout(p)] if p else []

    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), *drop(),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), *drop(), nn.Flatten(),
        nn.Dense(400, 120), nn.ReLU(), *drop(), nn.Dense(120, 84), nn.ReLU(), *drop(), nn.Dense(84, 10))


def train_classifier(model, kind, x, y, epochs, seed):
    """Adam (lr 1e-3), batches of 128; the Bayesian CNN minimises the minibatch negative ELBO."""
    def loss(model, batch):
        xb, yb = batch
        if kind == "bayesian":
            return bbb_objective(model, xb, yb, categorical_log_likelihood, len(x)).loss
        return F.cross_entropy(model(xb), yb)

    loader = DataLoader((x, y), batch_size=128, shuffle=True, seed=seed)
    fit(model, optim.Adam(model.parameters(), lr=1e-3), loader, loss, epochs)
    return model.eval()


def accuracy(model, kind, x, y, passes: int) -> float:
    probabilities = []
    for start in range(0, len(x), 500):
        batch = mb.asarray(x[start: start + 500])
        if kind == "plain":
            with mb.no_grad():
                logits = model(batch).data
            p = mb.to_numpy(mb.softmax(mb.Tensor(logits), axis=-1).data)
        else:
            p = mb.to_numpy(predict_mc(model, batch, passes, task="classification").probabilities)
        probabilities.append(p)
    return float((np.concatenate(probabilities).argmax(1) == y).mean())


def rotated(models, x_test, y_test, out: Path) -> dict:
    """Gal & Ghahramani's figure with the convolutional models: uncertainty as a trouser turns.

    As demos/uncertainty.py's rotated_image.png, one row per model: the softmax outputs of 100
    stochastic passes for the three most probable classes, then the predictive entropy and the
    mutual information (its epistemic part) per angle; the image at every third angle on top.
    """
    index = int(np.flatnonzero(y_test == 1)[0])
    angles = np.linspace(0, 180, 13)
    images = np.stack([np.clip(ndimage.rotate(x_test[index, 0], a, reshape=False, order=1), 0, 1)
                       for a in angles])[:, None].astype(np.float32)
    fig, axes = plt.subplots(len(models), 2, figsize=(11, 3.6 * len(models)), squeeze=False)
    summary = {}
    for (ax_softmax, ax_uncertainty), (kind, model) in zip(axes, models.items()):
        result = predict_mc(model, mb.asarray(images), 100, task="classification", seed=0)
        passes = mb.to_numpy(result.samples)                                    # (T, angles, classes)
        entropy, information = mb.to_numpy(result.predictive_entropy), mb.to_numpy(result.mutual_information)
        name = {"mc_dropout": "MC dropout", "bayesian": "Bayesian CNN"}.get(kind, kind)
        for k, colour in zip(np.argsort(-passes.mean((0, 1)))[:3], ("tab:blue", "tab:red", "tab:green")):
            ax_softmax.scatter(np.repeat(angles[None], len(passes), 0), passes[:, :, k], s=2, color=colour, alpha=0.3)
            ax_softmax.plot([], [], "o", color=colour, label=FASHION_MNIST_CLASSES[k])
        ax_softmax.set(title=f"LeNet-5, {name}: softmax output (100 passes)", xlabel="rotation (degrees)")
        ax_softmax.legend(fontsize=8)
        ax_uncertainty.plot(angles, entropy, "o-", label="predictive entropy")
        ax_uncertainty.plot(angles, information, "s-", label="mutual information (epistemic)")
        ax_uncertainty.set(title=f"LeNet-5, {name}: uncertainty per rotation", xlabel="rotation (degrees)",
                           ylabel="nats")
        ax_uncertainty.legend(fontsize=8)
        summary[kind] = {"entropy": entropy.tolist(), "mutual_information": information.tolist()}
    for ax in axes.ravel():
        ax.grid(alpha=0.3)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    strip = fig.add_axes([0.05, 0.91, 0.4, 0.08])        # the image at every third rotation
    strip.imshow(np.concatenate(list(images[::3, 0]), axis=1), cmap="gray_r")
    strip.set_axis_off()
    fig.savefig(out / "lenet_rotated.png", dpi=110)
    plt.close(fig)
    return summary


def lenet_part(args, data, out: Path) -> dict:
    (x_train, y_train), (x_test, y_test) = data
    epochs = args.epochs or (3 if args.quick else 15)
    results, models = {}, {}
    for kind in ("plain", "mc_dropout", "bayesian"):
        start = time.perf_counter()
        model = train_classifier(lenet(kind), kind, x_train, y_train, epochs, args.seed)
        passes = 5 if args.quick else 20
        results[kind] = {"accuracy": accuracy(model, kind, x_test, y_test, passes),
                         "seconds": time.perf_counter() - start}
        models[kind] = model
        print(f"LeNet-5 {kind:>10}: test accuracy {results[kind]['accuracy']:.4f} "
              f"({epochs} epochs, {results[kind]['seconds']:.0f} s)")
    results["rotated"] = rotated({k: models[k] for k in ("mc_dropout", "bayesian")}, x_test, y_test, out)
    return results


# --------------------------------------------------------------------------- 2. convolutional VAE
def conv_vae(latent_dim: int = 2) -> VAE:
    """Conv encoder / transposed-conv decoder with batch norm and LeakyReLU, flat 784-pixel interface."""
    encoder = nn.Sequential(
        nn.Unflatten(1, 28, 28),
        nn.Conv2d(1, 32, 4, stride=2, padding=1), nn.BatchNorm2d(32), nn.LeakyReLU(0.2),   # 14 x 14
        nn.Conv2d(32, 64, 4, stride=2, padding=1), nn.BatchNorm2d(64), nn.LeakyReLU(0.2),  # 7 x 7
        nn.Flatten(), nn.Dense(64 * 7 * 7, 2 * latent_dim, init="glorot"))
    decoder = nn.Sequential(
        nn.Dense(latent_dim, 64 * 7 * 7), nn.Unflatten(64, 7, 7), nn.BatchNorm2d(64), nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1), nn.BatchNorm2d(32), nn.LeakyReLU(0.2),   # 14 x 14
        nn.ConvTranspose2d(32, 1, 4, stride=2, padding=1), nn.Flatten())                             # logits
    return VAE(encoder, decoder, latent_dim, likelihood="bernoulli", validate_args=False)


def binarise(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Stochastic binarisation (Salakhutdinov & Murray 2008): each pixel is ink with its grey level."""
    return (rng.random(x.shape) < x).astype(np.float32).reshape(len(x), -1)


def vae_part(args, data, out: Path) -> dict:
    (x_train, _), (x_test, _) = data
    rng = np.random.default_rng(args.seed)
    train, test = binarise(x_train, rng), binarise(x_test, rng)
    epochs = args.epochs or (1 if args.quick else 20)
    model = conv_vae()
    # One loader for all epochs: its generator moves on, so each epoch sees a new order.
    loader = DataLoader(train, batch_size=128, shuffle=True, seed=args.seed)
    fit(model, optim.Adam(model.parameters(), lr=1e-3), loader, lambda vae, xb: vae.loss(xb), epochs)
    model.eval()
    # The test ELBO over the whole test set, in nats per image (not the last minibatch's loss).
    total = 0.0
    with mb.no_grad():
        for start in range(0, len(test), 500):
            batch = test[start: start + 500]
            total += model.elbo(mb.asarray(batch)).elbo.item() * len(batch)
    test_elbo = total / len(test)
    print(f"conv VAE (2-D latent): test ELBO {test_elbo:.1f} nats per image ({epochs} epochs)")
    samples = mb.to_numpy(model.sample(64)).reshape(8, 8, 28, 28)
    _image_grid(samples, out / "conv_vae_samples.png", "conv VAE: samples from the prior N(0, I)")
    grid = stats.norm.ppf(np.linspace(0.05, 0.95, 15))
    z = np.array([[a, b] for b in grid[::-1] for a in grid], dtype=np.float32)
    manifold = mb.to_numpy(model.decode(z)).reshape(15, 15, 28, 28)
    _image_grid(manifold, out / "conv_vae_manifold.png", "conv VAE: the learned 2-D manifold")
    return {"test_elbo": test_elbo, "epochs": epochs}


def _image_grid(images: np.ndarray, path: Path, title: str) -> None:
    rows, cols = images.shape[:2]
    canvas = images.transpose(0, 2, 1, 3).reshape(rows * 28, cols * 28)
    fig, ax = plt.subplots(figsize=(cols * 0.6, rows * 0.6 + 0.4))
    ax.imshow(canvas, cmap="gray_r", vmin=0, vmax=1)
    ax.set_axis_off()
    ax.set_title(title, fontsize=9)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


# --------------------------------------------------------------------------- 3. DCGAN
def dcgan(noise_dim: int = 32):
    generator = nn.Sequential(
        nn.Dense(noise_dim, 128 * 7 * 7), nn.Unflatten(128, 7, 7), nn.BatchNorm2d(128), nn.ReLU(),
        nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1), nn.BatchNorm2d(64), nn.ReLU(),   # 14 x 14
        nn.ConvTranspose2d(64, 1, 4, stride=2, padding=1), nn.Tanh())                         # 28 x 28
    discriminator = nn.Sequential(
        nn.Conv2d(1, 64, 4, stride=2, padding=1), nn.LeakyReLU(0.2),                          # no BN at the input
        nn.Conv2d(64, 128, 4, stride=2, padding=1), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Dense(128 * 7 * 7, 1, init="glorot"))
    return generator, discriminator


def dcgan_part(args, data, out: Path) -> dict:
    (x_train, _), _ = data
    real_images = mb.asarray(x_train * 2.0 - 1.0)  # tanh range, copied to the device once
    epochs = args.epochs or (1 if args.quick else 5)
    noise_dim = 32
    gan = GAN(*dcgan(noise_dim), noise_dim, objective="non_saturating")
    # Radford et al.: Adam with lr 2e-4 and beta1 0.5 for both players.
    d_opt = optim.Adam(gan.discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    g_opt = optim.Adam(gan.generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    fixed = gan.sample_noise(8, random_state=args.seed)      # the same noise after every epoch
    snapshots, losses = [], []
    for _ in range(epochs):
        gan.train()   # batch statistics in both nets while training (train_gan leaves the modes alone)
        history = train_gan(gan, real_images, max(1, len(x_train) // 64), batch_size=64,
                            discriminator_optimizer=d_opt, generator_optimizer=g_opt)
        losses.append((float(history.discriminator[-1]), float(history.generator[-1])))
        gan.eval()    # running statistics for the samples
        with mb.no_grad():
            snapshots.append((mb.to_numpy(gan.generate(fixed).data)[:, 0] + 1.0) / 2.0)
    _image_grid(np.stack(snapshots), out / "dcgan_samples.png", "DCGAN: the same noise after each epoch (rows)")
    print(f"DCGAN: last discriminator / generator losses {losses[-1][0]:.3f} / {losses[-1][1]:.3f}")
    return {"losses": losses, "sample_std": float(np.std(snapshots[-1]))}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="512 / 200 images of the shipped subset, short runs")
    parser.add_argument("--out", default="demo_out", help="directory for the PNGs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", default="numpy", choices=("numpy", "cupy"))
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--parts", default="lenet,vae,dcgan")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    parts = set(args.parts.split(","))
    summary = {}
    with mb.using(args.backend):
        mb.seed(args.seed)
        data = load_images(args)
        if args.quick:  # a slice of the subset and short runs: enough for the figures
            data = [(data[0][0][:512], data[0][1][:512]), (data[1][0][:200], data[1][1][:200])]
        if "lenet" in parts:
            summary["lenet"] = lenet_part(args, data, out)
        if "vae" in parts:
            summary["vae"] = vae_part(args, data, out)
        if "dcgan" in parts:
            summary["dcgan"] = dcgan_part(args, data, out)
    return summary


if __name__ == "__main__":
    main()
