"""Boundary checks and small linear-algebra helpers shared by the linear models, the logistic model and the GP.

Built on ``_validation.check_array``; what it adds for these models:

- a 1-D input ``X`` of shape (n,) is read as n samples of one feature, shape (n, 1)
  (PRML's curve-fitting data are scalars; ``x`` from ``minibayes.data.sinusoidal`` goes in as it is);
- everything is computed in float64 (float32 input is upcast: the evidence and the Cholesky
  factors of near-singular precision matrices need the digits);
- targets ``t`` of shape (n,) matched against ``X``, and positive precisions.

Every check raises before the estimator changes any attribute. The Cholesky factor and solves
the estimators use are ``autograd.numerics.cholesky`` and ``cho_solve`` (one home for both backends).
"""

from __future__ import annotations

import numpy

from .. import backend
from ._validation import check_array, check_n_features, check_scalar

__all__ = [
    "check_inputs", "check_targets", "check_binary_targets", "check_precision", "check_fitted_inputs",
    "eye_like",
]


def check_inputs(X: object, name: str = "X") -> object:
    """``X`` as a finite float64 backend array of shape (n_samples, n_features).

    A 1-D ``X`` of shape (n,) is taken as n samples of a single feature.
    """
    ndim = getattr(X, "ndim", None)  # arrays, Tensors and sparse matrices
    if ndim is None:
        try:
            # Nested lists and other array-likes: numpy.asarray goes through __array__, where
            # numpy.ndim would call __array_function__, which an array-like need not support.
            X = numpy.asarray(X)
            ndim = X.ndim
        except (ValueError, TypeError):  # ragged: let check_array say so
            ndim = 2
    if ndim == 1:
        return check_array(X, name, ndim=1, dtype=numpy.float64).reshape(-1, 1)
    return check_array(X, name, ndim=2, dtype=numpy.float64)


def check_fitted_inputs(X: object, n_features: int, name: str = "X", owner: str = "the estimator") -> object:
    """``check_inputs`` plus the number of features the estimator (``owner``) was fitted with."""
    X = check_inputs(X, name)
    check_n_features(X, n_features, name, owner)
    return X


def check_targets(t: object, n_samples: int, name: str = "t") -> object:
    """``t`` as a finite float64 backend vector of shape (n_samples,)."""
    if t is None:
        raise ValueError(f"this estimator requires {name} to be passed, but the target {name} is None")
    t = check_array(t, name, ndim=1, dtype=numpy.float64)
    if t.shape[0] != n_samples:
        raise ValueError(
            f"X and {name} have different numbers of samples: {n_samples} and {t.shape[0]}"
        )
    return t


def check_binary_targets(t: object, n_samples: int, name: str = "t") -> object:
    """Class labels in {0, 1} (ints, bools or floats equal to 0 or 1) as a float64 vector."""
    t = check_targets(t, n_samples, name)
    if not bool(((t == 0) | (t == 1)).all()):
        raise ValueError(f"{name} must hold the class labels 0 and 1 only")
    return t


def check_precision(value: object, name: str) -> float:
    """A finite, strictly positive real number (a precision, a variance, a scale)."""
    return float(check_scalar(value, name, float, min_value=0.0, include_min=False))


# --------------------------------------------------------------------------- helpers
def eye_like(square: object) -> object:
    """The identity of a square array's size, dtype and backend."""
    return backend.array_module(square).eye(square.shape[0], dtype=square.dtype)
