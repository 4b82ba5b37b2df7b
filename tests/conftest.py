"""Test-wide settings: hypothesis profiles and a clean backend for every test."""

import os

import pytest
from hypothesis import HealthCheck, settings

import minibayes as mb

# Local runs explore new examples each time; CI replays a fixed sequence so that a
# rare draw cannot turn a submission red by chance.
settings.register_profile(
    "dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci", max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(autouse=True)
def default_backend_and_dtype():
    """Each test starts on NumPy with float32 as the default dtype, and leaves it that way."""
    backend, dtype = mb.get_backend(), mb.get_default_dtype()
    mb.set_backend("numpy")
    mb.set_default_dtype("float32")
    yield
    mb.set_backend(backend)
    mb.set_default_dtype(dtype)
