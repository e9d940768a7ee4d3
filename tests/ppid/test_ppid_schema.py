"""The migrations build exactly the models' schema, and numbers are gap-free under load."""

from __future__ import annotations

import json
import threading
from datetime import datetime

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text

from services.common.db import make_engine
from services.common.migrations import alembic_config, upgrade
from services.ppid import handlers
from services.ppid.models import Base, NumberCounter, Request
from tests.ppid.support import REQUEST_BODY, WIB, build_env
from tests.support import model_checks, stored_checks


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


_SUBMISSION_TABLES = ("requests", "applicants")


def test_the_submission_tables_keep_the_models_checks_as_array_constants(fresh_pg):
    """Migration 0012 stores the listed values of requests and applicants as one array
    constant, as the models write them; the values refused stay refused, and going back
    restores the IN lists."""
    env = build_env(fresh_pg, "postgresql")
    handlers.submit_request(env.rt, _form(), now=datetime(2026, 3, 2, 9, tzinfo=WIB))
    env.rt.dispose()
    engine = make_engine(fresh_pg, pool_size=1)
    try:
        with engine.begin() as conn:
            stored = stored_checks(conn, _SUBMISSION_TABLES)
            modelled = model_checks(conn, Base.metadata, _SUBMISSION_TABLES)
        assert stored == modelled
        assert stored["requests", "ck_requests_status"] == (
            "CHECK (((status)::text = ANY ('{received,assigned,answered,withdrawn}'::text[])))"
        )
        for column, value in (("status", "lost"), ("channel", "pigeon"), ("delivery_method", "drone")):
            with pytest.raises(Exception, match=f"ck_requests_{column}"), engine.begin() as conn:
                conn.execute(text(f"UPDATE requests SET {column} = :v"), {"v": value})
        with pytest.raises(Exception, match="ck_applicants_identity_type"), engine.begin() as conn:
            conn.execute(text("UPDATE applicants SET identity_type = 'paspor'"))

        command.downgrade(alembic_config("ppid", fresh_pg), "0011")
        with engine.connect() as conn:
            downgraded = stored_checks(conn, _SUBMISSION_TABLES)
        assert downgraded["requests", "ck_requests_status"] == (
            "CHECK (((status)::text = ANY ((ARRAY['received'::character varying, "
            "'assigned'::character varying, 'answered'::character varying, "
            "'withdrawn'::character varying])::text[])))"
        )
        assert set(downgraded) == set(stored)
        upgrade("ppid", fresh_pg)
        with engine.connect() as conn:
            assert stored_checks(conn, _SUBMISSION_TABLES) == stored
    finally:
        engine.dispose()


def _form():
    return {k: v for k, v in REQUEST_BODY.items()} | {"phone": "+6281255551234"}


# A name the test's trigger refuses: that submission fails inside the database, after its
# number was taken and its request row written.
FAILING_NAME = "Gagal Disimpan"
_FAILING_TRIGGER = {
    "postgresql": [
        f"""CREATE FUNCTION refuse_applicant() RETURNS trigger AS $$
            BEGIN
                IF NEW.name = '{FAILING_NAME}' THEN RAISE EXCEPTION 'injected failure'; END IF;
                RETURN NEW;
            END $$ LANGUAGE plpgsql""",
        """CREATE TRIGGER refuse_applicant BEFORE INSERT ON applicants
            FOR EACH ROW EXECUTE FUNCTION refuse_applicant()""",
    ],
    "sqlite": [
        f"""CREATE TRIGGER refuse_applicant BEFORE INSERT ON applicants
            WHEN NEW.name = '{FAILING_NAME}'
            BEGIN SELECT RAISE(ABORT, 'injected failure'); END""",
    ],
}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_numbers_are_gap_free_under_concurrent_submissions(backend, tmp_path, fresh_pg):
    """Many threads submit at once; every seventh submission fails in the database after
    taking its number. The numbers that exist are exactly 1..N: no gap, no duplicate."""
    url = f"sqlite:///{tmp_path / 'n.db'}" if backend == "sqlite" else fresh_pg
    env = build_env(url, backend)
    rt = env.rt
    with rt.engine.begin() as conn:
        for statement in _FAILING_TRIGGER[backend]:
            conn.exec_driver_sql(statement)
    now = datetime(2026, 3, 2, 9, tzinfo=WIB)
    threads, per_thread = 16, 8
    barrier = threading.Barrier(threads)
    failures: list[int] = []

    def work(index: int):
        barrier.wait()
        for attempt in range(per_thread):
            form = _form()
            if (index * per_thread + attempt) % 7 == 0:
                form["name"] = FAILING_NAME
            try:
                handlers.submit_request(rt, form, now=now)
            except Exception as exc:  # noqa: BLE001 - the driver's error on PostgreSQL
                assert "injected failure" in str(exc)
                failures.append(1)

    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    try:
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        with rt.uow() as uow:
            numbers = uow.session.scalars(select(Request.number).order_by(Request.sequence)).all()
            counter = uow.session.get(NumberCounter, ("PPID", 2026)).last_value
            outbox_subjects = uow.session.scalars(select(rt.outbox.c.subject)).all()
        created = threads * per_thread - len(failures)
        assert len(failures) == 19  # the attempts numbered 0, 7, ... 126
        assert numbers == [f"PPID-2026-{n:06d}" for n in range(1, created + 1)]
        assert counter == created
        # Each stored request has its one event, carrying its own number.
        assert sorted(outbox_subjects) == sorted(f"requests/{n}" for n in numbers)
    finally:
        rt.dispose()


def test_a_submission_on_postgresql_is_one_statement_outside_a_transaction(fresh_pg, monkeypatch):
    """One round trip: the counter, the request, the applicant and the event are a single
    statement on the unit of work's connection in autocommit, so the year's counter row is
    locked only that long; the event gets its number as JSON, no stand-in text replaced."""
    env = build_env(fresh_pg, "postgresql")
    executed: list[tuple[str, bool]] = []
    real_execute = psycopg.Cursor.execute

    def record(cursor, query, *args, **kwargs):
        executed.append((str(query), cursor.connection.autocommit))
        return real_execute(cursor, query, *args, **kwargs)

    try:
        handlers.submit_request(env.rt, _form(), now=datetime(2026, 3, 2, 9, tzinfo=WIB))  # warm pool
        monkeypatch.setattr(psycopg.Cursor, "execute", record)
        result = handlers.submit_request(env.rt, _form(), now=datetime(2026, 3, 2, 9, tzinfo=WIB))
        monkeypatch.undo()
        assert len(executed) == 1
        statement, autocommit = executed[0]
        assert autocommit and statement.startswith("WITH counter AS")
        assert result["number"] == "PPID-2026-000002"
        with env.rt.engine.connect() as conn:
            body = conn.execute(
                select(env.rt.outbox.c.body).where(env.rt.outbox.c.subject == "requests/PPID-2026-000002")
            ).scalar_one()
        envelope = json.loads(body)
        assert envelope["subject"] == "requests/PPID-2026-000002"
        assert envelope["data"]["number"] == "PPID-2026-000002" and "@@" not in body
        # The pooled connection went back as SQLAlchemy left it: in a transaction's mode.
        with env.rt.engine.connect() as conn:
            assert conn.connection.driver_connection.autocommit is False
    finally:
        env.rt.dispose()


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
