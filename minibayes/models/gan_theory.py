"""The theory of the adversarial game on known 1-D densities, by quadrature on a grid.

Goodfellow et al. (2014), section 4.1, as the seeds quote it:

- Proposition 1 (eq. 2): for G fixed, the optimal discriminator is
  D*_G(x) = p_data(x) / (p_data(x) + p_g(x));
- eq. 3: V(G, D) = int p_data(x) log D(x) + p_g(x) log(1 - D(x)) dx;
- eqs. 4-6: C(G) = max_D V(G, D) = V(D*_G, G) = -log 4 + 2 JSD(p_data || p_g), with
  JSD(P || Q) = KL(P || M) / 2 + KL(Q || M) / 2, M = (P + Q) / 2, so that 0 <= JSD <= log 2.

Densities are given as their values on an increasing grid x (arrays of the grid's shape, from
either backend); integrals are by the composite trapezoidal rule, whose error is O(h^2) for
smooth integrands. Terms 0 * log 0 are 0 (the limit), so densities with disjoint or partial
supports are exact wherever the grid resolves the support's edges.
"""

from __future__ import annotations

import math

import numpy

from .. import backend

__all__ = [
    "optimal_discriminator", "value_function_on_grid", "virtual_training_criterion", "jensen_shannon",
    "jensen_shannon_shifted_uniforms", "trapezoid",
]


def _grid_arrays(x: object, **densities: object) -> tuple[object, ...]:
    """The grid and the named arrays on it as float64 backend arrays, after checking them."""
    x = backend.asarray(x).astype("float64")
    xp = backend.array_module(x)
    if x.ndim != 1 or x.shape[0] < 2:
        raise ValueError(f"x must be a 1-D grid of at least 2 points, got shape {tuple(x.shape)}")
    if not bool(xp.all(x[1:] > x[:-1])):
        raise ValueError("x must be strictly increasing")
    out = [x]
    for name, values in densities.items():
        values = backend.on_backend_of(x, backend.asarray(values)).astype("float64")
        if values.shape != x.shape:
            raise ValueError(f"{name} must have the grid's shape {tuple(x.shape)}, got {tuple(values.shape)}")
        if not bool(xp.all(xp.isfinite(values))):
            raise ValueError(f"{name} contains NaN or inf")
        out.append(values)
    return tuple(out)


def _check_densities(**densities: object) -> None:
    for name, values in densities.items():
        if bool((values < 0).any()):
            raise ValueError(f"{name} must be a density (>= 0 everywhere), got a minimum of {float(values.min())}")


def trapezoid(values: object, x: object) -> float:
    """int values(x) dx by the composite trapezoidal rule on the grid x (shape (n,))."""
    x, values = _grid_arrays(x, values=values)
    return float((0.5 * (values[1:] + values[:-1]) * (x[1:] - x[:-1])).sum())


def optimal_discriminator(p_data: object, p_g: object) -> object:
    """D*_G(x) = p_data / (p_data + p_g), Goodfellow Proposition 1 (eq. 2).

    Parameters
    ----------
    p_data, p_g : arrays of the same shape, density values >= 0 at the same points.

    Returns
    -------
    array of that shape. Outside both supports (p_data = p_g = 0) every value of D is optimal
    (the integrand of eq. 3 is 0 there, "D need not be defined"); we return 1/2 there, the
    value D* takes where the densities agree.
    """
    p_data, p_g = backend.asarray(p_data).astype("float64"), backend.asarray(p_g).astype("float64")
    if p_data.shape != p_g.shape:
        raise ValueError(f"p_data and p_g must have the same shape, got {tuple(p_data.shape)} and {tuple(p_g.shape)}")
    _check_densities(p_data=p_data, p_g=p_g)
    xp = backend.array_module(p_data)
    total = p_data + p_g
    outside = total == 0
    return xp.where(outside, 0.5, p_data / xp.where(outside, 1.0, total))


def _xlogy(a: object, b: object) -> object:
    """a log b with 0 log b = 0 (also for b = 0): the limit that makes disjoint supports exact."""
    xp = backend.array_module(a)
    zero = a == 0
    return xp.where(zero, 0.0, a * xp.log(xp.where(zero, 1.0, b)))


