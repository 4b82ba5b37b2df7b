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

    on_glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    assert backend.keep_freed_host_memory(False) is on_glibc
    assert backend.keep_freed_host_memory(True) is on_glibc
    monkeypatch.setenv("MINIBAYES_HOST_MALLOC", "fast")
    with pytest.raises(mb.BackendError, match="MINIBAYES_HOST_MALLOC must be 'reuse'"):
        backend.apply_host_memory_policy()


# Where a 16 MiB block goes tells glibc's mmap threshold: mmap (hblks + 1) under glibc's
# default 128 KiB, the heap under keep_freed_host_memory's 32 MiB. mallinfo2: glibc >= 2.33.
_MMAP_PROBE = """
import ctypes, sys
libc = ctypes.CDLL(None)
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc.mallinfo2.restype = Info
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
def served_by_mmap():
    before = libc.mallinfo2().hblks
    block = libc.malloc(16 * 2**20)
    mapped = libc.mallinfo2().hblks > before
    libc.free(block)
    return mapped
import minibayes as mb
mb.tensor([1.0]).sum()
import minibayes.models
print("after import:", served_by_mmap(), mb.backend._host_memory_kept)
mb.backend.keep_freed_host_memory()
print("after call:", served_by_mmap(), mb.backend._host_memory_kept)
"""


@pytest.mark.skipif(sys.platform != "linux" or os.confstr("CS_GNU_LIBC_VERSION") < "glibc 2.33",
                    reason="needs glibc's mallinfo2")
def test_importing_minibayes_leaves_the_allocator_alone():
    """No import-time side effect on the host process: mallopt is untouched until asked for."""
    env = {key: value for key, value in os.environ.items() if key != "MINIBAYES_HOST_MALLOC"}
    result = subprocess.run([sys.executable, "-c", _MMAP_PROBE], capture_output=True, text=True, env=env, check=True)
    assert result.stdout.splitlines() == ["after import: True None", "after call: False True"]


def test_apply_host_memory_policy_respects_the_environment(monkeypatch):
    monkeypatch.setattr(backend, "_host_memory_kept", None)
    calls = []
    monkeypatch.setattr(backend, "keep_freed_host_memory", lambda enabled=True: calls.append(enabled))
    monkeypatch.setenv("MINIBAYES_HOST_MALLOC", "system")
    assert backend.apply_host_memory_policy() is False and calls == []
    monkeypatch.setenv("MINIBAYES_HOST_MALLOC", "reuse")
    backend.apply_host_memory_policy()
    assert calls == [True]


# --------------------------------------------------------------------------- threads
def _in_thread(function):
    import threading

    box = {}

    def run():
        try:
            box["value"] = function()
        except BaseException as exc:  # noqa: BLE001 (reported in the calling thread)
            box["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def test_backend_dtype_and_generators_are_per_thread():
    """One policy for all of the configuration: a thread's set_backend, dtype and seed stay in that thread."""
    mb.set_default_dtype("float64")
    mb.seed(5)
    expected = mb.randn(3).numpy()
    mb.seed(5)

    def other_thread():
        started = (mb.get_backend(), mb.get_default_dtype())  # the process defaults, not the caller's
        mb.seed(99)
        mb.randn(10)
        mb.set_default_dtype("float64")
        mb.seed(5)
        return started, mb.randn(3).numpy()

    started, drawn = _in_thread(other_thread)
    assert started == ("numpy", np.dtype("float32"))
    np.testing.assert_array_equal(mb.randn(3).numpy(), expected)  # untouched by its seed and draws
    np.testing.assert_array_equal(drawn, expected)  # the same seed, the same stream, in any thread


def test_using_in_one_thread_does_not_move_another():
    import threading

    inside, release = threading.Event(), threading.Event()
    seen = []

    def worker():
        with mb.using("numpy"):
            mb.set_default_dtype("float64")
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=worker)
    thread.start()
    inside.wait(5)
    seen.append((mb.get_backend(), mb.get_default_dtype()))
    release.set()
    thread.join()
    assert seen == [("numpy", np.dtype("float32"))]


# --------------------------------------------------------------------------- lazy submodules
def test_import_minibayes_loads_no_submodule_until_asked():
    code = (
        "import sys, minibayes as mb\n"
        "lazy = ['models', 'distributions', 'data', 'nn', 'optim', 'train', 'io', 'flows']\n"
        "print(sorted(n for n in lazy if 'minibayes.' + n in sys.modules))\n"
        "print(mb.models.GaussianMixture.__name__, mb.distributions.Normal.__name__, mb.data.load_fashion_mnist.__name__)\n"
        "print(callable(mb.save) and callable(mb.load), 'tqdm' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines() == ["[]", "GaussianMixture Normal load_fashion_mnist", "True False"]


def test_lazy_attributes_are_listed_and_unknown_ones_say_so():
    names = dir(mb)
    assert {"models", "distributions", "data", "nn", "optim", "train", "flows", "save", "load"} <= set(names)
    assert mb.nn.Dense is __import__("minibayes.nn", fromlist=["Dense"]).Dense
    with pytest.raises(AttributeError, match="has no attribute 'no_such_thing'"):
        mb.no_such_thing  # noqa: B018
    try:
        import minibayes.flows  # noqa: F401
    except ModuleNotFoundError:
        with pytest.raises(AttributeError, match="minibayes.flows is not in this version"):
            mb.flows  # noqa: B018
    else:
        assert mb.flows.__name__ == "minibayes.flows"


def test_seeded_draws_reproducibly_and_gives_the_stream_back():
    mb.seed(5)
    first = mb.backend.rng().random(2)
    with mb.backend.seeded(9) as generator:
        inside = generator.random(3)
        assert mb.backend.rng() is generator
    np.testing.assert_array_equal(inside, np.random.default_rng(9).random(3))
    # the outer stream continues where it stopped, untouched by the block
    np.testing.assert_array_equal(mb.backend.rng().random(2), np.random.default_rng(5).random(4)[2:])
    np.testing.assert_array_equal(first, np.random.default_rng(5).random(2))
    with pytest.raises(ValueError, match="seeded: value"):
        with mb.backend.seeded(-1):
            pass
