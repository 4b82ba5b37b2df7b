"""K-means clustering, PRML section 9.1.

    J = sum_n sum_k r_nk ||x_n - mu_k||^2                          PRML (9.1)
    E-step: r_nk = 1 if k = argmin_j ||x_n - mu_j||^2, else 0      PRML (9.2)
    M-step: mu_k = sum_n r_nk x_n / sum_n r_nk                     PRML (9.4)

Each step can only lower J (the E-step minimises it over r for fixed mu, the
M-step over mu for fixed r), so the sequence of J values (Figure 9.2) never
increases and the algorithm stops at a fixed point.
"""

from __future__ import annotations

import math
import warnings

from .. import backend
from ._estimator import Clusterer
from ._scaling import largest_magnitude, power_of_two_scale
from ._validation import ConvergenceWarning, check_array, check_fitted_input, check_random_state, check_scalar

__all__ = ["KMeans", "squared_distances", "kmeans_plusplus"]


def squared_distances(X: object, centers: object) -> object:
    """||x_n - mu_k||^2 for all n, k, shape (N, K), as ||x||^2 - 2 x^T mu + ||mu||^2 (one matrix product).

    The expansion cancels when |x| is much larger than the distances; callers
    pass centred data. Rounding can leave tiny negatives, clipped to 0.
    """
    xp = backend.array_module(X)
    squared = (X * X).sum(axis=1)[:, None] - 2.0 * (X @ centers.T) + (centers * centers).sum(axis=1)[None, :]
    return xp.maximum(squared, 0.0)


def kmeans_plusplus(X: object, n_clusters: int, rng: object) -> object:
    """Starting centres by greedy k-means++ (Arthur and Vassilvitskii, 2007), shape (K, D).

    The first centre is a uniformly drawn point; each next one is the best (in
    J) of 2 + ln K candidates drawn with probability proportional to the
    squared distance to the nearest centre chosen so far.
    """
    xp = backend.array_module(X)
    n_samples = X.shape[0]
    n_trials = 2 + int(math.log(n_clusters))
    centers = xp.empty((n_clusters, X.shape[1]), dtype=X.dtype)
    centers[0] = X[int(rng.integers(n_samples))]
    closest = squared_distances(X, centers[:1])[:, 0]
    for c in range(1, n_clusters):
        cumulative = xp.cumsum(closest)
        draws = rng.random(size=n_trials).astype(X.dtype) * cumulative[-1]
        candidates = xp.minimum(xp.searchsorted(cumulative, draws), n_samples - 1)
        trial_closest = xp.minimum(closest[None, :], squared_distances(X[candidates], X))
        best = int(trial_closest.sum(axis=1).argmin())
        centers[c] = X[candidates[best]]
        closest = trial_closest[best]
    return centers


