"""Convolutional layers on NCHW images: Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d.

Thin modules over the ops of ``autograd/ops/conv.py`` (im2col + one GEMM); they hold the
filters and check that the input is an image batch with the right number of channels, naming
the layer and the shapes when it is not.
"""

from __future__ import annotations

from .. import backend
from ..autograd import ops
from ..autograd.ops.conv import Geometry, _pair
from ..autograd.tensor import Tensor
from ._checks import positive_int
from . import init as initializers
from .module import Module, Parameter

__all__ = ["Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "Unflatten", "filter_init"]


def filter_init(init: object, shape: tuple[int, int, int, int], fan_in: int, dtype: object) -> object:
    """A filter bank of ``shape`` from a dense initialiser: fan_in = in channels x KH x KW per output.

    He et al. (2015) eq. 10 counts fan_in = k^2 c for a convolution (Var[w] = 2 / (k^2 c)); the
    dense initialisers read fan_in from the first axis, so they draw (fan_in, rest) and we reshape.
    """
    rest = shape[0] * shape[1] * shape[2] * shape[3] // fan_in  # i.i.d. draws: any reshape keeps the law
    return initializers.resolve(init)((fan_in, rest), dtype).T.reshape(shape).copy()


def _as_image(x: object, dtype: object, channels: int, layer: str, window: tuple | None = None) -> Tensor:
    """x as a 4-D Tensor with ``channels`` channels; ``window`` (kernel, stride, padding, dilation),
    where given, must fit in the padded image. Each failure is a ValueError naming the layer and x's shape."""
    x = x if isinstance(x, Tensor) else Tensor(backend.asarray(x, dtype=dtype))
    if x.ndim != 4:
        raise ValueError(f"{layer}: input must be 4-D (batch, channels, height, width), got shape {x.shape}")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{layer}: expected {channels} input channels, got input of shape {x.shape}")
    if window is not None:
        Geometry.of(f"{layer} on input of shape {tuple(x.shape)}", x.shape[2:], *window)
    return x


class Conv2d(Module):
    """y = conv2d(x, W) + b, W of shape (out_channels, in_channels / groups, KH, KW).

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size, stride, padding, dilation : int or (int, int)
    groups : int
        Both channel counts must be divisible by it.
    bias : bool
    init : "he", "glorot" or callable
        Initialiser of W with fan_in = in_channels / groups x KH x KW.
    dtype : dtype, optional

    Shapes: x (N, in_channels, H, W) -> y (N, out_channels, OH, OW),
    OH = floor((H + 2 padding - dilation (KH - 1) - 1) / stride) + 1.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, init: object = "he", dtype: object = None) -> None:
        super().__init__()
        layer = type(self).__name__
        in_channels = positive_int(in_channels, "in_channels", layer)
        out_channels = positive_int(out_channels, "out_channels", layer)
        groups = positive_int(groups, "groups", layer)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{layer}: in_channels {in_channels} and out_channels {out_channels} "
                             f"must both be divisible by groups {groups}")
        self.kernel_size = _pair(kernel_size, "kernel_size", layer, 1)
        self.stride, self.padding = _pair(stride, "stride", layer, 1), _pair(padding, "padding", layer, 0)
        self.dilation, self.groups = _pair(dilation, "dilation", layer, 1), groups
        self.in_channels, self.out_channels = in_channels, out_channels
        dtype = backend.get_default_dtype() if dtype is None else dtype
        self.weight = Parameter(self._initial_weight(init, dtype))
        self.bias = Parameter(backend.xp().zeros(self._bias_size(), dtype=dtype)) if bias else None

    def _initial_weight(self, init, dtype):
        kh, kw = self.kernel_size
        shape = (self.out_channels, self.in_channels // self.groups, kh, kw)
        return filter_init(init, shape, shape[1] * kh * kw, dtype)

    def _bias_size(self) -> int:
        return self.out_channels

    def _window(self) -> tuple:
        return self.kernel_size, self.stride, self.padding, self.dilation

    def forward(self, x: object) -> Tensor:
        x = _as_image(x, self.weight.dtype, self.in_channels, type(self).__name__, self._window())
        return ops.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}" + (f", dilation={self.dilation}" if self.dilation != (1, 1) else "")
                + (f", groups={self.groups}" if self.groups != 1 else "") + f", bias={self.bias is not None}")


class ConvTranspose2d(Conv2d):
    """x = conv_transpose2d(y, W) + b: the adjoint of a Conv2d(out_channels -> in_channels), upsampling by the stride.

    W has shape (in_channels, out_channels / groups, KH, KW) (PyTorch's layout).
    ``output_padding`` (< stride) adds rows/columns at the bottom/right:
    OH = (H - 1) stride - 2 padding + dilation (KH - 1) + output_padding + 1.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, init: object = "he", dtype: object = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, init, dtype)
        self.output_padding = _pair(output_padding, "output_padding", type(self).__name__, 0)

    def _initial_weight(self, init, dtype):
        kh, kw = self.kernel_size
        shape = (self.in_channels, self.out_channels // self.groups, kh, kw)
        # Each output pixel sums about in_channels x KH KW / stride^2 terms; in_channels x KH KW over-counts
        # by the stride^2 and so errs on the small (safe) side.
        return filter_init(init, shape, self.in_channels * kh * kw, dtype)

    def forward(self, x: object) -> Tensor:
        x = _as_image(x, self.weight.dtype, self.in_channels, type(self).__name__)
        return ops.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                    self.dilation, self.groups)


class MaxPool2d(Module):
    """Max over KH x KW windows (stride defaults to the kernel size). (N, C, H, W) -> (N, C, OH, OW)."""

    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        layer = type(self).__name__
        self.kernel_size = _pair(kernel_size, "kernel_size", layer, 1)
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride", layer, 1)
        self.padding = _pair(padding, "padding", layer, 0)

    def _pool(self, x):
        return ops.max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def forward(self, x: object) -> Tensor:
        window = self.kernel_size, self.stride, self.padding, 1
        return self._pool(_as_image(x, backend.get_default_dtype(), None, type(self).__name__, window))

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(MaxPool2d):
    """Mean over KH x KW windows (zero padding counted). (N, C, H, W) -> (N, C, OH, OW)."""

    def _pool(self, x):
        return ops.avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class Unflatten(Module):
    """(N, D) -> (N, *shape) with prod(shape) = D: flat vectors to images (decoders), the inverse of Flatten."""

    def __init__(self, *shape: int) -> None:
        super().__init__()
        for size in shape:
            positive_int(size, "shape", "Unflatten")
        self.shape = tuple(shape)

    def forward(self, x: object) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(backend.asarray(x))
        size = 1
        for s in self.shape:
            size *= s
        if x.ndim < 1 or x.size != x.shape[0] * size:
            raise ValueError(f"Unflatten: input of shape {x.shape} cannot become (N, *{self.shape})")
        return ops.reshape(x, (x.shape[0],) + self.shape)

    def extra_repr(self) -> str:
        return ", ".join(map(str, self.shape))
