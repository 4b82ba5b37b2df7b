"""The scikit-learn estimator contract on every estimator: parameters, repr, clone, cross-validation, Pipeline,
and scikit-learn's own ``check_estimator`` (with the checks that do not apply listed, each with its reason)."""

import inspect
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import KFold, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from minibayes import models  # noqa: E402
from minibayes.models import (  # noqa: E402
    PCA, PPCA, RBF, BayesianGaussianMixture, BayesianLinearRegression, BayesianLogisticRegression, BayesianRidge,
    GaussianMixture, GaussianProcessRegressor, KMeans,
)
from minibayes.models._estimator import Estimator  # noqa: E402

# A configured instance of each estimator (factories: every test gets a fresh one) and the data it needs.
ESTIMATORS = {
    "KMeans": (lambda: KMeans(3, n_init=2, random_state=0), "blobs"),
    "GaussianMixture": (lambda: GaussianMixture(2, covariance_type="diag", random_state=0), "blobs"),
    "BayesianGaussianMixture": (lambda: BayesianGaussianMixture(3, random_state=0), "blobs"),
    "PCA": (lambda: PCA(2), "blobs"),
    "PPCA": (lambda: PPCA(2, method="em", random_state=0), "blobs"),
    "BayesianLinearRegression": (lambda: BayesianLinearRegression(alpha=0.5, fit_hyperparameters=True), "regression"),
    "BayesianRidge": (lambda: BayesianRidge(tol=1e-6), "regression"),
    "BayesianLogisticRegression": (lambda: BayesianLogisticRegression(alpha=0.5), "classification"),
    "GaussianProcessRegressor": (lambda: GaussianProcessRegressor(RBF(1.0, 2.0), noise=0.2, max_iter=20),
                                 "regression"),
}
# Hyperparameter names that would break the shared vocabulary (random_state, max_iter, tol, n_components).
SYNONYMS = {"seed", "rng", "random_seed", "n_iter", "maxiter", "max_iterations", "n_iterations", "tolerance",
            "eps_tol", "n_latent", "latent_dim", "k", "num_components"}


def data(kind, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(90, 3))
    if kind == "blobs":
        centres = np.array([[0.0, 0.0, 0.0], [6.0, 0.0, 1.0], [0.0, 6.0, -1.0]])
        return X * [1.0, 0.7, 0.4] + centres[np.arange(90) % 3], None
    signal = X @ np.array([1.0, -2.0, 0.5]) + 1.0
    if kind == "regression":
        return X, signal + 0.3 * rng.normal(size=90)
    return X, (signal + 0.5 * rng.normal(size=90) > 1.0).astype(np.int64)


