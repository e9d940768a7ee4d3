"""The transactional outbox, the consumer inbox and the unit of work that writes them.

A handler changes state and records its events in one transaction: the relay publishes
them later, so a state change and its events commit together or not at all.

On PostgreSQL that transaction also notifies the outbox's wake-up channel, which the server
delivers at commit (and never for a rollback): a listening relay publishes at once instead
of at its next poll. Notifications are coalesced and lost while the relay is disconnected,
so they only ever shorten the poll's wait, never replace it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from psycopg.pq import TransactionStatus
from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    func,
    insert,
    select,
)
from sqlalchemy.orm import Session, sessionmaker

from services.common.db import UtcDateTime
from services.common.events import Event

_IDLE = TransactionStatus.IDLE
# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a bigint identity.
_ID = BigInteger().with_variant(Integer, "sqlite")


def plumbing_tables(metadata: MetaData) -> tuple[Table, Table]:
    """The outbox and inbox tables, added to a service's own metadata (and migrations)."""
    outbox = Table(
        "outbox",
        metadata,
        Column("id", _ID, primary_key=True, autoincrement=True),
        # One row per routing key: an event that moves a case between OPDs has two rows,
        # with one event id and one body, and consumers apply it once (their inbox).
        Column("event_id", String(36), nullable=False),
        Column("routing_key", String(255), nullable=False),
        Column("subject", String(255), nullable=False),
        Column("body", Text, nullable=False),
        Column("created_at", UtcDateTime(), nullable=False),
        Column("published_at", UtcDateTime(), nullable=True),
        Column("attempts", Integer, nullable=False, default=0),
        UniqueConstraint("event_id", "routing_key", name="uq_outbox_event_route"),
    )
    # The relay only ever looks for unsent rows: a partial index keeps that lookup small
    # however many sent rows accumulate.
    Index(
        "ix_outbox_unsent",
        outbox.c.id,
        postgresql_where=outbox.c.published_at.is_(None),
        sqlite_where=outbox.c.published_at.is_(None),
    )
    Index("ix_outbox_published_at", outbox.c.published_at)
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("event_id", String(64), primary_key=True),
        Column("processed_at", UtcDateTime(), nullable=False),
    )
    return outbox, inbox


def outbox_rows(event: Event) -> list[dict]:
    """The event's rows: one per routing key, each with the event's id and body."""
    body, now = event.to_json(), datetime.now(UTC)
    return [
        {
            "event_id": event.id,
            "routing_key": key,
            "subject": event.subject,
            "body": body,
            "created_at": now,
            "published_at": None,
            "attempts": 0,
        }
        for key in event.routing_keys
    ]


def wakeup_channel(outbox: Table) -> str:
    """The PostgreSQL channel a commit that wrote to `outbox` notifies, and its relay listens on."""
    return f"simpul.{outbox.fullname}"


def outbox_row(event: Event) -> dict:
    """The one row of an event that moves no case (a move has a row per OPD)."""
    rows = outbox_rows(event)
    if len(rows) != 1:
        raise ValueError(f"{event.type} is routed to {len(rows)} keys: write outbox_rows(event)")
    return rows[0]


_UOW_KEY = "simpul_uow"  # the unit of work a session belongs to, in `session.info`
_WATCHED_FACTORY = "_simpul_uow_events"


