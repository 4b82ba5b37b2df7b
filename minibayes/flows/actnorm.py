"""ActNorm: a per-coordinate affine map initialised from the data (Kingma & Dhariwal 2018, Glow section 3.1).

    z = x * exp(log_scale) + shift,     log |det dz/dx| = sum_j log_scale_j      (Glow Table 1, row 1)
    x = (z - shift) * exp(-log_scale)

On the first ``forward`` in training mode the parameters are set so that that batch comes out
with zero mean and unit variance per coordinate (log_scale = -log std, shift = -mean / std);
afterwards they are ordinary trainable parameters. Whether that initialisation has run is a
buffer, so it is saved and loaded with the model and a loaded model is never re-initialised.
"""

from __future__ import annotations

import numpy

from .. import backend
from ..autograd.function import no_grad
from ..autograd import ops
from ..autograd.tensor import Tensor
from ..nn.module import Parameter
from .bijector import Bijector, broadcast_log_det

__all__ = ["ActNorm"]


class ActNorm(Bijector):
    """Per-coordinate scale and shift with data-dependent initialisation (Glow section 3.1).

    Parameters
    ----------
    dim : int
        D.
    eps : float
        Added to the batch standard deviation at initialisation, so that a constant coordinate
        gets a large but finite scale instead of a division by zero.
    dtype : dtype, optional

    Attributes
    ----------
    log_scale, shift : Parameter of shape (D,)
    initialized : NumPy bool array of shape () (a buffer, kept on the host so checking it reads no device)
    """

    def __init__(self, dim: int, eps: float = 1e-6, dtype: object = None) -> None:
        super().__init__(dim)
        dtype = numpy.dtype(backend.get_default_dtype() if dtype is None else dtype)
        self.eps = float(eps)
        self.log_scale = Parameter(backend.xp().zeros(self.event_dim, dtype=dtype))
        self.shift = Parameter(backend.xp().zeros(self.event_dim, dtype=dtype))
        self.register_buffer("initialized", numpy.zeros((), dtype=bool))

    def initialize(self, x: object) -> None:
        """Set log_scale and shift so that ``x`` (batch, D) maps to zero mean and unit variance per coordinate."""
        data = x.data if isinstance(x, Tensor) else x
        if data.ndim != 2 or data.shape[0] < 2:
            raise ValueError(f"ActNorm.initialize: x must have shape (batch >= 2, {self.event_dim}), "
                             f"got {tuple(data.shape)}")
        xp = backend.array_module(data)
        with no_grad():
            data = backend.on_backend_of(self.log_scale.data, data).astype(self.log_scale.dtype, copy=False)
            std = xp.sqrt(data.var(axis=0)) + self.eps
            self.log_scale.data[...] = -xp.log(std)
            self.shift.data[...] = -data.mean(axis=0) / std
        self.initialized[...] = True

    def _forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if self.training and not self.initialized:
            self.initialize(x)
        return x * ops.exp(self.log_scale) + self.shift, broadcast_log_det(ops.sum(self.log_scale), x.shape[0])

    def _inverse(self, z: Tensor) -> tuple[Tensor, Tensor]:
        return (z - self.shift) * ops.exp(-self.log_scale), broadcast_log_det(-ops.sum(self.log_scale), z.shape[0])

    def extra_repr(self) -> str:
        return f"event_dim={self.event_dim}, initialized={bool(self.initialized)}"
