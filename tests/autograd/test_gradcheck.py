"""gradcheck and gradgradcheck must catch wrong derivatives and say where."""

from __future__ import annotations

import numpy as np
import pytest

import minibayes as mb
from minibayes.autograd.function import Function


class WrongSquare(Function):
    """x^2 with a deliberately wrong derivative (3x instead of 2x)."""

    def forward(self, x):
        return x * x

    def backward(self, gy):
        return gy * 3 * self.inputs[0]


class FrozenExp(Function):
    """exp with the right first derivative, but taken as a constant: its own derivative is lost."""

    def forward(self, x):
        return np.exp(x)

    def backward(self, gy):
        return gy * mb.Tensor(self.output.data)


def wrong_square(x):
    return WrongSquare()(x)


def frozen_exp(x):
    return FrozenExp()(x)


def leaf(values):
    return mb.tensor(np.asarray(values, dtype=float), dtype="float64", requires_grad=True)


def test_gradcheck_passes_a_correct_gradient():
    assert mb.gradcheck(lambda x: mb.exp(x) * x, [leaf([0.1, -0.4, 1.0])])


def test_gradcheck_reports_op_input_element_and_both_values():
    with pytest.raises(mb.GradcheckError) as failure:
        mb.gradcheck(wrong_square, [leaf([0.0, -2.0, 0.0])])  # wrong only where x != 0
    message = str(failure.value)
    assert "wrong_square" in message and "input 0" in message and "worst element (1,)" in message
    assert "analytic" in message and "numeric" in message


def test_gradcheck_can_return_false_instead_of_raising():
    assert mb.gradcheck(wrong_square, [leaf([1.0])], raise_exception=False) is False


def test_gradcheck_names_the_failing_input_among_several():
    def fn(a, b):
        return a * 2 + wrong_square(b)

    with pytest.raises(mb.GradcheckError, match="input 1"):
        mb.gradcheck(fn, [leaf([1.0]), leaf([2.0])])


def test_gradgradcheck_catches_a_backward_that_is_not_differentiable():
    x = leaf([0.3, -0.2])
    assert mb.gradcheck(frozen_exp, [x])  # first order is right
    with pytest.raises(mb.GradcheckError, match="first derivatives of frozen_exp"):
        mb.gradgradcheck(frozen_exp, [x])


def test_gradcheck_needs_float64():
    with pytest.raises(TypeError, match="input 0 is float32; central differences need float64"):
        mb.gradcheck(mb.exp, [mb.tensor([1.0], requires_grad=True)])


def test_gradcheck_needs_something_to_check():
    with pytest.raises(ValueError, match="no input has requires_grad=True"):
        mb.gradcheck(mb.exp, [mb.tensor([1.0], dtype="float64")])


def test_gradcheck_does_not_modify_its_inputs():
    x = leaf([0.5, 1.5])
    before = x.numpy().copy()
    mb.gradcheck(mb.exp, [x])
    np.testing.assert_array_equal(x.numpy(), before)
    assert x.grad is None
