"""The variational objective every model of Day 3 optimises, in one result type.

Each variational model (the VAE's latent posterior, Bayes by Backprop's weight posterior)
maximises an evidence lower bound. Written per data point, Kingma & Welling (2014) eq. 3 and
Blundell et al. (2015) eq. 1 are the same two-term sum:

    ELBO = E_q[log p(x | .)] - KL(q || prior)          (K&W eq. 3)
    F    = KL(q(w) || P(w)) - E_q[log P(D | w)] = -ELBO (Blundell eq. 1)

``VariationalObjective`` carries the two parts under names that say which way they point,
so no sign is ever ambiguous:

- ``reconstruction``: the expected log-likelihood E_q[log p(x | z)] (nats, larger is better);
- ``nll = -reconstruction``;
- ``kl``: the KL divergence to the prior (nats, >= 0 for the exact quantity);
- ``elbo = reconstruction - kl`` (a lower bound on log p(x));
- ``loss``: what gradient descent minimises, ``nll + kl_weight * kl``, which is ``-elbo`` when
  ``kl_weight`` is 1 (a KL warm-up, ``kl_warmup``, anneals it from 0 to 1).

Units: nats **per data point**: log-likelihoods summed over pixels (or outputs), KL summed over
latent dimensions (or over all weights), then averaged over the minibatch. Where the KL is
global (one posterior over weights for the whole data set of N points), its per-data-point
share is KL / N (``from_global_kl``): weighted by their batch sizes and summed, the minibatch
losses of one epoch give the full-data negative ELBO F exactly; for equal batches their plain
average is F / N. The full-data estimator of K&W eq. 8 is N times the per-data-point ELBO
(``VAE.dataset_elbo``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

from ..autograd.tensor import Tensor
from ._checks import positive_int

__all__ = ["VariationalObjective", "kl_warmup"]


def check_kl_weight(kl_weight: float) -> float:
    """``kl_weight`` as a float >= 0, else a ValueError naming it."""
    if isinstance(kl_weight, bool) or not isinstance(kl_weight, (int, float)) or not math.isfinite(kl_weight) \
            or kl_weight < 0:
        raise ValueError(f"kl_weight must be a finite number >= 0, got {kl_weight!r}")
    return float(kl_weight)


@dataclass(frozen=True)
class VariationalObjective:
    """The parts of one evidence lower bound, as scalar Tensors in nats per data point.

    Build it with ``from_terms`` (reconstruction and KL), ``from_global_kl`` (a KL shared by all
    N data points, as in Bayes by Backprop) or ``from_bound`` (a bound that is not the difference
    of its two parts, such as the importance-weighted bound). ``loss`` is the Tensor to
    differentiate; ``terms()`` gives its parts for ``train.fit``.

    Attributes
    ----------
    reconstruction : Tensor, shape ()
        E_q[log p(x | latent)] per data point.
    kl : Tensor, shape ()
        KL(q || prior) per data point (an estimate when it comes from samples).
    elbo : Tensor, shape ()
        The lower bound on log p(x) per data point.
    loss : Tensor, shape ()
        ``nll + kl_weight * kl`` (``-elbo`` at ``kl_weight = 1``), or ``-elbo`` for a bound.
    kl_weight : float
        beta of a KL warm-up (1: the true ELBO).
    """

    reconstruction: Tensor
    kl: Tensor
    elbo: Tensor
    loss: Tensor
    kl_weight: float = 1.0
    is_bound: bool = False  # True when elbo is not reconstruction - kl (from_bound)

    @classmethod
    def from_terms(cls, reconstruction: Tensor, kl: Tensor, kl_weight: float = 1.0) -> VariationalObjective:
        """ELBO = reconstruction - kl (K&W eq. 3); loss = -reconstruction + kl_weight * kl."""
        kl_weight = check_kl_weight(kl_weight)
        loss = kl - reconstruction if kl_weight == 1.0 else kl_weight * kl - reconstruction
        return cls(reconstruction, kl, reconstruction - kl, loss, kl_weight)

    @classmethod
    def from_global_kl(cls, mean_log_likelihood: Tensor, kl_total: Tensor, n_data: int,
                       kl_weight: float = 1.0) -> VariationalObjective:
        """A KL over global parameters shared by ``n_data`` points: its per-point share is KL / N.

        The minibatch loss is mean NLL + kl_weight * KL / N: weighted by batch size and summed over
        one epoch it is the full-data negative ELBO, KL(q || P) - sum_n E_q[log P(x_n | w)]
        (Blundell et al. 2015, eq. 1).
        """
        n_data = positive_int(n_data, "n_data (the size of the training set)", "from_global_kl")
        return cls.from_terms(mean_log_likelihood, kl_total * (1.0 / n_data), kl_weight)

    @classmethod
    def from_bound(cls, bound: Tensor, reconstruction: Tensor, kl: Tensor) -> VariationalObjective:
        """A bound that is not reconstruction - kl (e.g. IWAE): loss = -bound; the parts are diagnostics."""
        return cls(reconstruction, kl, bound, -bound, 1.0, True)

    @property
    def nll(self) -> Tensor:
        """-E_q[log p(x | latent)]: the expected negative log-likelihood per data point."""
        return -self.reconstruction

    def terms(self) -> Mapping[str, Tensor]:
        """Named parts that add up to ``loss``: what ``train.fit`` records per epoch."""
        if self.is_bound:
            return {"negative_bound": self.loss}
        if self.kl_weight == 1.0:
            return {"nll": self.nll, "kl": self.kl}
        return {"nll": self.nll, "weighted_kl": self.kl_weight * self.kl}

    def item(self) -> dict[str, float]:
        """The parts as Python floats (one host sync per part: read once per epoch, not per step)."""
        return {"reconstruction": self.reconstruction.item(), "kl": self.kl.item(),
                "elbo": self.elbo.item(), "loss": self.loss.item()}


def kl_warmup(step: int, warmup_steps: int) -> float:
    """Linear KL warm-up: beta = min(1, step / warmup_steps) (Sonderby et al. 2016; Bowman et al. 2016).

    Annealing beta from 0 to 1 lets the decoder learn before the KL term pulls every
    posterior onto the prior; at the end of the warm-up the objective is the true ELBO again.
    ``warmup_steps = 0`` gives 1 throughout.
    """
    for name, value in (("step", step), ("warmup_steps", warmup_steps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"kl_warmup: {name} must be a non-negative int, got {value!r}")
    return 1.0 if warmup_steps == 0 else min(1.0, step / warmup_steps)
