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
        self._notifies: bool | None = None  # known once the first event is written
        self._notified = False

    def __enter__(self) -> UnitOfWork:
        self.session = self._session_factory()
        self.events = []
        self._after_commit = []
        self._uncommitted_writes = False
        self._notified = False
        event.listen(self.session, "after_flush", self._flushed)
        event.listen(self.session, "do_orm_execute", self._executing)
        event.listen(self.session, "after_transaction_end", self._transaction_ended)
        return self

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
