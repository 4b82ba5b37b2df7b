"""Module bookkeeping: registration, traversal, modes, state_dict round trips."""

from __future__ import annotations

import numpy as np
import pytest

import minibayes as mb
from minibayes import nn
from minibayes.nn.module import IncompatibleKeys


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Dense(3, 4)
        self.scale = nn.Parameter(np.ones(4, dtype=np.float32))
        self.body = nn.Sequential(nn.ReLU(), nn.Dense(4, 2), nn.Dropout(0.5))

    def forward(self, x):
        return self.body(self.first(x) * self.scale)


def test_parameters_are_registered_by_assignment_in_order():
    block = Block()
    names = [name for name, _ in block.named_parameters()]
    assert names == ["scale", "first.weight", "first.bias", "body.1.weight", "body.1.bias"]
    assert all(p.requires_grad for p in block.parameters())
    assert [type(c).__name__ for c in block.children()] == ["Dense", "Sequential"]


def test_reassignment_and_deletion_update_the_registry():
    block = Block()
    block.scale = 3.0  # no longer a parameter
    assert "scale" not in dict(block.named_parameters())
    del block.first
    assert not any(name.startswith("first.") for name, _ in block.named_parameters())


def test_shared_parameters_are_listed_once():
    shared = nn.Dense(2, 2)
    model = nn.Sequential(shared, nn.Tanh(), shared)
    assert len(list(model.parameters())) == 2


def test_forgetting_super_init_is_explained():
    class Broken(nn.Module):
        def __init__(self):
            self.layer = nn.Dense(1, 1)

    with pytest.raises(RuntimeError, match="call super\\(\\).__init__\\(\\)"):
        Broken()


def test_train_and_eval_reach_every_submodule():
    block = Block()
    block.eval()
    assert not any(m.training for m in block.modules())
    block.train()
    assert all(m.training for m in block.modules())


def test_zero_grad_clears_every_gradient():
    block = Block()
    block(mb.randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in block.parameters())
    block.zero_grad()
    assert all(p.grad is None for p in block.parameters())


def test_state_dict_round_trip_restores_outputs_exactly():
    mb.seed(1)
    source, target = Block().eval(), Block().eval()
    x = mb.randn(6, 3)
    assert not np.array_equal(source(x).numpy(), target(x).numpy())
    target.load_state_dict({k: v.copy() for k, v in source.state_dict().items()})
    np.testing.assert_array_equal(source(x).numpy(), target(x).numpy())


def test_load_state_dict_names_what_differs_and_changes_nothing():
    block = Block()
    before = {k: v.copy() for k, v in block.state_dict().items()}
    state = dict(block.state_dict())
    state["first.weight"] = np.zeros((5, 4), dtype=np.float32)
    state["scale"] = np.zeros(4, dtype=np.float64)
    del state["body.1.bias"]
    state["extra"] = np.zeros(1)
    with pytest.raises(ValueError) as failure:
        block.load_state_dict(state)
    message = str(failure.value)
    assert "missing: ['body.1.bias']" in message and "unexpected: ['extra']" in message
    assert "first.weight: shape (5, 4) in state, (3, 4) in module" in message
    assert "scale: dtype float64 in state, float32 in module" in message
    for key, value in block.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_non_strict_load_ignores_missing_and_unexpected_names():
    block = Block()
    block.load_state_dict({"scale": np.full(4, 2.0, dtype=np.float32), "extra": np.zeros(1)}, strict=False)
    np.testing.assert_array_equal(block.scale.numpy(), np.full(4, 2.0))


def test_load_state_dict_returns_what_it_skipped_like_pytorch():
    block = Block()
    state = dict(block.state_dict())
    del state["scale"]
    state["extra"] = np.zeros(1)
    assert block.load_state_dict(block.state_dict()) == IncompatibleKeys([], [])
    result = block.load_state_dict(state, strict=False)
    assert result.missing_keys == ["scale"] and result.unexpected_keys == ["extra"]


@pytest.mark.parametrize("state, strict, message", [
    ([("scale", np.ones(4))], True, "state_dict must be a mapping of names to arrays, got list"),
    ({"scale": [1.0, 1.0, 1.0, 1.0]}, False, r"state_dict\['scale'\] must be a NumPy or CuPy array"),
    ({}, "no", "strict must be True or False"),
])
def test_load_state_dict_rejects_what_is_not_a_state_dict(state, strict, message):
    block = Block()
    before = {k: v.copy() for k, v in block.state_dict().items()}
    with pytest.raises(TypeError, match=message):
        block.load_state_dict(state, strict=strict)
    for key, value in block.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_sequential_indexing_and_type_check():
    model = nn.Sequential(nn.Dense(2, 3), nn.ReLU())
    assert len(model) == 2 and isinstance(model[0], nn.Dense) and [type(m) for m in model][1] is nn.ReLU
    with pytest.raises(TypeError, match="argument 1 must be a Module"):
        nn.Sequential(nn.ReLU(), lambda x: x)


def test_buffers_are_saved_and_loaded_but_never_trained():
    class Counter(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(np.ones(2))
            self.register_buffer("steps", np.zeros((), dtype=np.int64))

    source, target = Counter(), Counter()
    source.steps[...] = 7
    assert [name for name, _ in source.named_parameters()] == ["scale"]  # not a parameter
    assert list(source.state_dict()) == ["scale", "steps"]
    target.load_state_dict(source.state_dict())
    assert int(target.steps) == 7
    with pytest.raises(ValueError, match=r"steps: dtype float64 in state, int64 in module"):
        target.load_state_dict({"scale": np.ones(2), "steps": np.zeros(())})
    assert int(target.steps) == 7  # a failed load changes nothing
    with pytest.raises(AttributeError, match="is a buffer"):
        target.steps = np.zeros((), dtype=np.int64)
    with pytest.raises(ValueError, match="new attribute name"):
        target.register_buffer("scale", np.zeros(2))
