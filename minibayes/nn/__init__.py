"""Neural-network building blocks: modules, layers, initialisers and losses."""

from . import functional, init
from .layers import Dense, Dropout, Flatten, LeakyReLU, ReLU, Sigmoid, Softplus, Tanh, mc_dropout
from .module import Module, Parameter, Sequential

__all__ = [
    "Module", "Parameter", "Sequential", "Dense", "Dropout", "Flatten", "LeakyReLU", "ReLU", "Sigmoid",
    "Softplus", "Tanh", "mc_dropout", "functional", "init",
]
