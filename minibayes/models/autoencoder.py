"""Autoencoder: a deterministic bottleneck x -> z = f(x) -> x_hat = g(z) (the seeds' Auto-Encoder slides).

Trained on the L2 reconstruction loss of the slides, sum_d (x_d - x_hat_d)^2 per data point,
or, for images in [0, 1], the binary cross-entropy of x under Bernoulli(sigmoid(g(z)))
(the decoder then gives logits). Unlike the VAE it has no distribution over z: the slides'
point that "Z-space's distribution is unknown, so it cannot be called a generative model".
"""

from __future__ import annotations

from .. import backend
from ..autograd import ops
from ..autograd.function import no_grad
from ..autograd.tensor import Tensor
from ..nn import functional as F
from ..nn.module import Module
from ._checks import check_batch

__all__ = ["Autoencoder"]

LOSSES = ("mse", "bce")


class Autoencoder(Module):
    """x (batch, n_features) -> encoder -> code (batch, k) -> decoder -> reconstruction (batch, n_features).

    Parameters
    ----------
    encoder, decoder : Module
        The two networks; with ``loss="bce"`` the decoder outputs logits.
    loss : "mse" or "bce"
        Squared error summed over features (row 32 of the seed equations) or binary cross-entropy
        (x in [0, 1]); either is summed over features and averaged over the batch: nats (or squared
        units) per data point, as the VAE's objective.
    validate_args : bool
        Check each batch is finite (and in [0, 1] for "bce"): one device read per call.
    """

    def __init__(self, encoder: Module, decoder: Module, *, loss: str = "mse", validate_args: bool = True) -> None:
        super().__init__()
        for name, value in (("encoder", encoder), ("decoder", decoder)):
            if not isinstance(value, Module):
                raise TypeError(f"Autoencoder: {name} must be a Module, got {type(value).__name__}")
        if loss not in LOSSES:
            raise ValueError(f"Autoencoder: loss must be one of {LOSSES}, got {loss!r}")
        self.encoder, self.decoder, self.loss_kind = encoder, decoder, loss
        self.validate_args = bool(validate_args)

    def _check_x(self, x: object) -> Tensor:
        """x (batch, n_features), finite, and in [0, 1] for the cross-entropy loss (one device read)."""
        data = x.data if isinstance(x, Tensor) else x
        if not hasattr(data, "ndim") or data.ndim != 2:
            raise ValueError(f"Autoencoder: x must be an array of shape (batch, n_features), got "
                             f"{getattr(data, 'shape', type(x).__name__)}")
        parameters = list(self.encoder.parameters())
        dtype = parameters[0].dtype if parameters else backend.get_default_dtype()
        return check_batch(data, data.shape[1], dtype, "Autoencoder", unit_interval=self.loss_kind == "bce",
                           validate=self.validate_args)

    def encode(self, x: object) -> Tensor:
        """The code z = f(x), shape (batch, k)."""
        return self.encoder(self._check_x(x))

    def forward(self, x: object) -> Tensor:
        """The decoder's raw output g(f(x)) (logits with ``loss="bce"``)."""
        return self.decoder(self.encoder(self._check_x(x)))

    def loss(self, x: object) -> Tensor:
        """Reconstruction loss per data point: sum over features, mean over the batch."""
        x = self._check_x(x)
        out = self.decoder(self.encoder(x))
        if out.shape != x.shape:
            raise ValueError(f"Autoencoder: decoder output {out.shape} must match x {x.shape}")
        per_element = (F.mse_loss(out, x, reduction="none") if self.loss_kind == "mse"
                       else F.bce_with_logits(out, x, reduction="none"))
        return per_element.sum() * (1.0 / x.shape[0])

    def reconstruct(self, x: object) -> object:
        """x_hat in the data's units (sigmoid of the logits for ``loss="bce"``), a backend array."""
        with no_grad():
            out = self.forward(x)
            return (ops.sigmoid(out) if self.loss_kind == "bce" else out).data

    def extra_repr(self) -> str:
        return f"loss={self.loss_kind!r}"
