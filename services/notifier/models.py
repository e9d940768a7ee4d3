"""Tables of the notifier service (its own database; no other service reads them).

Every instant is a `UtcDateTime`: aware values in, aware UTC values out, on SQLite too.
Records that staff edit concurrently (policies, OPDs, contacts) carry a `version` that
SQLAlchemy keeps (`version_id_col`): 1 on insert, one more on every update, and an update
against a version someone else replaced meanwhile fails. It is what their ETag shows.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.orm.attributes import flag_modified

from services.common.calendar_sync import calendar_state_table
from services.common.db import NAMING_CONVENTION, UtcDateTime
from services.common.heartbeat import heartbeat_table
from services.common.listing import Search
from services.common.outbox import plumbing_tables


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


outbox, inbox = plumbing_tables(Base.metadata)
calendar_state = calendar_state_table(Base.metadata)
worker_heartbeats = heartbeat_table(Base.metadata)

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a bigint identity.
_ID = BigInteger().with_variant(Integer, "sqlite")
_TS = UtcDateTime()


def touch(row: Policy | DirectoryOpd | Contact, now: datetime) -> None:
    """Stamp an edit: it is a new version even when it changed no value (the same
    document saved twice), as the editor's next If-Match expects."""
    row.updated_at = now
    flag_modified(row, "updated_at")


