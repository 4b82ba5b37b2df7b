"""Checks at the boundary of every estimator, and the errors and warnings they raise.

STYLE rule 6: public entry points validate shapes, dtypes, finiteness and
parameter ranges, and raise ``ValueError``/``TypeError`` naming the argument;
the code behind them trusts its input. Estimators call these at the top of
``fit`` and ``predict``, before any attribute changes, so that a failed call
leaves a fitted estimator as it was.

    check_array(X, name="X")          -> a finite float backend array of shape (n_samples, n_features)
    check_scalar(value, "tol", float, min_value=0.0)
    check_random_state(random_state, like=X)   -> a Generator of X's backend
    check_is_fitted(estimator, "means_")
    check_inputs(X), check_targets(y, n)      -> the supervised models' X and y, in float64

One dtype policy. Every check returns a floating array on the active backend; integers, booleans
and object arrays of numbers become float64. Float input keeps its precision (float32 stays float32:
the mixtures, K-means and PCA are stable in single precision and twice as fast) unless the estimator
needs float64, which it states by its check: the supervised models (linear, logistic, GP and the
bases) go through ``check_inputs``/``check_targets``, which upcast to float64 because the evidence
and the Cholesky factors of near-singular precision matrices need the digits.
"""

from __future__ import annotations

import numbers

import numpy

from .. import backend

__all__ = [
    "NotFittedError",
    "ConvergenceWarning",
    "ComponentCollapseWarning",
    "check_array",
    "check_scalar",
    "check_random_state",
    "check_is_fitted",
    "check_n_features",
    "check_fitted_input",
    "check_inputs",
    "check_fitted_inputs",
    "check_targets",
    "check_binary_targets",
    "check_precision",
]


class NotFittedError(ValueError, AttributeError):
    """A method that needs fitted state was called before ``fit``."""


class ConvergenceWarning(UserWarning):
    """An iterative fit stopped at ``max_iter`` before its convergence test passed."""


class ComponentCollapseWarning(RuntimeWarning):
    """A mixture component shrank onto a point or a subspace; only ``reg_covar`` keeps it finite."""


def check_array(
    X: object,
    name: str = "X",
    *,
    ndim: int = 2,
    min_samples: int = 1,
    min_features: int = 1,
    dtype: object = None,
) -> object:
    """``X`` as a finite floating array of the active backend, or a clear error.

    Parameters
    ----------
    X : array-like (NumPy or CuPy array, Tensor, nested lists)
        The input; of shape (n_samples, n_features) when ``ndim`` is 2.
    name : str
        The argument's name, used in every error message.
    ndim : int
        Required number of dimensions (2 for a data matrix, 1 for a vector).
    min_samples, min_features : int
        Smallest allowed sizes of the first and (for 2-D) second axis.
    dtype : dtype, optional
        Cast to this floating dtype. By default float32 and float64 are kept
        and integers and booleans become float64 (other floats become float64).

    Returns
    -------
    array of shape ``X.shape``, floating, on the active backend.

    Raises
    ------
    TypeError
        Strings, objects, complex numbers, or anything without a numeric dtype.
    ValueError
        Wrong number of dimensions, too few samples/features, NaN or infinity.
    """
    from ..autograd.tensor import Tensor  # noqa: PLC0415 (models need not load autograd at import)

    data = X.data if isinstance(X, Tensor) else X
    if hasattr(data, "toarray") and hasattr(data, "nnz"):  # scipy.sparse: densifying could exhaust memory
        raise TypeError(f"{name} is a sparse matrix, and sparse input is not supported; pass a dense array "
                        f"({name}.toarray()) if it fits in memory")
    if not hasattr(data, "dtype"):
        try:
            # Nested lists go through NumPy first so float lists become float64
            # (backend.asarray would give them the float32 default dtype).
            data = numpy.asarray(data)
        except (ValueError, TypeError) as exc:  # ragged lists
            raise ValueError(f"{name} must be a rectangular array of numbers: {exc}") from exc
    kind = numpy.dtype(data.dtype).kind
    if kind == "O" and isinstance(data, numpy.ndarray):
        # A host object array of numbers (a pandas column, say) is read as float64; anything
        # that is not a number (None, a dict, a string) is a type error.
        try:
            # float() entry by entry: astype would turn None into NaN, and a missing value is not a number.
            data = numpy.vectorize(float, otypes=[numpy.float64])(data)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} has dtype object with an entry that is not a number: {exc}") from exc
        kind = "f"
    if kind == "c":
        raise TypeError(f"{name} must be real-valued; got complex dtype {data.dtype}")
    if kind not in "biuf":
        raise TypeError(f"{name} must hold numbers (a float, int or bool dtype); got dtype {data.dtype}")
    if data.ndim != ndim:
        shape_hint = "(n_samples, n_features)" if ndim == 2 else f"{ndim} dimensions"
        extra = (f" (Reshape your data with {name}.reshape(-1, 1) if it holds a single feature)"
                 if ndim == 2 and data.ndim == 1 else "")
        raise ValueError(f"{name} must be a {ndim}-D array {shape_hint}; got shape {tuple(data.shape)}{extra}")
    # The wording of these two is scikit-learn's, which its estimator checks look for.
    if data.shape[0] < min_samples:
        raise ValueError(f"{name} has {data.shape[0]} sample(s) (shape={tuple(data.shape)}) while a minimum of "
                         f"{min_samples} is required.")
    if ndim == 2 and data.shape[1] < min_features:
        raise ValueError(f"{name} has {data.shape[1]} feature(s) (shape={tuple(data.shape)}) while a minimum of "
                         f"{min_features} is required.")
    if dtype is not None:
        target = numpy.dtype(dtype)
    elif kind == "f" and numpy.dtype(data.dtype) in (numpy.float32, numpy.float64):
        target = numpy.dtype(data.dtype)
    else:
        target = numpy.dtype(numpy.float64)
    array = backend.asarray(data, dtype=target)
    xp = backend.array_module(array)
    if not bool(xp.isfinite(array).all()):
        bad = "NaN" if bool(xp.isnan(array).any()) else "infinity"
        raise ValueError(f"{name} contains {bad}; remove or impute non-finite values before fitting")
    return array


