"""Fashion-MNIST and MNIST loading: search order, error messages, the shipped subset and its provenance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from minibayes.data import (
    FASHION_MNIST_CLASSES, images_to_float, load_fashion_mnist, load_fashion_mnist_or_small, load_mnist,
)
from minibayes.data import make_small_subset, mnist

from .idx_files import write_idx, write_image_set

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
needs_full_set = pytest.mark.skipif(
    not all((DEBIAN_DIR / f"{name}.gz").is_file() for names in mnist.FILE_NAMES.values() for name in names),
    reason="the full Fashion-MNIST set is not installed (apt-get install -y dataset-fashion-mnist)",
)


@pytest.fixture
def places(tmp_path, monkeypatch):
    """Empty search places: two default directories, and no $MINIBAYES_DATA."""
    defaults = (tmp_path / "default1", tmp_path / "default2")
    monkeypatch.setattr(mnist, "FASHION_MNIST_DIRS", tuple(str(d) for d in defaults))
    monkeypatch.setattr(mnist, "MNIST_DIRS", (str(tmp_path / "mnist-default"),))
    monkeypatch.delenv(mnist.DATA_ENV_VAR, raising=False)
    return tmp_path


def found_fill(split="train", **kwargs):
    """Which fake set was loaded: each one's images are filled with its own value."""
    images, _ = load_fashion_mnist(split, **kwargs)
    return int(images[0, 0, 0])


# --------------------------------------------------------------------------- search order
def test_search_order_path_then_env_then_defaults(places, monkeypatch):
    write_image_set(places / "default2", fill=4)
    assert found_fill() == 4
    write_image_set(places / "default1", fill=3)
    assert found_fill() == 3                       # the first default directory comes first
    write_image_set(places / "env" / "fashion-mnist", fill=2)
    monkeypatch.setenv(mnist.DATA_ENV_VAR, str(places / "env"))
    assert found_fill() == 2                       # $MINIBAYES_DATA/fashion-mnist beats the defaults
    write_image_set(places / "env", fill=5)
    assert found_fill() == 5                       # $MINIBAYES_DATA itself beats its subdirectory
    write_image_set(places / "arg", fill=1)
    assert found_fill(path=places / "arg") == 1    # the argument beats everything
    assert found_fill(path=str(places / "arg")) == 1


def test_path_argument_is_the_only_place_searched(places):
    write_image_set(places / "default1", fill=3)
    with pytest.raises(FileNotFoundError) as info:
        load_fashion_mnist(path=places / "typo")
    message = str(info.value)
    assert str(places / "typo") in message and str(places / "typo" / "fashion-mnist") in message
    assert str(places / "default1") not in message


def test_raw_and_gzipped_names_are_both_accepted(places):
    images, labels = write_image_set(places / "default1", split="test", n=7, gz=False, fill=9)
    result_images, result_labels = load_fashion_mnist("test")
    np.testing.assert_array_equal(result_images, images)
    np.testing.assert_array_equal(result_labels, labels)
    assert result_images.dtype == np.uint8 and result_labels.dtype == np.int64
    write_image_set(places / "default2", split="train", n=3, gz=True)
    assert load_fashion_mnist("train")[0].shape == (3, 28, 28)


def test_not_found_lists_every_place_and_how_to_get_the_data(places, monkeypatch):
    monkeypatch.setenv(mnist.DATA_ENV_VAR, str(places / "env"))
    (places / "default2").mkdir()  # half a download: the message should say so
    write_idx(places / "default2" / "train-images-idx3-ubyte.gz", np.zeros((1, 28, 28), np.uint8))
    with pytest.raises(FileNotFoundError) as info:
        load_fashion_mnist("train")
    message = str(info.value)
    for place in ("env", "env/fashion-mnist", "default1", "default2"):
        assert f"  {places / place}" in message
    assert "(has only train-images-idx3-ubyte.gz)" in message
    assert "train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz]" in message
    assert "apt-get install -y dataset-fashion-mnist" in message
    assert "https://github.com/zalandoresearch/fashion-mnist" in message
    assert 'subset="small"' in message


def test_mnist_searches_its_own_places(places, monkeypatch):
    with pytest.raises(FileNotFoundError) as info:
        load_mnist("test")
    assert str(places / "mnist-default") in str(info.value)
    assert "yann.lecun.com" in str(info.value)
    write_image_set(places / "env" / "mnist", split="test", fill=7)
    monkeypatch.setenv(mnist.DATA_ENV_VAR, str(places / "env"))
    images, labels = load_mnist("test")
    assert images[0, 0, 0] == 7 and labels.dtype == np.int64


# --------------------------------------------------------------------------- content checks
def test_count_mismatch_names_both_files(places):
    write_image_set(places / "default1", n=5, n_labels=4)
    with pytest.raises(ValueError) as info:
        load_fashion_mnist()
    message = str(info.value)
    assert "train-images-idx3-ubyte.gz holds 5 images" in message
    assert "train-labels-idx1-ubyte.gz holds 4 labels" in message


