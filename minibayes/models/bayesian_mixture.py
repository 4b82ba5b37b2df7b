"""Variational Gaussian mixture, PRML section 10.2.

    p(Z | pi) = prod_n prod_k pi_k^z_nk                                        PRML (10.37)
    p(X | Z, mu, Lambda) = prod_n prod_k N(x_n | mu_k, Lambda_k^-1)^z_nk        PRML (10.38)
    p(pi) = Dir(pi | alpha_0)                                                   PRML (10.39)
    p(mu, Lambda) = prod_k N(mu_k | m_0, (beta_0 Lambda_k)^-1) W(Lambda_k | W_0, nu_0)   PRML (10.40)

The posterior is approximated by q(Z) q(pi) q(mu, Lambda) (10.42). The
variational E-step updates q(Z): r_nk from ln rho_nk (10.46)-(10.49), (10.64)-(10.66);
the variational M-step updates q(pi) = Dir(alpha) and q(mu_k, Lambda_k) =
N W(m_k, beta_k, W_k, nu_k) from N_k, x_bar_k, S_k (10.51)-(10.63). Each step
raises the evidence lower bound L (10.70)-(10.77). With a small alpha_0
components that explain no data keep weight E[pi_k] = alpha_k / sum_j alpha_j
(10.69) near zero: the model chooses its own number of components.

Relation to scikit-learn (weight_concentration_prior_type="dirichlet_distribution"):
same updates and initialisation; its ``lower_bound_`` drops constants. Our default
covariance prior adds reg_covar I to the sample covariance (see ``covariance_prior``). When
q(theta) has just been updated from q(Z) and reg_covar = 0,
    L (ours) = L (sklearn) + ln C(alpha_0) + K ln B(W_0, nu_0) + (K D / 2) ln beta_0
               - (N D / 2) ln 2 pi + K D (D - 1) / 4 ln pi,
with ln C the Dirichlet (B.23) and ln B the Wishart (B.79) log normalisers.
"""

from __future__ import annotations

import math
import warnings

from .. import backend
from ..autograd import numerics
from ..autograd.numerics import LOG_2PI, logsumexp
from ._gaussian import (
    GaussianStatistics, log_gaussian_prob, normalize_log, precision_cholesky_from_covariances, precisions_from_cholesky,
)
from ._estimator import DensityEstimator
from ._validation import ConvergenceWarning, check_array, check_fitted_input, check_random_state, check_scalar
from .mixture import check_mixture_hyperparameters, initial_responsibilities

__all__ = ["BayesianGaussianMixture", "log_dirichlet_norm", "log_wishart_norm"]


def log_dirichlet_norm(alpha):
    """ln C(alpha) = ln Gamma(sum_k alpha_k) - sum_k ln Gamma(alpha_k), PRML (B.23)."""
    gammaln = numerics.special(alpha).gammaln
    return gammaln(alpha.sum()) - gammaln(alpha).sum()


def log_wishart_norm(log_det_W, nu, n_features):
    """ln B(W, nu) = -nu/2 ln|W| - nu D/2 ln 2 - D(D-1)/4 ln pi - sum_i ln Gamma((nu + 1 - i)/2), PRML (B.79).

    ``log_det_W`` and ``nu`` are arrays of shape (K,) (or scalars); returns shape (K,).
    """
    xp = backend.array_module(nu)
    gammaln = numerics.special(nu).gammaln
    i = xp.arange(1, n_features + 1, dtype=nu.dtype)
    return (-0.5 * nu * log_det_W - 0.5 * nu * n_features * math.log(2.0)
            - n_features * (n_features - 1) / 4.0 * math.log(math.pi)
            - gammaln(0.5 * (nu[..., None] + 1.0 - i)).sum(axis=-1))


