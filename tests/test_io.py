"""Checkpoints: round trips (whole objects and state dicts), validation before any change,
corrupted and malformed files, atomic writes and the temporaries of killed writers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import minibayes as mb
import minibayes._checkpoint_file as checkpoint_file
from minibayes import nn, optim

REPO = Path(__file__).resolve().parents[1]


def trained_pair(seed=0, optimizer=lambda ps: optim.Adam(ps, lr=0.01)):
    mb.seed(seed)
    model = nn.Sequential(nn.Dense(3, 5), nn.ReLU(), nn.Dense(5, 2))
    opt = optimizer(model.parameters())
    for _ in range(3):
        opt.zero_grad()
        model(mb.randn(4, 3)).sum().backward()
        opt.step()
    return model, opt


def snapshot(model, optimizer=None):
    """Host copies of everything a load could change."""
    weights = {name: p.numpy().copy() for name, p in model.named_parameters()}
    if optimizer is None:
        return weights
    buffers = [{k: np.array(v, copy=True) for k, v in state.items()} for state in optimizer.state]
    return weights, buffers, dict(optimizer.hyperparameters), optimizer.step_count


def assert_bit_identical(before, after):
    if isinstance(before, dict):
        assert before.keys() == after.keys()
        for key in before:
            assert_bit_identical(before[key], after[key])
    elif isinstance(before, (list, tuple)):
        assert len(before) == len(after)
        for a, b in zip(before, after):
            assert_bit_identical(a, b)
    elif isinstance(before, np.ndarray):
        assert before.dtype == after.dtype
        np.testing.assert_array_equal(before, after)
    else:
        assert before == after


def one_step_of(model, optimizer, x):
    optimizer.zero_grad()
    model(x).sum().backward()
    optimizer.step()
    return [p.numpy().copy() for p in model.parameters()]


# --------------------------------------------------------------------------- round trips
def test_round_trip_restores_model_and_optimizer_bit_exactly(tmp_path):
    model, optimizer = trained_pair(0)
    path = mb.save({"model": model, "optimizer": optimizer}, tmp_path / "run.npz", metadata={"epoch": 3})
    fresh_model, fresh_optimizer = trained_pair(1)
    checkpoint = mb.load(path, into={"model": fresh_model, "optimizer": fresh_optimizer})
    assert_bit_identical(snapshot(model, optimizer), snapshot(fresh_model, fresh_optimizer))
    info = checkpoint.metadata
    assert info["minibayes_version"] == mb.__version__ and info["backend"] == mb.get_backend()
    assert info["user"] == {"epoch": 3}
    assert info["arrays"]["model/0.weight"] == {"shape": [3, 5], "dtype": "float32"}


def test_the_pytorch_idiom_round_trips_a_module_state_dict(tmp_path):
    model, _ = trained_pair(0)
    path = mb.save(model.state_dict(), tmp_path / "model.npz")
    fresh, _ = trained_pair(1)
    loaded = mb.load(path)
    assert list(loaded) == [name for name, _ in model.named_parameters()]
    assert all(type(value) is np.ndarray for value in loaded.values())
    assert fresh.load_state_dict(loaded) == ([], [])
    assert_bit_identical(snapshot(model), snapshot(fresh))
    # The same file also restores a whole object in place.
    other, _ = trained_pair(2)
    mb.load(path, into=other)
    assert_bit_identical(snapshot(model), snapshot(other))


def test_the_pytorch_idiom_resumes_an_optimizer_exactly(tmp_path):
    model, optimizer = trained_pair(0, lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9))
    mb.save(model.state_dict(), tmp_path / "model.npz")
    mb.save(optimizer.state_dict(), tmp_path / "optimizer.npz")
    fresh_model, fresh_optimizer = trained_pair(1, lambda ps: optim.SGD(ps, lr=0.5, momentum=0.5))
    fresh_model.load_state_dict(mb.load(tmp_path / "model.npz"))
    fresh_optimizer.load_state_dict(mb.load(tmp_path / "optimizer.npz"))
    assert fresh_optimizer.hyperparameters == {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.0}
    x = mb.randn(4, 3)
    assert_bit_identical(one_step_of(model, optimizer, x), one_step_of(fresh_model, fresh_optimizer, x))


def test_a_dict_of_state_dicts_reads_back_like_a_dict_of_objects(tmp_path):
    model, optimizer = trained_pair(0)
    mb.save({"net": model.state_dict(), "opt": optimizer.state_dict()}, tmp_path / "states.npz")
    mb.save({"net": model, "opt": optimizer}, tmp_path / "objects.npz")
    from_states, from_objects = mb.load(tmp_path / "states.npz"), mb.load(tmp_path / "objects.npz")
    assert_bit_identical(dict(from_states), dict(from_objects))
    fresh_model, fresh_optimizer = trained_pair(1)
    fresh_model.load_state_dict(from_states["net"])
    fresh_optimizer.load_state_dict(from_states["opt"])
    assert_bit_identical(snapshot(model, optimizer), snapshot(fresh_model, fresh_optimizer))


def test_a_zero_dimensional_parameter_and_its_buffers_round_trip(tmp_path):
    scale = nn.Parameter(np.array(2.0))
    optimizer = optim.Adam([scale], lr=0.1)
    (scale * scale).backward()
    optimizer.step()
    mb.save({"optimizer": optimizer}, tmp_path / "scalar.npz")
    twin = nn.Parameter(scale.numpy().copy())
    restored = optim.Adam([twin], lr=0.3)
    mb.load(tmp_path / "scalar.npz", into=restored)
    for opt, p in ((optimizer, scale), (restored, twin)):  # the restored buffers are updated in place
        opt.zero_grad()
        (p * p).backward()
        opt.step()
    assert restored.state[0]["m"].shape == () and scale.numpy() == twin.numpy()
    assert_bit_identical(snapshot(nn.Sequential(), optimizer), snapshot(nn.Sequential(), restored))


# --------------------------------------------------------------------------- nothing changes on a mismatch
def test_an_adam_checkpoint_into_sgd_changes_neither_model_nor_optimizer(tmp_path):
    model, adam = trained_pair(0)
    path = mb.save({"model": model, "optimizer": adam}, tmp_path / "run.npz")
    other, sgd = trained_pair(1, lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9))
    before = snapshot(other, sgd)
    with pytest.raises(ValueError, match="Adam.*SGD"):
        mb.load(path, into={"model": other, "optimizer": sgd})
    assert_bit_identical(before, snapshot(other, sgd))
    with pytest.raises(ValueError, match=r"'optimizer' in .*run.npz does not fit: .*'Adam', not 'SGD'"):
        mb.load(path, into=sgd)


def corrupt_state(change):
    def build():
        _, optimizer = trained_pair(0)
        state = optimizer.state_dict()
        state["state"] = [dict(s) for s in state["state"]]
        state["hyperparameters"] = dict(state["hyperparameters"])
        change(state)
        return state
    return build


@pytest.mark.parametrize("build, error, message", [
    (corrupt_state(lambda s: s["state"][0].update(m=np.zeros((5, 3), np.float32))), ValueError,
     r"state\[0\]\['m'\] is float32 \(5, 3\), the parameter is float32 \(3, 5\)"),
    (corrupt_state(lambda s: s["state"][0].update(m=np.zeros((3, 5), np.float64))), ValueError,
     r"state\[0\]\['m'\] is float64 \(3, 5\), the parameter is float32 \(3, 5\)"),
    (corrupt_state(lambda s: s["state"][1].pop("v")), ValueError,
     r"state\[1\] has buffers \['m'\], Adam keeps \['m', 'v'\]"),
    (corrupt_state(lambda s: s["state"].pop()), ValueError, "state has 3 parameters, the optimiser has 4"),
    (corrupt_state(lambda s: s["hyperparameters"].pop("eps")), ValueError, "hyperparameters must have the names"),
    (corrupt_state(lambda s: s["hyperparameters"].update(lr=float("nan"))), ValueError,
     r"hyperparameters\['lr'\] must be a finite non-negative number"),
    (corrupt_state(lambda s: s.update(step_count=-1)), ValueError, "step_count must be a non-negative integer"),
    (corrupt_state(lambda s: s.pop("step_count")), ValueError, r"lacks \['step_count'\]"),
    (corrupt_state(lambda s: s["state"][2].update(m=[0.0] * 5)), TypeError,
     r"state\[2\]\['m'\] must be a NumPy or CuPy array"),
    (lambda: [1, 2], TypeError, "state_dict must be a mapping"),
])
def test_optimizer_load_state_dict_checks_everything_before_changing_anything(build, error, message):
    _, optimizer = trained_pair(1)
    before = snapshot(nn.Sequential(), optimizer)
    with pytest.raises(error, match=message):
        optimizer.load_state_dict(build())
    assert_bit_identical(before, snapshot(nn.Sequential(), optimizer))


def test_load_names_shape_mismatches_and_changes_nothing(tmp_path):
    model, optimizer = trained_pair(0)
    path = mb.save({"model": model, "optimizer": optimizer}, tmp_path / "run.npz")
    wider, wider_optimizer = trained_pair(1)
    # The same names with other shapes; the optimiser keeps the old parameters, so its state still fits.
    setattr(wider, "0", nn.Dense(3, 6))
    setattr(wider, "2", nn.Dense(6, 2))
    before = snapshot(wider, wider_optimizer)
    with pytest.raises(ValueError, match=r"0.weight: shape \(3, 5\) in state, \(3, 6\) in module"):
        mb.load(path, into={"optimizer": wider_optimizer, "model": wider})
    assert_bit_identical(before, snapshot(wider, wider_optimizer))


def test_load_names_missing_parameters_and_unknown_objects(tmp_path):
    model, _ = trained_pair(0)
    path = mb.save(model, tmp_path / "model.npz")
    deeper = nn.Sequential(nn.Dense(3, 5), nn.ReLU(), nn.Dense(5, 2), nn.Dense(2, 2))
    with pytest.raises(ValueError, match=r"missing: \['3.weight', '3.bias'\]"):
        mb.load(path, into=deeper)
    with pytest.raises(ValueError, match=r"holds \['model'\], not \['net'\]"):
        mb.load(path, into={"net": deeper})
    _, optimizer = trained_pair(0)
    with pytest.raises(ValueError, match=r"'model' in .* holds a module's state, into\['model'\] wants an optimizer's"):
        mb.load(path, into={"model": optimizer})
    with pytest.raises(ValueError, match=r"holds the optimizers \[\]"):
        mb.load(path, into=optimizer)
    with pytest.raises(TypeError, match="into must be a Module, an Optimizer or a dict"):
        mb.load(path, into=[deeper])


# --------------------------------------------------------------------------- files that are not checkpoints
def test_files_that_are_not_checkpoints_raise_checkpoint_error_naming_the_file(tmp_path):
    assert issubclass(mb.CheckpointError, ValueError) and mb.io.CheckpointError is mb.CheckpointError
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        mb.load(tmp_path / "missing.npz")
    plain = tmp_path / "plain.npz"
    np.savez(plain, a=np.ones(2))
    with pytest.raises(mb.CheckpointError, match=f"{plain} has no __metadata__ entry"):
        mb.load(plain)
    for name, content in [("garbage.npz", b"not a zip file"), ("empty.npz", b"")]:
        (tmp_path / name).write_bytes(content)
        with pytest.raises(mb.CheckpointError, match=f"{tmp_path / name} is not a checkpoint: not a zip"):
            mb.load(tmp_path / name)
    with open(tmp_path / "array.npz", "wb") as handle:  # a bare .npy, whatever its name says
        np.save(handle, np.ones(3))
    with pytest.raises(mb.CheckpointError, match="not a zip"):
        mb.load(tmp_path / "array.npz")


@pytest.fixture
def small_checkpoint(tmp_path):
    model, optimizer = trained_pair(0)
    path = mb.save({"model": model, "optimizer": optimizer}, tmp_path / "good.npz")
    return path, mb.load(path)


@pytest.fixture
def tiny_checkpoint(tmp_path):
    """A two-kilobyte checkpoint (a module, an optimiser with buffers, the metadata) for byte-level damage."""
    mb.seed(0)
    model = nn.Dense(2, 1)
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    one_step_of(model, optimizer, mb.randn(3, 2))
    path = mb.save({"model": model, "optimizer": optimizer}, tmp_path / "tiny.npz")
    return path, mb.load(path)


# Every byte in the slow run; every 7th byte (or length) by default, which still reaches each kind of
# zip and .npy header, the arrays' data and the metadata.
STRIDES = [pytest.param(1, marks=pytest.mark.slow), 7]


@pytest.mark.parametrize("stride", STRIDES)
def test_every_truncation_raises_checkpoint_error(tiny_checkpoint, tmp_path, stride):
    path, _ = tiny_checkpoint
    data = path.read_bytes()
    cut = tmp_path / "cut.npz"
    for length in range(0, len(data), stride):
        cut.write_bytes(data[:length])
        with pytest.raises(mb.CheckpointError, match=str(cut)):
            mb.load(cut)


@pytest.mark.parametrize("stride", STRIDES)
def test_every_flipped_bit_raises_or_changes_nothing(tiny_checkpoint, tmp_path, stride):
    """A flip anywhere in the file either raises CheckpointError or hits a byte that carries no data
    (a timestamp, the local copy of a size or CRC that the zip reader ignores): never a silently
    different number."""
    path, good = tiny_checkpoint
    data = path.read_bytes()
    flipped = tmp_path / "flipped.npz"
    offsets = range(0, len(data), stride)
    raised = 0
    for offset in offsets:
        bad = bytearray(data)
        bad[offset] ^= 1 << (offset % 8)
        flipped.write_bytes(bytes(bad))
        try:
            loaded = mb.load(flipped)
        except mb.CheckpointError as error:
            assert str(flipped) in str(error)
            raised += 1
            continue
        assert_bit_identical(dict(good), dict(loaded))
        assert good.metadata == loaded.metadata
    assert raised > 0.75 * len(offsets)  # most bytes matter: the test cannot pass by loading nothing


def rewrite(path, change):
    """A copy of the checkpoint at ``path`` whose metadata and arrays ``change`` edits; the new path."""
    with np.load(path) as archive:
        arrays = {key: archive[key] for key in archive.files}
    info = json.loads(arrays.pop("__metadata__").tobytes().decode("utf-8"))
    raw = change(info, arrays)
    raw = json.dumps(info).encode("utf-8") if raw is None else raw
    arrays["__metadata__"] = np.frombuffer(raw, dtype=np.uint8) if isinstance(raw, bytes) else raw
    bad = path.with_name("bad.npz")
    np.savez(bad, **arrays)
    return bad


def drop(mapping, key):
    del mapping[key]


MALFORMED = {
    "not UTF-8": (lambda info, arrays: b'{"format": "\xff"}', "not UTF-8"),
    "not JSON": (lambda info, arrays: b"{format: 1", "not JSON"),
    "not an object": (lambda info, arrays: b"[1, 2]", "must be a JSON object"),
    "not bytes": (lambda info, arrays: np.zeros(3), "must be UTF-8 bytes"),
    "no format": (lambda info, arrays: drop(info, "format"), r"lacks \['format'\]"),
    "no objects": (lambda info, arrays: drop(info, "objects"), r"lacks \['objects'\]"),
    "no arrays": (lambda info, arrays: drop(info, "arrays"), r"lacks \['arrays'\]"),
    "other format": (lambda info, arrays: info.update(format="other/9"), "has format 'other/9'"),
    "listed buffer not stored": (
        lambda info, arrays: info["objects"]["optimizer"]["buffers"][0].append("w"),
        r"lists the buffer 'optimizer/state/0/w', which is not stored"),
    "listed array not stored": (lambda info, arrays: drop(arrays, "model/0.bias"),
                                "lacks the array 'model/0.bias'"),
    "array not listed": (lambda info, arrays: arrays.update(stray=np.ones(2)),
                         r"does not list: \['stray'\]"),
    "array of no object": (
        lambda info, arrays: (arrays.update({"gone/x": np.ones(2)}),
                              info["arrays"].update({"gone/x": {"shape": [2], "dtype": "float64"}}))[1],
        r"belong to no object: \['gone/x'\]"),
    "shape disagrees": (lambda info, arrays: info["arrays"]["model/0.bias"].update(shape=[4]),
                        r"'model/0.bias' is float32 \(5,\), metadata says float32 \(4,\)"),
    "dtype disagrees": (lambda info, arrays: info["arrays"]["model/0.bias"].update(dtype="float64"),
                        "metadata says float64"),
    "bad array entry": (lambda info, arrays: info["arrays"].update({"model/0.bias": [5]}),
                        r"metadata of 'model/0.bias' must be"),
    "unknown kind": (lambda info, arrays: info["objects"]["model"].update(kind="layer"),
                     "has kind 'layer'"),
    "optimizer without type": (lambda info, arrays: drop(info["objects"]["optimizer"], "type"),
                               "optimiser 'optimizer' must be described by"),
    "negative step count": (lambda info, arrays: info["objects"]["optimizer"].update(step_count=-2),
                            "optimiser 'optimizer' must be described by"),
    "unknown root": (lambda info, arrays: info.update(root="net"), "root 'net' is not one of its objects"),
    "user not an object": (lambda info, arrays: info.update(user=[1]), "'user' must be an object"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_metadata_raises_checkpoint_error_naming_the_file(small_checkpoint, case):
    path, _ = small_checkpoint
    change, message = MALFORMED[case]
    bad = rewrite(path, change)
    with pytest.raises(mb.CheckpointError, match=message) as failure:
        mb.load(bad)
    assert str(bad) in str(failure.value)


def test_an_unchanged_rewrite_loads_so_each_malformed_case_fails_for_its_own_reason(small_checkpoint):
    path, good = small_checkpoint
    loaded = mb.load(rewrite(path, lambda info, arrays: None))
    assert_bit_identical(dict(good), dict(loaded))


def test_a_corrupt_file_into_objects_changes_nothing(small_checkpoint):
    path, _ = small_checkpoint
    bad = rewrite(path, lambda info, arrays: info["objects"]["optimizer"]["buffers"][3].append("w"))
    model, optimizer = trained_pair(1)
    before = snapshot(model, optimizer)
    with pytest.raises(mb.CheckpointError):
        mb.load(bad, into={"model": model, "optimizer": optimizer})
    assert_bit_identical(before, snapshot(model, optimizer))


# --------------------------------------------------------------------------- writing
def test_a_failure_between_write_and_rename_leaves_the_old_file(tmp_path, monkeypatch):
    model, _ = trained_pair(0)
    path = mb.save(model, tmp_path / "model.npz")
    before = path.read_bytes()
    other, _ = trained_pair(1)

    def crash(*args, **kwargs):
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        mb.save(other, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no temporary left behind


KILLED_WRITER = textwrap.dedent("""
    import os, signal, sys
    import minibayes as mb
    from minibayes import nn
    path = sys.argv[1]
    mb.seed(0)
    mb.save(nn.Dense(40, 50), path)
    os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)  # killed with the new data written, not renamed
    mb.seed(1)
    mb.save(nn.Dense(40, 50), path)
