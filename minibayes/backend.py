"""The one place that knows NumPy from CuPy: selection, devices, dtype and RNG.

Everything in minibayes that touches arrays asks this module for the active
array module (``xp()``), the default floating dtype and the random number
generator. Switching to the GPU is one call::

    import minibayes as mb
    mb.set_backend("cupy")          # or MINIBAYES_BACKEND=cupy in the environment
    with mb.using("numpy"):         # temporarily back on the CPU
        ...

CuPy is imported lazily, only when it is asked for, so a machine without it
never pays for it and never sees an import error. The maths both backends share
(Cholesky, solves, logsumexp, special functions) lives in ``autograd/numerics.py``.

Threads: the whole configuration is per thread. The active backend, the default
dtype and the random generators (with their seed) belong to the thread that set
them: ``using()`` or ``seed()`` in one thread never changes what another thread
computes or draws. A new thread starts from the process defaults: the backend named
by ``MINIBAYES_BACKEND`` (else NumPy), float32, and unseeded generators (call
``mb.seed`` in a thread whose draws must be reproducible).

Importing minibayes changes nothing in the process beyond this module's state: the
host allocator tuning ``keep_freed_host_memory`` is applied only where minibayes runs
its own work (``train.fit``, the demos, the benchmarks) or when called.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import threading
from types import ModuleType
from typing import Iterator

import numpy

__all__ = [
    "BackendError",
    "set_backend",
    "get_backend",
    "using",
    "xp",
    "array_module",
    "backend_name_of",
    "to_numpy",
    "asarray",
    "on_backend_of",
    "set_default_dtype",
    "get_default_dtype",
    "seed", "seeded",
    "rng",
    "cupy_available",
    "device_info",
    "keep_freed_host_memory",
    "apply_host_memory_policy",
]

BACKENDS = ("numpy", "cupy")


class BackendError(RuntimeError):
    """Raised when a backend is asked for that cannot run here."""


# The backend a new thread starts on: MINIBAYES_BACKEND, checked once at import.
_default_backend = "numpy"


class _Config(threading.local):
    """The configuration of one thread: the active backend, the default dtype, the generators.

    Thread-local, all of it, so that ``using()`` or ``seed()`` in one thread does not
    change the backend or the draws under another thread's feet. Each new thread runs
    ``__init__`` on its first access and starts from the process defaults.
    """

    def __init__(self) -> None:
        self.name = _default_backend
        self.module: ModuleType = numpy if _default_backend == "numpy" else _module_for(_default_backend)
        self.default_dtype = numpy.dtype(numpy.float32)
        # One generator per backend, created on first use; `seed` replaces them.
        self.rngs: dict[str, object] = {}
        self.seed_value: int | None = None


# --------------------------------------------------------------------------- CuPy probe
def _import_cupy() -> ModuleType:
    """Import CuPy and check that a CUDA device is visible, or explain what is missing."""
    try:
        import cupy  # noqa: PLC0415 (lazy on purpose)
    except ImportError as exc:
        raise BackendError(
            "the 'cupy' backend needs CuPy, which is not installed. Install the build that "
            "matches your CUDA toolkit: pip install -e '.[cuda12]' (cupy-cuda12x) or "
            "pip install -e '.[cuda13]' (cupy-cuda13x); or use set_backend('numpy')."
        ) from exc
    try:
        n_devices = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDARuntimeError when no driver is present
        raise BackendError(
            f"the 'cupy' backend found CuPy {cupy.__version__} but no usable CUDA device "
            f"({type(exc).__name__}: {exc}). Run on a machine with an NVIDIA GPU and driver, "
            "or use set_backend('numpy')."
        ) from exc
    if n_devices == 0:
        raise BackendError(
            f"the 'cupy' backend found CuPy {cupy.__version__} but no CUDA device; "
            "use set_backend('numpy')."
        )
    return cupy


def cupy_available() -> bool:
    """True when CuPy is installed and at least one CUDA device is visible."""
    try:
        _import_cupy()
    except BackendError:
        return False
    return True


def _module_for(name: str) -> ModuleType:
    if name == "numpy":
        return numpy
    if name == "cupy":
        return _import_cupy()
    raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")


_config = _Config()


# --------------------------------------------------------------------------- selection
def set_backend(name: str) -> None:
    """Make ``name`` ("numpy" or "cupy") the active backend for new arrays."""
    if not isinstance(name, str):
        raise TypeError(f"backend name must be a str, one of {BACKENDS}; got {type(name).__name__}")
    module = _module_for(name.lower())
    _config.name, _config.module = name.lower(), module


def get_backend() -> str:
    """Name of the active backend: "numpy" or "cupy"."""
    return _config.name


@contextlib.contextmanager
def using(name: str) -> Iterator[ModuleType]:
    """Context manager: run a block on backend ``name``, then restore the previous one."""
    previous = _config.name, _config.module
    set_backend(name)
    try:
        yield _config.module
    finally:
        _config.name, _config.module = previous


def xp() -> ModuleType:
    """The active array module: ``numpy`` or ``cupy``."""
    return _config.module


def backend_name_of(array: object) -> str:
    """ "numpy" or "cupy": the backend an array lives on (Python scalars count as NumPy)."""
    if type(array) is numpy.ndarray or isinstance(array, (numpy.ndarray, numpy.generic)):
        return "numpy"
    top = type(array).__module__.partition(".")[0]
    return "cupy" if top in ("cupy", "cupyx") else "numpy"


def array_module(array: object) -> ModuleType:
    """The array module that owns ``array`` (NumPy for host arrays and scalars)."""
    if type(array) is numpy.ndarray:
        return numpy
    return _import_cupy() if backend_name_of(array) == "cupy" else numpy


# --------------------------------------------------------------------------- data movement
def to_numpy(array: object) -> numpy.ndarray:
    """A host NumPy copy (or view) of a NumPy or CuPy array, or of a scalar.

    (``mb.to_numpy`` also takes a Tensor: see ``autograd/transfer.py``.)
    """
    if backend_name_of(array) == "cupy":
        return array.get()
    return numpy.asarray(array)


def asarray(array: object, dtype: object = None) -> object:
    """``array`` as an array of the active backend (copied across devices if needed).

    Python floats and float lists take the default dtype; arrays keep theirs
    unless ``dtype`` is given. (``mb.asarray`` also takes a Tensor.)
    """
    module = _config.module
    if dtype is None and not hasattr(array, "dtype"):
        probe = numpy.asarray(array)
        if probe.dtype.kind == "f":
            dtype = _config.default_dtype
        array = probe
    if module is numpy and backend_name_of(array) == "cupy":
        array = array.get()
    return module.asarray(array, dtype=dtype)


def on_backend_of(like: object, array: object) -> object:
    """``array`` on the backend that ``like`` lives on (unchanged when it is already there)."""
    target = backend_name_of(like)
    if backend_name_of(array) == target:
        return array
    return to_numpy(array) if target == "numpy" else array_module(like).asarray(array)


# --------------------------------------------------------------------------- dtype
def set_default_dtype(dtype: object) -> None:
    """Set the floating dtype for new float tensors (float32 by default; float64 for checks)."""
    resolved = numpy.dtype(dtype)
    if resolved.kind != "f":
        raise TypeError(f"default dtype must be a floating dtype (float32 or float64), got {resolved}")
    _config.default_dtype = resolved


def get_default_dtype() -> numpy.dtype:
    """The floating dtype new float tensors take."""
    return _config.default_dtype


# --------------------------------------------------------------------------- randomness
def seed(value: int) -> None:
    """Seed this thread's generators, one per backend: its random draws become reproducible.

    CuPy's and NumPy's generators are different algorithms, so the same seed
    gives different numbers on the two backends; each is reproducible on its own.
    Other threads keep their own generators (see the module docstring).
    """
    if not isinstance(value, (int, numpy.integer)) or isinstance(value, bool) or value < 0:
        raise ValueError(f"seed must be a non-negative int, got {value!r}")
    _config.seed_value = int(value)
    _config.rngs.clear()


def rng(backend: str | None = None) -> object:
    """This thread's generator for ``backend`` (default: the active one), a ``Generator`` of that module."""
    name = backend or _config.name
    generator = _config.rngs.get(name)
    if generator is None:
        generator = _module_for(name).random.default_rng(_config.seed_value)
        _config.rngs[name] = generator
    return generator


