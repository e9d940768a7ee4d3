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
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
)
from sqlalchemy.orm import Session, sessionmaker

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
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("published_at", DateTime(timezone=True), nullable=True),
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
        Column("processed_at", DateTime(timezone=True), nullable=False),
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

    def __enter__(self) -> UnitOfWork:
        self.session = self._session_factory()
        self.events = []
        self._after_commit = []
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            self.session.rollback()
        finally:
            self.session.close()
            self.session = None

    def publish(self, *events: Event) -> None:
        if self.session is None:
            raise RuntimeError("publish() outside a unit of work")
        if events:
            self.session.execute(insert(self._outbox), [outbox_row(e) for e in events])
            self.events.extend(events)

    def commit(self) -> None:
        self.session.commit()
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