class BayesianGaussianMixture(DensityEstimator):
    """Variational Bayesian Gaussian mixture with full covariances, PRML (10.37)-(10.77).

    Parameters
    ----------
    n_components : int
        K, an upper bound on the number of components used.
    weight_concentration_prior : float, optional
        alpha_0 of Dir(pi | alpha_0) (10.39); default 1 / K. Small values switch unused components off.
    mean_precision_prior : float, optional
        beta_0 (10.40); default 1.
    mean_prior : array of shape (n_features,), optional
        m_0 (10.40); default the mean of X.
    degrees_of_freedom_prior : float, optional
        nu_0 > D - 1 (10.40); default D.
    covariance_prior : array of shape (n_features, n_features), optional
        W_0^-1 (10.40); default the sample covariance of X (ddof = 1, as scikit-learn) plus reg_covar I,
        which keeps it positive definite (and the bound finite) when X has a constant column.
    reg_covar : float
        Added to the diagonal of S_k in the M-step (as scikit-learn; 0 gives PRML exactly).
    max_iter, tol, n_init, init_params, random_state
        As in GaussianMixture; ``tol`` applies to the change of L (a total, not per sample).
    responsibilities_init : array of shape (n_samples, n_components), optional
        q(Z) to start from (the first M-step uses it); overrides init_params.

    Attributes
    ----------
    weight_concentration_ : (K,) alpha_k    mean_precision_ : (K,) beta_k    means_ : (K, D) m_k
    degrees_of_freedom_ : (K,) nu_k
    precisions_ : (K, D, D)  E[Lambda_k] = nu_k W_k    precisions_cholesky_ : its Cholesky factors
    covariances_ : (K, D, D)  (nu_k W_k)^-1
    weights_ : (K,)  E[pi_k] = alpha_k / sum_j alpha_j, PRML (10.69)
    lower_bound_ : float   the ELBO L (10.70) of the best run at its last iteration
    lower_bounds_ : list of float   L after every iteration (q(Z) of the E-step, q(theta) of the M-step)
    converged_, n_iter_, n_features_in_
    weight_concentration_prior_, mean_precision_prior_, mean_prior_, degrees_of_freedom_prior_,
    covariance_prior_ : the priors used, defaults resolved.
    """

    def __init__(self, n_components=1, *, weight_concentration_prior=None, mean_precision_prior=None,
                 mean_prior=None, degrees_of_freedom_prior=None, covariance_prior=None, reg_covar=1e-6,
                 max_iter=100, tol=1e-3, n_init=1, init_params="kmeans", responsibilities_init=None,
                 random_state=None):
        self.n_components = n_components
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.tol = tol
        self.n_init = n_init
        self.init_params = init_params
        self.responsibilities_init = responsibilities_init
        self.random_state = random_state

    # ------------------------------------------------------------------ checks
    def _check_priors(self, X):
        """The priors (alpha_0, beta_0, m_0, nu_0, W_0^-1) with defaults resolved, all checked."""
        xp = backend.array_module(X)
        N, D = X.shape
        alpha0 = 1.0 / self.n_components if self.weight_concentration_prior is None else check_scalar(
            self.weight_concentration_prior, "weight_concentration_prior", float, min_value=0.0, include_min=False)
        beta0 = 1.0 if self.mean_precision_prior is None else check_scalar(
            self.mean_precision_prior, "mean_precision_prior", float, min_value=0.0, include_min=False)
        nu0 = float(D) if self.degrees_of_freedom_prior is None else check_scalar(
            self.degrees_of_freedom_prior, "degrees_of_freedom_prior", float, min_value=D - 1.0, include_min=False)
        if self.mean_prior is None:
            m0 = X.mean(axis=0)
        else:
            m0 = check_array(self.mean_prior, "mean_prior", ndim=1, dtype=X.dtype)
            if m0.shape != (D,):
                raise ValueError(f"mean_prior must have shape {(D,)}; got {tuple(m0.shape)}")
        if self.covariance_prior is None:
            centered = X - X.mean(axis=0)
            # + reg_covar I: a constant column makes the sample covariance singular, and then
            # ln B(W_0, nu_0) in (10.74) is -inf and so is every bound. scikit-learn's default
            # prior is the bare sample covariance; its bound drops that term, ours cannot.
            W0_inv = centered.T @ centered / (N - 1) + self.reg_covar * xp.eye(D, dtype=X.dtype)
            if not bool((xp.linalg.eigvalsh(W0_inv) > 0).all()):
                raise ValueError("the default covariance_prior (the sample covariance of X) is singular: X has a "
                                 "constant column or collinear columns; set reg_covar > 0 or give covariance_prior")
        else:
            W0_inv = check_array(self.covariance_prior, "covariance_prior", dtype=X.dtype)
            if W0_inv.shape != (D, D):
                raise ValueError(f"covariance_prior must have shape {(D, D)}; got {tuple(W0_inv.shape)}")
            if not bool(xp.allclose(W0_inv, W0_inv.T)) or bool((xp.linalg.eigvalsh(W0_inv) <= 0).any()):
                raise ValueError("covariance_prior must be symmetric positive definite")
        return alpha0, beta0, m0, nu0, W0_inv

    def _check_fit_arguments(self, X):
        X = check_array(X, "X", min_samples=2)
        check_mixture_hyperparameters(self, X)
        priors = self._check_priors(X)
        resp = None
        if self.responsibilities_init is not None:
            resp = check_array(self.responsibilities_init, "responsibilities_init", dtype=X.dtype)
            xp = backend.array_module(resp)
            if resp.shape != (X.shape[0], self.n_components):
                raise ValueError(f"responsibilities_init must have shape {(X.shape[0], self.n_components)}; "
                                 f"got {tuple(resp.shape)}")
            if bool((resp < 0).any()) or not bool(xp.allclose(resp.sum(axis=1), 1.0)):
                raise ValueError("responsibilities_init rows must be non-negative and sum to 1")
        return X, priors, resp

    # ------------------------------------------------------------------ variational steps
    def _m_step(self, stats, resp, priors):
        """q(pi), q(mu, Lambda) from q(Z) (resp, (K, N)), PRML (10.51)-(10.63). Returns (statistics, q(theta))."""
        xp = backend.array_module(resp)
        alpha0, beta0, m0, nu0, W0_inv = priors
        nk, xbar, S = stats.moments(resp)                       # (10.51)-(10.53)
        alpha = alpha0 + nk                                     # (10.58)
        beta = beta0 + nk                                       # (10.60)
        m = (beta0 * m0 + nk[:, None] * xbar) / beta[:, None]   # (10.61)
        nu = nu0 + nk                                           # (10.63), nu_0 + N_k (some printings add a stray + 1)
        diff = xbar - m0
        regularised = S + self.reg_covar * xp.eye(S.shape[-1], dtype=S.dtype)
        W_inv = (W0_inv + nk[:, None, None] * regularised       # (10.62)
                 + (beta0 * nk / beta)[:, None, None] * diff[:, :, None] * diff[:, None, :])
        W_chol = precision_cholesky_from_covariances(W_inv, "full")  # W_k = P_k P_k^T, no inverse
        return (nk, xbar, S), (alpha, beta, m, nu, W_chol)

    @staticmethod
    def _expectations(q_theta):
        """E[ln pi_k] (10.66) and E[ln|Lambda_k|] (10.65), each of shape (K,)."""
        alpha, beta, m, nu, W_chol = q_theta
        xp, digamma = backend.array_module(alpha), numerics.special(alpha).digamma
        D = m.shape[1]
        i = xp.arange(1, D + 1, dtype=nu.dtype)
        log_det_W = 2.0 * xp.log(xp.diagonal(W_chol, axis1=1, axis2=2)).sum(axis=1)
        E_log_Lambda = digamma(0.5 * (nu[:, None] + 1.0 - i)).sum(axis=1) + D * math.log(2.0) + log_det_W
        return digamma(alpha) - digamma(alpha.sum()), E_log_Lambda, log_det_W

    def _log_rho(self, q_theta, log_gaussian):
        """ln rho_nk of (10.46) with (10.64)-(10.66), from a Gaussian log-density routine.

        ln rho_nk = E[ln pi_k] + 1/2 E[ln|Lambda_k|] - D/2 ln 2pi
                    - 1/2 (D / beta_k + nu_k (x_n - m_k)^T W_k (x_n - m_k)).
        The last three terms are ln N(x_n | m_k, (nu_k W_k)^-1) - 1/2 ln|nu_k W_k| - D / (2 beta_k).
        """
        alpha, beta, m, nu, W_chol = q_theta
        xp = backend.array_module(alpha)
        D = m.shape[1]
        E_log_pi, E_log_Lambda, log_det_W = self._expectations(q_theta)
        precision_chol = W_chol * xp.sqrt(nu)[:, None, None]  # Cholesky factor of nu_k W_k
        bias = E_log_pi + 0.5 * E_log_Lambda - 0.5 * (D * xp.log(nu) + log_det_W) - 0.5 * D / beta
        return log_gaussian(m, precision_chol, bias)

    def _elbo(self, stats_k, resp, log_resp, q_theta, priors):
        """The lower bound L(q) = sum of (10.71)-(10.74) minus (10.75)-(10.77), for any q(Z) and q(theta)."""
        nk, xbar, S = stats_k
        alpha, beta, m, nu, W_chol = q_theta
        alpha0, beta0, m0, nu0, W0_inv = priors
        xp = backend.array_module(alpha)
        K, D = m.shape
        E_log_pi, E_log_Lambda, log_det_W = self._expectations(q_theta)
        W = precisions_from_cholesky(W_chol, "full")

        def quad(v):  # v_k^T W_k v_k
            return xp.einsum("kd,kde,ke->k", v, W, v)

        trace_SW = (S * W).sum(axis=(1, 2))
        trace_W0inv_W = (W0_inv[None] * W).sum(axis=(1, 2))
        log_det_W0 = -xp.linalg.slogdet(W0_inv)[1]
        # (10.71) E[ln p(X | Z, mu, Lambda)]
        E_log_px = 0.5 * (nk * (E_log_Lambda - D / beta - nu * trace_SW - nu * quad(xbar - m) - D * LOG_2PI)).sum()
        # (10.72) E[ln p(Z | pi)]
        E_log_pz = (nk * E_log_pi).sum()
        # (10.73) E[ln p(pi)]
        E_log_ppi = log_dirichlet_norm(xp.full(K, alpha0, dtype=alpha.dtype)) + (alpha0 - 1.0) * E_log_pi.sum()
        # (10.74) E[ln p(mu, Lambda)]
        log_B0 = log_wishart_norm(log_det_W0, xp.asarray([nu0], dtype=alpha.dtype), D)[0]
        E_log_pmu = (0.5 * (D * math.log(beta0 / (2 * math.pi)) + E_log_Lambda - D * beta0 / beta
                            - beta0 * nu * quad(m - m0))).sum() \
            + K * log_B0 + 0.5 * (nu0 - D - 1) * E_log_Lambda.sum() - 0.5 * (nu * trace_W0inv_W).sum()
        # (10.75) E[ln q(Z)]
        E_log_qz = (resp * log_resp).sum()
        # (10.76) E[ln q(pi)]
        E_log_qpi = ((alpha - 1.0) * E_log_pi).sum() + log_dirichlet_norm(alpha)
        # (10.77) E[ln q(mu, Lambda)], with the Wishart entropy H[q(Lambda_k)] of (B.82)
        entropy_Lambda = -log_wishart_norm(log_det_W, nu, D) - 0.5 * (nu - D - 1) * E_log_Lambda + 0.5 * nu * D
        E_log_qmu = (0.5 * E_log_Lambda + 0.5 * D * xp.log(beta / (2 * math.pi)) - 0.5 * D - entropy_Lambda).sum()
        return float(E_log_px + E_log_pz + E_log_ppi + E_log_pmu - E_log_qz - E_log_qpi - E_log_qmu)

    def _run(self, X, stats, priors, resp_init, rng):
        """One variational EM run from q(Z) = resp_init (or the init_params start)."""
        if resp_init is None:
            resp_init = initial_responsibilities(X, self.n_components, self.init_params, rng)
        stats_k, q_theta = self._m_step(stats, resp_init.T, priors)
        lower_bounds, converged = [], False
        for _ in range(self.max_iter):
            log_rho = self._log_rho(q_theta, stats.log_gaussian)                   # (K, N)
            log_norm, resp = normalize_log(log_rho, axis=0)                        # (10.49)
            stats_k, q_theta = self._m_step(stats, resp, priors)
            log_resp = log_rho - log_norm[None, :]
            lower_bounds.append(self._elbo(stats_k, resp, log_resp, q_theta, priors))
            if len(lower_bounds) > 1 and abs(lower_bounds[-1] - lower_bounds[-2]) < self.tol:
                converged = True
                break
        return q_theta, lower_bounds, converged

    def fit(self, X, y=None):
        """Fit q(Z) q(pi) q(mu, Lambda) by variational EM from ``n_init`` starts; returns self.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        """
        X, priors, resp_init = self._check_fit_arguments(X)
        xp = backend.array_module(X)
        rng = check_random_state(self.random_state, X)
        stats = GaussianStatistics(X, "full")
        best = None
        for _ in range(self.n_init):
            q_theta, lower_bounds, converged = self._run(X, stats, priors, resp_init, rng)
            score = lower_bounds[-1]
            if best is None or score > best[0]:
                best = (score, q_theta, lower_bounds, converged)
        score, (alpha, beta, m, nu, W_chol), lower_bounds, converged = best
        if not converged:
            warnings.warn(f"variational EM did not converge in max_iter={self.max_iter} iterations (tol={self.tol})",
                          ConvergenceWarning, stacklevel=2)
        # All state is assigned here, after every check and computation has passed.
        (self.weight_concentration_prior_, self.mean_precision_prior_, self.mean_prior_,
         self.degrees_of_freedom_prior_, self.covariance_prior_) = priors
        self.weight_concentration_, self.mean_precision_, self.means_, self.degrees_of_freedom_ = alpha, beta, m, nu
        self.precisions_cholesky_ = W_chol * xp.sqrt(nu)[:, None, None]
        self.precisions_ = precisions_from_cholesky(self.precisions_cholesky_, "full")
        self.covariances_ = numerics.inv(self.precisions_)  # reported only; the fit never inverts
        self.weights_ = alpha / alpha.sum()                                                     # (10.69)
        self.lower_bound_, self.lower_bounds_, self.converged_ = score, lower_bounds, converged
        self.n_iter_, self.n_features_in_ = len(lower_bounds), X.shape[1]
        return self

    def fit_predict(self, X, y=None):
        return self.fit(X).predict(X)

    # ------------------------------------------------------------------ inference
    def _q_theta(self):
        nu = self.degrees_of_freedom_
        W_chol = self.precisions_cholesky_ / backend.array_module(nu).sqrt(nu)[:, None, None]
        return self.weight_concentration_, self.mean_precision_, self.means_, nu, W_chol

    def elbo(self, X, responsibilities):
        """L(q) of (10.70) for q(Z) = ``responsibilities`` (N, K) and the fitted q(pi) q(mu, Lambda).

        With the last E-step's responsibilities on the training data this is ``lower_bound_``.
        """
        X = check_fitted_input(self, "means_", X)
        resp = check_array(responsibilities, "responsibilities", dtype=X.dtype)
        if resp.shape != (X.shape[0], self.n_components):
            raise ValueError(f"responsibilities must have shape {(X.shape[0], self.n_components)}")
        xp = backend.array_module(X)
        resp_kn = xp.ascontiguousarray(resp.T)
        stats_k = GaussianStatistics(X, "full").moments(resp_kn)
        log_resp = xp.log(xp.where(resp_kn > 0, resp_kn, 1.0))  # 0 ln 0 = 0
        priors = (self.weight_concentration_prior_, self.mean_precision_prior_, self.mean_prior_,
                  self.degrees_of_freedom_prior_, self.covariance_prior_)
        return self._elbo(stats_k, resp_kn, log_resp, self._q_theta(), priors)

    def predict_proba(self, X):
        """r_nk of the variational E-step (10.49) for new rows, shape (n_samples, n_components)."""
        X = check_fitted_input(self, "means_", X)
        log_rho = self._log_rho(self._q_theta(), lambda m, P, bias: log_gaussian_prob(X, m, P, "full") + bias)
        return normalize_log(log_rho)[1]

    def predict(self, X):
        """argmax_k r_nk, shape (n_samples,)."""
        return self.predict_proba(X).argmax(axis=1)

    def score_samples(self, X):
        """ln p(x | X_train) under the variational predictive, a mixture of Student-t, PRML (10.81)-(10.82).

        p(x) = sum_k alpha_k / alpha_hat St(x | m_k, L_k, nu_k + 1 - D), L_k = (nu_k + 1 - D) beta_k / (1 + beta_k) W_k.
        (scikit-learn's score_samples returns the log normaliser of rho instead.) Shape (n_samples,).
        """
        X = check_fitted_input(self, "means_", X)
        xp = backend.array_module(X)
        gammaln = numerics.special(X).gammaln
        alpha, beta, m, nu, W_chol = self._q_theta()
        D = m.shape[1]
        dof = nu + 1.0 - D
        L_chol = W_chol * xp.sqrt(dof * beta / (1.0 + beta))[:, None, None]
        # ln N(x | m, L^-1) gives ln|L|/2 and the Mahalanobis term Delta^2 through the same factor.
        gauss = log_gaussian_prob(X, m, L_chol, "full")
        log_det_half = xp.log(xp.diagonal(L_chol, axis1=1, axis2=2)).sum(axis=1)
        delta2 = -2.0 * (gauss - log_det_half) - D * LOG_2PI
        log_t = (gammaln(0.5 * (dof + D)) - gammaln(0.5 * dof) + log_det_half - 0.5 * D * xp.log(dof * math.pi)
                 - 0.5 * (dof + D) * xp.log1p(delta2 / dof))                                             # (B.68)
        return logsumexp(log_t + xp.log(alpha / alpha.sum()), axis=1)

    def score(self, X, y=None):
        """Mean of score_samples."""
        return float(self.score_samples(X).mean())
