"""The Distribution base class: shapes, parameters, sampling and validation shared by all families.

Shapes follow ``torch.distributions``: a draw has shape
``sample_shape + batch_shape + event_shape``. ``batch_shape`` indexes
independent distributions that share a family (a Normal with loc of shape
(3,) is three Normals); ``event_shape`` is the shape of one draw of one of them
(() for a scalar, (D,) for a D-dimensional Gaussian, (D, D) for a Wishart).
``log_prob(x)`` returns one number per batch element and per sample, i.e. it
has shape ``sample_shape + batch_shape``.

Parameters are Tensors, so ``log_prob``, ``rsample``, ``entropy`` and the KL
divergences are differentiable with respect to them.
"""

from __future__ import annotations

from typing import Sequence

from .. import backend
from ..autograd.function import no_grad
from ..autograd.ops import broadcast_to, cast
from ..autograd.tensor import Tensor
from . import constraints

__all__ = ["Distribution", "as_parameter", "broadcast_parameters", "log_gamma_draws"]


def as_parameter(value: object, like: Tensor | None = None) -> Tensor:
    """A distribution parameter as a floating Tensor.

    Python numbers and arrays go to the backend of ``like`` (or the active
    backend) with ``like``'s dtype (or the default float dtype). A Tensor is kept
    (its graph intact) when its dtype already matches; otherwise it is cast, differentiably.
    """
    if isinstance(value, Tensor):
        target = like.dtype if like is not None else (value.dtype if value.dtype.kind == "f" else backend.get_default_dtype())
        return value if value.dtype == target else cast(value, target)
    if like is not None:
        module = backend.array_module(like.data)
        return Tensor(module.asarray(backend.on_backend_of(like.data, value), dtype=like.dtype))
    array = backend.asarray(value)
    if array.dtype.kind != "f":
        array = array.astype(backend.get_default_dtype())
    return Tensor(array)


def broadcast_parameters(*parameters: Tensor, owner: str = "distribution") -> tuple[Tensor, ...]:
    """Parameters broadcast to one shape (the gradient flows back to each original shape)."""
    try:
        shape = backend.array_module(parameters[0].data).broadcast_shapes(*(p.shape for p in parameters))
    except ValueError:
        shapes = ", ".join(str(p.shape) for p in parameters)
        raise ValueError(f"{owner}: parameter shapes {shapes} do not broadcast to one batch shape") from None
    return tuple(p if p.shape == shape else broadcast_to(p, shape) for p in parameters)


def log_gamma_draws(concentration: object, rng: object, shape: tuple[int, ...]) -> object:
    """ln g for g ~ Gamma(concentration, 1), broadcast to ``shape``, computed in float64.

    Uses Gamma(a) = Gamma(a + 1) U^(1/a), U ~ Uniform(0, 1) (Marsaglia & Tsang 2000, §6): in
    log space, ln g = ln Gamma(a + 1) + ln(U) / a never underflows, where a plain draw
    for a small a is often exactly 0 (and a Dirichlet built from it 0/0).
    """
    xp = backend.array_module(concentration)
    a = xp.broadcast_to(xp.asarray(concentration, dtype=xp.float64), shape)
    return xp.log(rng.standard_gamma(a + 1)) + xp.log(rng.random(shape)) / a


class Distribution:
    """Base class. Subclasses set the shapes in ``__init__`` and implement ``log_prob`` and friends.

    Parameters
    ----------
    batch_shape, event_shape : tuple of int
    validate_args : bool
        Check parameters (here, by the subclass) and the support of values
        given to ``log_prob``. On by default; ``False`` skips the checks.
    """

    #: Whether ``rsample`` (a draw that is a differentiable function of the parameters) exists.
    has_rsample = False
    #: The set of values ``log_prob`` accepts, checked when ``validate_args``.
    support: constraints.Constraint = constraints.real

    def __init__(self, batch_shape: Sequence[int], event_shape: Sequence[int] = (), validate_args: bool = True):
        self._batch_shape = tuple(batch_shape)
        self._event_shape = tuple(event_shape)
        self.validate_args = bool(validate_args)

    # ------------------------------------------------------------------ shapes
    @property
    def batch_shape(self) -> tuple[int, ...]:
        return self._batch_shape

    @property
    def event_shape(self) -> tuple[int, ...]:
        return self._event_shape

    def _extended_shape(self, sample_shape: Sequence[int] | int = ()) -> tuple[int, ...]:
        if isinstance(sample_shape, int):
            sample_shape = (sample_shape,)
        sample_shape = tuple(sample_shape)
        if not all(isinstance(size, int) and size >= 0 for size in sample_shape):
            raise ValueError(f"{self.name}: sample shape must be a tuple of non-negative ints, got {sample_shape}")
        return sample_shape + self._batch_shape + self._event_shape

    @property
    def name(self) -> str:
        return type(self).__name__

    # ------------------------------------------------------------------ backend
    @property
    def _template(self) -> Tensor:
        """A parameter Tensor: its backend and dtype are the distribution's."""
        raise NotImplementedError

    @property
    def _xp(self):
        return backend.array_module(self._template.data)

    @property
    def _rng(self):
        return backend.rng(backend.backend_name_of(self._template.data))

    def _value(self, value: object) -> Tensor:
        """``value`` as a Tensor on the distribution's backend, its support checked when validating."""
        value = value if isinstance(value, Tensor) else as_parameter(value, like=self._template)
        if self.validate_args:
            if value.shape[value.ndim - len(self._event_shape):] != self._event_shape and self._event_shape:
                raise ValueError(
                    f"{self.name}.log_prob: value must end in the event shape {self._event_shape}, got shape {value.shape}"
                )
            self.support.check(value.data, "value", self.name)
        return value

    # ------------------------------------------------------------------ sampling
    def sample(self, sample_shape: Sequence[int] | int = ()) -> Tensor:
        """Draws of shape ``sample_shape + batch_shape + event_shape``, with no gradient."""
        with no_grad():
            if self.has_rsample:
                return self.rsample(sample_shape).detach()
            return Tensor(self._sample(self._extended_shape(sample_shape)))

    def rsample(self, sample_shape: Sequence[int] | int = ()) -> Tensor:
        """Reparameterised draws: a differentiable function of the parameters and parameter-free noise."""
        raise NotImplementedError(
            f"{self.name} has no reparameterised sampler (rsample): its draws are not a differentiable "
            "function of its parameters. Use sample() (no gradient through the draw), or a score-function "
            "estimator: grad E[f(x)] = E[f(x) grad log_prob(x)]."
        )

    def _sample(self, shape: tuple[int, ...]) -> object:
        """Raw backend array of draws with the given full shape."""
        raise NotImplementedError(f"{self.name} does not implement sampling")

    # ------------------------------------------------------------------ densities and moments
    def log_prob(self, value: object) -> Tensor:
        raise NotImplementedError

    def prob(self, value: object) -> Tensor:
        """The density (or mass) itself, exp(log_prob)."""
        return self.log_prob(value).exp()

    @property
    def mean(self) -> Tensor:
        raise NotImplementedError(f"{self.name} has no mean")

    @property
    def variance(self) -> Tensor:
        raise NotImplementedError(f"{self.name} has no variance")

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    def entropy(self) -> Tensor:
        raise NotImplementedError(f"{self.name} has no closed-form entropy")

    def __repr__(self) -> str:
        return f"{self.name}(batch_shape={self._batch_shape}, event_shape={self._event_shape})"
