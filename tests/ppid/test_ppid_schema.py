"""The migrations build exactly the models' schema, and numbers are gap-free under load."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from services.common.db import make_engine
from services.ppid import handlers
from services.ppid.models import Base, NumberCounter, Request
from tests.ppid.support import REQUEST_BODY, WIB, build_env


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrations_match_the_models(backend, tmp_path, fresh_pg):
    url = f"sqlite:///{tmp_path / 'm.db'}" if backend == "sqlite" else fresh_pg
    env = build_env(url, backend)
    try:
        with env.rt.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "version_table": "alembic_version_ppid"})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        env.rt.dispose()


def _form():
    return {k: v for k, v in REQUEST_BODY.items()} | {"phone": "+6281255551234"}


def test_numbers_are_gap_free_under_concurrent_submissions(fresh_pg, monkeypatch):
    """Many threads submit at once; some transactions fail after taking a number. The
    numbers that exist are exactly 1..N: no gap, no duplicate."""
    env = build_env(fresh_pg, "postgresql")
    rt = env.rt
    now = datetime(2026, 3, 2, 9, tzinfo=WIB)
    real_event = handlers.new_event
    calls = {"n": 0}
    lock = threading.Lock()

    def sometimes_failing_event(*args, **kwargs):
        # Raised after the counter row was incremented and the request inserted: the whole
        # transaction, counter included, must roll back.
        with lock:
            calls["n"] += 1
            fail = calls["n"] % 7 == 0
        if fail:
            raise RuntimeError("injected failure after numbering")
        return real_event(*args, **kwargs)

    monkeypatch.setattr(handlers, "new_event", sometimes_failing_event)
    threads, per_thread, failures = 16, 8, []
    barrier = threading.Barrier(threads)

    def work():
        barrier.wait()
        for _ in range(per_thread):
            try:
                handlers.submit_request(rt, _form(), now=now)
            except RuntimeError:
                failures.append(1)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    try:
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        with rt.uow() as uow:
            numbers = uow.session.scalars(select(Request.number).order_by(Request.sequence)).all()
            counter = uow.session.get(NumberCounter, ("PPID", 2026)).last_value
        created = threads * per_thread - len(failures)
        assert failures, "the test must exercise failed transactions"
        assert numbers == [f"PPID-2026-{n:06d}" for n in range(1, created + 1)]
        assert counter == created
    finally:
        rt.dispose()


def test_numbering_restarts_each_year(tmp_path):
    env = build_env(f"sqlite:///{tmp_path / 'y.db'}", "sqlite")
    try:
        first = handlers.submit_request(env.rt, _form(), now=datetime(2026, 12, 31, 23, 30, tzinfo=WIB))
        second = handlers.submit_request(env.rt, _form(), now=datetime(2027, 1, 1, 0, 5, tzinfo=WIB))
        # The registration year is the regency's local year, not UTC's.
        assert first["number"] == "PPID-2026-000001"
        assert second["number"] == "PPID-2027-000001"
    finally:
        env.rt.dispose()


def test_engine_round_trips_aware_instants(tmp_path):
    """SQLite keeps no offset: the model's column type stores UTC and returns it aware."""
    env = build_env(f"sqlite:///{tmp_path / 'tz.db'}", "sqlite")
    try:
        result = handlers.submit_request(env.rt, _form(), now=datetime(2026, 3, 2, 16, 30, tzinfo=WIB))
        engine = make_engine(env.url)
        with env.rt.uow() as uow:
            req = uow.session.scalars(select(Request).where(Request.number == result["number"])).one()
            assert req.submitted_at == datetime(2026, 3, 2, 16, 30, tzinfo=WIB)
            assert req.submitted_at.utcoffset().total_seconds() == 0
            assert req.received_at == datetime(2026, 3, 3, 8, 0, tzinfo=WIB)
        engine.dispose()
    finally:
        env.rt.dispose()
