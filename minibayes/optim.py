"""Optimisers: SGD (with momentum and Nesterov), Adagrad and Adam, one short update rule each.

Every optimiser keeps its per-parameter state (momentum buffers, moment
estimates) in ``state`` and the step count in ``step_count``; both go into
``state_dict()`` so that a checkpoint resumes training exactly. Updates are
made in place on ``Parameter.data`` and never write into ``.grad`` (gradients
may share memory with each other).
"""

from __future__ import annotations

import math
import numbers
from typing import Callable, Iterable, Mapping

from . import backend
from .autograd.function import no_grad
from .autograd.tensor import Tensor
from .nn.module import Parameter, state_array

__all__ = ["Optimizer", "SGD", "Adagrad", "Adam", "clip_grad_norm_"]


class Optimizer:
    """Base class: holds the parameters, their state, and the hyperparameters."""

    def __init__(self, params: Iterable[Parameter], **hyperparameters: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: params is empty; pass model.parameters()")
        for index, parameter in enumerate(self.params):
            if not isinstance(parameter, Tensor) or not parameter.requires_grad:
                raise TypeError(f"{type(self).__name__}: params[{index}] is not a Tensor that requires grad")
        for name, value in hyperparameters.items():
            _check_hyperparameter(type(self).__name__, name, value)
        self.hyperparameters = dict(hyperparameters)
        self.state: list[dict[str, object]] = [{} for _ in self.params]
        self.step_count = 0

    def zero_grad(self) -> None:
        for parameter in self.params:
            parameter.grad = None

    def step(self) -> None:
        """Apply one update to every parameter that has a gradient."""
        self.step_count += 1
        with no_grad():
            for parameter, state in zip(self.params, self.state):
                if parameter.grad is not None:
                    parameter.data -= self.update(parameter.data, parameter.grad.data, state)

    def propose_step(self) -> list[tuple[Parameter, object]]:
        """The step as (parameter, update) pairs, computed but not yet applied to the parameters.

        ``apply_step`` subtracts the updates. Splitting ``step`` in two lets ``train.fit`` check
        every update for NaN/inf (on the device, in one reduction) before any parameter changes.
        The buffers (momentum, moments) and ``step_count`` do advance here.
        """
        self.step_count += 1
        with no_grad():
            return [(parameter, self.update(parameter.data, parameter.grad.data, state))
                    for parameter, state in zip(self.params, self.state) if parameter.grad is not None]

    @staticmethod
    def apply_step(updates: Iterable[tuple[Parameter, object]]) -> None:
        """p <- p - update for each pair from ``propose_step``."""
        for parameter, update in updates:
            parameter.data -= update

    def update(self, p: object, g: object, state: dict[str, object]) -> object:
        """The update (to be subtracted from ``p``) for gradient ``g``; advances ``state`` in place."""
        raise NotImplementedError

    # ------------------------------------------------------------------ checkpoints
    #: The names of the per-parameter buffers that ``update`` creates (all of them, or none before the first step).
    state_buffers: tuple[str, ...] = ()

    def state_dict(self) -> dict[str, object]:
        """Type, hyperparameters, step count and per-parameter buffers (references, listed by parameter index)."""
        return {
            "type": type(self).__name__,
            "hyperparameters": dict(self.hyperparameters),
            "step_count": self.step_count,
            "state": [dict(state) for state in self.state],
        }

    def load_state_dict(self, state_dict: Mapping[str, object]) -> None:
        """Restore from ``state_dict()`` output (or ``mb.load`` of a saved one), copying the buffers.

        Type, hyperparameter names and values, step count, parameter count and
        every buffer's name, shape and dtype are checked first: on a mismatch the
        optimiser is left exactly as it was.

        Raises
        ------
        TypeError
            If ``state_dict`` or one of its parts has the wrong type.
        ValueError
            Naming the first part that does not fit this optimiser.
        """
        self._prepare_load(state_dict)()

    def _prepare_load(self, state_dict: Mapping[str, object]) -> Callable[[], None]:
        """Validate ``state_dict`` and stage copies of its buffers on the parameters' backend; return the commit.

        The commit only rebinds attributes, so it cannot fail half way (``mb.load``
        validates every object of a checkpoint before committing any).
        """
        name = type(self).__name__
        where = f"load_state_dict into {name}"
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{where}: state_dict must be a mapping (as state_dict() returns), "
                            f"got {type(state_dict).__name__}")
        absent = [key for key in ("type", "hyperparameters", "step_count", "state") if key not in state_dict]
        if absent:
            raise ValueError(f"{where}: state_dict lacks {absent}")
        if state_dict["type"] != name:
            raise ValueError(f"{where}: state_dict is for {state_dict['type']!r}, not {name!r}")
        hyperparameters = state_dict["hyperparameters"]
        if not isinstance(hyperparameters, Mapping) or set(hyperparameters) != set(self.hyperparameters):
            found = sorted(hyperparameters) if isinstance(hyperparameters, Mapping) else hyperparameters
            raise ValueError(f"{where}: hyperparameters must have the names {sorted(self.hyperparameters)}, "
                             f"got {found!r}")
        for key, value in hyperparameters.items():
            _check_hyperparameter(where, f"hyperparameters[{key!r}]", value)  # the constructor's rule
        step_count = state_dict["step_count"]
        if isinstance(step_count, bool) or not isinstance(step_count, numbers.Integral) or step_count < 0:
            raise ValueError(f"{where}: step_count must be a non-negative integer, got {step_count!r}")
        states = state_dict["state"]
        if not isinstance(states, (list, tuple)):
            raise TypeError(f"{where}: state must be a list of per-parameter dicts, got {type(states).__name__}")
        if len(states) != len(self.params):
            raise ValueError(f"{where}: state has {len(states)} parameters, the optimiser has {len(self.params)}")
        staged = [self._stage_buffers(where, index, state) for index, state in enumerate(states)]

        def commit() -> None:
            self.hyperparameters = dict(hyperparameters)
            self.step_count = int(step_count)
            self.state = staged

        return commit

    def _stage_buffers(self, where: str, index: int, state: object) -> dict[str, object]:
        """Copies of one parameter's buffers on its backend, after checking names, shapes and dtypes."""
        parameter = self.params[index]
        if not isinstance(state, Mapping):
            raise TypeError(f"{where}: state[{index}] must be a dict of buffers, got {type(state).__name__}")
        if state and set(state) != set(self.state_buffers):
            raise ValueError(f"{where}: state[{index}] has buffers {sorted(state)}, "
                             f"{type(self).__name__} keeps {sorted(self.state_buffers)} (or none before a step)")
        staged = {}
        for key, value in state.items():
            value = state_array(value, f"{where}: state[{index}][{key!r}]")
            if tuple(value.shape) != parameter.shape or value.dtype != parameter.dtype:
                raise ValueError(f"{where}: state[{index}][{key!r}] is {value.dtype} {tuple(value.shape)}, "
                                 f"the parameter is {parameter.dtype} {parameter.shape}")
            moved = backend.on_backend_of(parameter.data, value)
            # A copy (and an array, even of a 0-d NumPy scalar): the buffers are updated in
            # place, so they must be writable and must not alias the caller's arrays.
            staged[key] = backend.array_module(parameter.data).array(moved, copy=True) if moved is value else moved
        return staged


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum (Polyak) and Nesterov momentum.

    g <- g + lambda p;   b <- mu b + g;   d = g + mu b (Nesterov) or b;   p <- p - eta d
    (the formulation of Sutskever et al. 2013 used by PyTorch).
    """

    state_buffers = ("momentum_buffer",)

    def __init__(self, params, lr: float, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0):
        super().__init__(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and momentum <= 0:
            raise ValueError("SGD: nesterov=True needs momentum > 0")
        self.nesterov = nesterov

    def update(self, p, g, state):
        lr, mu, decay = (self.hyperparameters[k] for k in ("lr", "momentum", "weight_decay"))
        if decay:
            g = g + decay * p
        if mu:
            if "momentum_buffer" not in state:
                # array(), not g.copy(): g may be a NumPy scalar (0-d parameter with weight decay).
                state["momentum_buffer"] = backend.array_module(p).array(g, copy=True)
            else:
                buffer = state["momentum_buffer"]
                buffer *= mu
                buffer += g
            g = g + mu * state["momentum_buffer"] if self.nesterov else state["momentum_buffer"]
        return lr * g


class Adagrad(Optimizer):
    """Adagrad (Duchi, Hazan & Singer 2011): per-coordinate steps eta / sqrt(sum of squared gradients).

    G <- G + g^2;   p <- p - eta g / (sqrt(G) + eps)
    """

    state_buffers = ("sum_of_squares",)

    def __init__(self, params, lr: float = 0.01, eps: float = 1e-10, weight_decay: float = 0.0):
        super().__init__(params, lr=lr, eps=eps, weight_decay=weight_decay)

    def update(self, p, g, state):
        lr, eps, decay = (self.hyperparameters[k] for k in ("lr", "eps", "weight_decay"))
        if decay:
            g = g + decay * p
        if "sum_of_squares" not in state:
            state["sum_of_squares"] = backend.array_module(p).zeros_like(p)
        squares = state["sum_of_squares"]
        squares += g * g
        return lr * g / (backend.array_module(p).sqrt(squares) + eps)


class Adam(Optimizer):
    """Adam, Kingma & Ba (2015) Algorithm 1:

        m <- b1 m + (1 - b1) g              (biased first moment)
        v <- b2 v + (1 - b2) g^2            (biased second raw moment)
        p <- p - lr m_hat / (sqrt(v_hat) + eps),  m_hat = m / (1 - b1^t),  v_hat = v / (1 - b2^t)

    ``weight_decay`` adds lambda p to the gradient (L2, as PyTorch's Adam).
    """

    state_buffers = ("m", "v")

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        if (not isinstance(betas, (tuple, list)) or len(betas) != 2
                or not all(isinstance(b, numbers.Real) and 0 <= b < 1 for b in betas)):  # NaN fails 0 <= b
            raise ValueError(f"Adam: betas must be a pair of numbers in [0, 1), got {betas!r}")
        super().__init__(params, lr=lr, beta1=betas[0], beta2=betas[1], eps=eps, weight_decay=weight_decay)

    def update(self, p, g, state):
        lr, b1, b2, eps, decay = (self.hyperparameters[k] for k in ("lr", "beta1", "beta2", "eps", "weight_decay"))
        xp = backend.array_module(p)
        if decay:
            g = g + decay * p
        if "m" not in state:
            state["m"], state["v"] = xp.zeros_like(p), xp.zeros_like(p)
        m, v = state["m"], state["v"]
        t = self.step_count
        # In place, with one scratch array: each line is one pass over the parameter.
        m *= b1
        m += (1 - b1) * g
        # A fresh array even for a 0-d parameter, where g * g would be an immutable NumPy scalar.
        scratch = xp.multiply(g, g, out=xp.empty_like(p))
        scratch *= 1 - b2
        v *= b2
        v += scratch
        xp.sqrt(v, out=scratch)
        scratch *= 1 / math.sqrt(1 - b2**t)  # sqrt(v_hat)
        scratch += eps
        xp.divide(m, scratch, out=scratch)
        scratch *= lr / (1 - b1**t)  # lr * m_hat / (sqrt(v_hat) + eps)
        return scratch


def clip_grad_norm_(params: Iterable[Parameter], max_norm: float) -> float:
    """Rescale the gradients so that their joint L2 norm is at most ``max_norm``; return the norm before.

    The gradients are replaced, not scaled in place, since a gradient may share memory with another.
    A non-finite norm raises ``FloatingPointError``: rescaling by max_norm / inf would turn every
    gradient into zeros (or NaN), hiding the fault instead of clipping it.
    """
    if not isinstance(max_norm, numbers.Real) or not math.isfinite(max_norm) or max_norm <= 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be a finite positive number, got {max_norm!r}")
    with_grad = [p for p in params if p.grad is not None]
    if not with_grad:
        return 0.0
    # The squares are summed on the device and read back once (one sync, not one per parameter).
    xp = backend.array_module(with_grad[0].grad.data)
    total = math.sqrt(float(xp.stack([(p.grad.data.astype(xp.float64) ** 2).sum() for p in with_grad]).sum()))
    if not math.isfinite(total):
        raise FloatingPointError(
            f"clip_grad_norm_: the gradient norm is {total} (a gradient has NaN or inf, or its squares "
            "overflow float64); the gradients were left unchanged"
        )
    if total > max_norm:
        scale = max_norm / (total + 1e-6)
        for p in with_grad:
            p.grad = Tensor(p.grad.data * p.grad.dtype.type(scale))
    return total


def _check_hyperparameter(owner: str, name: str, value: object) -> None:
    """A hyperparameter must be a finite, non-negative real number (NaN or inf would poison every step)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{owner}: {name} must be a finite non-negative number, got {value!r}")
