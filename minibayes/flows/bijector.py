"""The bijector contract and the chain that composes bijectors.

A bijector is an invertible, differentiable map f: R^D -> R^D with a tractable Jacobian
determinant. The convention here is the normalising direction of a flow (lecture 000, the
change of variables; Dinh et al. 2017 eq. 3; Papamakarios et al. 2017 eq. 1):

    forward(x) -> (z, log |det dz/dx|),     inverse(z) -> (x, log |det dx/dz|),

each log-determinant summed over the event dimension, one number per sample (shape (batch,)).
Then log p_x(x) = log p_z(f(x)) + log |det df/dx|, and a chain f = f_K o ... o f_1 adds the
log-determinants of its links (the chain rule: det of a product is the product of dets).

Bijectors are ``Module`` s written in autograd ops, so every parameter is trainable and
higher-order gradients work.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from .. import backend
from ..autograd import ops
from ..autograd.tensor import Tensor
from ..nn.module import Module

__all__ = ["Bijector", "Chain", "check_dim"]


def check_dim(value: object, name: str, owner: str, minimum: int = 1) -> int:
    """``value`` as an int >= ``minimum`` (NumPy integers accepted), else a ValueError naming ``name``."""
    if isinstance(value, bool) or not hasattr(value, "__index__") or value.__index__() < minimum:
        raise ValueError(f"{owner}: {name} must be an int >= {minimum}, got {value!r}")
    return value.__index__()


class Bijector(Module):
    """Base class: ``event_dim`` D, and ``_forward`` / ``_inverse`` on checked (batch, D) Tensors.

    Public ``forward`` and ``inverse`` check their input (a (batch, D) or (D,) array or Tensor of
    floats; finite when ``validate_args``) and return ``(output, log_det)`` with ``log_det`` of shape
    (batch,) (or () for a single (D,) point).
    """

    validate_args = True

    def __init__(self, event_dim: int) -> None:
        super().__init__()
        self.event_dim = check_dim(event_dim, "event_dim", type(self).__name__)

    def forward(self, x: object) -> tuple[Tensor, Tensor]:
        """(z, log |det dz/dx|) with z of the shape of x."""
        return self._checked(self._forward, x, "forward", "x")

    def inverse(self, z: object) -> tuple[Tensor, Tensor]:
        """(x, log |det dx/dz|) with x of the shape of z."""
        return self._checked(self._inverse, z, "inverse", "z")

    def _checked(self, method, value: object, call: str, name: str) -> tuple[Tensor, Tensor]:
        x = as_event_batch(value, self.event_dim, f"{type(self).__name__}.{call}", name,
                           like=self._template(), validate=self.validate_args)
        single = x.ndim == 1
        out, log_det = method(ops.reshape(x, (1, self.event_dim)) if single else x)
        if single:
            return ops.reshape(out, (self.event_dim,)), ops.reshape(log_det, ())
        return out, log_det

    def _template(self) -> Tensor | None:
        return next(self.parameters(), None)

    def _forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError(f"{type(self).__name__} does not define _forward")

    def _inverse(self, z: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError(f"{type(self).__name__} does not define _inverse")

    def extra_repr(self) -> str:
        return f"event_dim={self.event_dim}"


def as_event_batch(value: object, dim: int, where: str, name: str, like: Tensor | None = None,
                   validate: bool = True) -> Tensor:
    """``value`` as a Tensor of shape (batch, dim) or (dim,), in ``like``'s dtype and backend.

    A Tensor keeps its graph (so flows compose with other models); arrays become constants.
    With ``validate``, a NaN or infinite entry is a ValueError: one device-to-host read.
    """
    data = value.data if isinstance(value, Tensor) else value
    if not hasattr(data, "shape") or not hasattr(data, "dtype"):
        try:
            data = backend.asarray(data)
        except (TypeError, ValueError):
            raise TypeError(f"{where}: {name} must be an array or Tensor of shape (batch, {dim}), "
                            f"got {type(value).__name__}") from None
    if data.dtype.kind not in "fiub":
        raise TypeError(f"{where}: {name} must be an array or Tensor of numbers, got dtype {data.dtype}")
    if data.ndim not in (1, 2) or data.shape[-1] != dim:
        raise ValueError(f"{where}: {name} must have shape (batch, {dim}) or ({dim},) (the event dimension "
                         f"is {dim}; flatten images first), got {tuple(data.shape)}")
    dtype = like.dtype if like is not None else (data.dtype if data.dtype.kind == "f" else backend.get_default_dtype())
    if isinstance(value, Tensor):
        tensor = value if value.dtype == dtype else ops.cast(value, dtype)
    else:
        array = backend.asarray(data, dtype=dtype) if like is None else backend.on_backend_of(like.data, data)
        tensor = Tensor(array.astype(dtype, copy=False))
    if validate:
        xp = backend.array_module(tensor.data)
        if not bool(xp.isfinite(tensor.data).all()):  # the one device read of validation
            raise ValueError(f"{where}: {name} contains NaN or inf")
    return tensor


class Chain(Bijector):
    """f = f_K o ... o f_1: forward applies the links in order and adds their log-determinants.

    log |det d f/dx| = sum_k log |det d f_k / d h_{k-1}| with h_0 = x, h_k = f_k(h_{k-1}) (the chain
    rule); ``inverse`` runs the links backwards.

    Parameters
    ----------
    bijectors : sequence of Bijector, all with the same event_dim
    """

    def __init__(self, bijectors: Iterable[Bijector]) -> None:
        bijectors = list(bijectors)
        if not bijectors:
            raise ValueError("Chain: bijectors must hold at least one Bijector")
        for index, link in enumerate(bijectors):
            if not isinstance(link, Bijector):
                raise TypeError(f"Chain: bijectors[{index}] must be a Bijector, got {type(link).__name__}")
        dims = {link.event_dim for link in bijectors}
        if len(dims) != 1:
            raise ValueError(f"Chain: every bijector must have the same event_dim, got {[b.event_dim for b in bijectors]}")
        super().__init__(dims.pop())
        for index, link in enumerate(bijectors):
            setattr(self, str(index), link)

    @property
    def links(self) -> list[Bijector]:
        return list(self._modules.values())

    def __len__(self) -> int:
        return len(self._modules)

    def __getitem__(self, index: int) -> Bijector:
        return self.links[index]

    def _forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        states, total = self._trace(x)
        return states[-1], total

    def trace(self, x: object) -> list[Tensor]:
        """[x, f_1(x), f_2(f_1(x)), ...]: the data pushed through each link (the demos' panels)."""
        x = as_event_batch(x, self.event_dim, "Chain.trace", "x", like=self._template(), validate=self.validate_args)
        return self._trace(x)[0]

    def _trace(self, x: Tensor) -> tuple[list[Tensor], Tensor]:
        states, total = [x], None
        for link in self.links:
            x, log_det = link._forward(x)
            states.append(x)
            total = log_det if total is None else total + log_det
        return states, total

    def _inverse(self, z: Tensor) -> tuple[Tensor, Tensor]:
        total = None
        for link in reversed(self.links):
            z, log_det = link._inverse(z)
            total = log_det if total is None else total + log_det
        return z, total


def sum_event(values: Tensor) -> Tensor:
    """Sum over the event axis (the last): one log-determinant per sample."""
    return ops.sum(values, axis=-1)


def broadcast_log_det(log_det: Tensor, batch: int) -> Tensor:
    """A per-layer constant log-determinant (shape ()) repeated for each of ``batch`` samples."""
    return ops.broadcast_to(log_det, (batch,))

