"""Rebuild ``fashion_mnist_small.npz`` from the full Fashion-MNIST IDX files.

    python -m minibayes.data.make_small_subset [--path DIR] [--out FILE]

The rule: the first 200 training and the first 50 test images of each class,
in file order, kept in file order (so classes stay interleaved as in the
original files). The archive is written so that the same input gives the same
bytes: fixed member order, timestamps and compression level (``numpy.savez_compressed``
stamps each member with the current time). It loads with ``numpy.load`` like
any ``.npz``. Byte identity also assumes the same zlib (deflate output is
stable across zlib 1.2/1.3 releases, not across other implementations).
"""

from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path

import numpy

from .mnist import SMALL_SUBSET_PATH, load_fashion_mnist

PER_CLASS = {"train": 200, "test": 50}
N_CLASSES = 10
# The earliest date a zip header can hold: any fixed date makes the bytes reproducible.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def first_per_class(labels: numpy.ndarray, per_class: int, n_classes: int = N_CLASSES) -> numpy.ndarray:
    """Indices of the first ``per_class`` samples of each class, in increasing order.

    Parameters
    ----------
    labels : numpy.ndarray of shape (N,), integer
    per_class : int

    Returns
    -------
    numpy.ndarray of shape (n_classes * per_class,), int64
    """
    chosen = []
    for k in range(n_classes):
        members = numpy.flatnonzero(labels == k)[:per_class]
        if len(members) < per_class:
            raise ValueError(f"labels hold only {len(members)} samples of class {k}, need {per_class}")
        chosen.append(members)
    return numpy.sort(numpy.concatenate(chosen))


def make_subset(path: object = None) -> dict[str, numpy.ndarray]:
    """The subset's arrays: ``{split}_images`` uint8 (n, 28, 28) and ``{split}_labels`` uint8 (n,)."""
    arrays = {}
    for split, per_class in PER_CLASS.items():
        images, labels = load_fashion_mnist(split, path=path)
        index = first_per_class(labels, per_class)
        arrays[f"{split}_images"] = numpy.ascontiguousarray(images[index], dtype=numpy.uint8)
        arrays[f"{split}_labels"] = labels[index].astype(numpy.uint8)
    return arrays


def write_npz(file: object, arrays: dict[str, numpy.ndarray]) -> None:
    """Write ``arrays`` as a deflate-compressed ``.npz`` whose bytes depend only on the arrays."""
    with zipfile.ZipFile(file, "w") as archive:
        for key, array in arrays.items():
            buffer = io.BytesIO()
            numpy.lib.format.write_array(buffer, array, allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, whatever the platform: the byte is in every header
            info.external_attr = 0o644 << 16
            archive.writestr(info, buffer.getvalue(), compresslevel=9)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", help="directory of the full IDX files (default: the usual search)")
    parser.add_argument("--out", default=str(SMALL_SUBSET_PATH), help="the .npz to write")
    args = parser.parse_args(argv)
    arrays = make_subset(args.path)
    write_npz(Path(args.out), arrays)
    shapes = ", ".join(f"{key} {value.shape}" for key, value in arrays.items())
    print(f"wrote {args.out}: {shapes}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
