"""Module and Parameter: the containers that networks are built from.

A ``Module`` registers its trainable ``Parameter`` s and its sub-modules by
plain attribute assignment::

    class TwoLayer(Module):
        def __init__(self):
            super().__init__()
            self.hidden = Dense(784, 400)       # a sub-module
            self.scale = Parameter(mb.ones(1))  # a parameter

and finds them again, in assignment order, for ``parameters()``,
``state_dict()`` and the optimisers.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Iterator, Mapping, NamedTuple

import numpy

from .. import backend
from ..autograd.tensor import Tensor

__all__ = ["Parameter", "Module", "Sequential", "IncompatibleKeys"]


class IncompatibleKeys(NamedTuple):
    """What a non-strict ``load_state_dict`` skipped (PyTorch's return value, by the same field names)."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def state_array(value: object, where: str) -> object:
    """The bare NumPy or CuPy array in a state-dict entry (an array or a Tensor); TypeError naming ``where`` else.

    State dicts hold arrays, never lists or Python numbers: a list would be
    silently cast to the default dtype, and a dtype is part of what a checkpoint promises.
    """
    data = value.data if isinstance(value, Tensor) else value
    if isinstance(data, (numpy.ndarray, numpy.generic)) or backend.backend_name_of(data) == "cupy":
        return data
    raise TypeError(f"{where} must be a NumPy or CuPy array (or a Tensor), got {type(value).__name__}")


class Parameter(Tensor):
    """A Tensor that a Module trains: it always requires grad.

    Parameters
    ----------
    data : array or Tensor
        Initial value, taken onto the active backend (floating dtypes only).
    """

    __slots__ = ()

    def __init__(self, data: object, name: str | None = None) -> None:
        array = data.data if isinstance(data, Tensor) else backend.asarray(data)
        super().__init__(array, requires_grad=True, name=name)

    def __repr__(self) -> str:
        return "Parameter" + super().__repr__()[len("tensor"):]


class Module:
    """Base class of every layer and model: ``forward`` plus bookkeeping of parameters.

    Subclasses call ``super().__init__()`` first, assign parameters and
    sub-modules as attributes, and define ``forward``.
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value: object) -> None:
        if "_parameters" not in self.__dict__:
            raise RuntimeError(
                f"{type(self).__name__}: call super().__init__() before assigning attributes"
            )
        if name in self._buffers:
            raise AttributeError(
                f"{type(self).__name__}.{name} is a buffer: change its array in place ({name}[...] = value) "
                "so that state dicts and optimisers keep seeing the same array"
            )
        # Re-assigning a name moves it between registries as its type changes.
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def register_buffer(self, name: str, array: object) -> None:
        """Keep ``array`` (a NumPy or CuPy array, never trained) as state: saved and loaded with the parameters.

        For state that is not a parameter but that a loaded model must get back, such as
        a fixed random permutation or whether a data-dependent initialisation has run.
        """
        if "_buffers" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before registering buffers")
        if not isinstance(name, str) or not name.isidentifier() or hasattr(self, name) and name not in self._buffers:
            raise ValueError(f"{type(self).__name__}.register_buffer: name must be a new attribute name, got {name!r}")
        state_array(array, f"{type(self).__name__}.register_buffer: array")
        self._buffers[name] = array
        object.__setattr__(self, name, array)

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, object]]:
        """(dotted name, array) pairs of the buffers of this module and all sub-modules."""
        for module_name, module in self.named_modules(prefix):
            for name, array in module._buffers.items():
                yield (f"{module_name}.{name}" if module_name else name), array

    def __delattr__(self, name: str) -> None:
        self._buffers.pop(name, None)
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    # ------------------------------------------------------------------ calling
    def forward(self, *args: object, **kwargs: object) -> object:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: object, **kwargs: object) -> object:
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------------ traversal
    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs of this module and all sub-modules, each parameter once."""
        seen: set[int] = set()
        for module_name, module in self.named_modules(prefix):
            for name, parameter in module._parameters.items():
                if id(parameter) not in seen:
                    seen.add(id(parameter))
                    yield (f"{module_name}.{name}" if module_name else name), parameter

    def parameters(self) -> Iterator[Parameter]:
        for _, parameter in self.named_parameters():
            yield parameter

    def named_children(self) -> Iterator[tuple[str, Module]]:
        yield from self._modules.items()

    def children(self) -> Iterator[Module]:
        yield from self._modules.values()

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every module below it, depth first, with dotted names."""
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    # ------------------------------------------------------------------ modes
    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active) for this module and all below it."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Evaluation mode (dropout off, unless it is an MC dropout layer)."""
        return self.train(False)

    def zero_grad(self) -> None:
        for parameter in self.parameters():
            parameter.grad = None

    # ------------------------------------------------------------------ state
    def state_dict(self) -> OrderedDict[str, object]:
        """Dotted parameter names mapped to their arrays (references, not copies), in ``named_parameters`` order,
        then the buffers (``register_buffer``) in ``named_buffers`` order."""
        state = OrderedDict((name, parameter.data) for name, parameter in self.named_parameters())
        state.update(self.named_buffers())
        return state

    def load_state_dict(self, state_dict: Mapping[str, object], strict: bool = True) -> IncompatibleKeys:
        """Copy arrays from ``state_dict`` (as ``state_dict()`` or ``mb.load`` gives it) into the parameters, in place.

        Every name, shape and dtype is checked before anything is copied, so a
        mismatch leaves the module untouched. With ``strict=False`` missing and
        unexpected names are skipped (and returned), but shapes and dtypes must still agree.

        Returns
        -------
        IncompatibleKeys
            ``(missing_keys, unexpected_keys)``; both empty after a strict load.

        Raises
        ------
        TypeError
            If ``state_dict`` is not a mapping of names to arrays, or ``strict`` is not a bool.
        ValueError
            Listing the missing and unexpected names and each shape or dtype that differs.
        """
        return self._prepare_load(state_dict, strict)()

    def _prepare_load(self, state_dict: Mapping[str, object], strict: bool = True) -> Callable[[], IncompatibleKeys]:
        """Validate ``state_dict`` and stage its arrays on the parameters' backend; return the commit.

        Splitting the check from the copy lets ``mb.load(path, into=...)`` validate
        every object of a checkpoint before it changes any. The commit only copies
        arrays whose shapes and dtypes were checked, so it cannot fail half way.
        """
        where = f"load_state_dict into {type(self).__name__}"
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"{where}: state_dict must be a mapping of names to arrays, got {type(state_dict).__name__}"
            )
        if not isinstance(strict, bool):
            raise TypeError(f"{where}: strict must be True or False, got {strict!r}")
        own = {name: parameter.data for name, parameter in self.named_parameters()}
        own.update(self.named_buffers())
        missing = [name for name in own if name not in state_dict]
        unexpected = [name for name in state_dict if name not in own]
        problems = []
        if strict and missing:
            problems.append(f"missing: {missing}")
        if strict and unexpected:
            problems.append(f"unexpected: {unexpected}")
        staged = []
        for name, target in own.items():
            if name not in state_dict:
                continue
            value = state_array(state_dict[name], f"{where}: state_dict[{name!r}]")
            if tuple(value.shape) != tuple(target.shape):
                problems.append(f"{name}: shape {tuple(value.shape)} in state, {tuple(target.shape)} in module")
            elif value.dtype != target.dtype:
                problems.append(f"{name}: dtype {value.dtype} in state, {target.dtype} in module")
            else:
                staged.append((target, backend.on_backend_of(target, value)))
        if problems:
            raise ValueError(f"{where}: " + "; ".join(problems))

        def commit() -> IncompatibleKeys:
            for target, value in staged:
                target[...] = value
            return IncompatibleKeys(missing, unexpected)

        return commit

    # ------------------------------------------------------------------ display
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, child in self._modules.items():
            child_lines = repr(child).splitlines()
            lines.append(f"  ({name}): " + "\n  ".join(child_lines))
        return lines[0] + ")" if len(lines) == 1 else "\n".join(lines) + "\n)"


class Sequential(Module):
    """Modules applied one after the other: ``Sequential(Dense(2, 8), ReLU(), Dense(8, 1))``."""

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for index, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: argument {index} must be a Module, got {type(module).__name__}")
            setattr(self, str(index), module)

    def forward(self, x: object) -> object:
        for module in self._modules.values():
            x = module(x)
        return x

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())
