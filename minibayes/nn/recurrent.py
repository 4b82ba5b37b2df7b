"""Recurrent cells (tanh RNN, LSTM), a layer that unrolls them over a sequence, and truncated BPTT.

Sequences are time-major: x of shape (T, N, input_size), outputs (T, N, hidden_size).

Elman RNN:  h_t = tanh(x_t W_x + h_{t-1} W_h + b).
LSTM (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000; the equations of
Graves 2013, "Generating sequences with recurrent neural networks", eqs. 7-11, without peepholes):

    [i, f, g, o] = x_t W_x + h_{t-1} W_h + b          (4 H pre-activations, one GEMM each)
    c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g)
    h_t = sigmoid(o) * tanh(c_t)

The input GEMM x_t W_x is done for all T steps at once before the loop; only h_{t-1} W_h is
sequential. Truncated backpropagation through time (Williams & Peng 1990): ``truncated_sequences``
cuts a long sequence into chunks, and the final state of one chunk, detached, starts the next,
so gradients reach back at most one chunk while the state carries information across all of them.
"""

from __future__ import annotations

import math
from typing import Iterator

from .. import backend
from ..autograd import ops
from ..autograd.tensor import Tensor
from ._checks import positive_int
from .module import Module, Parameter

__all__ = ["RNNCell", "LSTMCell", "Recurrent", "truncated_sequences", "detach_state"]


class RNNCell(Module):
    """One Elman step h' = tanh(x W_x + h W_h + b).

    Parameters
    ----------
    input_size, hidden_size : int
    dtype : dtype, optional

    Weights W_x (input_size, G H), W_h (hidden_size, G H), b (G H,) with G = 1 gate here (4 for
    the LSTM), drawn from U(-1/sqrt(H), 1/sqrt(H)) as is usual for recurrent layers.
    Shapes: x (N, input_size), state h (N, hidden_size).
    """

    gates = 1
    state_names = ("h",)  # what a state holds; the LSTM's is the pair (h, c)

    def __init__(self, input_size: int, hidden_size: int, dtype: object = None) -> None:
        super().__init__()
        layer = type(self).__name__
        self.input_size = positive_int(input_size, "input_size", layer)
        self.hidden_size = positive_int(hidden_size, "hidden_size", layer)
        dtype = backend.get_default_dtype() if dtype is None else dtype
        width = self.gates * self.hidden_size
        self._create_parameters((self.input_size, width), (self.hidden_size, width), (width,), dtype)

    def _create_parameters(self, input_shape, hidden_shape, bias_shape, dtype) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        generator = backend.rng()

        def uniform(shape):
            return ((generator.random(shape, dtype=dtype) * 2 - 1) * bound).astype(dtype)

        self.weight_input = Parameter(uniform(input_shape))
        self.weight_hidden = Parameter(uniform(hidden_shape))
        bias = backend.xp().zeros(bias_shape, dtype=dtype)
        if self.gates == 4:
            # Forget-gate bias 1 (Gers et al. 2000; Jozefowicz et al. 2015): remember by default early on.
            bias[self.hidden_size: 2 * self.hidden_size] = 1.0
        self.bias = Parameter(bias)

    @property
    def dtype(self):
        """The dtype of the cell's parameters (inputs are cast to it)."""
        return next(iter(self.parameters())).dtype

    def weights(self) -> tuple[Tensor, Tensor, Tensor]:
        """(W_x, W_h, b) used for one unrolled sequence (a Bayesian cell draws them here, once)."""
        return self.weight_input, self.weight_hidden, self.bias

    def initial_state(self, batch: int, like: Tensor):
        xp = backend.array_module(like.data)
        return Tensor(xp.zeros((batch, self.hidden_size), dtype=like.dtype))

    def checked_state(self, state, batch: int, like: Tensor, where: str):
        """``state`` (zeros like ``like`` if None) as Tensors of shape (batch, hidden_size); else an
        error naming ``where``, the form expected and the shape found."""
        if state is None:
            return self.initial_state(batch, like)
        names = self.state_names
        form = (f"a Tensor {names[0]}" if len(names) == 1 else f"a pair ({', '.join(names)}) of Tensors") + \
            f" of shape ({batch}, {self.hidden_size})"
        parts = (state,) if len(names) == 1 else state
        if not isinstance(parts, (tuple, list)) or len(parts) != len(names):
            raise TypeError(f"{where}: state must be {form} or None, got {type(state).__name__}")
        checked = tuple(_as_tensor(part, self.dtype) for part in parts)
        for name, part in zip(names, checked):
            if part.shape != (batch, self.hidden_size):
                raise ValueError(f"{where}: state must be {form}; {name} has shape {part.shape}")
        return checked[0] if len(names) == 1 else checked

    def step(self, input_part: Tensor, state, weight_hidden: Tensor):
        """One step from the precomputed x_t W_x + b: h' = tanh(. + h W_h)."""
        return ops.tanh(input_part + ops.matmul(state, weight_hidden))

    @staticmethod
    def output(state) -> Tensor:
        return state

    def unroll(self, input_parts: Tensor, state, weight_hidden: Tensor):
        """Every step from the precomputed x_t W_x + b (T, N, G H): (outputs (T, N, H), final state)."""
        outputs = []
        for t in range(input_parts.shape[0]):
            state = self.step(input_parts[t], state, weight_hidden)
            outputs.append(self.output(state))
        return ops.stack(outputs, axis=0), state

    def forward(self, x: object, state=None):
        """One step: x (N, input_size), state or None (zeros) -> the new state."""
        x = _as_tensor(x, self.dtype)
        layer = type(self).__name__
        if x.ndim != 2 or x.shape[1] != self.input_size:
            raise ValueError(f"{layer}: x must be (N, {self.input_size}), got shape {x.shape}")
        state = self.checked_state(state, x.shape[0], x, layer)
        weight_input, weight_hidden, bias = self.weights()
        return self.step(ops.linear(x, weight_input, bias), state, weight_hidden)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"


