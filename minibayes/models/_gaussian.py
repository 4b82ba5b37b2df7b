"""Gaussian log-densities and moments for the mixture models, by two routes.

The mixtures need, for every sample n and component k,

    ln N(x_n | mu_k, Lambda_k^-1) = -D/2 ln 2pi + 1/2 ln|Lambda_k| - 1/2 (x_n - mu_k)^T Lambda_k (x_n - mu_k)
                                                                                            PRML (2.43)

and, in the M-step, the responsibility-weighted moments N_k, sum_n r_nk x_n and
sum_n r_nk x_n x_n^T (PRML 9.24-9.27).

Route 1, ``log_gaussian_prob``: through the precision's Cholesky factor P_k
(Lambda_k = P_k P_k^T, P_k upper triangular), ||P_k^T (x_n - mu_k)||^2. No
cancellation; used for new data (predict, score_samples).

Route 2, ``GaussianStatistics``: the Gaussian is an exponential family,
ln N(x | mu, Lambda^-1) = eta^T u(x) with u(x) = (1, x, x x^T) and natural
parameters eta = (c, Lambda mu, -1/2 Lambda), c = -D/2 ln 2pi + 1/2 ln|Lambda|
- 1/2 mu^T Lambda mu (PRML 2.194). With U the (N, 1 + D + D^2) matrix of u(x_n),
computed once per fit, the E-step is one product U @ H^T (all N x K
log-densities) and the M-step is one product R^T @ U (all K moment sets).
The data are centred first, because the expansion (x - mu)^T Lambda (x - mu)
= x^T Lambda x - 2 x^T Lambda mu + mu^T Lambda mu loses digits when |x| is
large compared with the spread. When U would not fit in memory (large D, full
covariances) it falls back to route 1 and a per-component loop.
"""

from __future__ import annotations

from .. import backend
from ..autograd import numerics
from ..autograd.numerics import LOG_2PI

__all__ = [
    "normalize_log",
    "precision_cholesky_from_covariances",
    "precision_cholesky_from_precisions",
    "precisions_from_cholesky",
    "log_det_cholesky",
    "log_gaussian_prob",
    "GaussianStatistics",
]

COVARIANCE_TYPES = ("full", "diag", "spherical")
# Largest u(x) matrix (bytes) GaussianStatistics builds before it falls back to a loop.
OUTER_PRODUCT_BUDGET_BYTES = 512 * 2**20


def normalize_log(log_joint: object, axis: int = 1) -> tuple[object, object]:
    """ln p(x_n) and the responsibilities gamma(z_nk) from ln p(x_n, z_nk = 1), PRML (9.12)-(9.13).

    Parameters
    ----------
    log_joint : array of shape (n_samples, n_components) (or its transpose, with ``axis=0``)
        ln pi_k + ln p(x_n | z_k = 1).
    axis : int
        The component axis.

    Returns
    -------
    log_norm : array of shape (n_samples,)
        ln p(x_n) = ln sum_k exp(log_joint[n, k]) (logsumexp, PRML 9.14 per sample).
    resp : array shaped like ``log_joint``
        gamma(z_nk) = exp(log_joint[n, k] - ln p(x_n)), PRML (9.23); one exp serves both outputs.
    """
    xp = backend.array_module(log_joint)
    shift = log_joint.max(axis=axis, keepdims=True)  # the largest term: exp never overflows
    resp = xp.exp(log_joint - shift)
    total = resp.sum(axis=axis, keepdims=True)
    resp /= total
    return xp.squeeze(xp.log(total) + shift, axis=axis), resp


# --------------------------------------------------------------------------- precision factors
def _collapse_message(components: list[int]) -> str:
    return (
        f"component(s) {components} have a covariance that is not positive definite: they collapsed "
        "onto a point or a subspace, where the likelihood is unbounded (PRML section 9.2.1). "
        "Increase reg_covar, use fewer components, or rescale X."
    )


def precision_cholesky_from_covariances(covariances: object, covariance_type: str, floor: float = 0.0) -> object:
    """Upper-triangular P_k with Sigma_k^-1 = P_k P_k^T: Sigma_k = L_k L_k^T, P_k = L_k^-T.

    Parameters
    ----------
    covariances : array of shape (K, D, D) ("full"), (K, D) ("diag") or (K,) ("spherical")
    floor : float
        A variance (or squared Cholesky pivot L_k[i, i]^2, the variance of x_i
        given x_1..x_i-1) at or below ``floor`` counts as a collapse: the
        matrix is numerically singular even if the factorisation succeeds.

    Returns
    -------
    array of the same shape: P_k ("full"), or 1 / sqrt(variances).

    Raises
    ------
    ValueError
        Naming the components whose covariance is not (numerically) positive definite.
    """
    xp = backend.array_module(covariances)
    if covariance_type != "full":
        bad = ~(covariances > floor)
        if bool(bad.any()):
            rows = bad if bad.ndim == 1 else bad.any(axis=1)
            raise ValueError(_collapse_message(backend.to_numpy(xp.nonzero(rows)[0]).tolist()))
        return 1.0 / xp.sqrt(covariances)
    lower, bad = numerics.cholesky_with_failures(covariances, floor)
    if bool(bad.any()):
        raise ValueError(_collapse_message(backend.to_numpy(xp.nonzero(bad)[0]).tolist()))
    eye = xp.eye(covariances.shape[-1], dtype=covariances.dtype)
    identity = xp.broadcast_to(eye, covariances.shape).copy()
    inverse_lower = numerics.solve_triangular(lower, identity, lower=True)
    return xp.swapaxes(inverse_lower, -1, -2)


