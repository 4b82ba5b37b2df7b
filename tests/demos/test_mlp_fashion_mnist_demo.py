"""The Fashion-MNIST MLP demo in quick mode: it learns the subset, plots, checkpoints, refuses a missing GPU."""

from __future__ import annotations

import pytest

import minibayes as mb
from demos import mlp_fashion_mnist as demo

EPOCHS = 5
# Measured on the shipped 2,000/500 subset after 5 epochs: 0.814 to 0.848 test accuracy over
# seeds 0-5 (0.814 for seed 0). Chance is 0.10; the same run after its first epoch is at 0.758.
MIN_TEST_ACCURACY = 0.78


def test_quick_run_learns_the_subset_and_writes_the_plot_and_checkpoint(tmp_path, capsys):
    checkpoint = tmp_path / "mlp.npz"
    summary = demo.main(["--quick", "--out", str(tmp_path), "--epochs", str(EPOCHS), "--checkpoint", str(checkpoint)])
    assert summary["data"] == "small"
    history = summary["history"]
    assert history["epoch"] == list(range(1, EPOCHS + 1))
    assert all(len(history[name]) == EPOCHS for name in demo.COLUMNS)
    assert summary["test_accuracy"] == history["test_accuracy"][-1] >= MIN_TEST_ACCURACY
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert (tmp_path / "mlp_fashion_mnist.png").stat().st_size > 20_000  # two panels of curves, not a blank canvas
    # The printed table has a header and one row per epoch, whose last test accuracy is the returned one.
    table = [line for line in capsys.readouterr().out.splitlines() if line.split()[:1] and line.split()[0].isdigit()]
    assert len(table) == EPOCHS
    assert table[-1].split()[4] == f"{summary['test_accuracy']:.2%}"
    # The checkpoint restores the trained weights into a fresh model: same test accuracy.
    model = demo.make_model()
    mb.load(checkpoint, into={"model": model})
    (_, _), (x_test, y_test), _ = demo.load_data(quick=True, path=None)
    _, accuracy = demo.evaluate(model, mb.data.DataLoader((x_test, y_test), batch_size=500))
    assert accuracy == summary["test_accuracy"]


def test_the_backend_is_restored_after_the_run(tmp_path):
    mb.set_backend("numpy")
    demo.main(["--quick", "--out", str(tmp_path), "--epochs", "1"])
    assert mb.get_backend() == "numpy"


@pytest.mark.skipif(mb.cupy_available(), reason="CuPy and a GPU are present here")
def test_cupy_backend_without_cupy_fails_with_a_backend_error(tmp_path):
    with pytest.raises(mb.BackendError, match="cupy"):
        demo.main(["--quick", "--backend", "cupy", "--out", str(tmp_path), "--epochs", "1"])
    assert not (tmp_path / "mlp_fashion_mnist.png").exists()