""")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_a_killed_writer_leaves_the_old_file_and_its_temporary_goes_at_the_next_save(tmp_path):
    path = tmp_path / "model.npz"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(path)], env=env, capture_output=True)
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "model.npz"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".model.npz.")  # the scenario really happened
    mb.seed(0)
    first = nn.Dense(40, 50)
    assert_bit_identical(snapshot(first), dict(mb.load(path)["model"]))  # the old file survived
    unrelated = [tmp_path / ".other.npz.0123456789abcdef.tmp", tmp_path / "notes.tmp", tmp_path / ".model.npz.x.tmp"]
    for file in unrelated:
        file.write_bytes(b"keep me")
    mb.save(first, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["model.npz"] + [f.name for f in unrelated])


@pytest.mark.skipif(os.name != "posix", reason="live writers are told apart by POSIX advisory locks")
def test_a_live_writers_temporary_is_left_alone(tmp_path):
    import fcntl

    path = tmp_path / "model.npz"
    live = tmp_path / ".model.npz.00112233445566ff.tmp"
    dead = tmp_path / ".model.npz.ffeeddccbbaa9988.tmp"
    dead.write_bytes(b"half a checkpoint")
    with open(live, "wb") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # as a writer holds it until its rename
        mb.save(nn.Dense(2, 2), path)
        assert live.exists() and not dead.exists()


@pytest.mark.skipif(os.name != "posix", reason="POSIX advisory locks")
def test_a_temporary_swept_before_its_writer_locked_it_is_replaced(tmp_path, monkeypatch):
    """The window between creating a temporary and locking it: a sweep by another save may delete it then."""
    import fcntl
    import types

    swept = []

    def flock(descriptor, operation):
        if operation == fcntl.LOCK_EX and not swept:  # another save's sweep gets there first
            swept.extend(p.name for p in tmp_path.glob(".model.npz.*.tmp"))
            for name in swept:
                (tmp_path / name).unlink()
        fcntl.flock(descriptor, operation)

    monkeypatch.setattr(checkpoint_file, "fcntl", types.SimpleNamespace(
        LOCK_EX=fcntl.LOCK_EX, LOCK_NB=fcntl.LOCK_NB, flock=flock))
    model = nn.Dense(2, 3)
    path = mb.save(model, tmp_path / "model.npz")
    assert len(swept) == 1 and [p.name for p in tmp_path.iterdir()] == ["model.npz"]
    assert_bit_identical(snapshot(model), dict(mb.load(path)["model"]))


def test_without_locks_saves_still_work_and_leave_other_temporaries_alone(tmp_path, monkeypatch):
    def no_locks(descriptor, operation):
        raise OSError(37, "No locks available")

    if checkpoint_file.fcntl is not None:
        monkeypatch.setattr(checkpoint_file.fcntl, "flock", no_locks)
    maybe_live = tmp_path / ".model.npz.0011223344556677.tmp"  # without locks, a live writer's looks dead
    maybe_live.write_bytes(b"in progress")
    model = nn.Dense(2, 3)
    path = mb.save(model, tmp_path / "model.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == [maybe_live.name, "model.npz"]
    assert_bit_identical(snapshot(model), dict(mb.load(path)["model"]))


def test_save_rejects_what_it_cannot_store_before_touching_the_disk(tmp_path):
    target = tmp_path / "x.npz"
    cases = [
        (42, TypeError, "obj must be a Module, an Optimizer, a state dict or a dict of them, got int"),
        ({"a/b": nn.Dense(1, 1)}, ValueError, "without '/'"),
        ({"model": nn.Dense(1, 1), "note": "text"}, TypeError, r"obj\['note'\] must be a Module"),
        ({"model": {"w": np.array(["a"])}}, TypeError, r"obj\['model'\]\['w'\] must hold numbers"),
        ({"model": {"w": [1.0]}, "other": nn.Dense(1, 1)}, TypeError,
         r"obj\['model'\]\['w'\] must be a NumPy or CuPy array"),
        (nn.Dense(1, 1), TypeError, "metadata must be a dict", {"metadata": [1]}),
        (nn.Dense(1, 1), TypeError, "metadata must be JSON-serialisable", {"metadata": {"f": object()}}),
    ]
    for obj, error, message, *kwargs in cases:
        with pytest.raises(error, match=message):
            mb.save(obj, target, **(kwargs[0] if kwargs else {}))
    with pytest.raises(TypeError, match="path must be a str or os.PathLike, got int"):
        mb.save(nn.Dense(1, 1), 3)
    with pytest.raises(TypeError, match="path must be a str or os.PathLike, got NoneType"):
        mb.load(None)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.gpu
@pytest.mark.skipif(not mb.cupy_available(), reason="needs CuPy and a CUDA device")
def test_checkpoints_cross_backends_bit_exactly(tmp_path):
    model, optimizer = trained_pair(0)
    mb.save({"model": model, "optimizer": optimizer}, tmp_path / "host.npz")
    with mb.using("cupy"):
        device_model, device_optimizer = trained_pair(1)
        mb.load(tmp_path / "host.npz", into={"model": device_model, "optimizer": device_optimizer})
        assert device_model[0].weight.backend == "cupy"
        assert mb.backend.backend_name_of(device_optimizer.state[0]["m"]) == "cupy"
        mb.save({"model": device_model, "optimizer": device_optimizer}, tmp_path / "device.npz")
        device_state_file = mb.save(device_model.state_dict(), tmp_path / "device_state.npz")
    assert_bit_identical(snapshot(model), {k: mb.to_numpy(v) for k, v in mb.load(device_state_file).items()})
    host_model, host_optimizer = trained_pair(2)
    mb.load(tmp_path / "device.npz", into={"model": host_model, "optimizer": host_optimizer})
    assert_bit_identical(snapshot(model, optimizer), snapshot(host_model, host_optimizer))