def test_wrong_image_size_label_range_and_label_type_are_refused(places):
    directory = places / "default1"
    write_image_set(directory)
    write_idx(directory / "train-images-idx3-ubyte.gz", np.zeros((6, 28, 27), np.uint8))
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.gz: expected N x 28 x 28 uint8 images"):
        load_fashion_mnist()
    write_image_set(directory)
    write_idx(directory / "train-labels-idx1-ubyte.gz", np.array([0, 1, 2, 3, 4, 10], np.uint8))
    with pytest.raises(ValueError, match=r"labels-idx1-ubyte.gz: expected labels in 0..9, found 10"):
        load_fashion_mnist()
    write_idx(directory / "train-labels-idx1-ubyte.gz", np.arange(6, dtype=">i4"))
    with pytest.raises(ValueError, match=r"expected uint8 labels, found int32"):
        load_fashion_mnist()


def test_bad_arguments(places):
    with pytest.raises(ValueError, match="split must be one of"):
        load_fashion_mnist("validation")
    with pytest.raises(ValueError, match="subset must be None or 'small'"):
        load_fashion_mnist(subset="tiny")
    with pytest.raises(ValueError, match="either path or subset='small'"):
        load_fashion_mnist(path=places, subset="small")


# --------------------------------------------------------------------------- the shipped subset
def test_small_subset_is_balanced_uint8():
    for split, n, per_class in (("train", 2000, 200), ("test", 500, 50)):
        images, labels = load_fashion_mnist(split, subset="small")
        assert images.shape == (n, 28, 28) and images.dtype == np.uint8
        assert labels.shape == (n,) and labels.dtype == np.int64
        np.testing.assert_array_equal(np.bincount(labels, minlength=10), [per_class] * 10)
        assert images.max() == 255 and images.min() == 0  # real images, not a blank placeholder


def test_licence_ships_with_the_subset():
    licence = (Path(mnist.__file__).parent / "FASHION_MNIST_LICENSE").read_text()
    assert "Copyright (c) 2017 Zalando SE" in licence
    assert "Permission is hereby granted, free of charge" in licence
    assert "https://github.com/zalandoresearch/fashion-mnist" in licence
    assert len(FASHION_MNIST_CLASSES) == 10 and FASHION_MNIST_CLASSES[9] == "Ankle boot"


def test_first_per_class_rule():
    labels = np.array([2, 0, 1, 0, 2, 1, 0, 2, 1, 1])
    chosen = make_small_subset.first_per_class(labels, 2, n_classes=3)
    np.testing.assert_array_equal(chosen, [0, 1, 2, 3, 4, 5])
    with pytest.raises(ValueError, match="only 3 samples of class 0, need 4"):
        make_small_subset.first_per_class(labels, 4, n_classes=3)


@needs_full_set
def test_subset_images_are_the_first_of_each_class_in_the_full_set(tmp_path):
    for split, n_full, per_class in (("train", 60000, 200), ("test", 10000, 50)):
        full_images, full_labels = load_fashion_mnist(split, path=DEBIAN_DIR)
        assert full_images.shape == (n_full, 28, 28) and full_labels.shape == (n_full,)
        images, labels = load_fashion_mnist(split, subset="small")
        index = make_small_subset.first_per_class(full_labels, per_class)
        np.testing.assert_array_equal(images, full_images[index])
        np.testing.assert_array_equal(labels, full_labels[index])
    # The script rebuilds the shipped file byte for byte (same zlib assumed, see its docstring).
    rebuilt = tmp_path / "rebuilt.npz"
    assert make_small_subset.main(["--path", str(DEBIAN_DIR), "--out", str(rebuilt)]) == 0
    assert rebuilt.read_bytes() == mnist.SMALL_SUBSET_PATH.read_bytes()


# --------------------------------------------------------------------------- the fallback for demos
def test_or_small_falls_back_with_one_line_notice(places, capsys):
    images, labels = load_fashion_mnist_or_small("test")
    assert images.shape == (500, 28, 28) and labels.shape == (500,)
    notice = capsys.readouterr().err
    assert notice.count("\n") == 1
    assert "full Fashion-MNIST not found" in notice and "apt-get install -y dataset-fashion-mnist" in notice
    load_fashion_mnist_or_small("test", quiet=True)
    assert capsys.readouterr().err == ""


def test_or_small_prefers_the_full_set_and_does_not_hide_damage(places, capsys):
    write_image_set(places / "default1", n=3)
    assert load_fashion_mnist_or_small("train")[0].shape == (3, 28, 28)
    assert capsys.readouterr().err == ""
    write_image_set(places / "default1", n=3, n_labels=2)
    with pytest.raises(ValueError, match="counts differ"):
        load_fashion_mnist_or_small("train")


def test_images_to_float():
    images = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    flat = images_to_float(images)
    assert flat.shape == (1, 4) and flat.dtype == np.float32
    np.testing.assert_allclose(flat, [[0.0, 1.0, 0.2, 0.4]], rtol=1e-6)
    assert images_to_float(images, dtype="float64").dtype == np.float64
    with pytest.raises(TypeError, match="images must be a uint8 array"):
        images_to_float(images.astype(np.float32))
    with pytest.raises(TypeError, match="dtype must be a floating dtype"):
        images_to_float(images, dtype="int32")
