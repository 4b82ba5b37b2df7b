"""The integer check every layer and model constructor shares (sizes, channel counts, T, ...).

It lives here, below both ``nn`` and ``models``, so that layers can use it without importing the
models package; ``models._checks`` re-exports it beside the models' own checks.
"""

from __future__ import annotations

import operator

__all__ = ["positive_int"]


def positive_int(value: object, name: str, caller: str) -> int:
    """``value`` as an int >= 1 (NumPy integers accepted; bools and floats refused)."""
    if isinstance(value, bool) or not hasattr(value, "__index__") or operator.index(value) < 1:
        raise ValueError(f"{caller}: {name} must be a positive int, got {value!r}")
    return operator.index(value)
