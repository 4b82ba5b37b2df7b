"""The LSTM recursion over a whole sequence as one fused op (forward, and backpropagation through time).

With the input contributions a_t^x = x_t W_x + b precomputed for all T steps (one GEMM), the
recursion (Graves 2013, eqs. 7-11 without peepholes; gate order i, f, g, o) is

    a_t = a_t^x + h_{t-1} W_h                      (N, 4H)
    i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o),   g = tanh(a_g)
    c_t = f * c_{t-1} + i * g,    h_t = o * tanh(c_t).

Written with graph ops that is about 15 nodes per step forward and as many backward, and the
engine's per-node Python cost, not arithmetic, sets the speed of a 64-unit LSTM. Here the forward
is one node (a Python loop over t of a handful of array calls each) and the backward is one more
(``FusedGradient``): backpropagation through time in closed form, from t = T down to 1,

    dc_t += dh_t * o * (1 - tanh(c_t)^2)
    da_i = dc_t g i (1 - i),  da_f = dc_t c_{t-1} f (1 - f),  da_g = dc_t i (1 - g^2),
    da_o = dh_t tanh(c_t) o (1 - o)
    dh_{t-1} = da_t W_h^T,   dc_{t-1} = dc_t * f,   dW_h = sum_t h_{t-1}^T da_t   (one GEMM at the end).

``_lstm_twin`` is the same recursion in graph ops: the readable definition, and the route of
second derivatives (see ``fused.py``).
"""

from __future__ import annotations

from ... import backend
from ..function import Function
from ..tensor import Tensor
from .elementwise import sigmoid, tanh
from .fused import FusedGradient, unpack
from .linalg import matmul
from .shape import concatenate, stack

__all__ = ["lstm"]

_xp = backend.array_module


def _gate_affine(xp, hidden: int, dtype):
    """(scale, offset) with act = tanh(a * scale) * scale + offset: sigmoid(a) = tanh(a/2)/2 + 1/2 for
    the i, f, o gates (the tanh form never overflows), tanh(a) for g: all four gates in two calls."""
    scale = xp.full(4 * hidden, 0.5, dtype=dtype)
    scale[2 * hidden: 3 * hidden] = 1.0
    offset = xp.full(4 * hidden, 0.5, dtype=dtype)
    offset[2 * hidden: 3 * hidden] = 0.0
    return scale, offset


