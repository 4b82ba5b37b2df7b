"""Checkpoints: modules, optimisers and their state dicts to one ``.npz`` file, written atomically.

Two idioms, one file format::

    # PyTorch's: state dicts in, state dicts out
    mb.save(model.state_dict(), "model.npz")
    model.load_state_dict(mb.load("model.npz"))
    mb.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, "run.npz")

    # whole objects, restored in place after every one of them has been checked against the file
    mb.save({"model": model, "optimizer": optimizer}, "run.npz")
    checkpoint = mb.load("run.npz")                      # name -> state dict, plus .metadata
    mb.load("run.npz", into={"model": model, "optimizer": optimizer})

The file is a plain NumPy ``.npz`` (an uncompressed zip, each member CRC-checked):
arrays under ``name/parameter`` keys and a JSON ``__metadata__`` entry (format,
minibayes version, backend, the objects and the shape and dtype of every array).
Arrays are stored as host NumPy arrays, so a checkpoint written on the CuPy
backend loads on NumPy and vice versa, bit for bit. A file that is not such a
checkpoint, or is truncated, corrupted or inconsistent, raises ``CheckpointError``.
"""

from __future__ import annotations

import datetime
import json
import os
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Mapping

import numpy

from . import __version__, backend
from ._checkpoint_file import FORMAT, CheckpointError, read_checkpoint, write_checkpoint
from .nn.module import Module, state_array
from .optim import Optimizer

__all__ = ["save", "load", "Checkpoint", "CheckpointError"]

_OPTIMIZER_KEYS = ("type", "hyperparameters", "step_count", "state")


class Checkpoint(dict):
    """A loaded checkpoint: name -> state dict (or, for a saved state dict, that state dict); ``metadata`` beside."""

    def __init__(self, items: Mapping[str, object] = (), metadata: dict | None = None) -> None:
        super().__init__(items)
        self.metadata = metadata if metadata is not None else {}


# --------------------------------------------------------------------------- save
def save(obj: object, path: str | os.PathLike, metadata: Mapping[str, object] | None = None) -> Path:
    """Write ``obj`` to ``path`` atomically.

    Parameters
    ----------
    obj : Module, Optimizer, state dict, or dict of them
        A module's ``state_dict()`` (names -> arrays) or an optimiser's loads back as
        that state dict; a Module or Optimizer alone is stored under "model" or
        "optimizer"; a dict ``{name: Module | Optimizer | state dict}`` under its names.
    path : str or os.PathLike
    metadata : dict, optional
        JSON-serialisable user data, returned as ``load(path).metadata["user"]``.

    The data goes to a temporary file in the same folder, is flushed to disk, and
    only then renamed over ``path``: a crash at any point leaves either the old
    file or the new one, never a torn one. A successful save also removes the
    temporaries that writers killed mid-save left beside ``path``.

    Returns
    -------
    The path written.
    """
    path = _as_path(path, "save")
    entries, root = _entries(obj)
    arrays: dict[str, numpy.ndarray] = {}
    objects: dict[str, dict] = {}
    for name, item in entries.items():
        objects[name] = _flatten(name, item, arrays)
    if metadata is not None and not isinstance(metadata, Mapping):
        raise TypeError(f"save: metadata must be a dict, got {type(metadata).__name__}")
    info = {
        "format": FORMAT,
        "minibayes_version": __version__,
        "backend": backend.get_backend(),
        "saved_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "objects": objects,
        "arrays": {key: {"shape": list(a.shape), "dtype": str(a.dtype)} for key, a in arrays.items()},
        "user": dict(metadata or {}),
    }
    if root is not None:
        info["root"] = root
    try:
        text = json.dumps(info)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"save: metadata must be JSON-serialisable ({exc})") from exc
    write_checkpoint(path, text, arrays)
    return path


def _as_path(path: object, caller: str) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{caller}: path must be a str or os.PathLike, got {type(path).__name__}")
    return Path(path)


def _is_optimizer_state(item: object) -> bool:
    return isinstance(item, Mapping) and set(item) == set(_OPTIMIZER_KEYS)


