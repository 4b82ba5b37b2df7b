"""MNIST and Fashion-MNIST: the full sets from IDX files, or a small subset shipped here.

Where the files are looked for, in order (the first directory holding both
files of the split wins)::

    path                     the argument, and path/fashion-mnist (path/mnist)
    $MINIBAYES_DATA          and $MINIBAYES_DATA/fashion-mnist ($MINIBAYES_DATA/mnist)
    FASHION_MNIST_DIRS       /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist),
                             ~/.cache/minibayes/fashion-mnist
    MNIST_DIRS               ~/.cache/minibayes/mnist

A ``path`` argument replaces the rest of the list: asking for a place and
silently getting data from another hides a typo. Each file may be gzipped
(``train-images-idx3-ubyte.gz``) or not (``train-images-idx3-ubyte``).

The shipped subset (``subset="small"``) holds 2,000 training and 500 test
Fashion-MNIST images: the first 200 (train) and 50 (test) images of each class
in file order, kept in file order. ``make_small_subset.py`` rebuilds it from
the full files; ``FASHION_MNIST_LICENSE`` is its licence (MIT, Zalando SE).

H. Xiao, K. Rasul and R. Vollgraf (2017), "Fashion-MNIST: a Novel Image Dataset
for Benchmarking Machine Learning Algorithms", arXiv:1708.07747.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy

from .. import backend
from .idx import read_idx

__all__ = [
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_DIRS",
    "MNIST_DIRS",
    "DATA_ENV_VAR",
    "SMALL_SUBSET_PATH",
    "load_fashion_mnist",
    "load_fashion_mnist_or_small",
    "load_mnist",
    "images_to_float",
]

# Label k of Fashion-MNIST is FASHION_MNIST_CLASSES[k] (the dataset's README).
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
DATA_ENV_VAR = "MINIBAYES_DATA"
# Module-level tuples, read at call time, so tests can point them elsewhere.
FASHION_MNIST_DIRS: tuple[str, ...] = (
    "/usr/share/datasets/fashion-mnist",
    "~/.cache/minibayes/fashion-mnist",
)
MNIST_DIRS: tuple[str, ...] = ("~/.cache/minibayes/mnist",)
SMALL_SUBSET_PATH = Path(__file__).with_name("fashion_mnist_small.npz")

SPLITS = ("train", "test")
# (images, labels) base names of each split; a ".gz" suffix is also accepted.
FILE_NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_HOW_TO_GET = {
    "fashion-mnist": (
        "To get it: `apt-get install -y dataset-fashion-mnist` (Debian/Ubuntu, installs into "
        "/usr/share/datasets/fashion-mnist), or download the four files {files} from "
        "https://github.com/zalandoresearch/fashion-mnist (data/fashion) into one of the directories "
        "above, or use subset=\"small\" for the 2,000/500-image subset shipped with minibayes."
    ),
    "mnist": (
        "To get it: download the four files {files} of the MNIST database "
        "(http://yann.lecun.com/exdb/mnist/) into one of the directories above, or set "
        f"${DATA_ENV_VAR} to the directory that holds them."
    ),
}


def _find_file(directory: Path, name: str) -> Path | None:
    """``directory/name`` or ``directory/name.gz``, whichever exists (uncompressed first)."""
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _search_dirs(path: object, subdir: str, defaults: tuple[str, ...]) -> list[Path]:
    """The directories to look in, in order (see the module docstring)."""
    if path is not None:
        base = Path(os.fspath(path)).expanduser()
        return [base, base / subdir]
    dirs = []
    env = os.environ.get(DATA_ENV_VAR)
    if env:
        base = Path(env).expanduser()
        dirs += [base, base / subdir]
    return dirs + [Path(directory).expanduser() for directory in defaults]


def _locate(split: str, path: object, subdir: str, defaults: tuple[str, ...]) -> tuple[Path, Path]:
    """The (images, labels) files of ``split``, or a FileNotFoundError listing every place tried."""
    names = FILE_NAMES[split]
    tried = []
    for directory in _search_dirs(path, subdir, defaults):
        found = [_find_file(directory, name) for name in names]
        if all(found):
            return found[0], found[1]
        # Say what was half there: one file of a pair is a broken download, not a missing set.
        partial = [str(file.name) for file in found if file is not None]
        tried.append(f"  {directory}" + (f" (has only {', '.join(partial)})" if partial else ""))
    all_files = ", ".join(f"{name}.gz" for split_names in FILE_NAMES.values() for name in split_names)
    raise FileNotFoundError(
        f"{subdir} {split} split not found: looked for {names[0]}[.gz] and {names[1]}[.gz] in\n"
        + "\n".join(tried)
        + "\n"
        + _HOW_TO_GET[subdir].format(files=all_files)
    )


def _read_pair(images_path: Path, labels_path: Path) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Read and check one split: images (N, 28, 28) uint8, labels (N,) uint8 in 0..9."""
    images = read_idx(images_path, ndim=3)
    labels = read_idx(labels_path, ndim=1)
    if images.dtype != numpy.uint8 or images.shape[1:] != (28, 28):
        raise ValueError(
            f"{images_path}: expected N x 28 x 28 uint8 images, found shape {images.shape} {images.dtype}"
        )
    if labels.dtype != numpy.uint8:
        raise ValueError(f"{labels_path}: expected uint8 labels, found {labels.dtype}")
    if labels.size and labels.max() > 9:
        raise ValueError(f"{labels_path}: expected labels in 0..9, found {int(labels.max())}")
    if len(images) != len(labels):
        raise ValueError(
            f"image and label counts differ: {images_path} holds {len(images)} images, "
            f"{labels_path} holds {len(labels)} labels"
        )
    return images, labels.astype(numpy.int64)


