"""The one place that knows NumPy from CuPy.

Everything in minibayes that touches arrays asks this module for the active
array module (``xp()``), the default floating dtype and the random number
generator. Switching to the GPU is one call::

    import minibayes as mb
    mb.set_backend("cupy")          # or MINIBAYES_BACKEND=cupy in the environment
    with mb.using("numpy"):         # temporarily back on the CPU
        ...

CuPy is imported lazily, only when it is asked for, so a machine without it
never pays for it and never sees an import error.
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
    "seed",
    "rng",
    "cupy_available",
    "special",
    "solve_triangular",
    "device_info",
    "keep_freed_host_memory",
    "cholesky",
    "triangular_matmul",
]

BACKENDS = ("numpy", "cupy")


class BackendError(RuntimeError):
    """Raised when a backend is asked for that cannot run here."""


class _Config(threading.local):
    """Backend configuration: the name of the active backend and the default dtype.

    Thread-local so that ``using()`` in one thread does not flip the backend
    under another thread's feet.
    """

    def __init__(self) -> None:
        self.name = "numpy"
        self.module: ModuleType = numpy
        self.default_dtype = numpy.dtype(numpy.float32)


_config = _Config()
# One generator per backend, created on first use; `seed` replaces them.
_rngs: dict[str, object] = {}
_seed_value: int | None = None


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
def _unwrap(value: object) -> object:
    """The array inside a Tensor; anything else unchanged."""
    from .autograd.tensor import Tensor  # noqa: PLC0415 (tensor imports this module)

    return value.data if isinstance(value, Tensor) else value


def to_numpy(array: object) -> numpy.ndarray:
    """A host NumPy copy (or view) of a NumPy or CuPy array, a Tensor, or a scalar."""
    data = _unwrap(array)
    if backend_name_of(data) == "cupy":
        return data.get()
    return numpy.asarray(data)


def asarray(array: object, dtype: object = None) -> object:
    """``array`` as an array of the active backend (copied across devices if needed).

    Python floats and float lists take the default dtype; arrays keep theirs
    unless ``dtype`` is given.
    """
    data = _unwrap(array)
    module = _config.module
    if dtype is None and not hasattr(data, "dtype"):
        probe = numpy.asarray(data)
        if probe.dtype.kind == "f":
            dtype = _config.default_dtype
        data = probe
    if module is numpy and backend_name_of(data) == "cupy":
        data = data.get()
    return module.asarray(data, dtype=dtype)


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
    """Seed every backend's generator: all random draws in the engine become reproducible.

    CuPy's and NumPy's generators are different algorithms, so the same seed
    gives different numbers on the two backends; each is reproducible on its own.
    """
    global _seed_value
    if not isinstance(value, (int, numpy.integer)) or isinstance(value, bool) or value < 0:
        raise ValueError(f"seed must be a non-negative int, got {value!r}")
    _seed_value = int(value)
    _rngs.clear()


def rng(backend: str | None = None) -> object:
    """The generator of ``backend`` (default: the active one), a ``Generator`` of that module."""
    name = backend or _config.name
    generator = _rngs.get(name)
    if generator is None:
        generator = _module_for(name).random.default_rng(_seed_value)
        _rngs[name] = generator
    return generator


# --------------------------------------------------------------------------- special functions
# NumPy and CuPy share the array API but not SciPy's: these few routines are
# the only places where the two backends need different code.
def special(array: object) -> ModuleType:
    """SciPy's ``special`` module for ``array``'s backend (``cupyx.scipy.special`` for CuPy).

    Gives ``gammaln``, ``digamma``, ``polygamma``, ``erf``, ``ndtr`` ... on either backend.
    """
    if backend_name_of(array) == "cupy":
        from cupyx.scipy import special as module  # noqa: PLC0415
    else:
        from scipy import special as module  # noqa: PLC0415
    return module


def erf(x: object) -> object:
    """The error function, elementwise, on either backend."""
    return special(x).erf(x)


def solve_triangular(a: object, b: object, lower: bool = True, transpose: bool = False) -> object:
    """Solve ``a x = b`` (or ``a^T x = b``) for a triangular ``a`` of shape (..., n, n).

    ``b`` has shape (..., n, k); the batch axes of ``a`` and ``b`` broadcast.
    One matrix ``a`` uses the O(n^2 k) triangular solver, with the batch of ``b``
    folded into its columns (older SciPy and CuPy take only 2-D right-hand sides);
    stacks of matrices fall back to a general batched solve of the masked triangle,
    on explicitly broadcast operands (CuPy's solve does not broadcast).
    """
    module = array_module(a)
    if a.ndim == 2:
        if backend_name_of(a) == "cupy":
            from cupyx.scipy.linalg import solve_triangular as solve  # noqa: PLC0415
        else:
            from scipy.linalg import solve_triangular as solve  # noqa: PLC0415
        n, batch = a.shape[-1], b.shape[:-2]
        columns = module.moveaxis(b, -2, 0).reshape(n, -1) if batch else b
        x = solve(a, columns, lower=lower, trans=1 if transpose else 0, check_finite=False)
        return module.moveaxis(x.reshape((n,) + batch + b.shape[-1:]), 0, -2) if batch else x
    triangle = module.tril(a) if lower else module.triu(a)
    if transpose:
        triangle = module.swapaxes(triangle, -1, -2)
    batch = module.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    triangle = module.broadcast_to(triangle, batch + a.shape[-2:])
    return module.linalg.solve(triangle, module.broadcast_to(b, batch + b.shape[-2:]))


def cholesky(a: object) -> object:
    """Lower Cholesky factor of (a stack of) symmetric positive definite matrices.

    One NumPy matrix goes to SciPy's LAPACK, the library that also runs
    ``solve_triangular`` and ``triangular_matmul``: code that alternates the three
    (the Cholesky backward, a GP fit) then keeps to one BLAS thread pool instead of
    waking NumPy's and SciPy's in turn. Raises ``numpy.linalg.LinAlgError`` when a
    matrix is not positive definite (CuPy returns NaNs instead; the op checks).
    """
    if a.ndim == 2 and backend_name_of(a) == "numpy" and a.dtype.kind == "f":
        from scipy.linalg import cholesky as scipy_cholesky  # noqa: PLC0415

        return scipy_cholesky(a, lower=True, check_finite=False)
    return array_module(a).linalg.cholesky(a)


def triangular_matmul(a: object, b: object, lower: bool = True, transpose: bool = False) -> object:
    """T b (or T^T b) with T the lower (or upper) triangle of ``a``; a (..., n, n), b (..., n, k).

    One NumPy matrix uses BLAS trmm, half the flops of a general product; stacks,
    and CuPy, multiply the masked triangle.
    """
    if a.ndim == 2 and b.ndim == 2 and backend_name_of(a) == "numpy" and a.dtype == b.dtype and a.dtype.kind == "f":
        from scipy.linalg.blas import get_blas_funcs  # noqa: PLC0415

        trmm = get_blas_funcs("trmm", (a, b))
        return trmm(1.0, a, b, lower=int(lower), trans_a=int(transpose))
    module = array_module(a)
    triangle = module.tril(a) if lower else module.triu(a)
    return (module.swapaxes(triangle, -1, -2) if transpose else triangle) @ b


def scatter_add(target: object, index: object, values: object) -> None:
    """``target[index] += values`` with repeated indices accumulated (in place)."""
    array_module(target).add.at(target, index, values)


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

    Applied when minibayes is imported, unless ``MINIBAYES_HOST_MALLOC=system``;
    ``enabled=False`` restores glibc's defaults. Returns whether anything was set
    (False where the C library is not glibc).
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    mallopt = ctypes.CDLL(None).mallopt
    mmap_threshold, trim_threshold = (32 * 2**20, 256 * 2**20) if enabled else (_DEFAULT_THRESHOLD, _DEFAULT_THRESHOLD)
    return bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(_M_TRIM_THRESHOLD, trim_threshold))


def _apply_environment() -> None:
    requested = os.environ.get("MINIBAYES_BACKEND")
    if requested:
        set_backend(requested)
    malloc = os.environ.get("MINIBAYES_HOST_MALLOC", "reuse")
    if malloc not in ("reuse", "system"):
        raise BackendError(f"MINIBAYES_HOST_MALLOC must be 'reuse' (the default) or 'system', got {malloc!r}")
    if malloc == "reuse":
        keep_freed_host_memory(True)


_apply_environment()