@contextlib.contextmanager
def seeded(value: int) -> Iterator[object]:
    """Inside the block, this thread's generator for the active backend is a fresh one seeded with
    ``value``; afterwards the previous generator comes back where it was.

    For reproducible draws that leave the caller's random stream alone (``predict_mc(seed=...)``
    in an evaluation callback must not replay the same noise into every later training step).
    """
    if not isinstance(value, (int, numpy.integer)) or isinstance(value, bool) or value < 0:
        raise ValueError(f"seeded: value must be a non-negative int, got {value!r}")
    name = _config.name
    previous = _config.rngs.get(name)
    _config.rngs[name] = generator = _module_for(name).random.default_rng(int(value))
    try:
        yield generator
    finally:
        if previous is None:
            _config.rngs.pop(name, None)
        else:
            _config.rngs[name] = previous


# --------------------------------------------------------------------------- info
def device_info() -> list[str]:
    """One line per compute device minibayes can use: the CPU, then any CUDA devices."""
    lines = [f"cpu: numpy {numpy.__version__} ({os.cpu_count()} cores)"]
    try:
        cupy = _import_cupy()
    except BackendError as exc:
        lines.append(f"cuda: unavailable ({str(exc).split('.')[0]})")
        return lines
    for index in range(cupy.cuda.runtime.getDeviceCount()):
        props = cupy.cuda.runtime.getDeviceProperties(index)
        name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        memory_gib = props["totalGlobalMem"] / 2**30
        lines.append(f"cuda:{index}: {name}, {memory_gib:.0f} GiB (cupy {cupy.__version__})")
    return lines