def _is_module_state(item: object) -> bool:
    """A mapping of names to arrays: what ``Module.state_dict()`` returns (empty for a module without parameters)."""
    if not isinstance(item, Mapping):
        return False
    for value in item.values():
        try:
            state_array(value, "")
        except TypeError:
            return False
    return True


def _entries(obj: object) -> tuple[dict[str, object], str | None]:
    """The named objects to store, and the name ``load`` returns unwrapped (for a bare state dict)."""
    if isinstance(obj, Module):
        return {"model": obj}, None
    if isinstance(obj, Optimizer):
        return {"optimizer": obj}, None
    if _is_optimizer_state(obj):
        return {"optimizer": obj}, "optimizer"
    if _is_module_state(obj):
        return {"model": obj}, "model"
    if isinstance(obj, Mapping):
        for name in obj:
            if not isinstance(name, str) or not name or "/" in name:
                raise ValueError(f"save: names must be non-empty strings without '/', got {name!r}")
        return dict(obj), None
    raise TypeError(
        f"save: obj must be a Module, an Optimizer, a state dict or a dict of them, got {type(obj).__name__}"
    )


def _flatten(name: str, item: object, arrays: dict[str, numpy.ndarray]) -> dict:
    """Add ``item``'s arrays under ``name/...`` keys to ``arrays``; return its description for the metadata."""
    if isinstance(item, (Module, Optimizer)):
        item = item.state_dict()
    if _is_optimizer_state(item):
        return _flatten_optimizer(name, item, arrays)
    if not isinstance(item, Mapping):
        raise TypeError(
            f"save: obj[{name!r}] must be a Module, an Optimizer or a state dict, got {type(item).__name__}"
        )
    for key, value in item.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"save: the names in obj[{name!r}] must be non-empty strings, got {key!r}")
        arrays[f"{name}/{key}"] = _host_array(value, f"save: obj[{name!r}][{key!r}]")
    return {"kind": "module"}


def _flatten_optimizer(name: str, state: Mapping[str, object], arrays: dict[str, numpy.ndarray]) -> dict:
    where = f"save: obj[{name!r}]"
    if not isinstance(state["type"], str):
        raise TypeError(f"{where}['type'] must be the optimiser's class name, got {state['type']!r}")
    hyperparameters = state["hyperparameters"]
    if not isinstance(hyperparameters, Mapping):
        raise TypeError(f"{where}['hyperparameters'] must be a dict, got {type(hyperparameters).__name__}")
    plain = {}
    for key, value in hyperparameters.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, numpy.integer, numpy.floating)):
            raise TypeError(f"{where}['hyperparameters'][{key!r}] must be a number, got {value!r}")
        plain[str(key)] = value.item() if isinstance(value, numpy.generic) else value
    step_count = state["step_count"]
    if isinstance(step_count, bool) or not isinstance(step_count, (int, numpy.integer)) or step_count < 0:
        raise ValueError(f"{where}['step_count'] must be a non-negative integer, got {step_count!r}")
    buffers = state["state"]
    if not isinstance(buffers, (list, tuple)) or not all(isinstance(b, Mapping) for b in buffers):
        raise TypeError(f"{where}['state'] must be a list of per-parameter dicts of arrays")
    for index, per_parameter in enumerate(buffers):
        for key, value in per_parameter.items():
            if not isinstance(key, str) or not key:
                raise TypeError(f"{where}['state'][{index}]: buffer names must be non-empty strings, got {key!r}")
            arrays[f"{name}/state/{index}/{key}"] = _host_array(value, f"{where}['state'][{index}][{key!r}]")
    return {
        "kind": "optimizer",
        "type": state["type"],
        "hyperparameters": plain,
        "step_count": int(step_count),
        "buffers": [list(per_parameter) for per_parameter in buffers],
    }


def _host_array(value: object, where: str) -> numpy.ndarray:
    array = backend.to_numpy(state_array(value, where))
    # Only plain numbers: load reads with allow_pickle=False, so an object array could be written but never read.
    if array.dtype.kind not in "biufc":
        raise TypeError(f"{where} must hold numbers, got dtype {array.dtype}")
    return array


