"""One catalogue of distributions for all the property tests: how to build each from hypothesis
draws, its scipy.stats twin (the independent route), and values inside its support.

Every case builds float64 parameters of a random batch shape (scalars and size-1
axes included) so that broadcasting is exercised along the way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.stats
from hypothesis import strategies as st

import minibayes as mb
from minibayes import distributions as D
from tests import strategies as S


@dataclass
class Built:
    dist: D.Distribution
    params: list[np.ndarray]  # the parameters that get gradients (float64 arrays)
    make: Callable[..., D.Distribution]  # params as Tensors -> distribution
    scipy_logpdf: Callable[[np.ndarray], np.ndarray]  # values of shape sample + batch (+ event) -> log p
    values: Callable[[np.random.Generator, int], np.ndarray]  # n values per batch element, in the support
    scipy_mean: np.ndarray | None = None
    scipy_var: np.ndarray | None = None
    scipy_entropy: np.ndarray | None = None


def _t(a):
    return mb.tensor(a, dtype="float64")



def build_normal(data, rng) -> Built:
    shape = data.draw(S.shapes(max_dims=2), label="batch")
    loc, scale = rng.uniform(-2, 2, shape), rng.uniform(0.3, 3, shape)
    frozen = scipy.stats.norm(loc, scale)
    return Built(D.Normal(_t(loc), _t(scale)), [loc, scale], lambda a, b: D.Normal(a, b), frozen.logpdf,
                 lambda g, n: g.normal(loc, scale, (n,) + shape), frozen.mean(), frozen.var(), frozen.entropy())


def build_bernoulli(data, rng) -> Built:
    shape = data.draw(S.shapes(max_dims=2), label="batch")
    probs = rng.uniform(0.05, 0.95, shape)
    frozen = scipy.stats.bernoulli(probs)
    by_logits = data.draw(st.booleans(), label="logits")
    make = (lambda p: D.Bernoulli(logits=mb.log(p) - mb.log1p(-p))) if by_logits else (lambda p: D.Bernoulli(probs=p))
    return Built(make(_t(probs)), [probs], make, frozen.logpmf,
                 lambda g, n: (g.random((n,) + shape) < probs).astype(float), frozen.mean(), frozen.var(), frozen.entropy())


def build_binomial(data, rng) -> Built:
    shape = data.draw(S.shapes(max_dims=2), label="batch")
    n = rng.integers(1, 12, shape).astype(float)
    probs = rng.uniform(0.05, 0.95, shape)
    frozen = scipy.stats.binom(n, probs)
    make = lambda p: D.Binomial(_t(n), probs=p)  # noqa: E731
    return Built(make(_t(probs)), [probs], make, frozen.logpmf,
                 lambda g, m: g.binomial(n.astype(int), probs, (m,) + shape).astype(float),
                 frozen.mean(), frozen.var(), frozen.entropy())


def build_categorical(data, rng) -> Built:
    batch = data.draw(S.shapes(max_dims=1), label="batch")
    k = data.draw(st.integers(2, 5), label="K")
    probs = rng.dirichlet(np.ones(k), batch)
    by_logits = data.draw(st.booleans(), label="logits")
    # Probabilities are renormalised so that a central-difference step stays on the simplex.
    make = (lambda l: D.Categorical(logits=l)) if by_logits else (lambda p: D.Categorical(probs=p / p.sum(-1, keepdims=True)))
    param = np.log(probs) + rng.normal(size=batch + (1,)) if by_logits else probs  # logits up to a shift

    def logpmf(x):
        return np.log(np.take_along_axis(np.broadcast_to(probs, x.shape + (k,)), x[..., None].astype(int), -1)[..., 0])

    def values(g, n):
        u = g.random((n,) + batch + (1,))
        return np.minimum((u > np.cumsum(probs, -1)).sum(-1), k - 1).astype(float)

    entropy = np.array([scipy.stats.entropy(p) for p in probs.reshape(-1, k)]).reshape(batch)
    return Built(make(_t(param)), [param], make, logpmf, values, None, None, entropy)


def build_multinomial(data, rng) -> Built:
    batch = data.draw(S.shapes(max_dims=1), label="batch")
    k = data.draw(st.integers(2, 4), label="K")
    n = data.draw(st.integers(1, 8), label="total_count")
    probs = rng.dirichlet(np.ones(k) * 2, batch)
    make = lambda p: D.Multinomial(n, probs=p / p.sum(-1, keepdims=True))  # noqa: E731
    flat = probs.reshape(-1, k)

    def logpmf(x):
        return scipy.stats.multinomial.logpmf(x, n, np.broadcast_to(probs, x.shape))

    def values(g, m):
        return g.multinomial(n, np.broadcast_to(probs, (m,) + batch + (k,))).astype(float)

    entropy = np.array([scipy.stats.multinomial(n, p).entropy() for p in flat]).reshape(batch)
    return Built(make(_t(probs)), [probs], make, logpmf, values, n * probs, n * probs * (1 - probs), entropy)


def build_mvn(data, rng) -> Built:
    d = data.draw(st.integers(1, 4), label="D")
    batch = data.draw(S.shapes(max_dims=1), label="batch")
    loc = rng.uniform(-2, 2, batch + (d,))
    # The factor is batched half of the time (the batched triangular-solve path).
    batched = data.draw(st.booleans(), label="batched factor")
    cov = S.spd(rng, (batch if batched else ()) + (d, d)) / d
    form = data.draw(st.sampled_from(["covariance_matrix", "precision_matrix", "scale_tril"]), label="form")
    param = {"covariance_matrix": cov, "precision_matrix": np.linalg.inv(cov), "scale_tril": np.linalg.cholesky(cov)}[form]
    covs = np.broadcast_to(cov, batch + (d, d)).reshape(-1, d, d)
    locs = np.broadcast_to(loc, batch + (d,)).reshape(-1, d)
    frozen = [scipy.stats.multivariate_normal(m, c) for m, c in zip(locs, covs)]
    tril = np.tril(np.ones((d, d)))
    # Perturbing one entry of a symmetric (or triangular) parameter leaves the family: the gradient
    # check differentiates through the symmetric part (or the lower triangle) instead.
    shape_of = (lambda p: 0.5 * (p + p.mT)) if form != "scale_tril" else (lambda p: p * tril)
    make = lambda m, p: D.MultivariateNormal(m, **{form: shape_of(p)})  # noqa: E731

    def logpdf(x):
        flat = x.reshape((-1, len(frozen), d))
        return np.stack([f.logpdf(flat[:, i]).reshape(-1) for i, f in enumerate(frozen)], 1).reshape(x.shape[:-1])

    def values(g, n):
        return np.stack([g.multivariate_normal(m, c, n) for m, c in zip(locs, covs)], 1).reshape((n,) + batch + (d,))

    variances = np.array([np.diag(c) for c in covs]).reshape(batch + (d,))
    entropies = np.array([f.entropy() for f in frozen]).reshape(batch)
    return Built(make(_t(loc), _t(param)), [loc, param], make, logpdf, values, np.broadcast_to(loc, batch + (d,)),
                 variances, entropies)


def build_beta(data, rng) -> Built:
    shape = data.draw(S.shapes(max_dims=2), label="batch")
    a, b = rng.uniform(0.5, 5, shape), rng.uniform(0.5, 5, shape)
    frozen = scipy.stats.beta(a, b)
    return Built(D.Beta(_t(a), _t(b)), [a, b], lambda p, q: D.Beta(p, q), frozen.logpdf,
                 lambda g, n: np.clip(g.beta(a, b, (n,) + shape), 1e-12, 1 - 1e-12),
                 frozen.mean(), frozen.var(), frozen.entropy())


def build_gamma(data, rng) -> Built:
    shape = data.draw(S.shapes(max_dims=2), label="batch")
    a, b = rng.uniform(0.5, 5, shape), rng.uniform(0.3, 3, shape)
    frozen = scipy.stats.gamma(a, scale=1 / b)
    return Built(D.Gamma(_t(a), _t(b)), [a, b], lambda p, q: D.Gamma(p, q), frozen.logpdf,
                 lambda g, n: np.maximum(g.gamma(a, 1 / b, (n,) + shape), 1e-300),
                 frozen.mean(), frozen.var(), frozen.entropy())


def build_dirichlet(data, rng) -> Built:
    batch = data.draw(S.shapes(max_dims=1), label="batch")
    k = data.draw(st.integers(2, 4), label="K")
    alpha = rng.uniform(0.5, 4, batch + (k,))
    flat = alpha.reshape(-1, k)

    def logpdf(x):
        a = np.broadcast_to(alpha, x.shape).reshape(-1, k)
        return np.array([scipy.stats.dirichlet(ai).logpdf(xi) for ai, xi in zip(a, x.reshape(-1, k))]).reshape(x.shape[:-1])

    def values(g, n):
        draws = np.stack([g.dirichlet(ai, n) for ai in flat], 1).reshape((n,) + batch + (k,))
        return np.clip(draws, 1e-12, None) / np.clip(draws, 1e-12, None).sum(-1, keepdims=True)

    frozen = [scipy.stats.dirichlet(ai) for ai in flat]
    mean = np.array([f.mean() for f in frozen]).reshape(batch + (k,))
    var = np.array([f.var() for f in frozen]).reshape(batch + (k,))
    entropy = np.array([f.entropy() for f in frozen]).reshape(batch)
    return Built(D.Dirichlet(_t(alpha)), [alpha], lambda p: D.Dirichlet(p), logpdf, values, mean, var, entropy)


def build_wishart(data, rng) -> Built:
    d = data.draw(st.integers(1, 3), label="D")
    nu = d - 1 + rng.uniform(1.0, 5.0)
    scale = S.spd(rng, (d, d)) / d
    frozen = scipy.stats.wishart(nu, scale)

    def logpdf(x):
        return np.array([frozen.logpdf(xi) for xi in x.reshape(-1, d, d)]).reshape(x.shape[:-2])

    def values(g, n):
        return np.asarray(scipy.stats.wishart(nu, scale).rvs(n, random_state=g)).reshape(n, d, d)

    return Built(D.Wishart(_t(nu), _t(scale)), [nu, scale], lambda v, s: D.Wishart(v, covariance_matrix=0.5 * (s + s.mT)),
                 logpdf, values, frozen.mean(), frozen.var(), frozen.entropy())


CASES: dict[str, Callable] = {
    "Normal": build_normal, "Bernoulli": build_bernoulli, "Binomial": build_binomial,
    "Categorical": build_categorical, "Multinomial": build_multinomial, "MultivariateNormal": build_mvn,
    "Beta": build_beta, "Gamma": build_gamma, "Dirichlet": build_dirichlet, "Wishart": build_wishart,
}
