"""``to_numpy`` and ``asarray`` for Tensors as well as arrays: the public faces of the backend's.

``backend`` knows arrays only (it is imported by everything, Tensor included); a
Tensor handed to ``mb.to_numpy`` or ``mb.asarray`` is unwrapped here first.
"""

from __future__ import annotations

import numpy

from .. import backend
from .tensor import Tensor

__all__ = ["to_numpy", "asarray"]


def to_numpy(array: object) -> numpy.ndarray:
    """A host NumPy copy (or view) of a NumPy or CuPy array, a Tensor, or a scalar."""
    return backend.to_numpy(array.data if isinstance(array, Tensor) else array)


def asarray(array: object, dtype: object = None) -> object:
    """``array`` (an array, a Tensor's data, a list, a scalar) as an array of the active backend.

    Python floats and float lists take the default dtype; arrays keep theirs unless ``dtype`` is given.
    """
    return backend.asarray(array.data if isinstance(array, Tensor) else array, dtype=dtype)
