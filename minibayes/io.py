"""Checkpoints: modules and optimisers to one ``.npz`` file, written atomically.

    mb.save({"model": model, "optimizer": optimizer}, "run.npz")
    checkpoint = mb.load("run.npz")                      # arrays on the host, plus metadata
    mb.load("run.npz", into={"model": model, "optimizer": optimizer})   # restore in place

The file is a plain NumPy ``.npz``: arrays under ``name/parameter`` keys and a
JSON ``__metadata__`` entry (format, minibayes version, backend, the shape and
dtype of every array). Arrays are stored as host NumPy arrays, so a checkpoint
written on the CuPy backend loads on NumPy and vice versa, bit for bit.
"""

from __future__ import annotations

import datetime
import json
import os
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Mapping

import numpy

from . import __version__, backend
from .nn.module import Module
from .optim import Optimizer

__all__ = ["save", "load", "Checkpoint"]

FORMAT = "minibayes-checkpoint/1"
_METADATA_KEY = "__metadata__"


class Checkpoint(dict):
    """Loaded checkpoint: object name -> its state (as ``state_dict()`` gives it); ``metadata`` alongside."""

    metadata: dict


def _entries(obj: object) -> dict[str, object]:
    if isinstance(obj, Module):
        return {"model": obj}
    if isinstance(obj, Optimizer):
        return {"optimizer": obj}
    if isinstance(obj, Mapping):
        for name in obj:
            if not isinstance(name, str) or not name or "/" in name:
                raise ValueError(f"save: names must be non-empty strings without '/', got {name!r}")
        return dict(obj)
    raise TypeError(f"save: obj must be a Module, an Optimizer or a dict of them, got {type(obj).__name__}")


def _flatten(entries: dict[str, object]) -> tuple[dict[str, numpy.ndarray], dict[str, dict]]:
    """Every array under a ``name/...`` key, and a description of each object to rebuild it."""
    arrays: dict[str, numpy.ndarray] = {}
    objects: dict[str, dict] = {}
    for name, item in entries.items():
        if isinstance(item, Module):
            objects[name] = {"kind": "module", "class": type(item).__name__}
            for key, value in item.state_dict().items():
                arrays[f"{name}/{key}"] = backend.to_numpy(value)
        elif isinstance(item, Optimizer):
            state = item.state_dict()
            objects[name] = {
                "kind": "optimizer",
                "type": state["type"],
                "hyperparameters": state["hyperparameters"],
                "step_count": state["step_count"],
                "buffers": [sorted(buffers) for buffers in state["state"]],
            }
            for index, buffers in enumerate(state["state"]):
                for key, value in buffers.items():
                    arrays[f"{name}/state/{index}/{key}"] = backend.to_numpy(value)
        else:
            raise TypeError(f"save: {name!r} must be a Module or an Optimizer, got {type(item).__name__}")
    return arrays, objects


def save(obj: object, path: str | os.PathLike, metadata: Mapping[str, object] | None = None) -> Path:
    """Write ``obj`` (a Module, an Optimizer, or a dict of them) to ``path`` atomically.

    The data goes to a temporary file in the same folder, is flushed to disk,
    and only then renamed over ``path``: a crash at any point leaves either the
    old file or the new one, never a torn one.

    Returns
    -------
    The path written.
    """
    path = Path(path)
    arrays, objects = _flatten(_entries(obj))
    info = {
        "format": FORMAT,
        "minibayes_version": __version__,
        "backend": backend.get_backend(),
        "saved_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "objects": objects,
        "arrays": {key: {"shape": list(a.shape), "dtype": str(a.dtype)} for key, a in arrays.items()},
        "user": dict(metadata or {}),
    }
    arrays[_METADATA_KEY] = numpy.frombuffer(json.dumps(info).encode("utf-8"), dtype=numpy.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            numpy.savez(handle, **arrays)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return path


def _read(path: Path) -> tuple[dict, dict[str, numpy.ndarray]]:
    if not path.exists():
        raise FileNotFoundError(f"load: no checkpoint at {path}")
    try:
        with numpy.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"load: {path} is not a readable .npz checkpoint ({exc})") from exc
    if _METADATA_KEY not in arrays:
        raise ValueError(f"load: {path} has no {_METADATA_KEY} entry; it was not written by minibayes.save")
    info = json.loads(arrays.pop(_METADATA_KEY).tobytes().decode("utf-8"))
    if info.get("format") != FORMAT:
        raise ValueError(f"load: {path} has format {info.get('format')!r}, expected {FORMAT!r}")
    for key, expected in info["arrays"].items():
        if key not in arrays:
            raise ValueError(f"load: {path} lacks the array {key!r} its metadata lists")
        found = arrays[key]
        if list(found.shape) != expected["shape"] or str(found.dtype) != expected["dtype"]:
            raise ValueError(
                f"load: {path}: {key!r} is {found.dtype} {tuple(found.shape)}, metadata says "
                f"{expected['dtype']} {tuple(expected['shape'])}"
            )
    return info, arrays


def load(path: str | os.PathLike, into: object = None) -> Checkpoint:
    """Read a checkpoint; with ``into`` (a Module, Optimizer or dict of them), restore them in place.

    Every object in ``into`` is validated (names, shapes, dtypes) before any is changed.
    """
    path = Path(path)
    info, arrays = _read(path)
    checkpoint = Checkpoint()
    checkpoint.metadata = info
    for name, description in info["objects"].items():
        prefix = f"{name}/"
        if description["kind"] == "module":
            checkpoint[name] = OrderedDict(
                (key[len(prefix):], value) for key, value in arrays.items() if key.startswith(prefix)
            )
        else:
            checkpoint[name] = {
                "type": description["type"],
                "hyperparameters": description["hyperparameters"],
                "step_count": description["step_count"],
                "state": [
                    {buffer: arrays[f"{name}/state/{index}/{buffer}"] for buffer in buffers}
                    for index, buffers in enumerate(description["buffers"])
                ],
            }
    if into is not None:
        _restore(checkpoint, _entries(into), path)
    return checkpoint


def _restore(checkpoint: Checkpoint, targets: dict[str, object], path: Path) -> None:
    missing = [name for name in targets if name not in checkpoint]
    if missing:
        raise ValueError(f"load: {path} holds {sorted(checkpoint)}, not {missing}")
    # Validate everything first (load_state_dict raises before copying), then restore.
    for name, target in targets.items():
        if isinstance(target, Module):
            own = dict(target.named_parameters())
            if set(own) != set(checkpoint[name]):
                raise ValueError(
                    f"load: {name!r} in {path} has parameters {sorted(checkpoint[name])}, "
                    f"the module has {sorted(own)}"
                )
    for name, target in targets.items():
        target.load_state_dict(checkpoint[name])
