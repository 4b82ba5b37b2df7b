"""The Fashion-MNIST splits every image demo starts from."""

from __future__ import annotations

from minibayes.data import images_to_float, load_fashion_mnist, load_fashion_mnist_or_small

# Sizes of the subset shipped with minibayes (minibayes.data.mnist): how a demo tells which set it got.
SMALL_SIZES = (2000, 500)


def load_data(quick: bool, path: str | None) -> tuple[tuple, tuple, str]:
    """(train images, labels), (test images, labels) as host float32 (N, 784) in [0, 1] / int64 (N,),
    and "full" or "small": the shipped subset with ``quick``, else the full set when it is found
    (falling back to the subset, with a notice on stderr, when it is missing)."""
    if quick:
        splits = [load_fashion_mnist(split, subset="small") for split in ("train", "test")]
    else:
        splits = [load_fashion_mnist_or_small(split, path=path) for split in ("train", "test")]
    source = "small" if tuple(len(labels) for _, labels in splits) == SMALL_SIZES else "full"
    (train_images, train_labels), (test_images, test_labels) = splits
    return (images_to_float(train_images), train_labels), (images_to_float(test_images), test_labels), source
