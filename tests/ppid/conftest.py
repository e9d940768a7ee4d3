"""Fixtures of the PPID tests: a migrated database and app per module and backend, a clock
set to a chosen working morning, and a fresh PostgreSQL database on demand."""

from __future__ import annotations

import pytest

from tests.ppid.support import (
    T0,
    PpidClient,
    backend_env,
    drop_pg_database,
    new_pg_database,
    pg_database_url,
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def ppid_env(request, tmp_path_factory):
    """One migrated database and app per test module and backend (SQLite, PostgreSQL)."""
    with backend_env(request.param, tmp_path_factory) as env:
        yield env


@pytest.fixture
def ppid(ppid_env) -> PpidClient:
    """The module's app with the clock back at T0 (Monday 2 March 2026, 09:00 WIB)."""
    ppid_env.clock.set(T0)
    return PpidClient(ppid_env)


@pytest.fixture
def fresh_pg():
    """A fresh PostgreSQL database URL, dropped after the test."""
    name = new_pg_database()
    yield pg_database_url(name)
    drop_pg_database(name)
