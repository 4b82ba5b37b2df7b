"""Discrete probability tables: the sum rule, the product rule and Bayes' rule (seed probability slides).

A joint table ``joint[i, j] = p(X = i, Y = j)`` holds every other quantity:

    p(X = i)         = sum_j p(X = i, Y = j)                    (sum rule, PRML (1.10))
    p(Y = j | X = i) = p(X = i, Y = j) / p(X = i)               (product rule, PRML (1.11))
    p(Y | X) = p(X | Y) p(Y) / p(X),  p(X) = sum_Y p(X | Y) p(Y)   (Bayes' rule, PRML (1.12)-(1.13))

All functions take and return Tensors, so they are differentiable in the table entries.
"""

from __future__ import annotations

from ..autograd.tensor import Tensor
from . import constraints
from .distribution import as_parameter

__all__ = ["marginal", "conditional", "bayes_rule"]


def marginal(joint: object, axis: int) -> Tensor:
    """p of every variable except ``axis``: the sum rule, summing ``axis`` out of the joint table."""
    joint = as_parameter(joint)
    _check_table(joint, "joint", "marginal", normalised=True)
    return joint.sum(axis=axis)


def conditional(joint: object, given_axis: int) -> Tensor:
    """p(other variables | the one on ``given_axis``) = joint / p(given), by the product rule.

    The result has the joint's shape; each slice at a fixed value of the given variable sums to 1.
    """
    joint = as_parameter(joint)
    _check_table(joint, "joint", "conditional", normalised=True)
    other_axes = tuple(a for a in range(joint.ndim) if a != given_axis % joint.ndim)
    return joint / joint.sum(axis=other_axes, keepdims=True)


def bayes_rule(prior: object, likelihood: object) -> tuple[Tensor, Tensor]:
    """Posterior p(Y | X = x) and evidence p(X = x) from the prior p(Y) and the likelihood p(X = x | Y).

    Parameters
    ----------
    prior : array of shape (K,), on the simplex
        p(Y = k).
    likelihood : array of shape (..., K)
        p(X = x | Y = k) for one or several observed x (leading axes).

    Returns
    -------
    posterior : Tensor of shape (..., K)
    evidence : Tensor of shape (...)
    """
    prior, likelihood = as_parameter(prior), as_parameter(likelihood)
    _check_table(prior, "prior", "bayes_rule", normalised=True)
    _check_table(likelihood, "likelihood", "bayes_rule", normalised=False)
    if likelihood.shape[-1:] != prior.shape:
        raise ValueError(f"bayes_rule: likelihood must end in the prior's shape {prior.shape}, got {likelihood.shape}")
    unnormalised = likelihood * prior  # p(x | Y) p(Y) = p(x, Y)
    evidence = unnormalised.sum(axis=-1)  # p(x) = sum_Y p(x | Y) p(Y)
    return unnormalised / evidence.unsqueeze(-1), evidence


def _check_table(table: Tensor, name: str, owner: str, normalised: bool) -> None:
    constraints.unit_interval.check(table.data, name, owner)
    if normalised and abs(float(table.data.sum()) - 1) > 1e-6:
        raise ValueError(f"{owner}: {name} must sum to 1 over all its entries, found {float(table.data.sum())!r}")