def quietly(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def test_every_estimator_is_covered_and_derives_from_the_base():
    classes = {name for name, value in vars(models).items()
               if isinstance(value, type) and hasattr(value, "fit") and hasattr(value, "__init__")}
    assert classes == set(ESTIMATORS)
    for name in classes:
        assert issubclass(getattr(models, name), Estimator), name


@pytest.mark.parametrize("name", ESTIMATORS)
def test_hyperparameters_are_keyword_only_and_share_one_vocabulary(name):
    factory, _ = ESTIMATORS[name]
    parameters = list(inspect.signature(type(factory()).__init__).parameters.values())[1:]
    # Only the first, defining argument (n_components, n_clusters, basis, kernel) may be positional.
    assert all(p.kind is p.KEYWORD_ONLY for p in parameters[1:]), [p.name for p in parameters]
    assert not SYNONYMS & {p.name for p in parameters}
    with pytest.raises(TypeError):
        type(factory())(*([None] * len(parameters)))


@pytest.mark.parametrize("name", ESTIMATORS)
def test_get_params_set_params_and_clone(name):
    factory, kind = ESTIMATORS[name]
    estimator = factory()
    arguments = list(inspect.signature(type(estimator).__init__).parameters)[1:]
    params = estimator.get_params()
    assert set(params) == set(arguments)
    assert all(params[key] is getattr(estimator, key) for key in arguments)
    # clone builds an unfitted twin from get_params: same hyperparameters, no fitted state.
    X, y = data(kind)
    quietly(estimator.fit, X, y)
    twin = clone(estimator)
    assert type(twin) is type(estimator) and twin is not estimator
    assert repr(twin.get_params()) == repr(params)
    assert not [key for key in vars(twin) if key.endswith("_")]
    # set_params changes what it names; a bad name changes nothing, not even the good names beside it.
    key = "max_iter" if "max_iter" in params else "n_components"
    assert twin.set_params(**{key: 7}) is twin and twin.get_params()[key] == 7
    with pytest.raises(ValueError, match="invalid parameter 'no_such_thing'.*valid parameters are"):
        twin.set_params(**{key: 9, "no_such_thing": 1})
    assert twin.get_params()[key] == 7


def test_nested_set_params_and_repr():
    model = GaussianMixture(3, random_state=0)
    assert repr(model) == "GaussianMixture(n_components=3, random_state=0)"
    assert repr(KMeans()) == "KMeans()" and repr(BayesianRidge()) == "BayesianRidge()"
    assert repr(KMeans(init=np.zeros((8, 2)))) == "KMeans(init=<array of shape (8, 2), float64>)"
    # A repr of plain values is code that rebuilds the estimator.
    rebuilt = eval(repr(model), {"GaussianMixture": GaussianMixture})  # noqa: S307
    assert rebuilt.get_params() == model.get_params()
    # name__sub reaches into a nested estimator, as in a Pipeline.
    pipeline = make_pipeline(StandardScaler(), PCA(2))
    pipeline.set_params(pca__n_components=1, pca__solver="svd")
    assert pipeline.named_steps["pca"].get_params() == {"n_components": 1, "solver": "svd"}


def manual_fold_scores(make, X, y, folds, scale=False):
    """The cross-validation scores by hand: a fresh estimator per fold, fitted on the training rows."""
    scores = []
    for train, test in folds.split(X):
        X_train, X_test = X[train], X[test]
        if scale:  # StandardScaler by hand: the training rows' mean and (ddof = 0) standard deviation
            mean, std = X_train.mean(axis=0), X_train.std(axis=0)
            X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
        model = quietly(make().fit, X_train, None if y is None else y[train])
        scores.append(model.score(X_test, None if y is None else y[test]))
    return np.array(scores)


@pytest.mark.parametrize("scale", [False, True], ids=["bare", "pipeline"])
@pytest.mark.parametrize("name", ESTIMATORS)
def test_cross_val_score_and_pipeline_match_fold_by_fold_fits(name, scale):
    factory, kind = ESTIMATORS[name]
    X, y = data(kind)
    folds = KFold(3, shuffle=True, random_state=0)
    estimator = make_pipeline(StandardScaler(), factory()) if scale else factory()
    scores = quietly(cross_val_score, estimator, X, y, cv=folds, error_score="raise")
    np.testing.assert_allclose(scores, manual_fold_scores(factory, X, y, folds, scale), rtol=1e-9, atol=1e-12)
    if kind == "regression":
        assert scores.min() > 0.8  # R^2 on held-out rows of a linear signal with small noise
    if kind == "classification":
        assert scores.min() > 0.75  # accuracy


def test_regressor_and_classifier_scores_are_r2_and_accuracy():
    X, y = data("regression")
    model = BayesianRidge().fit(X, y)
    prediction = np.asarray(model.predict(X))
    assert model.score(X, y) == pytest.approx(1 - ((y - prediction) ** 2).sum() / ((y - y.mean()) ** 2).sum())
    X, t = data("classification")
    classifier = BayesianLogisticRegression().fit(X, t)
    assert classifier.score(X, t) == pytest.approx(np.mean(np.asarray(classifier.predict(X)) == t))


# ----------------------------------------------------------------------------- scikit-learn's own checks
# The checks that do not apply, each with its reason. The test below asserts that exactly these fail,
# so the list stays true: a fixed one must leave it, and a new failure must be fixed or explained here.
NOT_SCIKIT_LEARNS_ERROR_CLASS = {
    "check_estimators_unfitted": "predict before fit raises minibayes' NotFittedError, a ValueError and an "
                                 "AttributeError like scikit-learn's, but not scikit-learn's class: scikit-learn "
                                 "is a development extra, not a runtime dependency",
}
COMPLEX = {
    "check_complex_data": "complex X raises TypeError (a wrong dtype is a type error, STYLE rule 6); the check "
                          "wants a ValueError",
}
SUPERVISED = {
    "check_supervised_y_2d": "a column vector y of shape (n, 1) is refused with a ValueError naming y, not "
                             "raveled behind a warning: targets are never reshaped silently",
    "check_fit1d": "PRML's curve-fitting convention (section 1.1): a 1-D X of shape (n,) is n samples of one "
                   "feature, so it is accepted, not refused",
    "check_fit2d_predict1d": "the same convention in predict: a 1-D X is n samples of one feature, and the "
                             "error then names the feature count, not 'Reshape your data'",
}
CLOSED_FORM = {
    "check_non_transformer_estimators_n_iter": "a closed-form fit takes no iterations: n_iter_ = 0 is the truth "
                                               "(without fit_hyperparameters, or with optimize=False)",
    "check_transformer_n_iter": "method='closed_form' takes no EM iterations: n_iter_ = 0 is the truth",
}
_PARTIAL_FIT = ("partial_fit refuses fit_hyperparameters=True with a ValueError: re-estimating alpha and beta "
                "(PRML 3.92, 3.95) needs the whole data set at once")
PARTIAL_FIT_WITH_EVIDENCE = {name: _PARTIAL_FIT for name in (  # the checks that call partial_fit
    "check_estimators_partial_fit_n_features", "check_fit_score_takes_y", "check_n_features_in_after_fitting")}
CHECKED = {
    "KMeans": (KMeans(2, random_state=0), {**NOT_SCIKIT_LEARNS_ERROR_CLASS, **COMPLEX}),
    "GaussianMixture": (GaussianMixture(random_state=0), {**NOT_SCIKIT_LEARNS_ERROR_CLASS, **COMPLEX}),
    "BayesianGaussianMixture": (BayesianGaussianMixture(random_state=0), {**NOT_SCIKIT_LEARNS_ERROR_CLASS, **COMPLEX}),
    "PCA": (PCA(), COMPLEX),
    "PPCA": (PPCA(1), {**COMPLEX, "check_transformer_n_iter": CLOSED_FORM["check_transformer_n_iter"]}),
    "PPCA-em": (PPCA(1, method="em", random_state=0), COMPLEX),
    "BayesianLinearRegression": (BayesianLinearRegression(), {
        **NOT_SCIKIT_LEARNS_ERROR_CLASS, **COMPLEX, **SUPERVISED,
        "check_non_transformer_estimators_n_iter": CLOSED_FORM["check_non_transformer_estimators_n_iter"]}),
    "BayesianLinearRegression-evidence": (BayesianLinearRegression(fit_hyperparameters=True),
                                          {**NOT_SCIKIT_LEARNS_ERROR_CLASS, **COMPLEX, **SUPERVISED,
                                           **PARTIAL_FIT_WITH_EVIDENCE}),
    "BayesianRidge": (BayesianRidge(), {**NOT_SCIKIT_LEARNS_ERROR_CLASS, **COMPLEX, **SUPERVISED}),
    "BayesianLogisticRegression": (BayesianLogisticRegression(),
                                   {**NOT_SCIKIT_LEARNS_ERROR_CLASS, **COMPLEX, **SUPERVISED}),
    "GaussianProcessRegressor-fixed": (GaussianProcessRegressor(optimize=False), {
        **NOT_SCIKIT_LEARNS_ERROR_CLASS, **COMPLEX, **SUPERVISED,
        "check_non_transformer_estimators_n_iter": CLOSED_FORM["check_non_transformer_estimators_n_iter"]}),
}
# With the L-BFGS-B fit of its hyperparameters on every check's data, the GP alone takes over a minute.
SLOW_CHECKED = {
    "GaussianProcessRegressor": (GaussianProcessRegressor(),
                                 {**NOT_SCIKIT_LEARNS_ERROR_CLASS, **COMPLEX, **SUPERVISED}),
}


def failed_checks(estimator):
    results = quietly(check_estimator, estimator, on_fail=None)
    assert len(results) > 30  # the checks did run
    return {result["check_name"]: result["exception"] for result in results if result["status"] == "failed"}


def assert_only_expected_failures(estimator, expected):
    failed = failed_checks(estimator)
    unexpected = {name: repr(error)[:300] for name, error in failed.items() if name not in expected}
    assert not unexpected, unexpected
    assert set(failed) == set(expected), f"these listed checks now pass: {set(expected) - set(failed)}"


@pytest.mark.parametrize("name", CHECKED)
def test_check_estimator_fails_only_the_listed_checks(name):
    estimator, expected = CHECKED[name]
    assert_only_expected_failures(estimator, expected)


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW_CHECKED)
def test_check_estimator_fails_only_the_listed_checks_slow(name):
    estimator, expected = SLOW_CHECKED[name]
    assert_only_expected_failures(estimator, expected)