# --------------------------------------------------------------------------- host memory
# glibc mallopt parameters (malloc.h) and their defaults.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_DEFAULT_THRESHOLD = 128 * 1024


def keep_freed_host_memory(enabled: bool = True) -> bool:
    """Let glibc's malloc recycle freed array memory instead of handing it back to the OS.

    Why: a training step allocates and frees the same megabyte-sized temporaries
    (activations, gradients) every step. By default glibc serves blocks over
    128 KiB with ``mmap`` and trims freed memory at the top of the heap, so each
    step writes to fresh pages and pays one page fault per 4 KiB: about a third of
    a 784-400-400-10 MLP step at batch 1024 (``benchmarks/mlp_step.py``). With the
    mmap threshold at 32 MiB (glibc's own upper limit for its adaptive threshold)
    and the trim threshold at 256 MiB, freed blocks are reused, as a caching
    allocator would. The cost: the process keeps up to 256 MiB of freed memory.

    Never applied merely because minibayes was imported (a notebook kernel or a host
    application keeps its allocator): ``apply_host_memory_policy`` applies it where
    minibayes runs its own work (``train.fit``, the demos, the benchmarks), and a
    user may call this directly. ``enabled=False`` restores glibc's defaults.
    Returns whether anything was set (False where the C library is not glibc).
    """
    global _host_memory_kept
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    mallopt = ctypes.CDLL(None).mallopt
    mmap_threshold, trim_threshold = (32 * 2**20, 256 * 2**20) if enabled else (_DEFAULT_THRESHOLD, _DEFAULT_THRESHOLD)
    applied = bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(_M_TRIM_THRESHOLD, trim_threshold))
    _host_memory_kept = bool(enabled) if applied else _host_memory_kept
    return applied


# None until keep_freed_host_memory has run in this process; then whether it enabled the reuse.
_host_memory_kept: bool | None = None


def apply_host_memory_policy() -> bool:
    """Before the engine's own work: ``keep_freed_host_memory(True)`` unless ``MINIBAYES_HOST_MALLOC=system``.

    ``MINIBAYES_HOST_MALLOC`` is "reuse" (the default) or "system" (leave glibc alone).
    Called by ``train.fit``, the demos and the benchmarks; does nothing after the first
    call that set anything, so a user's own ``keep_freed_host_memory(False)`` stands.
    Returns whether freed host memory is now kept.
    """
    policy = os.environ.get("MINIBAYES_HOST_MALLOC", "reuse")
    if policy not in ("reuse", "system"):
        raise BackendError(f"MINIBAYES_HOST_MALLOC must be 'reuse' (the default) or 'system', got {policy!r}")
    if _host_memory_kept is None and policy == "reuse":
        keep_freed_host_memory(True)
    return bool(_host_memory_kept)


def _apply_environment() -> None:
    """The backend named by ``MINIBAYES_BACKEND``, for the importing thread and every later one."""
    global _default_backend
    requested = os.environ.get("MINIBAYES_BACKEND")
    if requested:
        set_backend(requested)
        _default_backend = _config.name


_apply_environment()