def precision_cholesky_from_precisions(precisions: object, covariance_type: str) -> object:
    """Upper-triangular P with Lambda = P P^T, straight from Lambda (no inverse): ``numerics.upper_cholesky``."""
    xp = backend.array_module(precisions)
    if covariance_type != "full":
        return xp.sqrt(precisions)
    return xp.ascontiguousarray(numerics.upper_cholesky(precisions, lambda a: numerics.cholesky(a, "precisions_init")))


def precisions_from_cholesky(precisions_cholesky: object, covariance_type: str) -> object:
    """Lambda_k = P_k P_k^T (or the squared diagonal factors)."""
    if covariance_type != "full":
        return precisions_cholesky**2
    return precisions_cholesky @ backend.array_module(precisions_cholesky).swapaxes(precisions_cholesky, 1, 2)


def log_det_cholesky(precisions_cholesky: object, covariance_type: str, n_features: int) -> object:
    """1/2 ln|Lambda_k| = ln|P_k| = sum_i ln P_k[i, i], of shape (K,)."""
    xp = backend.array_module(precisions_cholesky)
    if covariance_type == "full":
        return numerics.half_log_det_cholesky(precisions_cholesky)  # P is upper triangular: same diagonal
    if covariance_type == "diag":
        return xp.log(precisions_cholesky).sum(axis=1)
    return n_features * xp.log(precisions_cholesky)


def log_gaussian_prob(X: object, means: object, precisions_cholesky: object, covariance_type: str) -> object:
    """ln N(x_n | mu_k, Lambda_k^-1) for all n, k (route 1), PRML (2.43).

    Parameters
    ----------
    X : array of shape (N, D)
    means : array of shape (K, D)
    precisions_cholesky : array of shape (K, D, D), (K, D) or (K,) (see ``covariance_type``)

    Returns
    -------
    array of shape (N, K)
    """
    xp = backend.array_module(X)
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    if covariance_type == "full":
        # All components at once: X @ [P_1 ... P_K] is (N, K*D); the Mahalanobis
        # term of component k is the squared norm of its block of D columns.
        stacked = xp.swapaxes(precisions_cholesky, 0, 1).reshape(n_features, n_components * n_features)
        shifts = xp.einsum("kd,kde->ke", means, precisions_cholesky).reshape(-1)
        y = X @ stacked - shifts
        mahalanobis = (y * y).reshape(n_samples, n_components, n_features).sum(axis=2)
    else:
        scale = precisions_cholesky if covariance_type == "diag" else precisions_cholesky[:, None]
        scale = xp.broadcast_to(scale, means.shape)
        mahalanobis = ((X[:, None, :] - means[None]) * scale[None]) ** 2
        mahalanobis = mahalanobis.sum(axis=2)
    log_det = log_det_cholesky(precisions_cholesky, covariance_type, n_features)
    return -0.5 * (n_features * LOG_2PI + mahalanobis) + log_det