# --------------------------------------------------------------------------- load
def load(path: str | os.PathLike, into: object = None) -> Checkpoint:
    """Read a checkpoint; with ``into``, restore the objects it names in place.

    Parameters
    ----------
    path : str or os.PathLike
    into : Module, Optimizer or dict {name: Module | Optimizer}, optional
        A bare Module (Optimizer) takes the file's "model" ("optimizer"), or its only
        module (optimiser). Every object is checked against the file (parameter
        names, shapes, dtypes; optimiser type, hyperparameters and buffers) before
        any is changed, so a mismatch leaves all of them as they were.

    Returns
    -------
    Checkpoint
        name -> state dict with host NumPy arrays; for a file written from one state
        dict, that state dict itself (ready for ``load_state_dict``). ``.metadata``
        holds the file's metadata, the user's under "user".

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    CheckpointError
        If the file is not a readable, consistent minibayes checkpoint (it names the file).
    ValueError, TypeError
        If an object in ``into`` does not fit the file (nothing is changed then).
    """
    path = _as_path(path, "load")
    info, arrays = read_checkpoint(path)
    checkpoint = Checkpoint(metadata=info)
    for name, description in info["objects"].items():
        checkpoint[name] = _state_of(name, description, info, arrays)
    if into is not None:
        _restore(checkpoint, into, path)
    root = info.get("root")
    return checkpoint if root is None else Checkpoint(checkpoint[root], metadata=info)


def _state_of(name: str, description: dict, info: dict, arrays: dict[str, numpy.ndarray]) -> object:
    prefix = f"{name}/"
    if description["kind"] == "module":
        # In the order the metadata lists them, which is the module's named_parameters order.
        return OrderedDict((key[len(prefix):], arrays[key]) for key in info["arrays"] if key.startswith(prefix))
    return {
        "type": description["type"],
        "hyperparameters": dict(description["hyperparameters"]),
        "step_count": description["step_count"],
        "state": [{buffer: arrays[f"{prefix}state/{index}/{buffer}"] for buffer in buffers}
                  for index, buffers in enumerate(description["buffers"])],
    }


def _targets(into: object, checkpoint: Checkpoint, path: Path) -> dict[str, Module | Optimizer]:
    """``into`` as {name in the file: object}, checked against the kinds the file holds."""
    kinds = {name: d["kind"] for name, d in checkpoint.metadata["objects"].items()}
    if isinstance(into, (Module, Optimizer)):
        kind, default = ("module", "model") if isinstance(into, Module) else ("optimizer", "optimizer")
        names = [name for name, k in kinds.items() if k == kind]
        if default in names:
            return {default: into}
        if len(names) == 1:
            return {names[0]: into}
        raise ValueError(f"load: {path} holds the {kind}s {names}; pass into={{name: object}} to choose one")
    if not isinstance(into, Mapping):
        raise TypeError(
            f"load: into must be a Module, an Optimizer or a dict of them, got {type(into).__name__}"
        )
    absent = [name for name in into if name not in kinds]
    if absent:
        raise ValueError(f"load: {path} holds {sorted(kinds)}, not {absent}")
    for name, target in into.items():
        if not isinstance(target, (Module, Optimizer)):
            raise TypeError(f"load: into[{name!r}] must be a Module or an Optimizer, got {type(target).__name__}")
        wanted = "module" if isinstance(target, Module) else "optimizer"
        if kinds[name] != wanted:
            article = "an" if wanted == "optimizer" else "a"
            raise ValueError(f"load: {name!r} in {path} holds a {kinds[name]}'s state, "
                             f"into[{name!r}] wants {article} {wanted}'s")
    return dict(into)


def _restore(checkpoint: Checkpoint, into: object, path: Path) -> None:
    """Check every target against the file and stage its arrays; only then commit them all."""
    commits: list[Callable[[], object]] = []
    for name, target in _targets(into, checkpoint, path).items():
        try:
            commits.append(target._prepare_load(checkpoint[name]))
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"load: {name!r} in {path} does not fit: {exc}") from exc
    for commit in commits:
        commit()
