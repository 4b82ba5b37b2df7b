"""The checkpoint file: an ``.npz`` written atomically, and read back only once every byte of it is checked.

Layout: one ``.npy`` member per array, under ``name/...`` keys, and a UTF-8 JSON
``__metadata__`` member (a uint8 array) that lists every object and the shape
and dtype of every array. ``read_checkpoint`` holds a file to all of it: a file
that is not a zip, is truncated or corrupted (the zip's CRC-32 of each member
catches a flipped bit), or whose metadata is malformed or disagrees with what is
stored raises ``CheckpointError`` naming the file, never a half-read state.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path
from typing import BinaryIO

import numpy

try:
    import fcntl
except ImportError:  # Windows: no advisory locks, so a live writer's temporary cannot be told from a dead one's
    fcntl = None

__all__ = ["CheckpointError", "FORMAT", "METADATA_KEY", "read_checkpoint", "write_checkpoint"]

FORMAT = "minibayes-checkpoint/1"
METADATA_KEY = "__metadata__"
# ".<file name>.<16 hex digits>.tmp": the random part tells save's temporaries from anything else beside the file.
_TEMPORARY_SUFFIX = re.compile(r"[0-9a-f]{16}\.tmp")
# Every zip starts with a local file header, or (empty) with the end-of-central-directory record.
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


class CheckpointError(ValueError):
    """A file that is not a readable, consistent minibayes checkpoint (truncated, corrupted, malformed)."""


# --------------------------------------------------------------------------- atomic writes
def write_checkpoint(path: Path, metadata: str, arrays: dict[str, numpy.ndarray]) -> None:
    """Write ``arrays`` and the JSON text ``metadata`` to ``path`` as an ``.npz``, atomically.

    The data goes to a locked temporary beside ``path``, is flushed to disk and
    renamed over ``path`` (and the folder flushed): a crash at any point leaves the
    old file or the new one. Then the temporaries of writers killed mid-save go.
    """
    arrays = {**arrays, METADATA_KEY: numpy.frombuffer(metadata.encode("utf-8"), dtype=numpy.uint8)}
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary, locked = _create_temporary(path)
    try:
        with handle:
            numpy.savez(handle, **arrays)
            handle.flush()
            os.fsync(handle.fileno())
            if locked:
                # Renamed before the lock is released: a save sweeping the folder meanwhile
                # finds this temporary locked (a live writer's), never free to delete.
                os.replace(temporary, path)
        if not locked:
            os.replace(temporary, path)  # after closing: Windows cannot rename a file that is open
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    _sync_folder(path.parent)
    if locked:  # without locks a live writer's temporary looks like a dead one's: leave them all
        _remove_stray_temporaries(path)


def _create_temporary(path: Path) -> tuple[BinaryIO, Path, bool]:
    """A new file ``.<name>.<16 hex digits>.tmp`` beside ``path``, open for writing; and whether it is locked.

    A writer holds an exclusive lock on its temporary until it is renamed, and the
    OS releases the lock when a writer dies: an unlocked temporary is a killed
    writer's leftover. Without locks (Windows, some network file systems) none is taken.
    """
    while True:
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        try:
            # Mode 0o666 less the umask, as open() gives: the checkpoint gets the permissions of any new file.
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            continue
        handle = os.fdopen(descriptor, "wb")
        if fcntl is None:
            return handle, temporary, False
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        except OSError:  # a file system without locks
            return handle, temporary, False
        # Another save's sweep may have taken the file, still unlocked, for a leftover and
        # removed it between our open and our lock: then start again under a new name.
        try:
            if os.stat(temporary).st_ino == os.fstat(descriptor).st_ino:
                return handle, temporary, True
        except FileNotFoundError:
            pass
        handle.close()


def _remove_stray_temporaries(path: Path) -> None:
    """Delete the unlocked temporaries of ``path``: those of writers killed mid-save (live writers hold a lock).

    Housekeeping after a save that has succeeded, so a folder that cannot be listed is no error.
    """
    prefix = f".{path.name}."
    try:
        with os.scandir(path.parent) as entries:
            strays = [e.path for e in entries if e.name.startswith(prefix)
                      and _TEMPORARY_SUFFIX.fullmatch(e.name[len(prefix):])]
    except OSError:
        return
    for stray in strays:
        try:
            descriptor = os.open(stray, os.O_RDONLY)
        except OSError:  # already removed by another save's sweep, or not ours to open
            continue
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.unlink(stray)
        except OSError:  # locked: a writer is still at work on it (or it went meanwhile)
            pass
        finally:
            os.close(descriptor)


def _sync_folder(folder: Path) -> None:
    """Flush the folder entry too, so that the rename itself survives a power cut (best effort, POSIX only).

    The file's data is already on disk; some file systems cannot fsync a folder, and that is no reason to fail.
    """
    if os.name != "posix":
        return
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


# --------------------------------------------------------------------------- reading
def read_checkpoint(path: Path) -> tuple[dict, dict[str, numpy.ndarray]]:
    """The validated metadata and the host arrays of the checkpoint at ``path``.

    Raises FileNotFoundError if there is no file, CheckpointError if it is not a
    readable, self-consistent checkpoint (the message names ``path``).
    """
    if not path.exists():
        raise FileNotFoundError(f"load: no checkpoint at {path}")
    with open(path, "rb") as handle:
        if handle.read(4) not in _ZIP_MAGIC:
            raise CheckpointError(f"load: {path} is not a checkpoint: not a zip (.npz) file")
        handle.seek(0)
        try:
            with numpy.load(handle, allow_pickle=False) as archive:
                arrays = {key: archive[key] for key in archive.files}
        # A corrupted zip surfaces as any of a dozen types (BadZipFile on a bad CRC or header,
        # NotImplementedError on a flipped compression method, OSError on a seek before the
        # start, ValueError or UnicodeDecodeError from an .npy header...): all mean the same.
        except Exception as exc:  # noqa: BLE001
            raise CheckpointError(
                f"load: {path} is truncated or corrupted ({type(exc).__name__}: {exc})"
            ) from exc
    if METADATA_KEY not in arrays:
        raise CheckpointError(f"load: {path} has no {METADATA_KEY} entry; it was not written by minibayes.save")
    info = _parse_metadata(arrays.pop(METADATA_KEY), path)
    _check_arrays(info, arrays, path)
    _check_objects(info, path)
    return info, arrays


def _parse_metadata(raw: numpy.ndarray, path: Path) -> dict:
    if raw.dtype != numpy.uint8 or raw.ndim != 1:
        raise CheckpointError(f"load: {path}: {METADATA_KEY} must be UTF-8 bytes, got {raw.dtype} {raw.shape}")
    try:
        info = json.loads(raw.tobytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CheckpointError(f"load: {path}: the metadata is not UTF-8 ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"load: {path}: the metadata is not JSON ({exc})") from exc
    if not isinstance(info, dict):
        raise CheckpointError(f"load: {path}: the metadata must be a JSON object, got {type(info).__name__}")
    absent = [key for key in ("format", "objects", "arrays") if key not in info]
    if absent:
        raise CheckpointError(f"load: {path}: the metadata lacks {absent}")
    if info["format"] != FORMAT:
        raise CheckpointError(f"load: {path} has format {info['format']!r}, expected {FORMAT!r}")
    if not isinstance(info.get("user", {}), dict):
        raise CheckpointError(f"load: {path}: the metadata's 'user' must be an object")
    return info


def _check_arrays(info: dict, arrays: dict[str, numpy.ndarray], path: Path) -> None:
    """Every array the metadata lists is stored with its shape and dtype, and nothing else is stored."""
    listed = info["arrays"]
    if not isinstance(listed, dict):
        raise CheckpointError(f"load: {path}: the metadata's 'arrays' must be an object")
    for key, expected in listed.items():
        if not (isinstance(expected, dict) and isinstance(expected.get("shape"), list)
                and all(isinstance(n, int) and n >= 0 for n in expected["shape"])
                and isinstance(expected.get("dtype"), str)):
            raise CheckpointError(f"load: {path}: the metadata of {key!r} must be {{'shape': [ints], 'dtype': str}}")
        if key not in arrays:
            raise CheckpointError(f"load: {path} lacks the array {key!r} its metadata lists")
        found = arrays[key]
        if list(found.shape) != expected["shape"] or str(found.dtype) != expected["dtype"]:
            raise CheckpointError(
                f"load: {path}: {key!r} is {found.dtype} {tuple(found.shape)}, metadata says "
                f"{expected['dtype']} {tuple(expected['shape'])}"
            )
    unlisted = sorted(set(arrays) - set(listed))
    if unlisted:
        raise CheckpointError(f"load: {path} stores arrays its metadata does not list: {unlisted}")


def _check_objects(info: dict, path: Path) -> None:
    """Every object is well described, and every array belongs to exactly one object."""
    objects = info["objects"]
    if not isinstance(objects, dict):
        raise CheckpointError(f"load: {path}: the metadata's 'objects' must be an object")
    owned: set[str] = set()
    for name, description in objects.items():
        if not name or "/" in name or not isinstance(description, dict):
            raise CheckpointError(f"load: {path}: object {name!r} is malformed")
        kind = description.get("kind")
        prefix = f"{name}/"
        if kind == "module":
            owned.update(key for key in info["arrays"] if key.startswith(prefix))
        elif kind == "optimizer":
            _check_optimizer(name, description, path)
            for index, buffers in enumerate(description["buffers"]):
                for buffer in buffers:
                    key = f"{prefix}state/{index}/{buffer}"
                    if key not in info["arrays"]:
                        raise CheckpointError(f"load: {path}: {name!r} lists the buffer {key!r}, which is not stored")
                    owned.add(key)
        else:
            raise CheckpointError(f"load: {path}: object {name!r} has kind {kind!r}, not 'module' or 'optimizer'")
    orphans = sorted(set(info["arrays"]) - owned)
    if orphans:
        raise CheckpointError(f"load: {path} stores arrays that belong to no object: {orphans}")
    root = info.get("root")
    if root is not None and root not in objects:
        raise CheckpointError(f"load: {path}: the metadata's root {root!r} is not one of its objects {sorted(objects)}")


def _check_optimizer(name: str, description: dict, path: Path) -> None:
    hyperparameters = description.get("hyperparameters")
    step_count = description.get("step_count")
    buffers = description.get("buffers")
    if not (isinstance(description.get("type"), str)
            and isinstance(hyperparameters, dict)
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in hyperparameters.values())
            and isinstance(step_count, int) and not isinstance(step_count, bool) and step_count >= 0
            and isinstance(buffers, list)
            and all(isinstance(b, list) and all(isinstance(k, str) for k in b) for b in buffers)):
        raise CheckpointError(
            f"load: {path}: optimiser {name!r} must be described by 'type' (str), 'hyperparameters' "
            "(numbers), 'step_count' (int >= 0) and 'buffers' (lists of names)"
        )
