"""Estimators: closed-form Bayesian models in scikit-learn style (``fit``, ``predict``, trailing-underscore state).

Day 2 (latent-variable models by EM): ``KMeans``, ``GaussianMixture``,
``BayesianGaussianMixture``, ``PCA``, ``PPCA``, and ``em`` (the decomposition
ln p(X) = L(q, theta) + KL(q || p(Z | X)) for GMM and PPCA).
"""

from . import em
from .bayesian_mixture import BayesianGaussianMixture
from .kmeans import KMeans
from .mixture import GaussianMixture
from .pca import PCA
from .ppca import PPCA

__all__ = ["em", "KMeans", "GaussianMixture", "BayesianGaussianMixture", "PCA", "PPCA"]