def _check_split(split: object) -> str:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return split


def load_fashion_mnist(
    split: str = "train", path: str | os.PathLike | None = None, subset: str | None = None
) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Fashion-MNIST images and labels (Xiao, Rasul and Vollgraf 2017).

    Parameters
    ----------
    split : {"train", "test"}
        60,000 training or 10,000 test images (2,000 / 500 with ``subset="small"``).
    path : str or path-like, optional
        The directory holding the IDX files (or its parent, holding
        ``fashion-mnist/``). When given, no other place is searched.
    subset : {None, "small"}
        "small" loads the class-balanced subset shipped with minibayes
        (200 train / 50 test images per class) and searches nothing.

    Returns
    -------
    images : numpy.ndarray of shape (N, 28, 28), uint8
        Grey levels 0 (background) to 255.
    labels : numpy.ndarray of shape (N,), int64
        Class indices 0..9, named by ``FASHION_MNIST_CLASSES``.

    Raises
    ------
    FileNotFoundError
        When no searched directory holds both files of the split; the message
        lists the directories and says how to get the data.
    ValueError
        For a bad ``split`` or ``subset``, or a file that is corrupt or not
        28 x 28 uint8 images with matching labels.
    """
    split = _check_split(split)
    if subset is None:
        return _read_pair(*_locate(split, path, "fashion-mnist", FASHION_MNIST_DIRS))
    if subset != "small":
        raise ValueError(f"subset must be None or 'small', got {subset!r}")
    if path is not None:
        raise ValueError("give either path or subset='small': the small subset is shipped, not searched for")
    with numpy.load(SMALL_SUBSET_PATH, allow_pickle=False) as archive:
        return archive[f"{split}_images"], archive[f"{split}_labels"].astype(numpy.int64)


def load_fashion_mnist_or_small(
    split: str = "train", path: str | os.PathLike | None = None, quiet: bool = False
) -> tuple[numpy.ndarray, numpy.ndarray]:
    """The full Fashion-MNIST split when it is found, else the shipped small subset.

    For demos, which should run anywhere: when the full set is missing, one
    line on stderr (unless ``quiet``) says so and how to get it. A full set that
    is found but corrupt still raises: falling back would hide the damage.
    Parameters and returns are those of ``load_fashion_mnist``.
    """
    try:
        return load_fashion_mnist(split, path=path)
    except FileNotFoundError:
        if not quiet:
            print(
                f"minibayes: full Fashion-MNIST not found (see minibayes.data.load_fashion_mnist); "
                f"using the shipped {split} subset. Get the full set with "
                f"`apt-get install -y dataset-fashion-mnist` or set ${DATA_ENV_VAR}.",
                file=sys.stderr,
            )
        return load_fashion_mnist(split, subset="small")


def load_mnist(
    split: str = "train", path: str | os.PathLike | None = None
) -> tuple[numpy.ndarray, numpy.ndarray]:
    """MNIST handwritten digits (LeCun, Cortes and Burges), same contract as ``load_fashion_mnist``.

    Searched in ``path`` (and ``path/mnist``), else ``$MINIBAYES_DATA`` (and
    ``$MINIBAYES_DATA/mnist``), then ``MNIST_DIRS``.

    Returns
    -------
    images : numpy.ndarray of shape (N, 28, 28), uint8
    labels : numpy.ndarray of shape (N,), int64, digits 0..9
    """
    split = _check_split(split)
    return _read_pair(*_locate(split, path, "mnist", MNIST_DIRS))


def images_to_float(images: numpy.ndarray, dtype: object = None) -> numpy.ndarray:
    """uint8 images as flat floats in [0, 1], the usual input of a dense network.

    Parameters
    ----------
    images : numpy.ndarray of shape (N, H, W), uint8
    dtype : floating dtype, optional
        Defaults to the backend's default dtype (float32 unless changed).

    Returns
    -------
    numpy.ndarray of shape (N, H * W)
        ``images / 255`` on the host; a DataLoader moves batches to the device.
    """
    images = numpy.asarray(images)
    if images.dtype != numpy.uint8 or images.ndim < 2:
        raise TypeError(
            f"images must be a uint8 array of shape (N, H, W), got {images.dtype} of shape {images.shape}"
        )
    dtype = numpy.dtype(dtype if dtype is not None else backend.get_default_dtype())
    if dtype.kind != "f":
        raise TypeError(f"dtype must be a floating dtype, got {dtype}")
    return images.reshape(len(images), -1).astype(dtype) / dtype.type(255)
