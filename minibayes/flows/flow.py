"""A normalising flow as a distribution: a base density pushed through a chain of bijectors.

With f = f_K o ... o f_1 mapping data x to base variables z = f(x) (same shape), the change of
variables (lecture 000; Dinh et al. 2017 eq. 3; PRML (1.27) in D dimensions) gives

    log p_x(x) = log p_z(f(x)) + log |det df/dx|,

and sampling inverts the chain: z ~ p_z, x = f^{-1}(z). Drawing z and inverting also yields the
density of the draw without running f: log p_x(x) = log p_z(z) - log |det df^{-1}/dz|.
"""

from __future__ import annotations

import math
import operator
from typing import Iterable

import numpy

from .. import backend
from ..autograd import ops
from ..autograd.function import no_grad
from ..autograd.numerics import HALF_LOG_2PI
from ..autograd.tensor import Tensor
from ..distributions.distribution import Distribution
from ..nn.module import Module
from .bijector import Bijector, Chain, as_event_batch

__all__ = ["Flow"]


class Flow(Module, Distribution):
    """p_x(x) = p_z(f(x)) |det df/dx|, f = bijectors[-1] o ... o bijectors[0]  (change of variables, row 51).

    Parameters
    ----------
    base : Distribution or None
        p_z, with event shape (D,) (or batch shape (D,) of scalar events, e.g. ``Normal(zeros(D), ones(D))``,
        whose log-densities are summed). ``None``: the standard normal N(0, I_D), computed directly.
    bijectors : Bijector or sequence of Bijector
        Applied in order from data to base (the normalising direction).
    validate_args : bool
        Check inputs (shape always; finiteness, one device read, when True). Switch off in a hot loop
        once the data set has been checked.

    Shapes: x and z are (batch, D) (or a single (D,) point); log-densities are (batch,).
    """

    has_rsample = True

    def __init__(self, base: Distribution | None = None, bijectors: Bijector | Iterable[Bijector] = (),
                 validate_args: bool = True) -> None:
        Module.__init__(self)
        if isinstance(bijectors, Chain):
            chain = bijectors
        else:
            chain = Chain([bijectors] if isinstance(bijectors, Bijector) else bijectors)
        dim = chain.event_dim
        if base is not None:
            if not isinstance(base, Distribution):
                raise TypeError(f"Flow: base must be a Distribution or None, got {type(base).__name__}")
            if tuple(base.event_shape) != (dim,) and not (base.event_shape == () and tuple(base.batch_shape) == (dim,)):
                raise ValueError(f"Flow: base must have event shape ({dim},) (or batch shape ({dim},) of scalars) to "
                                 f"match the bijectors, got batch {base.batch_shape}, event {base.event_shape}")
        self.chain = chain
        self.base = base
        # The flow checks its input once and calls the chain's unchecked _forward/_inverse.
        Distribution.__init__(self, (), (dim,), validate_args)

    @property
    def event_dim(self) -> int:
        return self.chain.event_dim

    @property
    def _template(self) -> Tensor:
        parameter = next(self.parameters(), None)
        if parameter is not None:
            return parameter
        return Tensor(backend.xp().zeros((), dtype=backend.get_default_dtype()))

    # ------------------------------------------------------------------ densities
    def base_log_prob(self, z: Tensor) -> Tensor:
        """log p_z(z) per sample, shape (batch,)."""
        if self.base is None:
            return -0.5 * ops.sum(z * z, axis=-1) - self.event_dim * HALF_LOG_2PI
        log_density = self.base.log_prob(z)
        return ops.sum(log_density, axis=-1) if self.base.event_shape == () else log_density

    def _input(self, x: object, call: str) -> tuple[Tensor, bool]:
        # Without parameters the flow takes the data's floating dtype (and the default dtype for integers).
        like = next(self.parameters(), None)
        x = as_event_batch(x, self.event_dim, f"Flow.{call}", "x", like=like, validate=self.validate_args)
        return (ops.reshape(x, (1, self.event_dim)), True) if x.ndim == 1 else (x, False)

    def log_prob(self, x: object) -> Tensor:
        """log p_x(x) = log p_z(f(x)) + log |det df/dx|, shape (batch,) (or () for one (D,) point)."""
        x, single = self._input(x, "log_prob")
        z, log_det = self.chain._forward(x)
        log_density = self.base_log_prob(z) + log_det
        return ops.reshape(log_density, ()) if single else log_density

    def forward(self, x: object) -> Tensor:
        return self.log_prob(x)

    def loss(self, x: object) -> Tensor:
        """Mean negative log-likelihood of the batch in nats: the maximum-likelihood training objective."""
        return -ops.mean(self.log_prob(x))

    def transform(self, x: object) -> tuple[Tensor, Tensor]:
        """(z, log |det df/dx|) = f(x): data to the base space."""
        x, _ = self._input(x, "transform")
        return self.chain._forward(x)

    def trace(self, x: object) -> list[Tensor]:
        """[x, f_1(x), f_2(f_1(x)), ..., z]: the data after each bijector, for the demos' panels."""
        x, _ = self._input(x, "trace")
        return self.chain._trace(x)[0]

    # ------------------------------------------------------------------ sampling
    def _count(self, n: object, call: str) -> int:
        if isinstance(n, tuple) and len(n) == 1:
            n = n[0]
        if isinstance(n, bool) or not hasattr(n, "__index__") or operator.index(n) < 1:
            raise ValueError(f"Flow.{call}: n must be a positive int (the number of draws), got {n!r}")
        return operator.index(n)

    def _base_draws(self, n: int, temperature: float = 1.0) -> Tensor:
        if self.base is None:
            template = self._template
            generator = backend.rng(backend.backend_name_of(template.data))
            return Tensor(generator.standard_normal((n, self.event_dim), dtype=template.dtype) * template.dtype.type(temperature))
        z = self.base.rsample((n,)) if self.base.has_rsample else self.base.sample((n,))
        return z * temperature if temperature != 1.0 else z

    def rsample(self, n: object = 1) -> Tensor:
        """x = f^{-1}(z), z ~ p_z: (n, D) draws differentiable with respect to the flow's parameters."""
        n = self._count(n, "rsample")
        return self.chain._inverse(self._base_draws(n))[0]

    def sample(self, n: object = 1, temperature: float = 1.0) -> Tensor:
        """(n, D) draws x = f^{-1}(z) with z ~ p_z scaled by ``temperature`` (N(0, T^2 I) for the default base).

        Temperatures below 1 trade diversity for typical-looking samples (Kingma & Dhariwal 2018, section 5.3).
        """
        n = self._count(n, "sample")
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float, numpy.floating)) \
                or not math.isfinite(temperature) or temperature <= 0:
            raise ValueError(f"Flow.sample: temperature must be a positive finite number, got {temperature!r}")
        with no_grad():
            return self.chain._inverse(self._base_draws(n, float(temperature)))[0].detach()

    def sample_and_log_prob(self, n: object = 1) -> tuple[Tensor, Tensor]:
        """(x, log p_x(x)) for n draws in one inverse pass: log p_x(x) = log p_z(z) - log |det df^{-1}/dz|.

        Both are differentiable with respect to the parameters (for objectives such as the reverse KL).
        """
        n = self._count(n, "sample_and_log_prob")
        z = self._base_draws(n)
        x, log_det = self.chain._inverse(z)
        return x, self.base_log_prob(z) - log_det

    def extra_repr(self) -> str:
        return f"event_dim={self.event_dim}, base={'N(0, I)' if self.base is None else self.base.name}"
