"""Data for the demos and tests: image sets, small classic sets, synthetic generators, batching.

Everything here returns host NumPy arrays; ``DataLoader`` moves batches to the
active backend (the GPU under CuPy) as they are used.

Reading files
    ``load_fashion_mnist``   Fashion-MNIST from IDX files, or ``subset="small"`` (shipped)
    ``load_fashion_mnist_or_small``   the full set when found, else the shipped subset
    ``load_mnist``           MNIST digits from IDX files
    ``read_idx``             the IDX reader behind both
    ``images_to_float``      uint8 (N, 28, 28) -> float (N, 784) in [0, 1]
    ``old_faithful``         the geyser data of PRML chapter 9, shape (272, 2)
    ``load_wine_quality``    UCI Wine Quality (white 4,898 / red 1,599 wines, 11 inputs, quality score)
Generating
    ``sinusoidal``           sin(2 pi x) + noise, PRML section 1.1
    ``two_moons``, ``gaussian_blobs``   2-D classification and clustering toys
Batching
    ``DataLoader``           shuffled mini-batches on the active backend, reproducible by seed

Where the image files are searched for (and how to point elsewhere) is in
``minibayes.data.mnist``; the directory list is ``minibayes.data.mnist.FASHION_MNIST_DIRS``.
"""

from .idx import IDX_DTYPES, read_idx
from .loader import DataLoader
from .mnist import (
    DATA_ENV_VAR, FASHION_MNIST_CLASSES, images_to_float, load_fashion_mnist,
    load_fashion_mnist_or_small, load_mnist,
)
from .old_faithful import old_faithful
from .synthetic import gaussian_blobs, sinusoidal, two_moons
from .wine import WINE_QUALITY_FEATURES, load_wine_quality

__all__ = [
    "DATA_ENV_VAR",
    "DataLoader",
    "FASHION_MNIST_CLASSES",
    "IDX_DTYPES",
    "gaussian_blobs",
    "images_to_float",
    "load_fashion_mnist",
    "load_fashion_mnist_or_small",
    "load_mnist",
    "load_wine_quality",
    "WINE_QUALITY_FEATURES",
    "old_faithful",
    "read_idx",
    "sinusoidal",
    "two_moons",
]
