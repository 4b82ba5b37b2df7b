"""Mini-batches over arrays, moved to the active backend one batch at a time.

    loader = DataLoader((X, y), batch_size=128, shuffle=True, seed=0)
    for epoch in range(10):
        for x_batch, y_batch in loader:     # backend arrays: CuPy on the GPU backend
            ...

The data stay where they are (host or device); only each batch is copied to
the active backend, so a host data set larger than GPU memory still works,
and switching backend between epochs is honoured.
"""

from __future__ import annotations

from typing import Iterator

import numpy

from .. import backend
from ._random import check_positive_int, host_generator

__all__ = ["DataLoader"]


class DataLoader:
    """Iterate over mini-batches of one or several arrays sharing their first axis.

    Parameters
    ----------
    arrays : array, or tuple/list of arrays, each of shape (N, ...)
        Host (NumPy) or backend arrays. A tuple or list yields tuples of
        batches, in the same order; a single array yields single batches (as
        PyTorch does for a tensor versus a ``TensorDataset``).
    batch_size : int
        Samples per batch; the last batch is smaller when it does not divide N.
    shuffle : bool
        Visit the samples in a fresh random order each epoch.
    drop_last : bool
        Skip the last batch when it is smaller than ``batch_size``.
    seed : None, int or numpy.random.Generator
        Seeds the host generator of the epoch permutations. It is advanced by
        every epoch, so epochs differ while the whole sequence is reproducible.
        None draws the seed from the backend's generator at construction, so
        ``minibayes.seed`` makes it reproducible.
    dtype : floating dtype, optional
        Cast floating arrays to it on the way; integer arrays (labels) keep
        their dtype either way.

    Yields
    ------
    tuple of arrays of shape (batch, ...), or one such array
        Arrays of the active backend (``minibayes.backend.asarray``). Without
        shuffling a batch of a NumPy array on the NumPy backend is a view.
    """

    def __init__(
        self,
        arrays: object,
        batch_size: int,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: object = None,
        dtype: object = None,
    ) -> None:
        self._as_tuple = isinstance(arrays, (tuple, list))
        arrays = tuple(arrays) if self._as_tuple else (arrays,)
        if not arrays:
            raise ValueError("arrays must hold at least one array")
        for index, array in enumerate(arrays):
            shape = getattr(array, "shape", None)
            if shape is None or len(shape) == 0:
                name = f"arrays[{index}]" if self._as_tuple else "arrays"
                raise TypeError(
                    f"{name} must be an array with a first (sample) axis, got {type(array).__name__}"
                )
        lengths = [array.shape[0] for array in arrays]
        if len(set(lengths)) > 1:
            raise ValueError(f"arrays must share their first dimension, got lengths {lengths}")
        if lengths[0] == 0:
            raise ValueError("arrays must hold at least one sample, got length 0")
        self.arrays = arrays
        self.n_samples = lengths[0]
        self.batch_size = check_positive_int(batch_size, "batch_size")
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        if dtype is not None and numpy.dtype(dtype).kind != "f":
            raise TypeError(f"dtype must be a floating dtype, got {numpy.dtype(dtype)}")
        self.dtype = None if dtype is None else numpy.dtype(dtype)
        # Drawn now, not at first iteration, so that mb.seed(k); DataLoader(...) is reproducible.
        # Without shuffling no generator is needed, but a bad seed is still an error.
        generator = host_generator(seed) if self.shuffle or seed is not None else None
        self._generator = generator if self.shuffle else None

    def __len__(self) -> int:
        """Number of batches per epoch."""
        full, rest = divmod(self.n_samples, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def _to_backend(self, batch: object) -> object:
        is_float = numpy.dtype(batch.dtype).kind == "f"
        return backend.asarray(batch, dtype=self.dtype if is_float else None)

    def __iter__(self) -> Iterator[object]:
        if self.shuffle:
            order = self._generator.permutation(self.n_samples)
            # One copy of the permutation per device the arrays live on, not one per batch.
            orders = [backend.on_backend_of(array, order) for array in self.arrays]
        for batch_index in range(len(self)):
            start = batch_index * self.batch_size
            stop = min(start + self.batch_size, self.n_samples)
            if self.shuffle:
                batch = tuple(
                    self._to_backend(array[index[start:stop]]) for array, index in zip(self.arrays, orders)
                )
            else:
                batch = tuple(self._to_backend(array[start:stop]) for array in self.arrays)
            yield batch if self._as_tuple else batch[0]

    def __repr__(self) -> str:
        return (
            f"DataLoader(n_samples={self.n_samples}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}, batches={len(self)})"
        )