class LSTMCell(RNNCell):
    """One LSTM step (Graves 2013, eqs. 7-11 without peepholes); the state is the pair (h, c).

    Shapes: x (N, input_size), h and c (N, hidden_size). Gate order in the weights: i, f, g, o.
    """

    gates = 4
    state_names = ("h", "c")

    def initial_state(self, batch: int, like: Tensor):
        return super().initial_state(batch, like), super().initial_state(batch, like)

    def step(self, input_part: Tensor, state, weight_hidden: Tensor):
        h, c = state
        pre = input_part + ops.matmul(h, weight_hidden)
        size = self.hidden_size
        i, f = ops.sigmoid(pre[:, :size]), ops.sigmoid(pre[:, size: 2 * size])
        g, o = ops.tanh(pre[:, 2 * size: 3 * size]), ops.sigmoid(pre[:, 3 * size:])
        c = f * c + i * g
        return o * ops.tanh(c), c

    @staticmethod
    def output(state) -> Tensor:
        return state[0]

    def unroll(self, input_parts: Tensor, state, weight_hidden: Tensor):
        """All T steps as one fused node (``ops.lstm``: the same recursion as ``step``, with
        backpropagation through time in closed form) instead of ~15 graph nodes per step."""
        h, c = state
        hc = ops.lstm(input_parts, h, c, weight_hidden)  # (T, N, 2H): [h_t, c_t]
        size = self.hidden_size
        return hc[:, :, :size], (hc[-1, :, :size], hc[-1, :, size:])


def _as_tensor(x: object, dtype: object) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(backend.asarray(x, dtype=dtype))


class Recurrent(Module):
    """Unroll a cell over a time-major sequence: outputs h_1..h_T and the final state.

    Parameters
    ----------
    cell : RNNCell or LSTMCell (or a Bayesian cell)
        Its ``weights()`` are fetched once per call: a Bayesian cell draws one set of weights per
        (truncated) sequence batch, as Fortunato et al. (2017) do.

    ``forward(x, state=None)``: x (T, N, input_size) -> (outputs (T, N, hidden_size), final state).
    """

    def __init__(self, cell: RNNCell) -> None:
        super().__init__()
        if not isinstance(cell, RNNCell):
            raise TypeError(f"Recurrent: cell must be an RNNCell or LSTMCell, got {type(cell).__name__}")
        self.cell = cell

    def forward(self, x: object, state=None):
        cell = self.cell
        x = _as_tensor(x, cell.dtype)
        if x.ndim != 3 or x.shape[2] != cell.input_size:
            raise ValueError(f"Recurrent({type(cell).__name__}): x must be (T, N, {cell.input_size}), "
                             f"got shape {x.shape}")
        state = cell.checked_state(state, x.shape[1], x, f"Recurrent({type(cell).__name__})")
        weight_input, weight_hidden, bias = cell.weights()
        # One GEMM for the input contribution of every step; only h W_h stays in the loop.
        input_parts = ops.linear(x, weight_input, bias)
        return cell.unroll(input_parts, state, weight_hidden)

    def extra_repr(self) -> str:
        return ""


def detach_state(state):
    """The state with its history cut (a Tensor or a tuple of them): where truncated BPTT stops."""
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def truncated_sequences(x: object, y: object, length: int) -> Iterator[tuple[object, object]]:
    """Cut time-major (x, y) of shape (T, N, ...) into C = ceil(T / length) consecutive chunks along time.

    Carry the state across chunks with ``detach_state`` for truncated BPTT.
    """
    if isinstance(length, bool) or not isinstance(length, int) or length <= 0:
        raise ValueError(f"truncated_sequences: length must be a positive int, got {length!r}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"truncated_sequences: x and y must have the same length T, got {x.shape} and {y.shape}")
    for start in range(0, x.shape[0], length):
        yield x[start: start + length], y[start: start + length]