class KMeans(Clusterer):
    """K-means by alternating E and M steps, PRML (9.1)-(9.4).

    Parameters
    ----------
    n_clusters : int
        K, the number of prototypes mu_k.
    init : "k-means++", "random" or array of shape (n_clusters, n_features)
        Starting centres: k-means++ seeding, K distinct random data points, or given.
    n_init : int
        Runs from different starts; the one with the lowest J is kept (a given array runs once).
    max_iter : int
        Most E/M cycles per run.
    tol : float
        Stop when the centres move by less than tol times the mean feature
        variance (sum of squared shifts), or when no assignment changes.
    random_state : int, Generator or None

    Attributes
    ----------
    cluster_centers_ : array of shape (n_clusters, n_features)
    labels_ : array of shape (n_samples,)
        argmin_k ||x_n - mu_k||^2 for the final centres (a last E-step).
    inertia_ : float
        J of labels_ and cluster_centers_, PRML (9.1).
    objective_history_ : list of float
        J after each E-step and each M-step in turn (Figure 9.2), for the kept run.
    n_iter_ : int   converged_ : bool   n_features_in_ : int
    """

    _is_transformer = True  # has transform: scikit-learn's Pipeline may chain it

    def __init__(self, n_clusters=8, *, init="k-means++", n_init=1, max_iter=300, tol=1e-4, random_state=None):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def _check_fit_arguments(self, X):
        X = check_array(X, "X")
        check_scalar(self.n_clusters, "n_clusters", int, min_value=1)
        if self.n_clusters > X.shape[0]:
            raise ValueError(f"n_clusters={self.n_clusters} must not exceed n_samples={X.shape[0]}")
        check_scalar(self.n_init, "n_init", int, min_value=1)
        check_scalar(self.max_iter, "max_iter", int, min_value=1)
        check_scalar(self.tol, "tol", float, min_value=0.0)
        if isinstance(self.init, str):
            if self.init not in ("k-means++", "random"):
                raise ValueError(f"init must be 'k-means++', 'random' or an array; got {self.init!r}")
            return X, None
        centers = check_array(self.init, "init", dtype=X.dtype)
        if centers.shape != (self.n_clusters, X.shape[1]):
            raise ValueError(f"init must have shape {(self.n_clusters, X.shape[1])}; got {tuple(centers.shape)}")
        return X, centers

    def _lloyd(self, X, centers, tol):
        """One run from ``centers`` (centred coordinates): returns (centers, J history, n_iter, converged)."""
        xp = backend.array_module(X)
        history, labels, converged, n_iter = [], None, False, 0
        for n_iter in range(1, self.max_iter + 1):
            # E-step (9.2): each point to its nearest prototype.
            distances = squared_distances(X, centers)
            new_labels = distances.argmin(axis=1)
            history.append(float(distances.min(axis=1).sum()))
            unchanged = labels is not None and bool((new_labels == labels).all())
            labels = new_labels
            # M-step (9.4): each prototype to the mean of its points, as one product R^T X.
            one_hot = (labels[:, None] == xp.arange(self.n_clusters)[None, :]).astype(X.dtype)
            counts = one_hot.sum(axis=0)
            new_centers = (one_hot.T @ X) / xp.maximum(counts, 1.0)[:, None]
            empty = counts == 0
            if bool(empty.any()):
                # Not in Bishop: an empty cluster's mean is undefined. Move it to the
                # points farthest from their centres; no point is assigned to it yet,
                # so J after this M-step is unchanged and the next E-step can only lower it.
                farthest = xp.argsort(-distances.min(axis=1))[: int(empty.sum())]
                new_centers[xp.nonzero(empty)[0]] = X[farthest]
            history.append(float(((X - new_centers[labels]) ** 2).sum()))
            shift = float(((new_centers - centers) ** 2).sum())
            centers = new_centers
            if unchanged or shift <= tol:
                converged = True
                break
        return centers, history, n_iter, converged

    def fit(self, X, y=None):
        """Cluster X (n_samples, n_features); returns self."""
        X, given = self._check_fit_arguments(X)
        xp = backend.array_module(X)
        rng = check_random_state(self.random_state, X)
        # Centre once: the squared-distance expansion is then accurate, and K-means
        # is translation-equivariant, so the mean is added back to the centres at the end.
        # Then divide by a power of two (exact; K-means is scale-equivariant too): squared
        # distances of data at 1e-160 would underflow and at 1e160 overflow.
        mean = X.mean(axis=0)
        X = X - mean
        scale = power_of_two_scale(largest_magnitude(X))
        X /= scale
        tol = self.tol * float(X.var(axis=0).mean())
        best = None
        for _ in range(1 if given is not None else self.n_init):
            if given is not None:
                start = (given - mean) / scale
            elif self.init == "k-means++":
                start = kmeans_plusplus(X, self.n_clusters, rng)
            else:
                start = X[xp.argsort(rng.random(size=X.shape[0]))[: self.n_clusters]]
            centers, history, n_iter, converged = self._lloyd(X, start, tol)
            distances = squared_distances(X, centers)  # a last E-step: labels_ match the centres
            inertia = float(distances.min(axis=1).sum())
            if best is None or inertia < best[0]:
                best = (inertia, centers, distances.argmin(axis=1), history, n_iter, converged)
        if not best[5]:
            warnings.warn(f"K-means did not converge in max_iter={self.max_iter} iterations",
                          ConvergenceWarning, stacklevel=2)
        inertia, centers, labels, history, n_iter, converged = best
        self.cluster_centers_, self.labels_, self.inertia_ = centers * scale + mean, labels, inertia * scale * scale
        self.objective_history_ = [value * scale * scale for value in history]
        self.n_iter_, self.converged_ = n_iter, converged
        self.n_features_in_ = X.shape[1]
        return self

    def _distances(self, X):
        """Squared distances (n_samples, n_clusters) in units of ``scale``, and ``scale`` (a power of two)."""
        X = check_fitted_input(self, "cluster_centers_", X)
        mean = self.cluster_centers_.mean(axis=0)  # any shift works; this one keeps the expansion accurate
        X, centers = X - mean, self.cluster_centers_ - mean
        scale = power_of_two_scale(max(largest_magnitude(X), largest_magnitude(centers)))
        return squared_distances(X / scale, centers / scale), scale

    def predict(self, X):
        """Nearest centre of each row of X (the E-step 9.2), shape (n_samples,)."""
        return self._distances(X)[0].argmin(axis=1)

    def transform(self, X):
        """Euclidean distances ||x_n - mu_k||, shape (n_samples, n_clusters)."""
        distances, scale = self._distances(X)
        return backend.array_module(distances).sqrt(distances) * scale

    def score(self, X, y=None):
        """-J of X under the fitted centres (higher is better, as in scikit-learn)."""
        distances, scale = self._distances(X)
        return -float(distances.min(axis=1).sum()) * scale * scale

    def fit_predict(self, X, y=None):
        """Fit, then labels_, shape (n_samples,)."""
        return self.fit(X).labels_

    def fit_transform(self, X, y=None):
        """Fit, then the distances of X to the centres, shape (n_samples, n_clusters)."""
        return self.fit(X).transform(X)
