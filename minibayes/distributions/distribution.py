"""The Distribution base class: shapes, parameters, sampling and validation shared by all families.

Shapes follow ``torch.distributions``: a draw has shape
``sample_shape + batch_shape + event_shape``. ``batch_shape`` indexes
independent distributions that share a family (a Normal with loc of shape
(3,) is three Normals); ``event_shape`` is the shape of one draw of one of them
(() for a scalar, (D,) for a D-dimensional Gaussian, (D, D) for a Wishart).
``log_prob(x)`` returns one number per batch element and per sample, i.e. it
has shape ``sample_shape + batch_shape``.

With ``validate_args=False`` nothing is read back from the device: a value
outside the support gets log-probability -inf (the density is evaluated at a
point inside the support instead, so that neither the value nor the gradient
sees NaN), and a NaN value gets NaN. Invalid *parameters* are not checked then.

Parameters are Tensors, so ``log_prob``, ``rsample``, ``entropy`` and the KL
divergences are differentiable with respect to them.
"""

from __future__ import annotations

import operator
from typing import Sequence

import numpy

from .. import backend
from ..autograd.function import no_grad
from ..autograd.ops import broadcast_to, cast, where
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
        """sample_shape + batch_shape + event_shape; sample_shape is an int or a sequence of ints (NumPy ints too)."""
        expected = "a non-negative int or a tuple of them, e.g. () for one draw or (100,) for 100"
        try:
            sizes = tuple(operator.index(size) for size in sample_shape) if isinstance(sample_shape, Sequence) \
                else (operator.index(sample_shape),)
        except TypeError:
            raise TypeError(f"{self.name}.sample: sample_shape must be {expected}, got {sample_shape!r}") from None
        if any(size < 0 for size in sizes):
            raise ValueError(f"{self.name}.sample: sample_shape must be {expected}, got {sample_shape!r}")
        return sizes + self._batch_shape + self._event_shape

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

    def _value(self, value: object, call: str = "log_prob") -> Tensor:
        """``value`` as a Tensor on the distribution's backend, its shape checked against
        batch_shape + event_shape (always: it costs no device read) and its support when validating."""
        value = value if isinstance(value, Tensor) else as_parameter(value, like=self._template)
        event = self._event_shape
        if event and value.shape[value.ndim - len(event):] != event:
            raise ValueError(f"{self.name}.{call}: value must end in the event shape {event}, got shape {value.shape}")
        try:
            numpy.broadcast_shapes(value.shape[: value.ndim - len(event)], self._batch_shape)
        except ValueError:
            raise ValueError(
                f"{self.name}.{call}: value of shape {value.shape} does not broadcast with the batch shape "
                f"{self._batch_shape}" + (f" (and event shape {event})" if event else "")
                + "; a value has shape sample_shape + batch_shape + event_shape"
            ) from None
        if self.validate_args:
            self.support.check(value.data, "value", self.name)
        return value

    def _event_any(self, mask: object, value_ndim: int) -> object:
        """Reduce a mask to one verdict per event: shape value.shape minus the event axes."""
        extra = mask.ndim - (value_ndim - len(self._event_shape))
        return mask.any(axis=tuple(range(-extra, 0))) if extra > 0 else mask

    def _expand(self, mask: object) -> object:
        return mask[(...,) + (None,) * len(self._event_shape)]

    def log_prob(self, value: object) -> Tensor:
        """ln p(value), of shape sample_shape + batch_shape.

        Subclasses implement ``_log_prob`` for values inside the support. Without
        validation, a value outside the support gives -inf and a NaN value NaN, all
        on the device (``where``, never a Python ``if`` on array values).
        """
        x = self._value(value)
        if self.validate_args:
            return self._log_prob(x)
        data = x.data
        xp = backend.array_module(data)
        with numpy.errstate(invalid="ignore"):  # NaN values are flagged below, not warned about
            outside = self._event_any(~xp.isfinite(data), x.ndim)
            if type(self.support) is not constraints.Constraint:  # beyond the real line's "finite"
                outside |= self._event_any(self.support.violations(data), x.ndim)
        if xp is numpy and not outside.any():
            # On the host this test reads no device, and skipping the masks below when every
            # value is inside saves three passes of `where` (they cost more than most densities).
            return self._log_prob(x)
        missing = self._event_any(xp.isnan(data), x.ndim)
        # The density is evaluated at a point inside the support wherever the value is not,
        # so that nothing non-finite reaches the result or the gradient; then masked.
        log_density = self._log_prob(where(self._expand(outside), self.support.stand_in(data), x))
        log_density = where(outside, -numpy.inf, log_density)
        return where(missing, numpy.nan, log_density)

    def _log_prob(self, x: Tensor) -> Tensor:
        """ln p(x) for x inside the support, already converted by ``_value``."""
        raise NotImplementedError(f"{self.name} does not implement log_prob")

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
