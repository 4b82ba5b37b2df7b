"""Writing small IDX files for the data tests (the format is in minibayes/data/idx.py)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from minibayes.data.idx import IDX_DTYPES

CODES = {dtype: code for code, dtype in IDX_DTYPES.items()}


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of ``array``: 00 00, type code, ndim, big-endian sizes, big-endian data."""
    dtype = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    header = bytes([0, 0, CODES[dtype], array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return header + np.ascontiguousarray(array, dtype=dtype).tobytes()


def write_idx(path: Path, array: np.ndarray, gz: bool | None = None) -> Path:
    """Write ``array`` to ``path``, gzipped when ``gz`` (default: when the name ends in .gz)."""
    content = idx_bytes(array)
    gz = str(path).endswith(".gz") if gz is None else gz
    path.write_bytes(gzip.compress(content) if gz else content)
    return path


def write_image_set(directory: Path, split: str = "train", n: int = 6, gz: bool = True,
                    fill: int = 0, n_labels: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A fake MNIST-format split in ``directory``: images all equal to ``fill``, labels i mod 10."""
    directory.mkdir(parents=True, exist_ok=True)
    prefix = "train" if split == "train" else "t10k"
    suffix = ".gz" if gz else ""
    images = np.full((n, 28, 28), fill, dtype=np.uint8)
    labels = (np.arange(n if n_labels is None else n_labels) % 10).astype(np.uint8)
    write_idx(directory / f"{prefix}-images-idx3-ubyte{suffix}", images)
    write_idx(directory / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
    return images, labels