# --------------------------------------------------------------------------- route 2
class GaussianStatistics:
    """The sufficient statistics u(x_n) = (1, x_n, upper triangle of x_n x_n^T) of centred data, built once per fit.

    Arrays indexed by (component, sample) are component-major here, shape
    (K, N): the normalisation over k in the E-step then runs down K contiguous
    rows instead of across a short last axis (several times faster in NumPy).

    Parameters
    ----------
    X : array of shape (N, D)
    covariance_type : "full", "diag" or "spherical"
        Second-order part of u: the D (D + 1) / 2 products x_i x_j, i <= j; x * x (D); or ||x||^2 (1).
    max_bytes : int
        Largest U to build; beyond it ("full" with large N D^2) the class
        keeps the centred X and uses route 1 and a loop over components.
    """

    def __init__(self, X: object, covariance_type: str, max_bytes: int = OUTER_PRODUCT_BUDGET_BYTES) -> None:
        xp = backend.array_module(X)
        n_samples, n_features = X.shape
        self.covariance_type = covariance_type
        self.center = X.mean(axis=0)
        centered = X - self.center
        self.X_centered, self.U = centered, None
        if covariance_type == "full":
            if n_samples * (1 + n_features + n_features * (n_features + 1) // 2) * X.dtype.itemsize > max_bytes:
                return
            # x x^T is symmetric: keep its upper triangle, row by row (i, j >= i).
            second = xp.concatenate([centered[:, i : i + 1] * centered[:, i:] for i in range(n_features)], axis=1)
            self.rows, self.cols = xp.triu_indices(n_features)
        elif covariance_type == "diag":
            second = centered * centered
        else:
            second = (centered * centered).sum(axis=1, keepdims=True)
        self.U = xp.concatenate([xp.ones((n_samples, 1), dtype=X.dtype), centered, second], axis=1)
        self.X_centered = None  # U holds it

    def log_gaussian(self, means: object, precisions_cholesky: object, bias: object = 0.0) -> object:
        """ln N(x_n | mu_k, Lambda_k^-1) + bias_k for all k, n, component-major: shape (K, N).

        ``bias`` (K,) rides along in the constant column of U: ln pi_k for the
        EM mixture, the expected log weight and corrections for the variational one.
        """
        xp = backend.array_module(means)
        cov, n_features = self.covariance_type, means.shape[1]
        shifted = means - self.center  # the component means in centred coordinates
        log_det = log_det_cholesky(precisions_cholesky, cov, n_features)
        if self.U is None:
            log_prob = log_gaussian_prob(self.X_centered, shifted, precisions_cholesky, cov) + bias
            return xp.ascontiguousarray(log_prob.T)
        precisions = precisions_from_cholesky(precisions_cholesky, cov)
        if cov == "full":
            linear = xp.einsum("kde,ke->kd", precisions, shifted)  # Lambda_k mu_k
            # -1/2 x^T Lambda x = -1/2 sum_i Lambda_ii x_i^2 - sum_{i<j} Lambda_ij x_i x_j
            off_diagonal = (self.rows != self.cols).astype(means.dtype)
            quadratic = -0.5 * (1.0 + off_diagonal) * precisions[:, self.rows, self.cols]
        elif cov == "diag":
            linear = precisions * shifted
            quadratic = -0.5 * precisions
        else:
            linear = precisions[:, None] * shifted
            quadratic = -0.5 * precisions[:, None]
        # c_k = -D/2 ln 2pi + 1/2 ln|Lambda_k| - 1/2 mu_k^T Lambda_k mu_k (+ bias_k)
        constant = -0.5 * n_features * LOG_2PI + log_det - 0.5 * (linear * shifted).sum(axis=1) + bias
        natural = xp.concatenate([constant[:, None], linear, quadratic], axis=1)  # eta_k, (K, width of U)
        return natural @ self.U.T

    def moments(self, resp: object) -> tuple[object, object, object]:
        """N_k, x_bar_k and the weighted covariance S_k (no regularisation), PRML (9.24)-(9.27), (10.51)-(10.53).

        Parameters
        ----------
        resp : array of shape (K, N), component-major responsibilities r_nk

        Returns
        -------
        nk : (K,)  sum_n r_nk, plus 10 machine epsilons so that an empty component never divides by zero
        means : (K, D)  x_bar_k = sum_n r_nk x_n / N_k
        covariances : (K, D, D), (K, D) or (K,)  S_k = sum_n r_nk (x_n - x_bar_k)(x_n - x_bar_k)^T / N_k
        """
        xp = backend.array_module(resp)
        eps = 10 * xp.finfo(resp.dtype).eps
        n_features = self.center.shape[0]
        if self.U is None:
            nk = resp.sum(axis=1) + eps
            shifted = (resp @ self.X_centered) / nk[:, None]
            covariances = xp.empty((resp.shape[0], n_features, n_features), dtype=resp.dtype)
            for k in range(resp.shape[0]):  # the textbook form, one D x D product per component
                diff = self.X_centered - shifted[k]
                covariances[k] = (resp[k] * diff.T) @ diff / nk[k]
            return nk, shifted + self.center, covariances
        totals = resp @ self.U  # (K, width of U): sum_n r_nk u(x_n)
        nk = totals[:, 0] + eps
        shifted = totals[:, 1 : n_features + 1] / nk[:, None]
        second = totals[:, n_features + 1 :] / nk[:, None]
        if self.covariance_type == "full":
            # (9.25) expanded: sum_n r_nk x_n x_n^T / N_k - x_bar_k x_bar_k^T, the triangle mirrored.
            full = xp.empty((resp.shape[0], n_features, n_features), dtype=resp.dtype)
            full[:, self.rows, self.cols] = second
            full[:, self.cols, self.rows] = second
            covariances = full - shifted[:, :, None] * shifted[:, None, :]
        elif self.covariance_type == "diag":
            covariances = second - shifted**2
        else:
            covariances = (second[:, 0] - (shifted**2).sum(axis=1)) / n_features
        return nk, shifted + self.center, covariances
