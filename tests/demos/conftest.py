"""Every demo test also checks that the demo gave the caller's backend and dtype back."""

import functools
import importlib
from pathlib import Path

import pytest

import minibayes as mb
from minibayes import backend

DEMOS = sorted(p.stem for p in (Path(__file__).resolve().parents[2] / "demos").glob("*.py") if not p.stem.startswith("_"))
CALLERS_BACKEND = "numpy (the caller's)"


def _gives_the_backend_back(main):
    """``main`` run with the caller on NumPy under a name no demo asks for, and that name checked afterwards.

    A demo that runs inside ``with mb.using(args.backend)`` restores it; a bare ``set_backend``
    (which would leave "numpy" behind) or a changed default dtype fails the test that ran it.
    """

    @functools.wraps(main)
    def checked(*args, **kwargs):
        name, dtype = backend._config.name, mb.get_default_dtype()
        backend._config.name = CALLERS_BACKEND
        try:
            return main(*args, **kwargs)
        finally:
            restored = (mb.get_backend(), mb.get_default_dtype())
            backend._config.name = name
            assert restored == (CALLERS_BACKEND, dtype), f"{main.__module__}.main left {restored} behind"

    return checked


@pytest.fixture(autouse=True)
def demos_give_the_callers_backend_back(monkeypatch):
    for name in DEMOS:
        module = importlib.import_module(f"demos.{name}")
        monkeypatch.setattr(module, "main", _gives_the_backend_back(module.main))
