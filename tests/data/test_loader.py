"""DataLoader: every sample once per epoch, reproducible shuffles, backend arrays, checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minibayes as mb
from minibayes.data import DataLoader


def dataset(n):
    """Features whose first column is the sample's index, and labels index mod 3."""
    X = np.stack([np.arange(n, dtype=np.float64), np.zeros(n)], axis=1)
    return X, np.arange(n, dtype=np.int64) % 3


def epoch_indices(loader):
    return [batch[0][:, 0].astype(int).tolist() for batch in loader]


@given(
    n=st.integers(1, 40),
    batch_size=st.integers(1, 45),
    shuffle=st.booleans(),
    drop_last=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_each_epoch_visits_every_sample_once(n, batch_size, shuffle, drop_last, seed):
    X, y = dataset(n)
    loader = DataLoader((X, y), batch_size, shuffle=shuffle, drop_last=drop_last, seed=seed)
    full, rest = divmod(n, batch_size)
    assert len(loader) == full + (1 if rest and not drop_last else 0)
    for _ in range(2):
        batches = list(loader)
        assert len(batches) == len(loader)
        sizes = [len(xb) for xb, _ in batches]
        assert all(size == batch_size for size in sizes[:full])
        seen = np.concatenate([xb[:, 0] for xb, _ in batches]).astype(int) if batches else np.array([], int)
        for xb, yb in batches:  # features and labels stay paired
            np.testing.assert_array_equal(yb, xb[:, 0].astype(int) % 3)
        if drop_last:
            assert len(seen) == full * batch_size and len(set(seen.tolist())) == len(seen)
        else:
            np.testing.assert_array_equal(np.sort(seen), np.arange(n))
        if not shuffle:
            np.testing.assert_array_equal(seen, np.arange(len(seen)))


def test_batch_size_not_dividing_n():
    X, y = dataset(10)
    loader = DataLoader((X, y), batch_size=4)
    assert len(loader) == 3 and epoch_indices(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    loader = DataLoader((X, y), batch_size=4, drop_last=True)
    assert len(loader) == 2 and epoch_indices(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_shuffle_is_reproducible_and_differs_between_epochs():
    X, y = dataset(50)
    first = DataLoader((X, y), 8, shuffle=True, seed=7)
    second = DataLoader((X, y), 8, shuffle=True, seed=7)
    epochs = [epoch_indices(first) for _ in range(3)]
    assert epochs == [epoch_indices(second) for _ in range(3)]
    assert epochs[0] != epochs[1] != epochs[2]
    assert epochs[0] != epoch_indices(DataLoader((X, y), 8, shuffle=True, seed=8))
    assert sorted(sum(epochs[0], [])) != sum(epochs[0], [])  # actually shuffled


def test_seed_none_follows_mb_seed():
    X, y = dataset(30)
    mb.seed(5)
    first = epoch_indices(DataLoader((X, y), 7, shuffle=True))
    mb.seed(5)
    assert epoch_indices(DataLoader((X, y), 7, shuffle=True)) == first


def test_yields_backend_arrays_and_keeps_dtypes():
    X, y = dataset(6)
    xb, yb = next(iter(DataLoader((X, y), 4, shuffle=True, seed=0)))
    assert type(xb) is np.ndarray and type(yb) is np.ndarray  # the NumPy backend
    assert xb.dtype == np.float64 and yb.dtype == np.int64
    xb, yb = next(iter(DataLoader([X, y], 4, dtype="float32")))
    assert xb.dtype == np.float32 and yb.dtype == np.int64  # labels are never cast
    images = np.zeros((5, 28, 28), np.uint8)
    (batch,) = next(iter(DataLoader((images,), 2)))
    assert batch.dtype == np.uint8 and batch.shape == (2, 28, 28)


def test_single_array_yields_arrays_a_tuple_yields_tuples():
    X, _ = dataset(5)
    batches = list(DataLoader(X, 2))
    assert all(type(batch) is np.ndarray for batch in batches) and len(batches) == 3
    assert all(isinstance(batch, tuple) and len(batch) == 1 for batch in DataLoader((X,), 2))


@pytest.mark.gpu
@pytest.mark.skipif(not mb.cupy_available(), reason="needs CuPy and a CUDA device")
def test_batches_go_to_the_gpu_under_cupy():
    X, y = dataset(9)
    with mb.using("cupy"):
        xb, yb = next(iter(DataLoader((X, y), 4, shuffle=True, seed=0)))
        assert mb.backend.backend_name_of(xb) == "cupy" and yb.dtype == np.int64
        device_X = mb.asarray(X)
        (db,) = next(iter(DataLoader((device_X,), 4, shuffle=True, seed=0)))
    np.testing.assert_array_equal(mb.to_numpy(db), mb.to_numpy(xb))


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda X, y: DataLoader((), 2), ValueError, "arrays must hold at least one array"),
        (lambda X, y: DataLoader((X, y[:-1]), 2), ValueError, "arrays must share their first dimension"),
        (lambda X, y: DataLoader((X, 3.0), 2), TypeError, "arrays[1] must be an array"),
        (lambda X, y: DataLoader(X[:0], 2), ValueError, "arrays must hold at least one sample"),
        (lambda X, y: DataLoader((X, y), 0), ValueError, "batch_size must be a positive int, got 0"),
        (lambda X, y: DataLoader((X, y), 2.0), TypeError, "batch_size must be a positive int"),
        (lambda X, y: DataLoader((X, y), 2, shuffle=True, seed=-1), ValueError, "seed must be"),
        (lambda X, y: DataLoader((X, y), 2, seed=-1), ValueError, "seed must be"),
        (lambda X, y: DataLoader((X, y), 2, dtype="int32"), TypeError, "dtype must be a floating dtype"),
    ],
)
def test_validation_names_the_argument(make, error, message):
    X, y = dataset(4)
    with pytest.raises(error) as info:
        make(X, y)
    assert message in str(info.value)
