"""Recurrent cells and their unrolled layer: PyTorch agreement, gradients through 20 steps by central
differences, and truncated BPTT (chunks with a carried state give the full sequence's outputs)."""

from __future__ import annotations

import numpy as np
import pytest

import minibayes as mb
from minibayes import nn


def lstm_pair(torch, input_size, hidden_size, seed=0):
    """Our LSTM and PyTorch's with the same weights (ours are PyTorch's transposed; one bias = b_ih + b_hh)."""
    torch.manual_seed(seed)
    theirs = torch.nn.LSTM(input_size, hidden_size).double()
    ours = nn.Recurrent(nn.LSTMCell(input_size, hidden_size, dtype="float64"))
    ours.cell.weight_input.data[...] = mb.asarray(theirs.weight_ih_l0.detach().numpy().T)
    ours.cell.weight_hidden.data[...] = mb.asarray(theirs.weight_hh_l0.detach().numpy().T)
    ours.cell.bias.data[...] = mb.asarray((theirs.bias_ih_l0 + theirs.bias_hh_l0).detach().numpy())
    return ours, theirs


def test_lstm_outputs_and_gradients_through_20_steps_match_pytorch():
    torch = pytest.importorskip("torch")
    ours, theirs = lstm_pair(torch, 3, 4)
    x = np.random.default_rng(0).normal(size=(20, 2, 3))
    xt, xo = torch.tensor(x, requires_grad=True), mb.tensor(x, dtype="float64", requires_grad=True)
    out_t, (h_t, c_t) = theirs(xt)
    out_o, (h_o, c_o) = ours(xo)
    np.testing.assert_allclose(out_o.numpy(), out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(c_o.numpy(), c_t[0].detach().numpy(), rtol=1e-10, atol=1e-12)
    # A loss on the last step only: its gradient must travel back through all 20 steps to x_1.
    (out_t[-1] ** 2).sum().backward()
    (out_o[-1] * out_o[-1]).sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-8, atol=1e-12)
    assert np.abs(xo.grad.numpy()[0]).max() > 1e-8
    np.testing.assert_allclose(ours.cell.weight_hidden.grad.numpy(), theirs.weight_hh_l0.grad.numpy().T, rtol=1e-8,
                               atol=1e-12)


@pytest.mark.parametrize("cell", [nn.LSTMCell, nn.RNNCell])
def test_gradients_through_20_steps_match_central_differences(cell):
    mb.seed(3)
    layer = nn.Recurrent(cell(2, 3, dtype="float64"))
    x = mb.tensor(np.random.default_rng(1).normal(size=(20, 2, 2)), dtype="float64", requires_grad=True)

    def last_output(inputs, weight_hidden, weight_input):
        layer.cell.weight_hidden, layer.cell.weight_input = weight_hidden, weight_input
        return layer(inputs)[0][-1]

    leaves = [x, mb.tensor(layer.cell.weight_hidden.data, requires_grad=True),
              mb.tensor(layer.cell.weight_input.data, requires_grad=True)]
    assert mb.gradcheck(last_output, leaves)


def test_rnn_cell_is_the_elman_recursion():
    cell = nn.RNNCell(2, 3, dtype="float64")
    x = np.random.default_rng(2).normal(size=(4, 5, 2))
    outputs, final = nn.Recurrent(cell)(mb.tensor(x, dtype="float64"))
    h = np.zeros((5, 3))
    w_x, w_h, b = cell.weight_input.numpy(), cell.weight_hidden.numpy(), cell.bias.numpy()
    for t in range(4):
        h = np.tanh(x[t] @ w_x + h @ w_h + b)
        np.testing.assert_allclose(outputs.numpy()[t], h, rtol=1e-12)
    np.testing.assert_allclose(final.numpy(), h, rtol=1e-12)


