"""Fixtures of the LAPOR! tests: a migrated database and app per module and backend, with the
clock set to a chosen working morning."""

from __future__ import annotations

import pytest

from tests.lapor.support import T0, LaporClient, backend_env


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def lapor_env(request, tmp_path_factory):
    """One migrated database and app per test module and backend (SQLite, PostgreSQL)."""
    with backend_env(request.param, tmp_path_factory) as env:
        yield env


@pytest.fixture
def lapor(lapor_env) -> LaporClient:
    """The module's app with the clock back at T0 (Monday 2 March 2026, 09:00 WIB)."""
    lapor_env.clock.set(T0)
    return LaporClient(lapor_env)