def check_scalar(
    value: object,
    name: str,
    kind: type,
    *,
    min_value: float | None = None,
    max_value: float | None = None,
    include_min: bool = True,
    include_max: bool = True,
) -> object:
    """``value`` if it is a number of ``kind`` (int or float) within the bounds, else an error naming ``name``."""
    allowed = numbers.Integral if kind is int else numbers.Real
    if isinstance(value, bool) or not isinstance(value, allowed):
        raise TypeError(f"{name} must be {'an int' if kind is int else 'a float'}; got {value!r}")
    if kind is float and not numpy.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value!r}")
    if min_value is not None and (value < min_value or (value == min_value and not include_min)):
        raise ValueError(f"{name} must be {'>=' if include_min else '>'} {min_value}; got {value!r}")
    if max_value is not None and (value > max_value or (value == max_value and not include_max)):
        raise ValueError(f"{name} must be {'<=' if include_max else '<'} {max_value}; got {value!r}")
    return value


def check_random_state(random_state: object, like: object) -> object:
    """A random Generator of the backend that ``like`` lives on.

    ``None`` gives the engine's generator for that backend (seeded by
    ``minibayes.seed``); an int seeds a fresh one, so an int reproduces the
    same draws on each backend (NumPy's and CuPy's streams differ by design);
    a Generator is used as it is (its draws advance).
    """
    xp = backend.array_module(like)
    if random_state is None:
        return backend.rng(backend.backend_name_of(like))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be a non-negative int or None; got {random_state!r}")
        return xp.random.default_rng(int(random_state))
    if type(random_state).__name__ == "Generator" and hasattr(random_state, "standard_normal"):
        return random_state
    raise TypeError(f"random_state must be None, a non-negative int or a Generator; got {random_state!r}")


def check_is_fitted(estimator: object, *attributes: str) -> None:
    """Raise ``NotFittedError`` unless ``estimator`` has every one of ``attributes``."""
    missing = [attribute for attribute in attributes if not hasattr(estimator, attribute)]
    if missing:
        raise NotFittedError(
            f"this {type(estimator).__name__} is not fitted yet (no {', '.join(missing)}); call fit(X) first"
        )


def check_n_features(X: object, n_features: int, name: str = "X", owner: str = "the estimator") -> None:
    """``X`` (already checked 2-D) must have the ``n_features`` columns the estimator (``owner``) was fitted on."""
    if X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features, but {owner} is expecting {n_features} features as "
                         "input (the number it was fitted on)")


def check_fitted_input(estimator: object, fitted_attribute: str, X: object, name: str = "X",
                       n_features: int | None = None) -> object:
    """``X`` for a fitted estimator's predict/transform: fitted, a valid 2-D array, the right width.

    ``n_features`` defaults to ``estimator.n_features_in_`` (give the latent width for inputs such as Z).
    """
    check_is_fitted(estimator, fitted_attribute)
    X = check_array(X, name)
    check_n_features(X, estimator.n_features_in_ if n_features is None else n_features, name,
                     type(estimator).__name__)
    return X


# --------------------------------------------------------------------------- supervised models
# The linear models, the logistic model, the GP and the bases: float64 always (the dtype policy in the
# module docstring), a 1-D X as n samples of one feature, targets matched against X.


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