def value_function_on_grid(logits: object, p_data: object, p_g: object, x: object) -> float:
    """V(G, D) = int p_data log D + p_g log(1 - D) dx (Goodfellow eq. 3), by the trapezoidal rule.

    Parameters
    ----------
    logits : array of shape (n,), logit D(x) = log D - log(1 - D) at the grid points
        The logit, not D: D* of two Gaussians of different widths tends to 0 or 1 in the tails
        faster than float64 can hold (D = 1 - 1e-20 rounds to 1, and p_g log(1 - D) would become
        -inf), while log D = log_sigmoid(a) and log(1 - D) = log_sigmoid(-a) stay exact.
        The optimal one is log p_data - log p_g.
    p_data, p_g : arrays of shape (n,), the densities at the grid points
    x : array of shape (n,), the increasing grid
    """
    x, a, p_data, p_g = _grid_arrays(x, logits=logits, p_data=p_data, p_g=p_g)
    _check_densities(p_data=p_data, p_g=p_g)
    xp = backend.array_module(a)
    # log sigma(a) = -log(1 + e^-a), never log 0.
    integrand = -p_data * xp.logaddexp(0.0, -a) - p_g * xp.logaddexp(0.0, a)
    return float((0.5 * (integrand[1:] + integrand[:-1]) * (x[1:] - x[:-1])).sum())


def virtual_training_criterion(p_data: object, p_g: object, x: object) -> float:
    """C(G) = max_D V(G, D) = V(D*_G, G), Goodfellow eq. 4 (last line), by quadrature:

    int p_data log(p_data / (p_data + p_g)) + p_g log(p_g / (p_data + p_g)) dx,

    which equals -log 4 + 2 JSD(p_data || p_g) (eq. 6); the ratios are formed directly, not from
    a rounded D*, so the tails stay exact.
    """
    x, p_data, p_g = _grid_arrays(x, p_data=p_data, p_g=p_g)
    _check_densities(p_data=p_data, p_g=p_g)
    xp = backend.array_module(x)
    total = xp.where(p_data + p_g == 0, 1.0, p_data + p_g)
    with numpy.errstate(divide="ignore", invalid="ignore"):  # log 0 only in the branch `where` drops
        integrand = _xlogy(p_data, p_data / total) + _xlogy(p_g, p_g / total)
    return float((0.5 * (integrand[1:] + integrand[:-1]) * (x[1:] - x[:-1])).sum())


def jensen_shannon(p: object, q: object, x: object) -> float:
    """JSD(P || Q) = KL(P || M) / 2 + KL(Q || M) / 2, M = (P + Q) / 2 (seeds, under eq. 6), in nats.

    Each KL integrand p log(p / m) is written p log(2p / (p + q)), which is 0 where p = 0 and
    finite wherever p > 0 (m >= p / 2 there): no division by zero, also on disjoint supports.
    The result is clipped to [0, log 2], the range of the exact value, which quadrature error
    could otherwise leave by a rounding amount.

    Parameters
    ----------
    p, q : arrays of shape (n,), density values on the grid
    x : array of shape (n,), the increasing grid
    """
    x, p, q = _grid_arrays(x, p=p, q=q)
    _check_densities(p=p, q=q)
    total = p + q
    with numpy.errstate(divide="ignore", invalid="ignore"):
        integrand = 0.5 * (_xlogy(p, 2.0 * p / backend.array_module(p).where(total == 0, 1.0, total))
                           + _xlogy(q, 2.0 * q / backend.array_module(q).where(total == 0, 1.0, total)))
    value = float((0.5 * (integrand[1:] + integrand[:-1]) * (x[1:] - x[:-1])).sum())
    return min(max(value, 0.0), math.log(2.0))


def jensen_shannon_shifted_uniforms(shift: float) -> float:
    """JSD(U[0, 1] || U[s, 1 + s]) = min(|s|, 1) log 2 in closed form.

    Where both densities are 1, 2p / (p + q) = 1 and the integrand vanishes; on each of the two
    non-overlapping pieces (length min(|s|, 1)) one density is 1 and the other 0, and each KL
    gains 1 * log 2 per unit length, halved by the JSD's 1/2 and counted twice. Disjoint
    supports (|s| >= 1) give log 2, the maximum.
    """
    if isinstance(shift, bool) or not isinstance(shift, (int, float)) or not math.isfinite(shift):
        raise ValueError(f"shift must be a finite number, got {shift!r}")
    return min(abs(shift), 1.0) * math.log(2.0)
