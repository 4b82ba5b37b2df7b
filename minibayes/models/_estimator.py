"""The scikit-learn estimator contract, without scikit-learn: parameters, ``repr``, tags, ``score``.

Every estimator in ``minibayes.models`` derives from ``Estimator``. Its hyperparameters are the
arguments of ``__init__`` (the first, defining one such as ``n_components`` or ``basis`` may be
positional; the rest are keyword-only), stored unchanged under the same names; fitted state
ends in an underscore and is set only by ``fit``. From that convention alone:

    get_params(deep=True)  -> {name: value} read from the attributes named like the arguments
    set_params(**params)   -> self, after checking every name (``step__name`` for a nested estimator)
    repr(estimator)        -> ``GaussianMixture(n_components=3, random_state=0)``: non-default values only

which is all that ``sklearn.base.clone``, ``GridSearchCV``, ``cross_val_score`` and ``Pipeline``
need. scikit-learn is a development extra, not a runtime dependency: it is imported only
inside ``__sklearn_tags__``, which only scikit-learn calls.
"""

from __future__ import annotations

import inspect

import numpy

from .. import backend
from ._validation import check_array

__all__ = ["Estimator", "Regressor", "Classifier", "Clusterer", "DensityEstimator", "r2_score"]


class Estimator:
    """Base of every estimator: get_params/set_params by introspecting ``__init__``, and a readable repr.

    Subclasses set ``_estimator_type`` ("regressor", "classifier", "clusterer", "density_estimator"
    or None) and ``_is_transformer`` (has ``transform``), which become scikit-learn's tags.
    """

    _estimator_type: str | None = None
    _is_transformer: bool = False

    @classmethod
    def _init_parameters(cls) -> list[inspect.Parameter]:
        """The arguments of ``__init__`` after ``self``, in order (no ``*args``/``**kwargs``: they would hide names)."""
        parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
        for parameter in parameters:
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                raise TypeError(f"{cls.__name__}.__init__ must name every hyperparameter; "
                                f"*{parameter.name} hides them from get_params")
        return parameters

    @classmethod
    def _get_param_names(cls) -> list[str]:
        """The hyperparameter names, sorted (scikit-learn's order, which ``clone`` relies on only by name)."""
        return sorted(parameter.name for parameter in cls._init_parameters())

    def get_params(self, deep: bool = True) -> dict:
        """The hyperparameters as {name: value}; with ``deep``, also ``name__sub`` for nested estimators."""
        params = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                params.update((f"{name}__{key}", sub) for key, sub in value.get_params().items())
            params[name] = value
        return params

    def set_params(self, **params) -> Estimator:
        """Set hyperparameters by name (``name__sub`` reaches into a nested estimator); returns self.

        Every name is checked before any is set, so a misspelt name changes nothing.
        """
        valid = self._get_param_names()
        nested: dict[str, dict] = {}
        for key in params:
            name, _, sub = key.partition("__")
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for {type(self).__name__}; "
                                 f"valid parameters are {valid}")
            if sub and not hasattr(getattr(self, name), "set_params"):
                raise ValueError(f"parameter {key!r}: {name} of {type(self).__name__} has no set_params")
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if sub:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, sub_params in nested.items():
            getattr(self, name).set_params(**sub_params)
        return self

    def __repr__(self) -> str:
        """``Name(arg=value, ...)`` with the arguments that differ from their defaults, in signature order."""
        parts = []
        for parameter in self._init_parameters():
            value = getattr(self, parameter.name)
            if _is_default(value, parameter.default):
                continue
            parts.append(f"{parameter.name}={_short_repr(value)}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def __sklearn_tags__(self):
        """scikit-learn's estimator tags (scikit-learn >= 1.6 reads them; it is imported only here)."""
        from sklearn.utils import ClassifierTags, RegressorTags, Tags, TargetTags, TransformerTags  # noqa: PLC0415

        supervised = self._estimator_type in ("regressor", "classifier")
        tags = Tags(estimator_type=self._estimator_type, target_tags=TargetTags(required=supervised),
                    transformer_tags=None, regressor_tags=None, classifier_tags=None)
        if self._estimator_type == "regressor":
            tags.regressor_tags = RegressorTags()
        if self._estimator_type == "classifier":
            tags.classifier_tags = ClassifierTags(multi_class=False)  # two classes only (PRML 4.3.2)
        if self._is_transformer:
            # Clusterers and the projections return float64 or the input's float dtype; no promise.
            tags.transformer_tags = TransformerTags(preserves_dtype=[])
        return tags


def _is_default(value: object, default: object) -> bool:
    """Whether ``value`` is the signature default (identity first: arrays do not compare to a bool)."""
    if value is default:
        return True
    if default is inspect.Parameter.empty or hasattr(value, "shape") or hasattr(default, "shape"):
        return False
    try:
        return bool(type(value) is type(default) and value == default)
    except (TypeError, ValueError):
        return False


def _short_repr(value: object) -> str:
    """repr, except that an array is shown by its shape and dtype (a repr should fit on a line)."""
    shape = getattr(value, "shape", None)
    if shape is not None and len(shape) > 0:
        return f"<array of shape {tuple(shape)}, {value.dtype}>"
    return repr(value)


def r2_score(y: object, prediction: object) -> float:
    """The coefficient of determination R^2 = 1 - sum (y - f)^2 / sum (y - y_bar)^2 (scikit-learn's regressor score).

    y, prediction : arrays of shape (n_samples,) on one backend. A constant y gives 1.0 for a
    perfect prediction and 0.0 otherwise (scikit-learn's convention).
    """
    residual = float(((y - prediction) ** 2).sum())
    total = float(((y - y.mean()) ** 2).sum())
    if total == 0.0:
        return 1.0 if residual == 0.0 else 0.0
    return 1.0 - residual / total


class Regressor(Estimator):
    """An estimator of a real target: ``score`` is R^2 of ``predict``."""

    _estimator_type = "regressor"

    def score(self, X, y, sample_weight=None) -> float:
        """R^2 of ``predict(X)`` against y (shape (n_samples,)); sample weights are not supported."""
        if sample_weight is not None:
            raise ValueError("sample_weight is not supported")
        prediction = self.predict(X)
        y = check_array(y, "y", ndim=1, dtype=prediction.dtype)
        if y.shape != prediction.shape:
            raise ValueError(f"X and y have different numbers of samples: {prediction.shape[0]} and {y.shape[0]}")
        return r2_score(y, prediction)


class Classifier(Estimator):
    """A two-class classifier: ``score`` is the accuracy of ``predict``."""

    _estimator_type = "classifier"

    def score(self, X, y, sample_weight=None) -> float:
        """Accuracy: the fraction of rows of X whose ``predict`` equals y (shape (n_samples,))."""
        if sample_weight is not None:
            raise ValueError("sample_weight is not supported")
        # Labels may be strings, which only NumPy holds: compared on the host (score is not a hot path).
        prediction = numpy.asarray(backend.to_numpy(self.predict(X)))
        y = numpy.asarray(backend.to_numpy(y) if hasattr(y, "dtype") else y)
        if y.shape != prediction.shape:
            raise ValueError(f"y must have shape {prediction.shape} to match X; got {y.shape}")
        return float((prediction == y).mean())


class Clusterer(Estimator):
    """A clustering estimator (``fit_predict`` gives the cluster of each row)."""

    _estimator_type = "clusterer"


class DensityEstimator(Estimator):
    """An estimator of p(x): ``score`` is the mean log-density of its rows."""

    _estimator_type = "density_estimator"
