"""Tables of the LAPOR! service (its own database; no other service reads them).

The reporter's identity and contact (name, phone, e-mail) live in their own table,
`reporters`, one row per report: code that only needs the report never loads it, and every
staff read of it is recorded in `personal_data_access` (UU 27/2022). Followers' addresses
are personal data too and never leave this database.

Instants are stored in UTC and always come back time-zone aware, on SQLite too.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.common.calendar_sync import calendar_state_table
from services.common.db import NAMING_CONVENTION, ListedValues, UtcDateTime, one_of
from services.common.heartbeat import heartbeat_table
from services.common.listing import Search
from services.common.mailer import mail_queue_table
from services.common.numbering import Numbering, number_counter_table
from services.common.outbox import plumbing_tables
from services.lapor import domain


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


outbox, inbox = plumbing_tables(Base.metadata)
calendar_state = calendar_state_table(Base.metadata)
worker_heartbeats = heartbeat_table(Base.metadata)
# Mail to reporters and followers, queued with the change it reports (citizen_mail).
mail_queue = mail_queue_table(Base.metadata)
number_counters = number_counter_table(Base.metadata)
NUMBERS = Numbering(number_counters, outbox=outbox)
NUMBER_PREFIX = "LPR"


class Report(Base):
    """A complaint, aspiration or information request (laporan)."""

    __tablename__ = "reports"
    __table_args__ = (
        CheckConstraint(ListedValues("status", domain.STATUSES), name="status"),
        CheckConstraint(ListedValues("channel", domain.CHANNELS), name="channel"),
        CheckConstraint(ListedValues("classification", domain.CLASSIFICATIONS), name="classification"),
        CheckConstraint(ListedValues("privacy", domain.PRIVACIES), name="privacy"),
        CheckConstraint(ListedValues("archive_reason", domain.ARCHIVE_REASONS, or_null=True), name="archive_reason"),
        CheckConstraint(ListedValues("closed_reason", domain.CLOSED_REASONS, or_null=True), name="closed_reason"),
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating"),
        UniqueConstraint("year", "sequence", name="uq_reports_year_sequence"),
        Index("ix_reports_status_lead_opd", "status", "lead_opd"),
        Index("ix_reports_submitted_at", "submitted_at"),
        Index("ix_reports_category_kecamatan", "category", "kecamatan"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    sequence: Mapped[int] = mapped_column(Integer, nullable=False)
    # SP4N-LAPOR!'s own tracking id of a report mirrored from (or to) the national system.
    national_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    classification: Mapped[str] = mapped_column(String(24), nullable=False)
    category: Mapped[str] = mapped_column(String(64), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    incident_date: Mapped[date | None] = mapped_column(Date)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(300))
    kecamatan: Mapped[str | None] = mapped_column(String(32))
    desa: Mapped[str | None] = mapped_column(String(32))
    privacy: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(24), nullable=False)
    lead_opd: Mapped[str | None] = mapped_column(String(32))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    dispatched_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    first_response_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_reason: Mapped[str | None] = mapped_column(String(16))
    verification_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    follow_up_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    completion_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    reply_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # While the reporter is asked for detail the verification clock is held: when, and the
    # working days it still had.
    verification_paused_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    verification_remaining_days: Mapped[int | None] = mapped_column(Integer)
    postpone_reason: Mapped[str | None] = mapped_column(Text)
    archive_reason: Mapped[str | None] = mapped_column(String(24))
    archive_note: Mapped[str | None] = mapped_column(Text)
    authority_body: Mapped[str | None] = mapped_column(String(200))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"))
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    access_token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}

    reporter: Mapped[Reporter] = relationship(back_populates="report", lazy="raise")
    dispositions: Mapped[list[Disposition]] = relationship(order_by="Disposition.id", lazy="raise")
    messages: Mapped[list[ReportMessage]] = relationship(order_by="ReportMessage.id", lazy="raise")
    attachments: Mapped[list[Attachment]] = relationship(order_by="Attachment.id", lazy="raise")
    followers: Mapped[list[Follower]] = relationship(order_by="Follower.id", lazy="raise")
    history: Mapped[list[HistoryEntry]] = relationship(order_by="HistoryEntry.id", lazy="raise")


class Reporter(Base):
    """The reporter's identity and contact: personal data (UU 27/2022), one row per report."""

    __tablename__ = "reporters"

    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))

    report: Mapped[Report] = relationship(back_populates="reporter", lazy="raise")


