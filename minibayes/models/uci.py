"""The UCI regression protocol: repeated splits, a validated grid, test RMSE and log-likelihood.

Hernandez-Lobato & Adams (2015), section 5, and Gal & Ghahramani (2016), section 5.1 and Table 1:

1. split the data at random into 90% train and 10% test, 20 times (fixed seeds, or the split
   index files of their repositories);
2. standardise the inputs and the targets with the mean and standard deviation of the training
   part only (a constant column keeps standard deviation 1, so it maps to zeros, not NaNs);
3. carve a validation part (20%) out of the training part, fit a model for every grid point
   (dropout rate, precision tau, ...) on the rest, and keep the point with the best validation
   log-likelihood;
4. refit that point on the whole training part and score the test part in the ORIGINAL units of y:
   the RMSE of the predictive mean and the average test log-likelihood;
5. report the mean over splits and its standard error, std(ddof=1) / sqrt(n_splits): the
   standard deviation of the mean of n_splits independent draws (0 for one split).

The model contract (any model: closed-form, MC dropout, Bayes by Backprop):
``model = make_model(**params); model.fit(X_std, y_std); model.predict(X_std)``, with host float64
arrays X_std of shape (n, d) and y_std of shape (n,). ``predict`` returns either

- ``(mean, variance)``, each of shape (n,), a Gaussian predictive in standardised units. In the
  original units it is N(y | mean * s + m, variance * s^2), with m, s the training mean and standard
  deviation of y; working there is what puts the -log s of the change of variables into the score;
- ``PredictiveSamples(samples, noise_variance)``: T stochastic forward passes of shape (T, n) and
  the noise variance 1/tau (a scalar, or an array that broadcasts to (T, n) for a heteroscedastic
  model), both standardised. The log-likelihood is Gal & Ghahramani's mixture estimate (section 5.1)

      log p(y* | x*) ~= logsumexp_t( log N(y* | y_t(x*), s^2 / tau) ) - log T,

  with y_t = samples_t * s + m, and the RMSE uses the sample mean (1/T) sum_t y_t.

The bookkeeping (splits, standardisation, scoring) is host NumPy; the model may compute on either
backend, and its outputs come back through ``backend.to_numpy``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from os import PathLike
from typing import NamedTuple

import numpy

from .. import backend
from ..autograd.numerics import LOG_2PI, logsumexp

__all__ = ["PredictiveSamples", "UCIResult", "uci_splits", "load_split_indices", "uci_protocol"]


class PredictiveSamples(NamedTuple):
    """T stochastic predictions of a model in standardised units (Gal & Ghahramani 2016, section 5.1).

    samples : array of shape (T, n_samples)
        The network's outputs y_t(x) of T forward passes (dropout masks or weight draws).
    noise_variance : float or array broadcastable to (T, n_samples)
        The observation noise variance, 1/tau for a homoscedastic model; positive.
    """

    samples: object
    noise_variance: object


class UCIResult(NamedTuple):
    """The outcome of ``uci_protocol``; RMSE and log-likelihood are in the original units of y.

    rmse_mean, rmse_se : float
        Mean over splits of the test RMSE and its standard error std(ddof=1) / sqrt(n_splits).
    log_likelihood_mean, log_likelihood_se : float
        The same for the average test log-likelihood per point.
    rmse, log_likelihood : arrays of shape (n_splits,)
        The per-split values.
    params : list of dict
        The grid point chosen on each split's validation part.
    validation_log_likelihood : array of shape (n_splits, n_grid)
        The validation score of every grid point; NaN where none was computed (a one-point grid).
    """

    rmse_mean: float
    rmse_se: float
    log_likelihood_mean: float
    log_likelihood_se: float
    rmse: numpy.ndarray
    log_likelihood: numpy.ndarray
    params: list
    validation_log_likelihood: numpy.ndarray


# --------------------------------------------------------------------------- argument checks
def _check_count(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _check_fraction(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 < float(value) < 1.0:
        raise ValueError(f"{name} must be a float strictly between 0 and 1, got {value!r}")
    return float(value)


def _held_out_size(n: int, fraction: float, fraction_name: str, what: str) -> int:
    """round(fraction * n) (Python's round, halves to even), checked to leave both parts non-empty."""
    size = round(fraction * n)
    if not 1 <= size <= n - 1:
        raise ValueError(f"{fraction_name}={fraction!r} of {n} {what} leaves {size} held out and {n - size} "
                         f"to fit; both parts need at least one point")
    return size


def _check_index_array(indices: object, name: str, n: int) -> numpy.ndarray:
    array = numpy.asarray(backend.to_numpy(indices))
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of row indices, got shape {array.shape}")
    if array.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integers, got dtype {array.dtype}")
    if array.min() < 0 or array.max() >= n:
        raise ValueError(f"{name} must index rows 0..{n - 1}, got values in [{array.min()}, {array.max()}]")
    if numpy.unique(array).size != array.size:
        raise ValueError(f"{name} repeats row indices")
    return array.astype(numpy.int64)


def _check_splits(splits: object, n: int) -> list[tuple[numpy.ndarray, numpy.ndarray]]:
    if isinstance(splits, (str, bytes)) or not isinstance(splits, Sequence) or len(splits) == 0:
        raise ValueError("splits must be a non-empty sequence of (train_indices, test_indices) pairs")
    checked = []
    for k, pair in enumerate(splits):
        if not isinstance(pair, Sequence) or len(pair) != 2:
            raise ValueError(f"splits[{k}] must be a (train_indices, test_indices) pair")
        train = _check_index_array(pair[0], f"splits[{k}][0] (train indices)", n)
        test = _check_index_array(pair[1], f"splits[{k}][1] (test indices)", n)
        if numpy.intersect1d(train, test).size:
            raise ValueError(f"splits[{k}]: train and test indices overlap")
        checked.append((train, test))
    return checked


def _check_data(X: object, y: object) -> tuple[numpy.ndarray, numpy.ndarray]:
    """X as float64 of shape (n, d) (a 1-D X is n samples of one feature) and y of shape (n,)."""
    arrays = []
    for value, name in ((X, "X"), (y, "y")):
        try:
            array = numpy.asarray(backend.to_numpy(value))
        except (TypeError, ValueError) as error:
            raise TypeError(f"{name} must be a numeric array, got {type(value).__name__}") from error
        if array.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be a real numeric array, got dtype {array.dtype}")
        arrays.append(array.astype(numpy.float64))
    X, y = arrays
    X = X[:, None] if X.ndim == 1 else X
    if X.ndim != 2 or y.ndim != 1:
        raise ValueError(f"X must have shape (n_samples, n_features) and y (n_samples,), got {X.shape} and {y.shape}")
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X and y must have the same number of samples, got {X.shape[0]} and {y.shape[0]}")
    for array, name in ((X, "X"), (y, "y")):
        if not numpy.isfinite(array).all():
            raise ValueError(f"{name} contains NaN or infinite values")
    return X, y


def _check_grid(grid: object) -> list[dict]:
    if isinstance(grid, Mapping) or not isinstance(grid, Sequence) or isinstance(grid, (str, bytes)):
        raise TypeError(f"grid must be a list of dicts of make_model keyword arguments, got {type(grid).__name__}")
    if len(grid) == 0:
        raise ValueError("grid must hold at least one dict of make_model keyword arguments (use [{}] for none)")
    for k, point in enumerate(grid):
        if not isinstance(point, Mapping) or not all(isinstance(key, str) for key in point):
            raise TypeError(f"grid[{k}] must be a dict of keyword arguments with str keys, got {point!r}")
    return [dict(point) for point in grid]


# --------------------------------------------------------------------------- splits
def uci_splits(n: int, n_splits: int = 20, test_fraction: float = 0.1, seed: int = 0) -> list:
    """``n_splits`` random train/test splits of range(n) (Hernandez-Lobato & Adams 2015, section 5).

    Each split is a permutation of range(n) drawn from ``numpy.random.default_rng(seed)``: its first
    round(test_fraction * n) rows are the test part, the rest the training part, so the two are
    disjoint and cover range(n). The same arguments give the same splits.

    Returns
    -------
    list of n_splits pairs (train_indices, test_indices): sorted int64 host arrays of shapes
    (n - n_test,) and (n_test,).
    """
    n = _check_count(n, "n", 2)
    n_splits = _check_count(n_splits, "n_splits", 1)
    test_fraction = _check_fraction(test_fraction, "test_fraction")
    seed = _check_count(seed, "seed", 0)
    n_test = _held_out_size(n, test_fraction, "test_fraction", "rows")
    rng = numpy.random.default_rng(seed)
    splits = []
    for _ in range(n_splits):
        order = rng.permutation(n)
        splits.append((numpy.sort(order[n_test:]), numpy.sort(order[:n_test])))
    return splits


def _read_indices(path: str | PathLike) -> numpy.ndarray:
    """Whitespace-separated integers; "3" and NumPy's savetxt form "3.000000000000000000e+00" both read as 3."""
    with open(path, encoding="utf-8") as handle:
        tokens = handle.read().split()
    if not tokens:
        raise ValueError(f"index file {path!s} holds no indices")
    try:
        values = numpy.array([float(token) for token in tokens])
    except ValueError as error:
        raise ValueError(f"index file {path!s} must hold whitespace-separated integers: {error}") from None
    if not (numpy.isfinite(values).all() and (values == numpy.round(values)).all() and (values >= 0).all()):
        raise ValueError(f"index file {path!s} must hold non-negative integers only")
    return values.astype(numpy.int64)


def load_split_indices(train_file: str | PathLike, test_file: str | PathLike) -> tuple:
    """One fixed split from two text files of row indices, in the layout of the published UCI splits.

    Hernandez-Lobato's and Gal's repositories ship, per split i, ``index_train_{i}.txt`` and
    ``index_test_{i}.txt``: zero-based row indices separated by whitespace. Pass a list of these
    pairs as ``uci_protocol(..., splits=...)`` to reproduce their exact splits.

    Returns
    -------
    (train_indices, test_indices) : int64 host arrays of shapes (n_train,) and (n_test,)
    """
    train, test = _read_indices(train_file), _read_indices(test_file)
    for indices, name in ((train, "train_file"), (test, "test_file")):
        if numpy.unique(indices).size != indices.size:
            raise ValueError(f"{name} repeats row indices")
    if numpy.intersect1d(train, test).size:
        raise ValueError(f"train_file and test_file share row indices ({train_file!s}, {test_file!s})")
    return train, test


# --------------------------------------------------------------------------- scoring
def _standardiser(values: numpy.ndarray) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Mean and standard deviation (ddof=0) over axis 0; a zero deviation becomes 1 so constants map to 0."""
    mean, std = values.mean(axis=0), values.std(axis=0)
    return mean, numpy.where(std > 0, std, 1.0)


def _predictive_log_likelihoods(prediction: object, y: numpy.ndarray, y_mean: float, y_std: float,
                                 where: str) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Per test point: the predictive mean and log p(y | x) in the original units of y, shapes (n,)."""
    n = y.shape[0]
    if isinstance(prediction, PredictiveSamples):
        samples = numpy.asarray(backend.to_numpy(prediction.samples), dtype=numpy.float64)
        noise = numpy.asarray(backend.to_numpy(prediction.noise_variance), dtype=numpy.float64)
        if samples.ndim != 2 or samples.shape[1] != n:
            raise ValueError(f"{where} returned PredictiveSamples.samples of shape {samples.shape}; expected (T, {n})")
        try:
            noise = numpy.broadcast_to(noise, samples.shape)
        except ValueError:
            raise ValueError(f"{where} returned a noise_variance of shape {noise.shape} that does not broadcast "
                             f"to the samples' shape {samples.shape}") from None
        _check_finite_positive(samples, noise, where)
        outputs = samples * y_std + y_mean  # (T, n), original units
        variance = noise * y_std**2
        # Gal & Ghahramani, section 5.1: log (1/T) sum_t N(y | y_t, 1/tau), in log space so that a
        # far-off test point gives a large negative number rather than log(0) = -inf.
        log_terms = -0.5 * (LOG_2PI + numpy.log(variance) + (y - outputs) ** 2 / variance)
        return outputs.mean(axis=0), logsumexp(log_terms, axis=0) - math.log(samples.shape[0])
    if not isinstance(prediction, tuple) or len(prediction) != 2:
        raise TypeError(f"{where} must return (mean, variance) or PredictiveSamples, got {type(prediction).__name__}")
    mean, variance = (numpy.asarray(backend.to_numpy(part), dtype=numpy.float64) for part in prediction)
    if mean.shape != (n,) or variance.shape != (n,):
        raise ValueError(f"{where} returned mean and variance of shapes {mean.shape} and {variance.shape}; "
                         f"expected ({n},) each")
    _check_finite_positive(mean, variance, where)
    mean, variance = mean * y_std + y_mean, variance * y_std**2
    return mean, -0.5 * (LOG_2PI + numpy.log(variance) + (y - mean) ** 2 / variance)


def _check_finite_positive(values: numpy.ndarray, variance: numpy.ndarray, where: str) -> None:
    if not numpy.isfinite(values).all():
        raise ValueError(f"{where} returned NaN or infinite predictions")
    if not (numpy.isfinite(variance).all() and (variance > 0).all()):
        raise ValueError(f"{where} returned a variance that is not finite and positive")


def _fit_and_score(make_model: Callable, params: dict, X: numpy.ndarray, y: numpy.ndarray,
                   fit_rows: numpy.ndarray, score_rows: numpy.ndarray) -> tuple[float, float]:
    """Fit ``make_model(**params)`` on the standardised ``fit_rows``; RMSE and mean log-likelihood on ``score_rows``.

    Both are in the original units of y (Hernandez-Lobato & Adams 2015, section 5). The statistics
    come from ``fit_rows`` alone, so nothing about the scored rows leaks into the fit.
    """
    x_mean, x_std = _standardiser(X[fit_rows])
    y_mean, y_std = _standardiser(y[fit_rows])
    model = make_model(**params)
    model.fit((X[fit_rows] - x_mean) / x_std, (y[fit_rows] - y_mean) / y_std)
    where = f"make_model(**{params!r}).predict"
    mean, log_likelihood = _predictive_log_likelihoods(
        model.predict((X[score_rows] - x_mean) / x_std), y[score_rows], float(y_mean), float(y_std), where)
    rmse = math.sqrt(float(((y[score_rows] - mean) ** 2).mean()))
    return rmse, float(log_likelihood.mean())


def _mean_and_standard_error(values: numpy.ndarray) -> tuple[float, float]:
    """Mean and std(ddof=1) / sqrt(k) over k splits; 0 for one split, where no spread can be measured."""
    if values.size == 1:
        return float(values[0]), 0.0
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(values.size))