class Clock(Base):
    """One duty of one case: `ppid.response` of `requests/PPID-2026-000123`, say."""

    __tablename__ = "clocks"
    __table_args__ = (
        UniqueConstraint("subject", "clock", name="uq_clocks_subject_clock"),
        CheckConstraint(
            "state IN ('running', 'met', 'breached', 'stopped', 'cancelled', 'closed', 'paused')",
            name="state",
        ),
        CheckConstraint("party IN ('staff', 'citizen')", name="party"),
        CheckConstraint("counting IN ('working_days', 'calendar_days')", name="counting"),
        # Breach detection looks only at running clocks past their due instant.
        Index("ix_clocks_state_due_at", "state", "due_at"),
        # The digest and the dashboard look at open clocks by due instant; closed ones,
        # which pile up over the years, stay out of this index.
        Index(
            "ix_clocks_open_due_at",
            "due_at",
            postgresql_where=text("stopped_at IS NULL"),
            sqlite_where=text("stopped_at IS NULL"),
        ),
        Index("ix_clocks_opd_service_state", "opd", "service", "state"),
        # The dashboard's clocks closed in a period; open clocks have no entry to write.
        Index(
            "ix_clocks_stopped_at",
            "stopped_at",
            postgresql_where=text("stopped_at IS NOT NULL"),
            sqlite_where=text("stopped_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(255), nullable=False)
    clock: Mapped[str] = mapped_column(String(100), nullable=False)
    service: Mapped[str] = mapped_column(String(32), nullable=False)
    opd: Mapped[str | None] = mapped_column(String(32))
    # Who must act (the staff role in `opd` the instruction names) and whose time it is: only
    # staff duties are overdue, scored and chased; a citizen's window is only kept.
    role: Mapped[str | None] = mapped_column(String(32))
    party: Mapped[str] = mapped_column(String(16), nullable=False, server_default=text("'staff'"))
    # What the actor can still do in time (action codes), as the producer said; NULL: unsaid.
    # Nullable JSON columns store None as SQL NULL (not JSON null) on every path, the ORM's
    # and the consumer's bulk insert alike, so `IS NULL` finds every missing value.
    actions: Mapped[list | None] = mapped_column(JSON(none_as_null=True))
    # How the owner counted the duty's length: reminders given as a fraction of it, and the
    # time left shown to people, are counted the same way.
    counting: Mapped[str] = mapped_column(
        String(16), nullable=False, default="working_days", server_default=text("'working_days'")
    )
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    # Each start or restart is a new run with its own notification steps.
    run: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    first_started_at: Mapped[datetime | None] = mapped_column(_TS)
    started_at: Mapped[datetime | None] = mapped_column(_TS)
    due_at: Mapped[datetime | None] = mapped_column(_TS)
    breached_at: Mapped[datetime | None] = mapped_column(_TS)
    stopped_at: Mapped[datetime | None] = mapped_column(_TS)
    late_seconds: Mapped[int | None] = mapped_column(BigInteger)
    late_working_days: Mapped[int | None] = mapped_column(Integer)
    # Set while the owner holds the duty (state `paused`). The time held is kept in total so
    # the time taken to do the duty leaves out what was spent waiting for the citizen.
    paused_at: Mapped[datetime | None] = mapped_column(_TS)
    paused_seconds: Mapped[int] = mapped_column(
        BigInteger, nullable=False, default=0, server_default=text("0")
    )
    paused_working_days: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default=text("0")
    )
    last_event_at: Mapped[datetime | None] = mapped_column(_TS)
    last_event_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(_TS, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(_TS, nullable=False)


class ClockHistory(Base):
    """The timeline of a clock: every instruction received (applied or not) and every step."""

    __tablename__ = "clock_history"
    __table_args__ = (Index("ix_clock_history_clock_id_id", "clock_id", "id"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    clock_id: Mapped[int] = mapped_column(
        _ID, ForeignKey("clocks.id", ondelete="CASCADE"), nullable=False
    )
    entry: Mapped[str] = mapped_column(String(40), nullable=False)
    at: Mapped[datetime] = mapped_column(_TS, nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(_TS, nullable=False)
    event_id: Mapped[str | None] = mapped_column(String(64))
    event_type: Mapped[str | None] = mapped_column(String(255))
    run: Mapped[int | None] = mapped_column(Integer)
    due_at: Mapped[datetime | None] = mapped_column(_TS)
    detail: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))


class Policy(Base):
    """Reminders, breach notice and escalation ladder of one clock kind (or `default`)."""

    __tablename__ = "policies"

    clock: Mapped[str] = mapped_column(String(100), primary_key=True)
    document: Mapped[dict] = mapped_column(JSON, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(_TS, nullable=False)
    updated_by: Mapped[str] = mapped_column(String(255), nullable=False)

    __mapper_args__ = {"version_id_col": version}


class Step(Base):
    """One notification of one clock run: a reminder, the breach notice or an escalation."""

    __tablename__ = "notification_steps"
    __table_args__ = (
        UniqueConstraint("clock_id", "run", "key", name="uq_notification_steps_clock_run_key"),
        CheckConstraint("state IN ('pending', 'sent', 'cancelled', 'skipped')", name="state"),
        CheckConstraint("kind IN ('remind', 'breach', 'escalate')", name="kind"),
        # A tick looks only for pending steps whose instant has come: a partial index on
        # that instant keeps the lookup as cheap with a million open clocks as with ten.
        Index(
            "ix_notification_steps_due",
            "send_after",
            postgresql_where=text("state = 'pending'"),
            sqlite_where=text("state = 'pending'"),
        ),
        # A clock's steps are found by the unique key's first column (`clock_id`): a second
        # index on it would only be one more entry to write for each of a clock's six steps.
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    clock_id: Mapped[int] = mapped_column(
        _ID, ForeignKey("clocks.id", ondelete="CASCADE"), nullable=False
    )
    run: Mapped[int] = mapped_column(Integer, nullable=False)
    key: Mapped[str] = mapped_column(String(40), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    level: Mapped[int | None] = mapped_column(Integer)
    notify: Mapped[list] = mapped_column(JSON, nullable=False)
    planned_at: Mapped[datetime] = mapped_column(_TS, nullable=False)
    send_after: Mapped[datetime] = mapped_column(_TS, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    claimed_at: Mapped[datetime | None] = mapped_column(_TS)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    sent_at: Mapped[datetime | None] = mapped_column(_TS)
    cancelled_at: Mapped[datetime | None] = mapped_column(_TS)
    created_at: Mapped[datetime] = mapped_column(_TS, nullable=False)


class DirectoryOpd(Base):
    """An OPD as the notifier knows it (seeded from config/opd.json, then edited by admins)."""

    __tablename__ = "directory_opds"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    short_name: Mapped[str] = mapped_column(String(100), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(_TS, nullable=False)

    __mapper_args__ = {"version_id_col": version}


class Contact(Base):
    """A person to tell: an OPD's officer or head, a regency coordinator, the Sekda."""

    __tablename__ = "contacts"
    __table_args__ = (
        CheckConstraint("role IN ('officer', 'head', 'coordinator', 'sekda')", name="role"),
        CheckConstraint(
            "preferred_channel IN ('email', 'inbox', 'webhook')", name="preferred_channel"
        ),
        # Officers and heads belong to an OPD; coordinators and the Sekda to the regency.
        CheckConstraint(
            "(role IN ('officer', 'head') AND opd IS NOT NULL)"
            " OR (role IN ('coordinator', 'sekda') AND opd IS NULL)",
            name="opd_for_role",
        ),
        Index("ix_contacts_role_opd", "role", "opd"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    opd: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("directory_opds.code", ondelete="CASCADE")
    )
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    # The service an officer or coordinator answers for; NULL means every service.
    service: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    preferred_channel: Mapped[str] = mapped_column(String(16), nullable=False)
    sub: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(_TS, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(_TS, nullable=False)

    __mapper_args__ = {"version_id_col": version}


class InboxMessage(Base):
    """An in-app message for one staff user (by `sub`) or for a staff role in an OPD."""

    __tablename__ = "inbox_messages"
    __table_args__ = (
        CheckConstraint(
            "recipient_sub IS NOT NULL OR recipient_role IS NOT NULL", name="addressed"
        ),
        Index("ix_inbox_messages_recipient_sub", "recipient_sub"),
        Index("ix_inbox_messages_recipient_role_opd", "recipient_role", "recipient_opd"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    recipient_sub: Mapped[str | None] = mapped_column(String(255))
    recipient_role: Mapped[str | None] = mapped_column(String(32))
    recipient_opd: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    case_subject: Mapped[str | None] = mapped_column(String(255))
    clock: Mapped[str | None] = mapped_column(String(100))
    opd: Mapped[str | None] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(_TS, nullable=False)


class InboxRead(Base):
    """Who has read a message: a role-addressed message is read per person, not for all."""

    __tablename__ = "inbox_reads"

    message_id: Mapped[int] = mapped_column(
        _ID, ForeignKey("inbox_messages.id", ondelete="CASCADE"), primary_key=True
    )
    sub: Mapped[str] = mapped_column(String(255), primary_key=True)
    read_at: Mapped[datetime] = mapped_column(_TS, nullable=False)


class Digest(Base):
    """The morning digest of one OPD on one day: recorded so it goes out once."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("opd", "day", name="uq_digests_opd_day"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    opd: Mapped[str] = mapped_column(String(32), nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    overdue: Mapped[int] = mapped_column(Integer, nullable=False)
    due_soon: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(_TS, nullable=False)


class DigestRun(Base):
    """The morning digest round of one day, claimed by the worker that runs it."""

    __tablename__ = "digest_runs"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    claimed_at: Mapped[datetime] = mapped_column(_TS, nullable=False)
    claimed_by: Mapped[str] = mapped_column(String(100), nullable=False)
    completed_at: Mapped[datetime | None] = mapped_column(_TS)


class Delivery(Base):
    """Who was told what, when, and through which channel: the operator's record."""

    __tablename__ = "notification_log"
    __table_args__ = (
        UniqueConstraint("step_id", "recipient_key", name="uq_notification_log_step_recipient"),
        UniqueConstraint("digest_id", "recipient_key", name="uq_notification_log_digest_recipient"),
        # `retrying`: a passing failure the next attempt may fix; `failed` is final.
        CheckConstraint("status IN ('sent', 'failed', 'skipped', 'retrying')", name="status"),
        CheckConstraint("channel IN ('email', 'inbox', 'webhook')", name="channel"),
        Index("ix_notification_log_opd_at", "opd", "at"),
        Index("ix_notification_log_case_subject", "case_subject"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    step_id: Mapped[int | None] = mapped_column(
        _ID, ForeignKey("notification_steps.id", ondelete="CASCADE")
    )
    digest_id: Mapped[int | None] = mapped_column(
        _ID, ForeignKey("digests.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    case_subject: Mapped[str | None] = mapped_column(String(255))
    clock: Mapped[str | None] = mapped_column(String(100))
    opd: Mapped[str | None] = mapped_column(String(32))
    recipient_key: Mapped[str] = mapped_column(String(300), nullable=False)
    recipient_role: Mapped[str] = mapped_column(String(16), nullable=False)
    contact_id: Mapped[int | None] = mapped_column(_ID)
    recipient_name: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    address: Mapped[str | None] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    error: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    at: Mapped[datetime] = mapped_column(_TS, nullable=False)


# What `q` searches in the staff lists: what identifies a row (the case subject, the clock,
# the service, the OPD, a message's title), never a recipient's name or address.
CLOCK_SEARCH = Search(Clock.subject, Clock.clock, Clock.service, Clock.opd)
CLOCK_SEARCH.index("ix_clocks_search")
DELIVERY_SEARCH = Search(Delivery.case_subject, Delivery.clock, Delivery.opd, Delivery.title)
DELIVERY_SEARCH.index("ix_notification_log_search")
INBOX_SEARCH = Search(InboxMessage.title, InboxMessage.case_subject, InboxMessage.clock,
                      InboxMessage.opd)
INBOX_SEARCH.index("ix_inbox_messages_search")

# Webhook tables live in their own module; importing it here registers them on Base.metadata
# so migrations and the app see one schema.
from services.notifier import webhook_models  # noqa: E402,F401
