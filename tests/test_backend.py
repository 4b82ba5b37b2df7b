"""The backend switch: selection, context manager, environment variable, dtype, RNG, data movement."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import minibayes as mb
from minibayes import backend


def test_numpy_is_the_default_backend():
    assert mb.get_backend() == "numpy"
    assert mb.xp() is np


def test_unknown_backend_is_a_value_error_listing_the_choices():
    with pytest.raises(ValueError, match=r"backend must be one of \('numpy', 'cupy'\), got 'jax'"):
        mb.set_backend("jax")
    with pytest.raises(TypeError, match="backend name must be a str"):
        mb.set_backend(3)
    assert mb.get_backend() == "numpy"


@pytest.mark.skipif(mb.cupy_available(), reason="CuPy runs here; the error path cannot be reached")
def test_asking_for_cupy_where_it_cannot_run_says_why_and_how_to_fix():
    with pytest.raises(mb.BackendError, match=r"cupy.*(pip install|no usable CUDA device|no CUDA device)"):
        mb.set_backend("cupy")
    assert mb.get_backend() == "numpy"  # nothing changed


def test_using_restores_the_previous_backend_even_after_an_error():
    with pytest.raises(RuntimeError):
        with mb.using("numpy") as module:
            assert module is np
            raise RuntimeError("boom")
    assert mb.get_backend() == "numpy"


@pytest.mark.skipif(mb.cupy_available(), reason="CuPy runs here; the error path cannot be reached")
def test_environment_variable_selects_the_backend_at_import():
    env = {**os.environ, "MINIBAYES_BACKEND": "cupy"}
    result = subprocess.run([sys.executable, "-c", "import minibayes"], env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "BackendError" in result.stderr and "cupy" in result.stderr
    env["MINIBAYES_BACKEND"] = "numpy"
    code = "import minibayes as mb; print(mb.get_backend())"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.stdout.strip() == "numpy"


def test_default_dtype_applies_to_python_floats_but_arrays_keep_theirs():
    assert mb.tensor([1.0, 2.0]).dtype == np.float32
    assert mb.tensor(np.array([1.0, 2.0])).dtype == np.float64
    assert mb.tensor([1, 2]).dtype.kind == "i"
    mb.set_default_dtype("float64")
    assert mb.tensor([1.0]).dtype == np.float64
    assert mb.randn(3).dtype == np.float64
    with pytest.raises(TypeError, match="default dtype must be a floating dtype"):
        mb.set_default_dtype("int32")


def test_seed_makes_draws_reproducible():
    mb.seed(123)
    first = mb.randn(5).numpy(), mb.rand(2, 2).numpy()
    mb.seed(123)
    second = mb.randn(5).numpy(), mb.rand(2, 2).numpy()
    mb.seed(124)
    other = mb.randn(5).numpy()
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[0], other)


def test_seed_must_be_a_non_negative_int():
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        mb.seed(-1)
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        mb.seed(1.5)


def test_to_numpy_and_asarray_round_trip():
    values = np.arange(6.0).reshape(2, 3)
    moved = mb.asarray(values)
    assert isinstance(moved, np.ndarray) and moved.dtype == np.float64
    np.testing.assert_array_equal(mb.to_numpy(mb.tensor(values)), values)
    np.testing.assert_array_equal(mb.to_numpy(moved), values)
    assert mb.asarray([1.0, 2.0]).dtype == np.float32
    assert mb.asarray([1.0], dtype="float64").dtype == np.float64


def test_backend_name_of_recognises_both_kinds():
    assert backend.backend_name_of(np.ones(2)) == "numpy"
    assert backend.backend_name_of(np.float64(1.0)) == "numpy"
    assert backend.backend_name_of(1.0) == "numpy"


def test_info_command_reports_version_backend_dtype_and_devices():
    result = subprocess.run([sys.executable, "-m", "minibayes", "info"], capture_output=True, text=True, check=True)
    assert f"minibayes {mb.__version__}" in result.stdout
    assert "backend: numpy" in result.stdout
    assert "default dtype: float32" in result.stdout
    assert "cpu: numpy" in result.stdout and "cuda" in result.stdout


def test_host_memory_reuse_can_be_switched_and_a_bad_setting_is_named(monkeypatch):
    import platform

    from minibayes import backend

    on_glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    assert backend.keep_freed_host_memory(False) is on_glibc
    assert backend.keep_freed_host_memory(True) is on_glibc
    monkeypatch.setenv("MINIBAYES_HOST_MALLOC", "fast")
    with pytest.raises(mb.BackendError, match="MINIBAYES_HOST_MALLOC must be 'reuse'"):
        backend._apply_environment()
