"""Checkpoints: round trips, atomic writes, validation messages, cross-backend loads."""

from __future__ import annotations

import os

import numpy as np
import pytest

import minibayes as mb
from minibayes import nn, optim


def trained_pair(seed=0):
    mb.seed(seed)
    model = nn.Sequential(nn.Dense(3, 5), nn.ReLU(), nn.Dense(5, 2))
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    for _ in range(3):
        optimizer.zero_grad()
        model(mb.randn(4, 3)).sum().backward()
        optimizer.step()
    return model, optimizer


def test_round_trip_restores_model_and_optimizer_bit_exactly(tmp_path):
    model, optimizer = trained_pair(0)
    path = mb.save({"model": model, "optimizer": optimizer}, tmp_path / "run.npz", metadata={"epoch": 3})
    fresh_model, fresh_optimizer = trained_pair(1)
    checkpoint = mb.load(path, into={"model": fresh_model, "optimizer": fresh_optimizer})
    for (name, a), (_, b) in zip(model.named_parameters(), fresh_model.named_parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    assert fresh_optimizer.step_count == 3
    for own, restored in zip(optimizer.state, fresh_optimizer.state):
        np.testing.assert_array_equal(own["m"], restored["m"])
        np.testing.assert_array_equal(own["v"], restored["v"])
    info = checkpoint.metadata
    assert info["minibayes_version"] == mb.__version__ and info["backend"] == "numpy"
    assert info["user"] == {"epoch": 3}
    assert info["arrays"]["model/0.weight"] == {"shape": [3, 5], "dtype": "float32"}


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


def test_load_names_shape_mismatches_and_changes_nothing(tmp_path):
    model, _ = trained_pair(0)
    path = mb.save(model, tmp_path / "model.npz")
    wider = nn.Sequential(nn.Dense(3, 6), nn.ReLU(), nn.Dense(6, 2))
    before = [p.numpy().copy() for p in wider.parameters()]
    with pytest.raises(ValueError, match=r"0.weight: shape \(3, 5\) in state, \(3, 6\) in module"):
        mb.load(path, into=wider)
    for old, parameter in zip(before, wider.parameters()):
        np.testing.assert_array_equal(old, parameter.numpy())


def test_load_names_missing_parameters(tmp_path):
    model, _ = trained_pair(0)
    path = mb.save(model, tmp_path / "model.npz")
    deeper = nn.Sequential(nn.Dense(3, 5), nn.ReLU(), nn.Dense(5, 2), nn.Dense(2, 2))
    with pytest.raises(ValueError, match="has parameters"):
        mb.load(path, into=deeper)


def test_files_that_are_not_checkpoints_are_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        mb.load(tmp_path / "missing.npz")
    plain = tmp_path / "plain.npz"
    np.savez(plain, a=np.ones(2))
    with pytest.raises(ValueError, match="was not written by minibayes.save"):
        mb.load(plain)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="is not a readable .npz checkpoint"):
        mb.load(garbage)


def test_save_rejects_other_objects():
    with pytest.raises(TypeError, match="must be a Module, an Optimizer or a dict"):
        mb.save(42, "x.npz")
    with pytest.raises(ValueError, match="without '/'"):
        mb.save({"a/b": nn.Dense(1, 1)}, "x.npz")


@pytest.mark.gpu
@pytest.mark.skipif(not mb.cupy_available(), reason="needs CuPy and a CUDA device")
def test_checkpoints_cross_backends_bit_exactly(tmp_path):
    model, _ = trained_pair(0)
    mb.save(model, tmp_path / "host.npz")
    with mb.using("cupy"):
        mb.seed(1)
        device_model = nn.Sequential(nn.Dense(3, 5), nn.ReLU(), nn.Dense(5, 2))
        mb.load(tmp_path / "host.npz", into=device_model)
        assert device_model[0].weight.backend == "cupy"
        mb.save(device_model, tmp_path / "device.npz")
    for (_, a), (_, b) in zip(model.named_parameters(), device_model.named_parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    host_again = nn.Sequential(nn.Dense(3, 5), nn.ReLU(), nn.Dense(5, 2))
    mb.load(tmp_path / "device.npz", into=host_again)
    for (_, a), (_, b) in zip(model.named_parameters(), host_again.named_parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