class Disposition(Base):
    """One hop of a report to an OPD: the lead, or a supporting OPD."""

    __tablename__ = "dispositions"
    __table_args__ = (
        CheckConstraint(one_of("role", domain.DISPOSITION_ROLES), name="role"),
        Index("ix_dispositions_opd_active", "opd", "active"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), nullable=False, index=True
    )
    opd: Mapped[str] = mapped_column(String(32), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    dispatched_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    dispatched_by: Mapped[str] = mapped_column(String(255), nullable=False)
    returned_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    return_reason: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False)


class ReportMessage(Base):
    """A message in the report's conversation: a question, an answer, a follow-up."""

    __tablename__ = "report_messages"
    __table_args__ = (
        CheckConstraint(one_of("kind", domain.MESSAGE_KINDS), name="kind"),
        CheckConstraint(one_of("author_kind", domain.AUTHOR_KINDS), name="author_kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    author_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    author_opd: Mapped[str | None] = mapped_column(String(32))
    author_sub: Mapped[str | None] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text, nullable=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    # Shown on the public page of a public report (an OPD's answer, never the reporter's words).
    public: Mapped[bool] = mapped_column(Boolean, nullable=False)


class Attachment(Base):
    """A file of a report or of one of its messages, kept in the chassis file store by key."""

    __tablename__ = "attachments"
    __table_args__ = (CheckConstraint(one_of("uploaded_by", domain.UPLOADERS), name="uploaded_by"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), nullable=False, index=True
    )
    message_id: Mapped[int | None] = mapped_column(ForeignKey("report_messages.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    filename: Mapped[str] = mapped_column(String(200), nullable=False)
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    uploaded_by: Mapped[str] = mapped_column(String(16), nullable=False)


class Follower(Base):
    """A citizen who follows a public report instead of filing a duplicate.

    The row exists from the request on, but mails reach it only once the address confirmed
    (`confirmed_at`): whoever asks cannot sign up someone else's address. `token_hash` is the
    hash of the token mailed to the address: it confirms, then ends the following."""

    __tablename__ = "followers"
    __table_args__ = (UniqueConstraint("report_id", "email", name="uq_followers_report_email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), nullable=False, index=True
    )
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class HistoryEntry(Base):
    """What happened to a report, for its history and the hops between OPDs."""

    __tablename__ = "report_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), nullable=False, index=True
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    # An event action: submitted, verified, dispatched, returned, …
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    actor_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    actor_sub: Mapped[str | None] = mapped_column(String(255))
    actor_opd: Mapped[str | None] = mapped_column(String(32))
    from_opd: Mapped[str | None] = mapped_column(String(32))
    to_opd: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)


class PersonalDataAccess(Base):
    """Who read a reporter's identity, when, where and why (UU 27/2022); written in the
    transaction of the read that returns it."""

    __tablename__ = "personal_data_access"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), nullable=False, index=True
    )
    accessed_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    actor_sub: Mapped[str] = mapped_column(String(255), nullable=False)
    actor_name: Mapped[str | None] = mapped_column(String(200))
    actor_roles: Mapped[str] = mapped_column(String(255), nullable=False)
    actor_opd: Mapped[str | None] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(64), nullable=False)
    endpoint: Mapped[str] = mapped_column(String(200), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(500))


# What a staff list's `q` searches: the number, the title and the category; never the
# reporter (not in this table) nor the description (it may hold personal data).
REPORT_SEARCH = Search(Report.number, Report.title, Report.category)
REPORT_SEARCH.index("ix_reports_search")
