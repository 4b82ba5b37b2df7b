"""Two Monte Carlo estimators of the gradient of an expectation, K&W section 2.2-2.3 (seed row 34).

For q_theta(z) = N(z | m, s^2) and a function f, the gradient of E_q[f(z)] with respect to
theta = (m, s) can be estimated from draws in two ways:

- score function (REINFORCE; the "naive" estimator of K&W section 2.2):
      grad E_q[f(z)] = E_q[f(z) grad_theta log q_theta(z)],
      grad_m log q = (z - m) / s^2,  grad_s log q = ((z - m)^2 - s^2) / s^3;
- reparameterisation (K&W eqs. 4-5): z = m + s * eps, eps ~ N(0, 1), so
      grad E_q[f(z)] = E_eps[f'(m + s eps) * (1, eps)].

Both are unbiased; K&W (section 2.2) note the first "exhibits very high variance". The function
below returns one estimate per draw for each, so their means and variances can be compared.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

from .. import backend
from ..autograd.engine import grad
from ..autograd.tensor import Tensor

__all__ = ["GradientEstimates", "gaussian_gradient_estimates"]


class GradientEstimates(NamedTuple):
    """Per-draw gradient estimates, each of shape (n_samples, 2): columns d/dm and d/ds."""

    score_function: object
    reparameterisation: object


def gaussian_gradient_estimates(f: Callable[[Tensor], Tensor], mean: float, std: float, n_samples: int,
                                noise: object = None) -> GradientEstimates:
    """Both estimators of d/d(m, s) E_{z ~ N(m, s^2)}[f(z)] from the same draws eps.

    Parameters
    ----------
    f : callable Tensor -> Tensor, elementwise
        Written in minibayes ops, so that the reparameterisation estimator can differentiate it.
    mean, std : float
        m and s > 0.
    n_samples : int
    noise : array of shape (n_samples,), optional
        The standard-normal eps (drawn from the backend generator when omitted).
    """
    for name, value in (("mean", mean), ("std", std)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"gaussian_gradient_estimates: {name} must be a finite number, got {value!r}")
    if std <= 0:
        raise ValueError(f"gaussian_gradient_estimates: std must be positive, got {std!r}")
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise ValueError(f"gaussian_gradient_estimates: n_samples must be a positive int, got {n_samples!r}")
    xp = backend.xp()
    eps = (backend.rng().standard_normal(n_samples) if noise is None
           else backend.asarray(noise, dtype="float64"))
    if eps.shape != (n_samples,):
        raise ValueError(f"gaussian_gradient_estimates: noise must have shape ({n_samples},), got {eps.shape}")
    eps = eps.astype("float64", copy=False)
    z = Tensor(mean + std * eps, requires_grad=True)
    values = f(z)
    if values.shape != z.shape:
        raise ValueError(f"gaussian_gradient_estimates: f must act elementwise, got shape {values.shape} "
                         f"for input {z.shape}")
    # f elementwise: the gradient of sum f(z) is f'(z_i) at each draw.
    (slope,) = grad(values.sum(), [z])
    f_z, slope = values.data, slope.data
    score = xp.stack([f_z * eps / std, f_z * (eps * eps - 1.0) / std], axis=1)  # (z-m)/s^2 = eps/s
    pathwise = xp.stack([slope, slope * eps], axis=1)
    return GradientEstimates(score, pathwise)