class LSTM(Function):
    """hc (T, N, 2H) = [h_t, c_t] for t = 1..T from (a^x (T, N, 4H), h_0 (N, H), c_0 (N, H), W_h (H, 4H))."""

    def forward(self, inputs, h0, c0, weight):
        xp = _xp(inputs)
        steps, batch, width = inputs.shape
        hidden = width // 4
        scale, offset = _gate_affine(xp, hidden, inputs.dtype)
        acts = xp.empty_like(inputs)  # gate activations i, f, g, o, kept for the backward
        out = xp.empty((steps, batch, 2 * hidden), dtype=inputs.dtype)
        tanh_c = xp.empty((steps, batch, hidden), dtype=inputs.dtype)
        h, c = h0, c0
        for t in range(steps):
            a = acts[t]
            xp.matmul(h, weight, out=a)
            a += inputs[t]
            a *= scale
            xp.tanh(a, out=a)
            a *= scale
            a += offset
            h, c = out[t, :, :hidden], out[t, :, hidden:]
            xp.multiply(a[:, hidden: 2 * hidden], c0 if t == 0 else out[t - 1, :, hidden:], out=c)
            c += a[:, :hidden] * a[:, 2 * hidden: 3 * hidden]
            xp.tanh(c, out=tanh_c[t])
            xp.multiply(a[:, 3 * hidden:], tanh_c[t], out=h)
        self.acts, self.tanh_c, self.hc = acts, tanh_c, out
        return out

    def backward(self, g):
        shapes = [x.shape for x in self.inputs]
        flat = FusedGradient(self._through_time, _lstm_twin)(*self.inputs, g)
        return unpack(flat, shapes)

    def _through_time(self, g):
        """Backpropagation through time on arrays: the gradients of (a^x, h_0, c_0, W_h), packed flat."""
        inputs, h0, c0, weight = (x.data for x in self.inputs)
        out, acts, tanh_c = self.hc, self.acts, self.tanh_c
        xp = _xp(g)
        steps, batch, width = inputs.shape
        hidden = width // 4
        i, f, gate, o = (acts[..., k * hidden: (k + 1) * hidden] for k in range(4))
        c_prev = xp.concatenate([c0[None], out[:-1, :, hidden:]])
        h_prev = xp.concatenate([h0[None], out[:-1, :, :hidden]])
        # Every factor that does not depend on the incoming gradient, for all steps at once.
        through_c = acts * (1 - acts)                      # sigmoid' = s (1 - s) for i, f, o
        through_c[..., :hidden] *= gate                    # da_i / dc_t
        through_c[..., hidden: 2 * hidden] *= c_prev       # da_f / dc_t
        through_c[..., 2 * hidden: 3 * hidden] = i * (1 - gate * gate)  # da_g / dc_t
        through_c[..., 3 * hidden:] = 0.0
        through_h = tanh_c * o * (1 - o)                   # da_o / dh_t
        h_to_c = o * (1 - tanh_c * tanh_c)                 # dc_t / dh_t
        sizes = [steps * batch * width, batch * hidden, batch * hidden, hidden * width]
        flat = xp.empty(sum(sizes), dtype=g.dtype)
        grad_inputs = flat[: sizes[0]].reshape(steps, batch, width)
        dh, dc = xp.zeros((batch, hidden), dtype=g.dtype), xp.zeros((batch, hidden), dtype=g.dtype)
        for t in range(steps - 1, -1, -1):
            dh += g[t, :, :hidden]
            dc += g[t, :, hidden:]
            dc += dh * h_to_c[t]
            da = grad_inputs[t]
            xp.multiply(through_c[t].reshape(batch, 4, hidden), dc[:, None, :], out=da.reshape(batch, 4, hidden))
            xp.multiply(dh, through_h[t], out=da[:, 3 * hidden:])
            dc *= f[t]
            dh = da @ weight.T
        start = sizes[0]
        flat[start: start + sizes[1]] = dh.reshape(-1)
        flat[start + sizes[1]: start + sizes[1] + sizes[2]] = dc.reshape(-1)
        flat[-sizes[3]:] = (h_prev.reshape(-1, hidden).T @ grad_inputs.reshape(-1, width)).reshape(-1)
        return flat


def _lstm_twin(inputs: Tensor, h: Tensor, c: Tensor, weight: Tensor) -> Tensor:
    """The same recursion in graph ops, step by step (the definition; second derivatives go through it)."""
    hidden = h.shape[1]
    pieces = []
    for t in range(inputs.shape[0]):
        a = inputs[t] + matmul(h, weight)
        c = sigmoid(a[:, hidden: 2 * hidden]) * c + sigmoid(a[:, :hidden]) * tanh(a[:, 2 * hidden: 3 * hidden])
        h = sigmoid(a[:, 3 * hidden:]) * tanh(c)
        pieces.append(concatenate([h, c], axis=1))
    return stack(pieces, axis=0)


def lstm(inputs: object, h0: object, c0: object, weight_hidden: object) -> Tensor:
    """The LSTM recursion over T steps in one node; returns hc (T, N, 2H), hc[t] = [h_{t+1}, c_{t+1}].

    Parameters
    ----------
    inputs : Tensor of shape (T, N, 4H)
        a_t^x = x_t W_x + b for every step, gate order i, f, g, o.
    h0, c0 : Tensors of shape (N, H)
        The state before the first step.
    weight_hidden : Tensor of shape (H, 4H)
        W_h.
    """
    inputs, h0, c0, weight_hidden = (x if isinstance(x, Tensor) else Tensor.constant(x)
                                     for x in (inputs, h0, c0, weight_hidden))
    if inputs.ndim != 3 or inputs.shape[2] % 4:
        raise ValueError(f"lstm: inputs must be (T, N, 4H), got shape {inputs.shape}")
    steps, batch, width = inputs.shape
    hidden = width // 4
    for name, value, shape in (("h0", h0, (batch, hidden)), ("c0", c0, (batch, hidden)),
                               ("weight_hidden", weight_hidden, (hidden, width))):
        if value.shape != shape:
            raise ValueError(f"lstm: {name} must have shape {shape} for inputs {inputs.shape}, got {value.shape}")
    if steps == 0:
        raise ValueError("lstm: inputs must have at least one time step")
    return LSTM()(inputs, h0, c0, weight_hidden)
