"""The training loop: it learns, keeps a history, and stops at the first NaN/inf with its location."""

from __future__ import annotations

import numpy as np
import pytest

import minibayes as mb
from minibayes import nn, optim
from minibayes.nn import functional as F
from minibayes.train import fit

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([0, 1, 1, 0])


def xor_model():
    mb.seed(0)
    return nn.Sequential(nn.Dense(2, 16), nn.Tanh(), nn.Dense(16, 2))


def test_two_layer_mlp_learns_xor():
    model = xor_model()
    batches = [(XOR_X, XOR_Y)]

    def accuracy(epoch, m):
        return {"accuracy": float((m(XOR_X).numpy().argmax(1) == XOR_Y).mean())}

    history = fit(model, optim.Adam(model.parameters(), lr=0.05), batches,
                  lambda m, batch: F.cross_entropy(m(batch[0]), batch[1]), epochs=200, callbacks=[accuracy],
                  progress=False)
    assert history["accuracy"][-1] == 1.0
    assert history["loss"][-1] < 0.05 < history["loss"][0]
    assert len(history.epochs) == 200 and len(history.step_losses) == 200
    assert "epoch" in history.table() and "accuracy" in history.table()


def test_named_loss_terms_are_tracked_separately():
    model = xor_model()

    def loss_fn(m, batch):
        logits = m(batch[0])
        return {"data": F.cross_entropy(logits, batch[1]), "l2": 1e-3 * (m[0].weight ** 2).sum()}

    history = fit(model, optim.SGD(model.parameters(), lr=0.1), [(XOR_X, XOR_Y)], loss_fn, epochs=3, progress=False)
    assert set(history.metrics) == {"data", "l2"}


def test_non_finite_loss_term_stops_with_its_name_and_step():
    model = xor_model()

    def loss_fn(m, batch):
        data = F.cross_entropy(m(batch[0]), batch[1])
        return {"data": data, "penalty": mb.log(mb.tensor(np.float32(0.0)) * data)}

    with np.errstate(divide="ignore"), pytest.raises(FloatingPointError, match="loss term 'penalty' is -inf at epoch 1, step 1"):
        fit(model, optim.SGD(model.parameters(), lr=0.1), [(XOR_X, XOR_Y)], loss_fn, epochs=1, progress=False)


def test_non_finite_gradient_names_the_parameter():
    model = xor_model()

    def loss_fn(m, batch):  # sqrt'(0) = inf reaches only the first bias
        return F.cross_entropy(m(batch[0]), batch[1]) + mb.sqrt(m[0].bias * 0.0).sum()

    with np.errstate(divide="ignore", invalid="ignore"), pytest.raises(
        FloatingPointError, match="gradient of parameter '0.bias' has NaN or inf at epoch 1, step 1"
    ):
        fit(model, optim.SGD(model.parameters(), lr=0.1), [(XOR_X, XOR_Y)], loss_fn, epochs=1, progress=False)


def test_fit_validates_epochs_and_empty_loaders():
    model = xor_model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        fit(model, opt, [(XOR_X, XOR_Y)], lambda m, b: m(b[0]).sum(), epochs=0)
    with pytest.raises(ValueError, match="the loader yielded no batches"):
        fit(model, opt, [], lambda m, b: m(b[0]).sum(), epochs=1, progress=False)


def test_a_non_finite_update_is_caught_before_it_is_applied():
    """Before: the update was applied, then the guard raised with the weights already inf."""
    model = xor_model()
    before = [p.numpy().copy() for p in model.parameters()]
    # Finite gradients (about 1e29), but lr * g overflows float32: the update itself is inf.
    optimizer = optim.SGD(model.parameters(), lr=1e12)
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(
        FloatingPointError, match=r"the update of parameter '\d\.(weight|bias)' has NaN or inf at epoch 1, step 1"
    ):
        fit(model, optimizer, [(XOR_X, XOR_Y)], lambda m, b: 1e30 * F.cross_entropy(m(b[0]), b[1]), epochs=1,
            progress=False)
    for parameter, start in zip(model.parameters(), before):
        np.testing.assert_array_equal(parameter.numpy(), start)


def test_a_non_finite_gradient_leaves_the_weights_untouched():
    model = xor_model()
    before = [p.numpy().copy() for p in model.parameters()]

    def loss_fn(m, batch):
        return F.cross_entropy(m(batch[0]), batch[1]) + mb.sqrt(m[0].bias * 0.0).sum()

    with np.errstate(divide="ignore", invalid="ignore"), pytest.raises(FloatingPointError, match="no update was applied"):
        fit(model, optim.Adam(model.parameters(), lr=0.1), [(XOR_X, XOR_Y)], loss_fn, epochs=1, progress=False)
    for parameter, start in zip(model.parameters(), before):
        np.testing.assert_array_equal(parameter.numpy(), start)


def test_a_zero_loss_is_not_mistaken_for_a_fault():
    """The one-read report mixes loss values with finiteness flags: a loss of exactly 0 must pass."""
    model = xor_model()
    history = fit(model, optim.SGD(model.parameters(), lr=0.1), [(XOR_X, XOR_Y)],
                  lambda m, b: 0.0 * m(b[0]).sum(), epochs=2, progress=False)
    assert history["loss"] == [0.0, 0.0]


@pytest.mark.parametrize("check_finite", [True, False])
def test_a_per_sample_loss_is_refused_with_a_clear_message(check_finite):
    model = xor_model()
    with pytest.raises(ValueError, match=r"loss term 'loss' of shape \(4,\); it must be a scalar.*\.mean\(\)"):
        fit(model, optim.SGD(model.parameters(), lr=0.1), [(XOR_X, XOR_Y)],
            lambda m, b: F.cross_entropy(m(b[0]), b[1], reduction="none"), epochs=1, progress=False,
            check_finite=check_finite)
    with pytest.raises(TypeError, match="loss_fn must return a scalar Tensor or a non-empty dict.*got float"):
        fit(model, optim.SGD(model.parameters(), lr=0.1), [(XOR_X, XOR_Y)], lambda m, b: 1.0, epochs=1, progress=False)


def test_epochs_may_be_a_numpy_integer():
    model = xor_model()
    history = fit(model, optim.SGD(model.parameters(), lr=0.1), [(XOR_X, XOR_Y)],
                  lambda m, b: F.cross_entropy(m(b[0]), b[1]), epochs=np.int64(2), progress=False)
    assert history.epochs == [1, 2]
