"""Estimators: closed-form Bayesian models in scikit-learn style (``fit``, ``predict``, trailing-underscore state).

Day 1 (Bayesian linear models): basis functions, ``BayesianLinearRegression`` with the
evidence, ``BayesianRidge`` (Gamma hyperpriors), ``BayesianLogisticRegression`` (Laplace),
``GaussianProcessRegressor`` and its ``kernels``.

Day 2 (latent-variable models by EM): ``KMeans``, ``GaussianMixture``,
``BayesianGaussianMixture``, ``PCA``, ``PPCA``, and ``em`` (the decomposition
ln p(X) = L(q, theta) + KL(q || p(Z | X)) for GMM and PPCA).

Day 3 (gradient-trained models, ``Module`` s with a loss): ``Autoencoder``, ``VAE`` (SGVB
estimators A and B, the importance-weighted bound), Bayes by Backprop's ``bbb_objective`` (layers in
``minibayes.nn.bayesian``), MC dropout and Kendall & Gal's losses (``mc_dropout``), the shared
predictive-uncertainty API ``predict_mc`` (``uncertainty``), all returning the shared
``VariationalObjective`` of ``objectives``; ``GAN`` (Goodfellow et al. 2014: losses in ``gan_losses``,
Algorithm 1 in ``train_gan``, WGAN-GP), the game's theory on 1-D densities (``gan_theory``: D*, C(G), JSD)
and the ring-of-Gaussians mode coverage (``gan_ring``); ``uci_protocol`` scores any regression model by the UCI
protocol of Gal & Ghahramani (2016), Table 1 (repeated splits, validated grid, test RMSE and log-likelihood).
"""

from . import em, kernels
from .basis import GaussianBasis, IdentityBasis, PolynomialBasis, SigmoidalBasis
from .bayesian_ridge import BayesianRidge
from .gp import GaussianProcessRegressor
from .kernels import RBF
from .linear import (
    BayesianLinearRegression, least_squares, linear_gaussian_conditional, linear_gaussian_marginal, log_evidence,
)
from .logistic import BayesianLogisticRegression, probit_predictive
from .bayesian_mixture import BayesianGaussianMixture
from .kmeans import KMeans
from .mixture import GaussianMixture
from .pca import PCA
from .ppca import PPCA
from .autoencoder import Autoencoder
from .calibration import expected_calibration_error, reliability_bins
from .mc_dropout import (
    heteroscedastic_nll, logit_noise_nll, mc_dropout_kl, mc_dropout_objective, mc_dropout_weight_decay,
)
from .uncertainty import ClassificationPrediction, RegressionPrediction, predict_mc
from .bayes_by_backprop import (
    bbb_objective, categorical_log_likelihood, gaussian_likelihood, minibatch_kl_weights, predictive_samples,
)
from .gradient_estimators import gaussian_gradient_estimates
from .objectives import VariationalObjective, kl_warmup
from .vae import VAE, make_mlp_vae
from . import gan_losses, gan_theory
from .gan import GAN, GANHistory, make_mlp_gan, train_gan
from .gan_ring import ModeCoverage, mode_coverage, ring_centres, ring_of_gaussians
from .uci import PredictiveSamples, UCIResult, load_split_indices, uci_protocol, uci_splits

__all__ = [
    "IdentityBasis", "PolynomialBasis", "GaussianBasis", "SigmoidalBasis", "BayesianLinearRegression",
    "least_squares", "linear_gaussian_marginal", "linear_gaussian_conditional", "log_evidence", "BayesianRidge",
    "BayesianLogisticRegression", "probit_predictive", "GaussianProcessRegressor", "kernels", "RBF",
    "em", "KMeans", "GaussianMixture", "BayesianGaussianMixture", "PCA", "PPCA",
    "Autoencoder", "VAE", "make_mlp_vae", "VariationalObjective", "kl_warmup", "gaussian_gradient_estimates",
    "bbb_objective", "minibatch_kl_weights", "gaussian_likelihood", "categorical_log_likelihood",
    "predictive_samples", "predict_mc", "RegressionPrediction", "ClassificationPrediction",
    "mc_dropout_weight_decay", "mc_dropout_kl", "mc_dropout_objective", "heteroscedastic_nll", "logit_noise_nll",
    "expected_calibration_error", "reliability_bins",
    "GAN", "GANHistory", "train_gan", "make_mlp_gan", "gan_losses", "gan_theory", "mode_coverage", "ModeCoverage",
    "ring_centres", "ring_of_gaussians",
    "uci_protocol", "uci_splits", "load_split_indices", "PredictiveSamples", "UCIResult",
]
