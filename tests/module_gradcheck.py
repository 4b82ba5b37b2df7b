"""Gradient checks of a Module's loss with respect to its parameters.

``mb.gradcheck(fn, inputs)`` perturbs private copies of ``inputs`` and calls ``fn`` with them, so
``fn`` must compute from its arguments: a ``lambda *p: model.loss(x)`` that ignores them would
compare two zero gradients and always pass. ``module_gradcheck`` hands the copies to the model
(temporarily, in place of its parameters) and first asserts that every parameter's gradient is
non-zero somewhere, so the check cannot be vacuous.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

import minibayes as mb


def as_function_of_parameters(module, fn: Callable[[], object]):
    """(call, parameters): ``call(*tensors)`` evaluates ``fn()`` with the module's parameters replaced
    by ``tensors`` (restored afterwards)."""
    owners = [(owner, name) for owner in module.modules() for name in owner._parameters
              if owner._parameters[name] is not None]

    def call(*tensors):
        saved = [getattr(owner, name) for owner, name in owners]
        try:
            for (owner, name), tensor in zip(owners, tensors):
                object.__setattr__(owner, name, tensor)
            return fn()
        finally:
            for (owner, name), parameter in zip(owners, saved):
                object.__setattr__(owner, name, parameter)

    return call, [getattr(owner, name) for owner, name in owners]


def module_gradcheck(module, fn: Callable[[], object], **options) -> bool:
    """Central differences against autograd for the scalar or tensor ``fn()`` in every parameter of ``module``."""
    call, parameters = as_function_of_parameters(module, fn)
    gradients = mb.grad(fn().sum(), parameters, allow_unused=True)
    dead = [i for i, g in enumerate(gradients) if g is None or not np.abs(mb.to_numpy(g.data)).max() > 0]
    assert not dead, f"parameters {dead} get no gradient: the check would be vacuous for them"
    return mb.gradcheck(call, parameters, **options)
