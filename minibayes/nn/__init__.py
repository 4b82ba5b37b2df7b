"""Neural-network building blocks: modules, layers, initialisers and losses."""

from . import functional, init
from .bayesian import (
    BayesianDense, BayesianLayer, bayesian_layers, kl_per_layer, log_softplus, model_kl, posterior_kl, posterior_mean,
    shared_scales,
    prune, signal_to_noise, variational_parameter_count,
)
from .bayesian_conv import BayesianConv2d
from .bayesian_recurrent import BayesianLSTMCell, truncated_sequence_loss
from .conv import AvgPool2d, Conv2d, ConvTranspose2d, MaxPool2d, Unflatten
from .layers import Dense, Dropout, Flatten, LeakyReLU, ReLU, Sigmoid, Softplus, Tanh, mc_dropout, stochastic
from .normalization import BatchNorm1d, BatchNorm2d, batch_norm
from .recurrent import LSTMCell, Recurrent, RNNCell, detach_state, truncated_sequences
from .module import Module, Parameter, Sequential
from .priors import GaussianPrior, ScaleMixturePrior

__all__ = [
    "Module", "Parameter", "Sequential", "Dense", "Dropout", "Flatten", "LeakyReLU", "ReLU", "Sigmoid",
    "Softplus", "Tanh", "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "Unflatten",
    "BatchNorm1d", "BatchNorm2d", "batch_norm",
    "RNNCell", "LSTMCell", "Recurrent", "detach_state", "truncated_sequences",
    "BayesianConv2d", "BayesianLSTMCell", "truncated_sequence_loss", "mc_dropout", "stochastic", "functional", "init",
    "BayesianLayer", "BayesianDense", "log_softplus", "GaussianPrior", "ScaleMixturePrior", "bayesian_layers", "model_kl",
    "kl_per_layer",
    "posterior_kl", "variational_parameter_count", "signal_to_noise", "prune", "posterior_mean", "shared_scales",
]
