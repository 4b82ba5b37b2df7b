"""The estimators' boundary checks: one module, one dtype policy (models/_validation.py)."""

import warnings

import numpy as np
import pytest
import scipy.sparse

from minibayes.models import BayesianRidge, GaussianMixture, KMeans, PCA
from minibayes.models import _validation
from minibayes.models._validation import check_array, check_inputs, check_targets


@pytest.mark.parametrize("dtype, kept", [(np.float32, np.float32), (np.float64, np.float64), (np.int32, np.float64),
                                         (np.bool_, np.float64), (object, np.float64)])
def test_one_dtype_policy(dtype, kept):
    X = (np.arange(12).reshape(6, 2) % 5).astype(dtype)
    # Unsupervised estimators keep float32 (stable in single precision); everything else becomes float64.
    assert check_array(X).dtype == kept
    assert PCA(1).fit(X).components_.dtype == kept
    assert KMeans(2, random_state=0).fit(X).cluster_centers_.dtype == kept
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 0/1 data collapse components; only the dtype is asked about here
        assert GaussianMixture(2, random_state=0, reg_covar=1e-3).fit(X).means_.dtype == kept
    # The supervised models need float64 digits (evidence, near-singular Cholesky factors): always float64.
    assert check_inputs(X).dtype == np.float64 and check_targets(X[:, 0], 6).dtype == np.float64
    assert BayesianRidge().fit(X, np.arange(6.0)).coef_.dtype == np.float64


def test_the_supervised_checks_live_in_the_one_module():
    for name in ("check_inputs", "check_fitted_inputs", "check_targets", "check_binary_targets", "check_precision"):
        assert getattr(_validation, name).__module__ == "minibayes.models._validation"
    with pytest.raises(ImportError):  # the second module is gone
        from minibayes.models import _linear_validation  # noqa: F401


@pytest.mark.parametrize("bad, error, match", [
    (scipy.sparse.csr_matrix(np.eye(3)), TypeError, "X is a sparse matrix.*toarray"),
    (np.array([[1.0, None], [2.0, 3.0]], dtype=object), TypeError, "dtype object.*not a number"),
    (np.zeros((3, 0)), ValueError, r"X has 0 feature\(s\) \(shape=\(3, 0\)\) while a minimum of 1 is required"),
    (np.zeros(3), ValueError, r"2-D.*Reshape your data with X.reshape\(-1, 1\)"),
])
def test_bad_arrays_are_named(bad, error, match):
    with pytest.raises(error, match=match):
        check_array(bad, "X")


def test_targets_none_is_named():
    with pytest.raises(ValueError, match="requires y to be passed, but the target y is None"):
        BayesianRidge().fit(np.zeros((3, 1)), None)