def test_truncated_chunks_with_carried_state_reproduce_the_full_sequence_and_cut_the_gradient():
    layer = nn.Recurrent(nn.LSTMCell(2, 3, dtype="float64"))
    x = np.random.default_rng(4).normal(size=(10, 2, 2))
    full, _ = layer(mb.tensor(x, dtype="float64"))
    xt = mb.tensor(x, dtype="float64", requires_grad=True)
    state, pieces = None, []
    chunks = list(nn.truncated_sequences(xt, xt, 4))
    assert [c[0].shape[0] for c in chunks] == [4, 4, 2]
    for x_chunk, _ in chunks:
        out, state = layer(x_chunk, state)
        state = nn.detach_state(state)
        pieces.append(out)
    np.testing.assert_allclose(np.concatenate([p.numpy() for p in pieces]), full.numpy(), rtol=1e-12)
    pieces[-1].sum().backward()  # the last chunk's loss reaches its own inputs only
    grad = xt.grad.numpy()
    assert np.all(grad[:8] == 0) and np.abs(grad[8:]).max() > 0


def test_bad_input_names_the_layer_and_the_shape():
    layer = nn.Recurrent(nn.LSTMCell(3, 4))
    with pytest.raises(ValueError, match=r"Recurrent\(LSTMCell\): x must be \(T, N, 3\), got shape \(5, 3\)"):
        layer(mb.zeros(5, 3))
    with pytest.raises(ValueError, match="LSTMCell: hidden_size must be a positive int"):
        nn.LSTMCell(3, 0)
    with pytest.raises(TypeError, match="Recurrent: cell must be"):
        nn.Recurrent(nn.Dense(2, 2))


@pytest.mark.parametrize("make, x_shape, state, error, message", [
    (lambda: nn.Recurrent(nn.LSTMCell(3, 4)), (5, 2, 3), mb.zeros(2, 4), TypeError,
     r"Recurrent\(LSTMCell\): state must be a pair \(h, c\) of Tensors of shape \(2, 4\) or None, got Tensor"),
    (lambda: nn.Recurrent(nn.LSTMCell(3, 4)), (5, 2, 3), (mb.zeros(2, 4), mb.zeros(3, 4)), ValueError,
     r"Recurrent\(LSTMCell\): state must be a pair \(h, c\) .*; c has shape \(3, 4\)"),
    (lambda: nn.Recurrent(nn.RNNCell(3, 4)), (5, 2, 3), mb.zeros(2, 5), ValueError,
     r"Recurrent\(RNNCell\): state must be a Tensor h of shape \(2, 4\); h has shape \(2, 5\)"),
    (lambda: nn.RNNCell(3, 4), (2, 5), None, ValueError, r"RNNCell: x must be \(N, 3\), got shape \(2, 5\)"),
    (lambda: nn.LSTMCell(3, 4), (2, 3), (mb.zeros(2, 4),), TypeError,
     r"LSTMCell: state must be a pair \(h, c\)"),
    (lambda: nn.BayesianLSTMCell(3, 4), (2, 3), (mb.zeros(2, 4), mb.zeros(2, 3)), ValueError,
     r"BayesianLSTMCell: state must be a pair \(h, c\) .*; c has shape \(2, 3\)"),
])
def test_a_wrong_state_or_step_input_names_the_layer_the_form_and_the_shape(make, x_shape, state, error, message):
    """Before: a wrong state reached the op (or a matmul) and its error did not name the layer."""
    with pytest.raises(error, match=message):
        make()(mb.zeros(*x_shape), state)


def test_a_given_state_is_used_and_numpy_sizes_are_accepted():
    cell = nn.LSTMCell(np.int64(3), np.int64(4))
    x = mb.randn(2, 3)
    h, c = np.ones((2, 4), np.float32), np.zeros((2, 4), np.float32)
    from_ones, from_zeros = cell(x, (h, c)), cell(x)
    assert not np.allclose(from_ones[0].numpy(), from_zeros[0].numpy())
