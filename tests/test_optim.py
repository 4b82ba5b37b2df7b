"""Each optimiser against steps computed by hand on f(p) = 1/2 sum a p^2 (gradient a p)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minibayes as mb
from minibayes import nn, optim

A = np.array([1.0, 4.0, 0.5])
P0 = np.array([1.0, -2.0, 3.0])


def quadratic_steps(optimizer_factory, steps):
    p = nn.Parameter(P0.copy())
    optimizer = optimizer_factory([p])
    for _ in range(steps):
        optimizer.zero_grad()
        (0.5 * mb.tensor(A) * p * p).sum().backward()
        optimizer.step()
    return p.numpy(), optimizer


def test_sgd_plain():
    p, _ = quadratic_steps(lambda ps: optim.SGD(ps, lr=0.1), 2)
    expected = P0 * (1 - 0.1 * A) ** 2
    np.testing.assert_allclose(p, expected, rtol=1e-14)


def test_sgd_momentum_nesterov_and_weight_decay():
    lr, mu, decay = 0.1, 0.9, 0.01
    for nesterov in (False, True):
        p, buffer = P0.copy(), None
        for _ in range(3):
            g = A * p + decay * p
            buffer = g.copy() if buffer is None else mu * buffer + g
            p = p - lr * (g + mu * buffer if nesterov else buffer)
        got, _ = quadratic_steps(lambda ps: optim.SGD(ps, lr=lr, momentum=mu, nesterov=nesterov, weight_decay=decay), 3)
        np.testing.assert_allclose(got, p, rtol=1e-13)


def test_adagrad():
    lr, eps = 0.5, 1e-10
    p, squares = P0.copy(), np.zeros(3)
    for _ in range(3):
        g = A * p
        squares += g * g
        p = p - lr * g / (np.sqrt(squares) + eps)
    got, _ = quadratic_steps(lambda ps: optim.Adagrad(ps, lr=lr), 3)
    np.testing.assert_allclose(got, p, rtol=1e-13)


def test_adam_follows_kingma_and_ba_algorithm_1():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    p, m, v = P0.copy(), np.zeros(3), np.zeros(3)
    for t in range(1, 4):
        g = A * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    got, optimizer = quadratic_steps(lambda ps: optim.Adam(ps, lr=lr), 3)
    np.testing.assert_allclose(got, p, rtol=1e-12)
    assert optimizer.step_count == 3


def test_adam_matches_pytorch_when_installed():
    torch = pytest.importorskip("torch")
    weight = torch.tensor(P0.copy(), requires_grad=True)
    reference = torch.optim.Adam([weight], lr=0.05, weight_decay=0.1)
    for _ in range(5):
        reference.zero_grad()
        (0.5 * torch.tensor(A) * weight * weight).sum().backward()
        reference.step()
    got, _ = quadratic_steps(lambda ps: optim.Adam(ps, lr=0.05, weight_decay=0.1), 5)
    np.testing.assert_allclose(got, weight.detach().numpy(), rtol=1e-12)


def test_parameters_without_gradient_are_left_alone():
    used, unused = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    optimizer = optim.SGD([used, unused], lr=0.5)
    (used * 2).sum().backward()
    optimizer.step()
    np.testing.assert_array_equal(unused.numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(used.numpy(), [0.0, 0.0])


def test_optimizer_state_round_trip_resumes_identically():
    _, first = quadratic_steps(lambda ps: optim.Adam(ps, lr=0.1), 2)
    p = nn.Parameter(first.params[0].numpy().copy())
    second = optim.Adam([p], lr=0.3)
    second.load_state_dict(first.state_dict())
    assert second.hyperparameters["lr"] == 0.1 and second.step_count == 2
    for optimizer in (first, second):
        optimizer.zero_grad()
        (0.5 * mb.tensor(A) * optimizer.params[0] ** 2).sum().backward()
        optimizer.step()
    np.testing.assert_array_equal(first.params[0].numpy(), second.params[0].numpy())


def test_clip_grad_norm_rescales_to_the_limit_and_returns_the_old_norm():
    a, b = nn.Parameter(np.zeros(2)), nn.Parameter(np.zeros(1))
    a.grad, b.grad = mb.tensor(np.array([3.0, 0.0])), mb.tensor(np.array([4.0]))
    norm = optim.clip_grad_norm_([a, b], max_norm=1.0)
    assert math.isclose(norm, 5.0)
    total = np.sqrt((a.grad.numpy() ** 2).sum() + (b.grad.numpy() ** 2).sum())
    assert math.isclose(total, 1.0, rel_tol=1e-5)


def test_bad_hyperparameters_are_named():
    p = nn.Parameter(np.ones(1))
    with pytest.raises(ValueError, match="lr must be a finite non-negative number"):
        optim.SGD([p], lr=-1)
    with pytest.raises(ValueError, match="nesterov=True needs momentum > 0"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="params is empty"):
        optim.Adam([])
    with pytest.raises(ValueError, match=r"betas must be a pair of numbers in \[0, 1\)"):
        optim.Adam([p], betas=(0.9, 1.0))


NON_FINITE = [float("nan"), float("inf"), -float("inf"), np.float32("nan")]


@pytest.mark.parametrize("bad", NON_FINITE, ids=repr)
@pytest.mark.parametrize("factory, name", [
    (lambda ps, v: optim.SGD(ps, lr=v), "lr"),
    (lambda ps, v: optim.SGD(ps, lr=0.1, momentum=v), "momentum"),
    (lambda ps, v: optim.SGD(ps, lr=0.1, momentum=v, nesterov=True), "momentum"),
    (lambda ps, v: optim.SGD(ps, lr=0.1, weight_decay=v), "weight_decay"),
    (lambda ps, v: optim.Adagrad(ps, lr=v), "lr"),
    (lambda ps, v: optim.Adagrad(ps, eps=v), "eps"),
    (lambda ps, v: optim.Adagrad(ps, weight_decay=v), "weight_decay"),
    (lambda ps, v: optim.Adam(ps, lr=v), "lr"),
    (lambda ps, v: optim.Adam(ps, eps=v), "eps"),
    (lambda ps, v: optim.Adam(ps, weight_decay=v), "weight_decay"),
    (lambda ps, v: optim.Adam(ps, betas=(v, 0.999)), "betas"),
    (lambda ps, v: optim.Adam(ps, betas=(0.9, v)), "betas"),
])
def test_non_finite_hyperparameters_are_refused_by_name(factory, name, bad):
    """NaN compares False with everything, so a plain `value < 0` check let it through (and every step made NaN)."""
    p = nn.Parameter(np.ones(2))
    with pytest.raises(ValueError, match=rf"{name} must be a"):
        factory([p], bad)


def test_hyperparameters_accept_numpy_numbers_and_refuse_strings_and_bools():
    p = nn.Parameter(np.ones(2))
    optimizer = optim.Adam([p], lr=np.float32(0.01), betas=(np.float64(0.8), 0.9), eps=np.float64(1e-8))
    assert optimizer.hyperparameters["beta1"] == 0.8
    with pytest.raises(ValueError, match="lr must be a finite non-negative number, got '0.1'"):
        optim.SGD([p], lr="0.1")
    with pytest.raises(ValueError, match="lr must be a finite non-negative number, got True"):
        optim.SGD([p], lr=True)
    with pytest.raises(ValueError, match="betas must be a pair"):
        optim.Adam([p], betas=0.9)


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    lambda ps: optim.Adagrad(ps, lr=0.1),
    lambda ps: optim.Adam(ps, lr=0.1),
])
def test_propose_then_apply_is_one_step(make):
    """propose_step + apply_step = step, and nothing moves before apply_step."""
    paths = []
    for split in (False, True):
        p = nn.Parameter(P0.copy())
        optimizer = make([p])
        for _ in range(3):
            optimizer.zero_grad()
            (0.5 * mb.tensor(A) * p * p).sum().backward()
            if split:
                before = p.numpy().copy()
                updates = optimizer.propose_step()
                np.testing.assert_array_equal(p.numpy(), before)
                optimizer.apply_step(updates)
            else:
                optimizer.step()
        paths.append(p.numpy())
    np.testing.assert_array_equal(paths[0], paths[1])


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf"), "1"], ids=repr)
def test_clip_grad_norm_refuses_a_bad_max_norm(bad):
    a = nn.Parameter(np.zeros(2))
    a.grad = mb.tensor(np.array([3.0, 4.0]))
    with pytest.raises(ValueError, match="max_norm must be a finite positive number"):
        optim.clip_grad_norm_([a], max_norm=bad)


@pytest.mark.parametrize("poison", [np.nan, np.inf])
def test_clip_grad_norm_raises_on_a_non_finite_gradient_and_leaves_the_gradients(poison):
    """Before: the norm was inf/NaN and the 'clipped' gradients silently became zeros or NaN."""
    a, b = nn.Parameter(np.zeros(2)), nn.Parameter(np.zeros(1))
    a.grad, b.grad = mb.tensor(np.array([3.0, poison])), mb.tensor(np.array([4.0]))
    with pytest.raises(FloatingPointError, match="gradient norm is (nan|inf)"):
        optim.clip_grad_norm_([a, b], max_norm=1.0)
    np.testing.assert_array_equal(a.grad.numpy(), [3.0, poison])
    np.testing.assert_array_equal(b.grad.numpy(), [4.0])


@pytest.mark.parametrize("factory", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    lambda ps: optim.Adagrad(ps, lr=0.1, weight_decay=0.01),
    lambda ps: optim.Adam(ps, lr=0.1, weight_decay=0.01),
])
def test_a_scalar_parameter_steps_like_a_one_element_vector(factory):
    """0-d parameters (a scale, a log-variance) take the same steps; NumPy scalars must not break in-place state."""
    paths = []
    for start in (np.array(2.0), np.array([2.0])):
        p = nn.Parameter(start)
        optimizer = factory([p])
        for _ in range(4):
            optimizer.zero_grad()
            (1.5 * p * p).sum().backward()
            optimizer.step()
        paths.append(p.numpy().reshape(()))
    assert paths[0] == paths[1] and paths[0] != 2.0
