"""Fixtures of the PPID tests: a migrated database and app per module and backend, a clock
set to a chosen working morning, and a fresh PostgreSQL database on demand."""

from __future__ import annotations

import pytest

from tests.ppid.support import (
    T0,
    PpidClient,
    build_env,
    drop_pg_database,
    new_pg_database,
    pg_database_url,
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def ppid_env(request, tmp_path_factory):
    """One migrated database and app per test module and backend (SQLite, PostgreSQL)."""
    name = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('ppid') / 'ppid.db'}"
    else:
        name = new_pg_database()
        url = pg_database_url(name)
    env = build_env(url, request.param)
    yield env
    env.rt.dispose()
    if name:
        drop_pg_database(name)


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
