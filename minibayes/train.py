"""A short, explicit training loop with a progress bar, a history, and a NaN/inf guard.

``fit`` is the loop every gradient-trained model in minibayes uses::

    history = mb.train.fit(model, optimizer, loader, loss_fn, epochs=10,
                           callbacks=[lambda epoch, model: {"test_accuracy": accuracy(model)}])

``loss_fn(model, batch)`` returns the loss Tensor, or a dict of named terms
(e.g. ``{"reconstruction": ..., "kl": ...}``) whose sum is minimised; the
terms are tracked separately in the history. When a loss term, a gradient or a
parameter stops being finite, training stops with a ``FloatingPointError``
that names the epoch, the step, and the term or parameter where it appeared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from tqdm.auto import tqdm

from .autograd.function import no_grad
from .autograd.tensor import Tensor
from .nn.module import Module
from .optim import Optimizer

__all__ = ["fit", "History"]

LossFn = Callable[[Module, tuple], Tensor | Mapping[str, Tensor]]
Callback = Callable[[int, Module], Mapping[str, float] | None]


@dataclass
class History:
    """What happened during ``fit``: per-epoch means of each loss term and callback metrics."""

    epochs: list[int] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    step_losses: list[float] = field(default_factory=list)

    def record(self, name: str, value: float) -> None:
        self.metrics.setdefault(name, []).append(float(value))

    def __getitem__(self, name: str) -> list[float]:
        return self.metrics[name]

    def table(self) -> str:
        """One line per epoch, one column per metric."""
        names = list(self.metrics)
        lines = ["epoch  " + "  ".join(f"{n:>14}" for n in names)]
        for row, epoch in enumerate(self.epochs):
            cells = [self.metrics[n][row] if row < len(self.metrics[n]) else float("nan") for n in names]
            lines.append(f"{epoch:>5}  " + "  ".join(f"{c:>14.6g}" for c in cells))
        return "\n".join(lines)


def _terms(result: Tensor | Mapping[str, Tensor]) -> dict[str, Tensor]:
    if isinstance(result, Tensor):
        return {"loss": result}
    if isinstance(result, Mapping) and result and all(isinstance(v, Tensor) for v in result.values()):
        return dict(result)
    raise TypeError("loss_fn must return a scalar Tensor or a non-empty dict of scalar Tensors")


def _first_non_finite(named: Iterable[tuple[str, object]]) -> str | None:
    for name, array in named:
        # A sum is non-finite exactly when some element is NaN or inf (inf - inf gives NaN).
        if not math.isfinite(float(array.sum())):
            return name
    return None


def fit(
    model: Module,
    optimizer: Optimizer,
    loader: Iterable[tuple],
    loss_fn: LossFn,
    epochs: int,
    callbacks: Iterable[Callback] = (),
    progress: bool = True,
    check_finite: bool = True,
) -> History:
    """Train ``model`` for ``epochs`` passes over ``loader``.

    Parameters
    ----------
    model : Module
        Put in training mode for the passes; callbacks may switch it to eval.
    optimizer : Optimizer
        Stepped once per batch.
    loader : iterable of tuples of arrays
        Re-iterated every epoch (e.g. a ``minibayes.data.DataLoader``).
    loss_fn : callable (model, batch) -> Tensor or dict of Tensors
        The objective of one batch; a dict's values are summed.
    epochs : int
    callbacks : callables (epoch, model) -> dict of metrics
        Run after each epoch; their metrics go into the history and the progress bar.
    progress : bool
        Show a tqdm bar with the running loss.
    check_finite : bool
        Stop at the first non-finite loss term, gradient or parameter.

    Returns
    -------
    History
    """
    if not isinstance(epochs, int) or epochs <= 0:
        raise ValueError(f"fit: epochs must be a positive int, got {epochs!r}")
    history = History()
    named_parameters = list(model.named_parameters())
    step = 0
    for epoch in range(1, epochs + 1):
        model.train()
        sums: dict[str, float] = {}
        batches, epoch_total = 0, 0.0
        bar = tqdm(loader, desc=f"epoch {epoch}/{epochs}", disable=not progress, leave=False)
        for batch in bar:
            step += 1
            optimizer.zero_grad()
            terms = _terms(loss_fn(model, batch))
            values = {name: float(term.item()) for name, term in terms.items()}
            if check_finite:
                bad = next((n for n, v in values.items() if not math.isfinite(v)), None)
                if bad is not None:
                    raise FloatingPointError(
                        f"fit: loss term '{bad}' is {values[bad]} at epoch {epoch}, step {step} (before any update)"
                    )
            total = terms[next(iter(terms))] if len(terms) == 1 else sum(terms.values())
            total.backward()
            if check_finite:
                grads = ((n, p.grad.data) for n, p in named_parameters if p.grad is not None)
                bad = _first_non_finite(grads)
                if bad is not None:
                    raise FloatingPointError(
                        f"fit: the gradient of parameter '{bad}' has NaN or inf at epoch {epoch}, step {step}; "
                        f"loss terms were {values}"
                    )
            optimizer.step()
            if check_finite:
                bad = _first_non_finite((n, p.data) for n, p in named_parameters)
                if bad is not None:
                    raise FloatingPointError(
                        f"fit: parameter '{bad}' became NaN or inf in the update of epoch {epoch}, step {step}"
                    )
            batches += 1
            loss_value = sum(values.values())
            epoch_total += loss_value
            history.step_losses.append(loss_value)
            for name, value in values.items():
                sums[name] = sums.get(name, 0.0) + value
            bar.set_postfix(loss=f"{epoch_total / batches:.4g}")
        if batches == 0:
            raise ValueError("fit: the loader yielded no batches")
        history.epochs.append(epoch)
        for name, total_value in sums.items():
            history.record(name, total_value / batches)
        with no_grad():
            for callback in callbacks:
                for name, value in (callback(epoch, model) or {}).items():
                    history.record(name, value)
        if progress:
            summary = ", ".join(f"{n}={v[-1]:.4g}" for n, v in history.metrics.items())
            tqdm.write(f"epoch {epoch}/{epochs}: {summary}")
    model.train()
    return history
