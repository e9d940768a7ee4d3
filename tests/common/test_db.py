"""Pooled PostgreSQL connections survive the server dropping them while they sit idle."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import exc, text

from services.common.db import make_engine
from tests.conftest import PG_ADMIN_URL


def _server_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _terminate(pid: int) -> None:
    # What a restart of the server, or a firewall dropping quiet connections, does to them.
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)


def test_an_idle_connection_killed_by_the_server_is_replaced_before_use(pg_url):
    engine = make_engine(pg_url, pool_size=1, ping_after_idle_seconds=0)
    try:
        first = _server_pid(engine)
        _terminate(first)
        # The pooled connection is dead; the ping on checkout notices and reconnects.
        assert _server_pid(engine) != first
    finally:
        engine.dispose()


def test_a_pinged_connection_is_handed_out_outside_a_transaction(pg_url):
    engine = make_engine(pg_url, pool_size=1, ping_after_idle_seconds=0)
    try:
        _server_pid(engine)
        pooled = engine.raw_connection()  # pinged on the way out
        try:
            driver = pooled.driver_connection
            assert driver.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
            driver.autocommit = True  # what the one-statement writers do
            driver.autocommit = False
        finally:
            pooled.close()
    finally:
        engine.dispose()


def test_a_busy_connection_is_not_pinged_and_a_dead_one_fails_once(pg_url):
    engine = make_engine(pg_url, pool_size=1, ping_after_idle_seconds=3600)
    try:
        first = _server_pid(engine)
        _terminate(first)
        # Used again at once: no ping, so the dead connection shows in this one request.
        with pytest.raises(exc.OperationalError) as failure:
            _server_pid(engine)
        assert failure.value.connection_invalidated
        # The failure replaced the pool's connections: the next request works.
        assert _server_pid(engine) != first
    finally:
        engine.dispose()
