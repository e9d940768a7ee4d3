"""Fixtures of the SIBER tests: a migrated database and app per module and backend, with a
clock standing on a chosen working morning."""

from __future__ import annotations

import pytest

from tests.siber.support import T0, SiberClient, backend_env


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def siber_env(request, tmp_path_factory):
    """One migrated database and app per test module and backend (SQLite, PostgreSQL)."""
    with backend_env(request.param, tmp_path_factory) as env:
        yield env


@pytest.fixture
def siber(siber_env) -> SiberClient:
    """The module's app with the clock back at T0 (Monday 2 March 2026, 09:00 WIB)."""
    siber_env.clock.set(T0)
    return SiberClient(siber_env)
