"""Pooled PostgreSQL connections survive the server dropping them while they sit idle; the
unit of work hands back the rows it loaded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import psycopg
import pytest
from sqlalchemy import DateTime, MetaData, String, exc, insert, select, text, update
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.orm import exc as orm_exc

from services.common.calendar_sync import calendar_state_table
from services.common.db import UtcDateTime, make_engine, make_session_factory
from services.common.outbox import UnitOfWork, plumbing_tables
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


# -- the unit of work keeps what it loaded -------------------------------------------------


class _Base(DeclarativeBase):
    pass


class _Note(_Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(50))


_outbox, _inbox = plumbing_tables(_Base.metadata)


@pytest.fixture()
def notes(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'notes.db'}")
    _Base.metadata.create_all(engine)
    factory = make_session_factory(engine)
    with UnitOfWork(factory, _outbox) as uow:
        uow.session.add(_Note(id=1, text="tersimpan"))
        uow.commit()
    yield lambda: UnitOfWork(factory, _outbox)
    engine.dispose()


def test_rows_read_in_a_unit_of_work_stay_readable_after_it(notes):
    with notes() as uow:
        note = uow.session.get(_Note, 1)
    assert note.text == "tersimpan"


def test_rows_of_a_committed_unit_of_work_stay_readable_after_it(notes):
    with notes() as uow:
        note = uow.session.get(_Note, 1)
        note.text = "diubah"
        uow.commit()
    assert note.text == "diubah"


@pytest.mark.parametrize("flush", [True, False])
def test_a_change_that_was_not_committed_is_not_shown_afterwards(notes, flush):
    with notes() as uow:
        note = uow.session.get(_Note, 1)
        note.text = "tidak jadi"
        if flush:
            uow.session.flush()
    # The rollback expired it: reading it cannot show a value the database never kept.
    with pytest.raises(orm_exc.DetachedInstanceError):
        _ = note.text
    with notes() as uow:
        assert uow.session.get(_Note, 1).text == "tersimpan"


def test_an_update_statement_not_committed_expires_what_it_touched(notes):
    with notes() as uow:
        note = uow.session.get(_Note, 1)
        uow.session.execute(update(_Note).where(_Note.id == 1).values(text="massal"))
    with pytest.raises(orm_exc.DetachedInstanceError):
        _ = note.text


def test_a_failed_unit_of_work_discards_what_it_loaded(notes):
    with pytest.raises(RuntimeError), notes() as uow:
        note = uow.session.get(_Note, 1)
        raise RuntimeError("gagal")
    with pytest.raises(orm_exc.DetachedInstanceError):
        _ = note.text


# -- the chassis's own tables keep instants as UtcDateTime --------------------------------


def test_every_timestamp_of_the_chassis_tables_is_utc():
    metadata = MetaData()
    tables = [*plumbing_tables(metadata), calendar_state_table(metadata)]
    stamps = [c for t in tables for c in t.columns if isinstance(c.type, DateTime | UtcDateTime)]
    assert {c.name for c in stamps} == {"created_at", "published_at", "processed_at", "updated_at"}
    assert all(isinstance(c.type, UtcDateTime) for c in stamps)


def test_an_outbox_instant_comes_back_aware_in_utc_from_sqlite(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'outbox.db'}")
    _Base.metadata.create_all(engine)
    wib = timezone(timedelta(hours=7))
    try:
        with engine.begin() as conn:
            conn.execute(insert(_outbox).values(
                event_id="e1", routing_key="ppid.request.received.none", subject="s", body="{}",
                created_at=datetime(2026, 4, 7, 10, tzinfo=wib), attempts=0))
        with engine.connect() as conn:
            created = conn.execute(select(_outbox.c.created_at)).scalar_one()
        assert created.tzinfo is UTC and created == datetime(2026, 4, 7, 3, tzinfo=UTC)
        with pytest.raises(exc.StatementError, match="naive"), engine.begin() as conn:
            conn.execute(insert(_outbox).values(
                event_id="e2", routing_key="r", subject="s", body="{}",
                created_at=datetime(2026, 4, 7, 10), attempts=0))
    finally:
        engine.dispose()


def test_listed_values_are_an_in_list_on_sqlite_and_one_array_constant_on_postgresql():
    from sqlalchemy import CheckConstraint, Column, Table
    from sqlalchemy.dialects import postgresql, sqlite
    from sqlalchemy.schema import CreateTable

    from services.common.db import ListedValues

    table = Table(
        "cases", MetaData(),
        Column("status", String(20)),
        Column("reason", String(20)),
        CheckConstraint(ListedValues("status", ("open", "closed")), name="ck_status"),
        CheckConstraint(ListedValues("reason", ("spam", "duplicate"), or_null=True), name="ck_reason"),
    )
    lite = str(CreateTable(table).compile(dialect=sqlite.dialect()))
    assert "CHECK (status IN ('open', 'closed'))" in lite
    assert "CHECK (reason IS NULL OR reason IN ('spam', 'duplicate'))" in lite
    pg = str(CreateTable(table).compile(dialect=postgresql.psycopg.dialect()))
    assert "CHECK (status::text = ANY ('{open,closed}'::text[]))" in pg
    assert "CHECK (reason IS NULL OR reason::text = ANY ('{spam,duplicate}'::text[]))" in pg


@pytest.mark.parametrize("value", ["Open", "two words", "it's", "a,b", "{x}", ""])
def test_a_listed_value_that_an_array_literal_would_misread_is_refused(value):
    from services.common.db import ListedValues

    with pytest.raises(ValueError, match="unquoted"):
        ListedValues("status", ("open", value))
