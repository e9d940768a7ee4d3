"""The transactional outbox, the consumer inbox and the unit of work that writes them.

A handler changes state and records its events in one transaction: the relay publishes
them later, so a state change and its events commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    event,
    insert,
)
from sqlalchemy.orm import Session, sessionmaker

from services.common.db import UtcDateTime
from services.common.events import Event

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a bigint identity.
_ID = BigInteger().with_variant(Integer, "sqlite")


def plumbing_tables(metadata: MetaData) -> tuple[Table, Table]:
    """The outbox and inbox tables, added to a service's own metadata (and migrations)."""
    outbox = Table(
        "outbox",
        metadata,
        Column("id", _ID, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("routing_key", String(255), nullable=False),
        Column("subject", String(255), nullable=False),
        Column("body", Text, nullable=False),
        Column("created_at", UtcDateTime(), nullable=False),
        Column("published_at", UtcDateTime(), nullable=True),
        Column("attempts", Integer, nullable=False, default=0),
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


def outbox_row(event: Event) -> dict:
    return {
        "event_id": event.id,
        "routing_key": event.routing_key,
        "subject": event.subject,
        "body": event.to_json(),
        "created_at": datetime.now(UTC),
        "published_at": None,
        "attempts": 0,
    }


class UnitOfWork:
    """A transaction that rolls back unless `commit()` is called, and records events.

    ``with uow:`` opens a session; ``uow.publish(event)`` writes the event to the outbox in
    the same transaction; leaving the block without ``commit()`` discards both.
    """

    def __init__(self, session_factory: sessionmaker[Session], outbox: Table):
        self._session_factory = session_factory
        self._outbox = outbox
        self.session: Session | None = None
        self.events: list[Event] = []
        self._after_commit: list[Callable[[], None]] = []
        self._uncommitted_writes = False

    def __enter__(self) -> UnitOfWork:
        self.session = self._session_factory()
        self.events = []
        self._after_commit = []
        self._uncommitted_writes = False
        event.listen(self.session, "after_flush", self._flushed)
        event.listen(self.session, "do_orm_execute", self._executing)
        return self

    def _flushed(self, _session, _flush_context) -> None:
        self._uncommitted_writes = True

    def _executing(self, state) -> None:
        # An UPDATE or DELETE statement also changes the rows the session holds.
        if state.is_insert or state.is_update or state.is_delete:
            self._uncommitted_writes = True

    def __exit__(self, exc_type, *_rest) -> None:
        """Leave the block: what was not committed is discarded.

        A block that read (or committed) and left normally hands back rows as they were
        loaded: closing the session ends its transaction without expiring them, so a use
        case returns ORM rows that stay readable. Only when the block failed, or wrote
        something it did not commit, is the session rolled back, which expires its rows:
        they would otherwise show values the database never kept.
        """
        session, self.session = self.session, None
        try:
            if exc_type is not None or self._uncommitted_writes or _has_changes(session):
                session.rollback()
        finally:
            session.close()

    def publish(self, *events: Event) -> None:
        if self.session is None:
            raise RuntimeError("publish() outside a unit of work")
        if events:
            self.session.execute(insert(self._outbox), [outbox_row(e) for e in events])
            self.events.extend(events)

    def commit(self) -> None:
        self.session.commit()
        self._uncommitted_writes = False
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run something (say, wake the relay) only once the transaction is durable."""
        self._after_commit.append(callback)

    def rollback(self) -> None:
        self.session.rollback()
        self.events = []
        self._after_commit = []
        self._uncommitted_writes = False


def _has_changes(session: Session) -> bool:
    return bool(session.new or session.dirty or session.deleted)
