"""A short, explicit training loop with a progress bar, a history, and a NaN/inf guard.

``fit`` is the loop every gradient-trained model in minibayes uses::

    history = mb.train.fit(model, optimizer, loader, loss_fn, epochs=10,
                           callbacks=[lambda epoch, model: {"test_accuracy": accuracy(model)}])

``loss_fn(model, batch)`` returns the loss Tensor, or a dict of named terms
(e.g. ``{"reconstruction": ..., "kl": ...}``) whose sum is minimised; the
terms are tracked separately in the history. When a loss term, a gradient or a
parameter update stops being finite, training stops with a ``FloatingPointError``
that names the epoch, the step, and the term or parameter where it appeared,
before the update is applied: the parameters keep their last finite values.

A step reads the device once: the loss terms and one finiteness flag per
gradient and per update travel to the host together, in one small array (on
the GPU every other read would stall the pipeline).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from tqdm.auto import tqdm

from . import backend
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
        terms = {"loss": result}
    elif isinstance(result, Mapping) and result and all(isinstance(v, Tensor) for v in result.values()):
        terms = dict(result)
    else:
        raise TypeError(
            f"fit: loss_fn must return a scalar Tensor or a non-empty dict of scalar Tensors, got {type(result).__name__}"
        )
    for name, term in terms.items():
        if term.size != 1:
            raise ValueError(
                f"fit: loss_fn returned a loss term '{name}' of shape {term.shape}; it must be a scalar "
                "(one number per batch): reduce the per-sample losses, e.g. with .mean() or reduction='mean'"
            )
    return terms


def _step_report(terms: Mapping[str, Tensor], named_updates: list[tuple[str, object, object]]) -> object:
    """One host array: the loss terms, then per parameter isfinite(all of grad), then isfinite(all of update).

    Built on the device and copied once, so that a training step costs one device-to-host sync.
    """
    first = next(iter(terms.values())).data
    xp = backend.array_module(first)
    entries = [term.data.reshape(()).astype(xp.float64) for term in terms.values()]
    entries += [xp.isfinite(grad).all() for _, grad, _ in named_updates]
    entries += [xp.isfinite(update).all() for _, _, update in named_updates]
    return backend.to_numpy(xp.stack([xp.asarray(entry, dtype=xp.float64) for entry in entries]))


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
        Stop at the first non-finite loss term, gradient or parameter update, before the
        update is applied. The parameters keep their values; the optimiser's buffers
        (momentum, moments) have absorbed the failing step, so rebuild or reload it to resume.

    Returns
    -------
    History
    """
    if not isinstance(epochs, numbers.Integral) or isinstance(epochs, bool) or epochs <= 0:
        raise ValueError(f"fit: epochs must be a positive int, got {epochs!r}")
    backend.apply_host_memory_policy()  # recycle freed host memory while training (MINIBAYES_HOST_MALLOC)
    history = History()
    names = {id(p): n for n, p in model.named_parameters()}
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
            total = terms[next(iter(terms))] if len(terms) == 1 else sum(terms.values())
            total.backward()
            if check_finite:
                # The step is computed but held back until the one read of the device says it is finite.
                updates = optimizer.propose_step()
                named_updates = [(names.get(id(p), "an optimiser parameter"), p.grad.data, u) for p, u in updates]
                report = _step_report(terms, named_updates)
                values = dict(zip(terms, (float(v) for v in report[: len(terms)])))
                finite_flags = report[len(terms):]
                if not finite_flags.all() or not all(math.isfinite(v) for v in values.values()):
                    _raise_non_finite(values, named_updates, finite_flags, epoch, step)
                optimizer.apply_step(updates)
            else:
                optimizer.step()
                values = dict(zip(terms, (float(v) for v in _step_report(terms, []))))
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


def _raise_non_finite(values: Mapping[str, float], named_updates: list[tuple[str, object, object]],
                      flags: object, epoch: int, step: int) -> None:
    """Name the first non-finite loss term, else gradient, else update (flags: grads then updates)."""
    bad = next((n for n, v in values.items() if not math.isfinite(v)), None)
    if bad is not None:
        raise FloatingPointError(
            f"fit: loss term '{bad}' is {values[bad]} at epoch {epoch}, step {step} (no update was applied)"
        )
    count = len(named_updates)
    for index, (name, _, _) in enumerate(named_updates):
        if not flags[index]:
            raise FloatingPointError(
                f"fit: the gradient of parameter '{name}' has NaN or inf at epoch {epoch}, step {step}; "
                f"loss terms were {dict(values)} (no update was applied)"
            )
    for index, (name, _, _) in enumerate(named_updates):
        if not flags[count + index]:
            raise FloatingPointError(
                f"fit: the update of parameter '{name}' has NaN or inf at epoch {epoch}, step {step} although its "
                "gradient is finite (a learning rate or weight decay too large for the dtype?); it was not applied"
            )
