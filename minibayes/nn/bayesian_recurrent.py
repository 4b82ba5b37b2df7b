"""Bayes by Backprop for recurrent networks (Fortunato, Blundell & Vinyals 2017, Algorithm 1; row 41).

The LSTM's weights theta = [W_x; W_h] and b get a mean-field Gaussian posterior, and one draw
theta = mu + sigma * eps is taken per minibatch of truncated sequences and shared by every time
step of it (``Recurrent`` fetches ``cell.weights()`` once per call). Training minimises, for each
of the C truncated sequence minibatches of an epoch (B sequences each),

    L_c(theta) = ( -log p(y_c | theta, x_c) + (1/C) [log q(theta) - log p(theta)] ) / B,

whose gradients are exactly the seed's update: mu gets (g + g_theta^KL / C) / B + g_mu^KL / (B C)
and sigma gets ((g + g_theta^KL / C) / B) eps + g_sigma^KL / (B C), with g the gradient of the summed
negative log-likelihood. Over one epoch, sum_c L_c = (1/B) (-log p(y | theta, x) + KL), the
full-sequence negative ELBO (per sequence) at that draw.
"""

from __future__ import annotations

from .. import backend
from ..autograd.tensor import Tensor
from .bayesian import BayesianLayer
from .recurrent import LSTMCell

__all__ = ["BayesianLSTMCell", "truncated_sequence_loss"]


class BayesianLSTMCell(BayesianLayer, LSTMCell):
    """An LSTM cell (``nn.LSTMCell``) with q(theta) = N(mu, softplus(rho)^2) over its weights and bias.

    Parameters
    ----------
    input_size, hidden_size : int
    prior : GaussianPrior or ScaleMixturePrior, default GaussianPrior(1.0)
    posterior_rho_init : (float, float)
        rho ~ U(low, high) at the start (default (-5, -4)).
    dtype : dtype, optional

    The weight posterior is one matrix of shape (input_size + hidden_size, 4 hidden_size), the rows
    of W_x above those of W_h, so ``kl``, ``prune`` and ``signal_to_noise`` treat it as one layer.
    Use inside ``nn.Recurrent``; eval mode uses the posterior means unless in ``nn.stochastic()``.
    """

    def __init__(self, input_size: int, hidden_size: int, *, prior: object = None,
                 posterior_rho_init: tuple[float, float] = (-5.0, -4.0), dtype: object = None) -> None:
        LSTMCell.__init__(self, input_size, hidden_size, dtype)
        # The plain cell's parameters are the starting means; the posterior replaces them.
        weight_mu = backend.xp().concatenate([self.weight_input.data, self.weight_hidden.data], axis=0)
        bias_mu = self.bias.data
        del self.weight_input, self.weight_hidden, self.bias
        self._init_posterior(weight_mu, bias_mu.shape[0], prior, posterior_rho_init, weight_mu.dtype)
        self.bias_mu.data[...] = bias_mu  # keep the forget-gate bias of 1

    def weights(self) -> tuple[Tensor, Tensor, Tensor]:
        """(W_x, W_h, b): one draw per call in training mode / ``stochastic()``, the means otherwise."""
        if self._sampling_now():
            weight, bias = self._draw()
        else:
            self._last_sample = None
            weight, bias = self._masked(self.weight_mu), self.bias_mu
        return weight[: self.input_size], weight[self.input_size:], bias

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, prior={self.prior!r}"


def truncated_sequence_loss(negative_log_likelihood: Tensor, kl: Tensor, batch_size: int,
                            num_truncations: int) -> Tensor:
    """Fortunato et al. (2017) Algorithm 1: L_c = (NLL_c + KL / C) / B for one truncated sequence minibatch.

    Parameters
    ----------
    negative_log_likelihood : scalar Tensor
        -log p(y_c | theta, x_c), summed over the B sequences and the time steps of the chunk.
    kl : scalar Tensor
        log q(theta) - log p(theta) at this chunk's draw (``model_kl(model, "monte_carlo")``), or the
        closed-form KL.
    batch_size : int
        B, the number of sequences in the minibatch.
    num_truncations : int
        C, the number of truncated sequences (chunks) per epoch.
    """
    for name, value in (("batch_size", batch_size), ("num_truncations", num_truncations)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"truncated_sequence_loss: {name} must be a positive int, got {value!r}")
    return (negative_log_likelihood + kl / num_truncations) / batch_size