# --------------------------------------------------------------------------- the protocol
def uci_protocol(X: object, y: object, make_model: Callable, grid: Sequence[Mapping], *,
                 n_splits: int = 20, test_fraction: float = 0.1, validation_fraction: float = 0.2,
                 seed: int = 0, splits: Sequence | None = None) -> UCIResult:
    """Test RMSE and log-likelihood over repeated splits, the protocol of Gal & Ghahramani (2016), Table 1.

    Steps 1-5 of the module docstring (Hernandez-Lobato & Adams 2015, section 5; Gal & Ghahramani
    2016, section 5.1): per split, standardise on the training part, choose the grid point with
    the best validation log-likelihood, refit it on the whole training part, and score the test part
    in the original units of y.

    Parameters
    ----------
    X : array of shape (n_samples, n_features) or (n_samples,)
    y : array of shape (n_samples,)
    make_model : callable
        ``make_model(**params)`` returns a fresh, unfitted model with ``fit`` and ``predict`` (the
        contract in the module docstring).
    grid : list of dict
        The keyword arguments to try, e.g. ``[{"dropout": 0.05, "tau": 10.0}, ...]``; ``[{}]`` for none.
        With one point, no validation fit is run.
    n_splits, test_fraction, seed
        Passed to ``uci_splits``; not used when ``splits`` is given.
    validation_fraction : float
        The share of each training part held out to choose the grid point, round(fraction * n_train)
        rows drawn with ``numpy.random.default_rng((seed, split_number))``.
    splits : list of (train_indices, test_indices), optional
        Fixed splits, e.g. from ``load_split_indices``; each pair disjoint, in range, without repeats.

    Returns
    -------
    UCIResult
    """
    X, y = _check_data(X, y)
    if not callable(make_model):
        raise TypeError(f"make_model must be callable, got {type(make_model).__name__}")
    grid = _check_grid(grid)
    n_splits = _check_count(n_splits, "n_splits", 1)
    test_fraction = _check_fraction(test_fraction, "test_fraction")
    validation_fraction = _check_fraction(validation_fraction, "validation_fraction")
    seed = _check_count(seed, "seed", 0)
    n = X.shape[0]
    splits = (uci_splits(n, n_splits, test_fraction, seed) if splits is None else _check_splits(splits, n))
    if len(grid) > 1:  # every split must leave a validation part before any model is fitted
        for train, _ in splits:
            _held_out_size(train.size, validation_fraction, "validation_fraction", "training rows")

    rmse, log_likelihood = numpy.empty(len(splits)), numpy.empty(len(splits))
    validation = numpy.full((len(splits), len(grid)), numpy.nan)
    chosen = []
    for k, (train, test) in enumerate(splits):
        best = 0
        if len(grid) > 1:
            n_validation = _held_out_size(train.size, validation_fraction, "validation_fraction", "training rows")
            order = numpy.random.default_rng((seed, k)).permutation(train)
            held_out, fit_rows = order[:n_validation], order[n_validation:]
            for g, params in enumerate(grid):
                validation[k, g] = _fit_and_score(make_model, params, X, y, fit_rows, held_out)[1]
            best = int(numpy.argmax(validation[k]))  # the first of equals, as in a plain grid search
        chosen.append(dict(grid[best]))
        rmse[k], log_likelihood[k] = _fit_and_score(make_model, grid[best], X, y, train, test)
    rmse_mean, rmse_se = _mean_and_standard_error(rmse)
    ll_mean, ll_se = _mean_and_standard_error(log_likelihood)
    return UCIResult(rmse_mean, rmse_se, ll_mean, ll_se, rmse, log_likelihood, chosen, validation)