class UnitOfWork:
    """A transaction that rolls back unless `commit()` is called, and records events.

    ``with uow:`` opens a session (on its first use); ``uow.publish(event)`` writes the
    event to the outbox in the same transaction; leaving the block without ``commit()``
    discards both.

    A unit of work whose one write is a statement that commits by itself (a citizen's
    numbered submission, `services.common.numbering`) needs no session at all: it borrows a
    pooled connection (`autocommit_connection`), and the session, with its transaction
    bookkeeping, is only ever built when something uses it.
    """

    def __init__(self, session_factory: sessionmaker[Session], outbox: Table):
        self._session_factory = session_factory
        self._outbox = outbox
        self._session: Session | None = None
        self._open = False
        self._borrowed: Any = None  # a pooled DBAPI connection, when one was lent
        self.events: list[Event] = []
        self._after_commit: list[Callable[[], None]] = []
        self._uncommitted_writes = False
        self._notifies: bool | None = None  # known once the first event is written
        self._notified = False

    def __enter__(self) -> UnitOfWork:
        self.events = []
        self._after_commit = []
        self._uncommitted_writes = False
        self._notified = False
        self._open = True
        return self

    @property
    def session(self) -> Session | None:
        """The unit of work's session, opened on first use; None outside the block."""
        if self._session is None and self._open:
            _watch(self._session_factory)
            self._session = self._session_factory()
            self._session.info[_UOW_KEY] = self
        return self._session

    @property
    def dialect_name(self) -> str:
        """The database's dialect, without opening a session when the factory has a bind."""
        bind = self._session_factory.kw.get("bind")
        return bind.dialect.name if bind is not None else self.session.get_bind().dialect.name

    def autocommit_connection(self) -> tuple[Any, bool]:
        """(psycopg connection, alone) for a statement run on the driver.

        `alone` says the unit of work has no transaction open: the caller may run the
        statement in autocommit. When the session has begun (something was read or
        written), its own connection is lent and the statement joins its transaction.
        Otherwise a pooled connection is borrowed until the block is left.
        """
        if self._session is not None and self._session.in_transaction():
            driver = self._session.connection().connection.driver_connection
            return driver, driver.info.transaction_status == _IDLE
        if self._borrowed is None:
            bind = self._session_factory.kw.get("bind") or self.session.get_bind()
            self._borrowed = bind.raw_connection()
        driver = self._borrowed.driver_connection
        return driver, driver.info.transaction_status == _IDLE

    def _transaction_ended(self, _session, _transaction) -> None:
        # Also a savepoint's end: a rolled back savepoint takes its notification with it.
        self._notified = False

    def _flushed(self, _session, _flush_context) -> None:
        self._uncommitted_writes = True

    def _executing(self, state) -> None:
        # An UPDATE or DELETE statement also changes the rows the session holds.
        if state.is_insert or state.is_update or state.is_delete:
            self._uncommitted_writes = True

    def __exit__(self, exc_type, *_rest) -> None:
        self._open = False
        borrowed, self._borrowed = self._borrowed, None
        try:
            self._close_session(exc_type)
        finally:
            if borrowed is not None:
                # Back to the pool, which rolls back whatever a failure left open.
                borrowed.close()

    def _close_session(self, exc_type) -> None:
        """Leave the block: what was not committed is discarded.

        A block that read (or committed) and left normally hands back rows as they were
        loaded: closing the session ends its transaction without expiring them, so a use
        case returns ORM rows that stay readable. Only when the block failed, or wrote
        something it did not commit, is the session rolled back, which expires its rows:
        they would otherwise show values the database never kept.
        """
        session, self._session = self._session, None
        if session is None:
            return
        try:
            if exc_type is not None or self._uncommitted_writes or _has_changes(session):
                session.rollback()
        finally:
            session.close()

    def publish(self, *events: Event) -> None:
        if self.session is None:
            raise RuntimeError("publish() outside a unit of work")
        if events:
            self.session.execute(insert(self._outbox), [row for e in events for row in outbox_rows(e)])
            self.events.extend(events)
            self._notify_relay()

    def _notify_relay(self) -> None:
        # Once per transaction: the server would coalesce repeats anyway.
        if self._notified:
            return
        if self._notifies is None:
            self._notifies = self.session.get_bind().dialect.name == "postgresql"
        if self._notifies:
            self.session.execute(select(func.pg_notify(wakeup_channel(self._outbox), "")))
            self._notified = True

    def commit(self) -> None:
        # Without a session nothing is uncommitted: a borrowed connection only ever ran
        # statements in autocommit.
        if self._session is not None:
            self._session.commit()
        self._uncommitted_writes = False
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run something (say, wake the relay) only once the transaction is durable."""
        self._after_commit.append(callback)

    def rollback(self) -> None:
        if self._session is not None:
            self._session.rollback()
        self.events = []
        self._after_commit = []
        self._uncommitted_writes = False


def _has_changes(session: Session) -> bool:
    return bool(session.new or session.dirty or session.deleted)


def _watch(factory: sessionmaker[Session]) -> None:
    """Listen to the sessions of `factory` once, for every unit of work it serves.

    Listening per session cost more CPU than the rest of a short unit of work's session
    handling; a session made by the factory outside a unit of work is simply not followed.
    """
    if getattr(factory, _WATCHED_FACTORY, False):
        return
    event.listen(factory, "after_flush", _flushed)
    event.listen(factory, "do_orm_execute", _executing)
    event.listen(factory, "after_transaction_end", _transaction_ended)
    setattr(factory, _WATCHED_FACTORY, True)


def _owner(session: Session) -> UnitOfWork | None:
    return session.info.get(_UOW_KEY)


def _flushed(session, _flush_context) -> None:
    uow = _owner(session)
    if uow is not None:
        uow._flushed(session, _flush_context)


def _executing(state) -> None:
    uow = _owner(state.session)
    if uow is not None:
        uow._executing(state)


def _transaction_ended(session, transaction) -> None:
    uow = _owner(session)
    if uow is not None:
        uow._transaction_ended(session, transaction)


# -- migrations --------------------------------------------------------------------------


def outbox_rows_per_route(op) -> None:
    """A migration's `upgrade`: an event may have one outbox row per routing key."""
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint("uq_outbox_event_id", type_="unique")
        batch.create_unique_constraint("uq_outbox_event_route", ["event_id", "routing_key"])


def outbox_row_per_event(op) -> None:
    """The matching `downgrade`; fails while the outbox still holds both rows of a move."""
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint("uq_outbox_event_route", type_="unique")
        batch.create_unique_constraint("uq_outbox_event_id", ["event_id"])
