"""Tables of the ppid service (its own database; no other service reads them).

The applicant's personal data (identity number, address, phone, email) lives in its own
table, `applicants`, one row per request: code that only needs the case never loads it, and
every read of it by staff is recorded in `personal_data_access` (UU 27/2022).

Instants are stored in UTC and always come back time-zone aware, on SQLite too.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.common.calendar_sync import calendar_state_table
from services.common.db import NAMING_CONVENTION, ListedValues, UtcDateTime, one_of
from services.common.heartbeat import heartbeat_table
from services.common.listing import Search
from services.common.mailer import mail_queue_table
from services.common.numbering import Numbering, number_counter_table
from services.common.outbox import plumbing_tables
from services.ppid import domain


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


outbox, inbox = plumbing_tables(Base.metadata)
calendar_state = calendar_state_table(Base.metadata)
worker_heartbeats = heartbeat_table(Base.metadata)
# Mail to applicants, queued with the change it reports and sent by the worker
# (services.common.mailer, services.ppid.citizen_mail).
mail_queue = mail_queue_table(Base.metadata)


# Gap-free yearly numbers of requests (`PPID`) and objections (`KBR`): services.common.numbering.
number_counters = number_counter_table(Base.metadata)
NUMBERS = Numbering(number_counters, outbox=outbox)


class NumberCounter(Base):
    """The last number given per prefix (`kind`) and year, for reading it with the ORM."""

    __table__ = number_counters


class Request(Base):
    """A request for public information (permohonan informasi publik)."""

    __tablename__ = "requests"
    __table_args__ = (
        CheckConstraint(ListedValues("status", domain.REQUEST_STATUSES), name="status"),
        CheckConstraint(ListedValues("channel", domain.CHANNELS), name="channel"),
        CheckConstraint(ListedValues("obtain_method", domain.OBTAIN_METHODS), name="obtain_method"),
        CheckConstraint(ListedValues("delivery_method", domain.DELIVERY_METHODS), name="delivery_method"),
        UniqueConstraint("year", "sequence", name="uq_requests_year_sequence"),
        Index("ix_requests_opd_status", "opd", "status"),
        Index("ix_requests_received_at", "received_at"),
        Index("ix_requests_submitted_at", "submitted_at"),  # the registers' period
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    sequence: Mapped[int] = mapped_column(Integer, nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    # When the request really arrived (web: the server's clock; offline: as staff record it).
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    # Day zero after the office-hours rule; its local date is day 0 of every count.
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    base_due_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    information: Mapped[str] = mapped_column(Text, nullable=False)
    purpose: Mapped[str] = mapped_column(Text, nullable=False)
    obtain_method: Mapped[str] = mapped_column(String(16), nullable=False)
    delivery_method: Mapped[str] = mapped_column(String(16), nullable=False)
    requested_opd: Mapped[str | None] = mapped_column(String(32))
    opd: Mapped[str | None] = mapped_column(String(32))
    assigned_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    extended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    extension_ground: Mapped[str | None] = mapped_column(String(32))
    extension_reason: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    outcome: Mapped[str | None] = mapped_column(String(24))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)
    # When the Atasan PPID granted an objection (`overturned`) and returned the request to
    # the PPID for a new notice.
    reopened_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Whether it was late (answered late, or overdue unanswered) when it came back: the
    # statistics keep counting that duty as missed.
    late_before_reopen: Mapped[bool | None] = mapped_column(Boolean)
    access_token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    registered_by: Mapped[str | None] = mapped_column(String(255))
    # The officer who registered a walk-in or letter request signs its receipt.
    registered_by_name: Mapped[str | None] = mapped_column(String(200))
    registered_by_nip: Mapped[str | None] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}

    applicant: Mapped[Applicant] = relationship(back_populates="request", lazy="raise")
    # The notice in force; one the Atasan PPID annulled on objection is kept, superseded.
    notice: Mapped[Notice | None] = relationship(
        primaryjoin="and_(Request.id == Notice.request_id, Notice.superseded_at.is_(None))",
        viewonly=True,
        lazy="raise",
    )
    history: Mapped[list[RequestHistory]] = relationship(
        order_by="RequestHistory.id", lazy="raise"
    )
    objections: Mapped[list[Objection]] = relationship(
        back_populates="request", order_by="Objection.id", lazy="raise"
    )


class Applicant(Base):
    """The applicant's identity and contact details: personal data (UU 27/2022)."""

    __tablename__ = "applicants"
    __table_args__ = (
        CheckConstraint(ListedValues("identity_type", domain.IDENTITY_TYPES), name="identity_type"),
        CheckConstraint("phone IS NOT NULL OR email IS NOT NULL", name="contact"),
    )

    request_id: Mapped[int] = mapped_column(
        ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True
    )
    identity_type: Mapped[str] = mapped_column(String(16), nullable=False)
    # A NIK, or a legal entity's deed (akta pendirian) or ministry decree number.
    identity_number: Mapped[str] = mapped_column(String(100), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    address: Mapped[str] = mapped_column(Text, nullable=False)
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    occupation: Mapped[str | None] = mapped_column(String(100))
    # Set when someone applies on the applicant's behalf with a power of attorney.
    attorney_name: Mapped[str | None] = mapped_column(String(200))
    attorney_letter: Mapped[str | None] = mapped_column(String(200))

    request: Mapped[Request] = relationship(back_populates="applicant", lazy="raise")


class RequestHistory(Base):
    """What happened to a request after submission, for the applicant's tracking page."""

    __tablename__ = "request_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("requests.id", ondelete="CASCADE"), nullable=False, index=True
    )
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    # assigned, reassigned, extended, answered, withdrawn, objection_filed, objection_decided,
    # dispute_filed, dispute_resolved
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    # applicant, staff
    actor_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    actor_sub: Mapped[str | None] = mapped_column(String(255))
    opd: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)


class Notice(Base):
    """The written notice (pemberitahuan tertulis) that answers a request."""

    __tablename__ = "notices"
    __table_args__ = (
        CheckConstraint(
            one_of("outcome", ("granted", "partially_granted", "rejected", "not_held", "not_documented")),
            name="outcome",
        ),
        CheckConstraint("fee_amount >= 0", name="fee_amount"),
        # One notice in force per request; those annulled on objection stay as the record.
        Index(
            "uq_notices_current",
            "request_id",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("requests.id", ondelete="CASCADE"), nullable=False, index=True
    )
    outcome: Mapped[str] = mapped_column(String(24), nullable=False)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    issued_by: Mapped[str] = mapped_column(String(255), nullable=False)
    issued_by_name: Mapped[str | None] = mapped_column(String(200))
    issued_by_nip: Mapped[str | None] = mapped_column(String(30))
    # The OPD whose PPID Pelaksana wrote the notice; null when the PPID Utama wrote it.
    issuing_opd: Mapped[str | None] = mapped_column(String(32))
    letter_number: Mapped[str | None] = mapped_column(String(100))
    # inspect, soft_copy, hard_copy: the form the information is given in.
    info_format: Mapped[str | None] = mapped_column(String(16))
    delivery_method: Mapped[str | None] = mapped_column(String(16))
    fee_amount: Mapped[int] = mapped_column(Integer, nullable=False)
    fee_details: Mapped[str | None] = mapped_column(Text)
    provision_date: Mapped[date | None] = mapped_column(Date)
    redacted_parts: Mapped[str | None] = mapped_column(Text)
    # Pasal 17 clause letter (a-j), its legal basis and the consequence test's summary.
    exemption_clause: Mapped[str | None] = mapped_column(String(1))
    exemption_basis: Mapped[str | None] = mapped_column(Text)
    consequence_test: Mapped[str | None] = mapped_column(Text)
    holder_body: Mapped[str | None] = mapped_column(String(300))
    documented_by: Mapped[date | None] = mapped_column(Date)
    remarks: Mapped[str | None] = mapped_column(Text)
    late: Mapped[bool] = mapped_column(Boolean, nullable=False)
    # Working days from day 0 to the notice, as the annual report counts them.
    days_taken: Mapped[int] = mapped_column(Integer, nullable=False)
    # Set when the Atasan PPID granted an objection against this notice (`overturned`: the
    # PPID's decision annulled, a new notice due).
    superseded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    request: Mapped[Request] = relationship(lazy="raise")
    attachments: Mapped[list[NoticeAttachment]] = relationship(
        order_by="NoticeAttachment.id", lazy="raise"
    )


class NoticeAttachment(Base):
    """A document released with a notice; bounded in size and type (see config.py)."""

    __tablename__ = "notice_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    notice_id: Mapped[int] = mapped_column(
        ForeignKey("notices.id", ondelete="CASCADE"), nullable=False, index=True
    )
    filename: Mapped[str] = mapped_column(String(200), nullable=False)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)


class Objection(Base):
    """An objection (keberatan) to the Atasan PPID, UU 14/2008 Pasal 35-36."""

    __tablename__ = "objections"
    __table_args__ = (
        CheckConstraint(one_of("status", ("filed", "decided")), name="status"),
        CheckConstraint(
            "decision IS NULL OR " + one_of("decision", ("upheld", "overturned", "settled")),
            name="decision",
        ),
        UniqueConstraint("year", "sequence", name="uq_objections_year_sequence"),
        Index("ix_objections_opd_status", "opd", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    sequence: Mapped[int] = mapped_column(Integer, nullable=False)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("requests.id", ondelete="CASCADE"), nullable=False, index=True
    )
    # The OPD holding the request when the objection was filed: its Atasan decides.
    opd: Mapped[str | None] = mapped_column(String(32))
    # Pasal 35 ayat (1) letters, sorted and comma-separated, e.g. "a,g".
    grounds: Mapped[str] = mapped_column(String(20), nullable=False)
    statement: Mapped[str] = mapped_column(Text, nullable=False)
    ground_arose_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    filing_deadline: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    filed_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    response_due_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    decision: Mapped[str | None] = mapped_column(String(16))
    decision_reasons: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decided_by_name: Mapped[str | None] = mapped_column(String(200))
    decided_by_nip: Mapped[str | None] = mapped_column(String(30))
    decision_late: Mapped[bool | None] = mapped_column(Boolean)
    dispute_window_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}

    request: Mapped[Request] = relationship(back_populates="objections", lazy="raise")
    dispute: Mapped[Dispute | None] = relationship(back_populates="objection", lazy="raise")


class Dispute(Base):
    """An information dispute taken to the Komisi Informasi (Pasal 37), as the PPID Utama
    records it."""

    __tablename__ = "disputes"
    __table_args__ = (
        CheckConstraint(one_of("status", ("filed", "resolved")), name="status"),
        CheckConstraint(
            "outcome IS NULL OR "
            + one_of(
                "outcome",
                ("mediated", "granted", "partially_granted", "rejected", "dismissed", "withdrawn"),
            ),
            name="outcome",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    objection_id: Mapped[int] = mapped_column(
        ForeignKey("objections.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    request_id: Mapped[int] = mapped_column(
        ForeignKey("requests.id", ondelete="CASCADE"), nullable=False, index=True
    )
    # The Komisi Informasi's own register number of the case, when known.
    register_number: Mapped[str | None] = mapped_column(String(100))
    filed_on: Mapped[date] = mapped_column(Date, nullable=False)
    within_window: Mapped[bool] = mapped_column(Boolean, nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(255), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    outcome: Mapped[str | None] = mapped_column(String(24))
    resolved_on: Mapped[date | None] = mapped_column(Date)
    resolution_summary: Mapped[str | None] = mapped_column(Text)
    resolution_recorded_by: Mapped[str | None] = mapped_column(String(255))

    objection: Mapped[Objection] = relationship(back_populates="dispute", lazy="raise")


class ApplicantDocument(Base):
    """A document the applicant attached to the request (identity card, power of attorney,
    a legal entity's deed): personal data, like the `applicants` row, never in events,
    lists or public views, and every staff read recorded in `personal_data_access`."""

    __tablename__ = "applicant_documents"
    __table_args__ = (
        CheckConstraint(one_of("kind", ("identity_card", "power_of_attorney", "legal_entity_deed")), name="kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("requests.id", ondelete="CASCADE"), nullable=False, index=True
    )
    # The order the applicant gave them in (rows written in one statement get their ids in
    # no particular order).
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    filename: Mapped[str] = mapped_column(String(200), nullable=False)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)


class PersonalDataAccess(Base):
    """Who read an applicant's personal data, when, where and why (UU 27/2022).

    Written in the same transaction as the read that returns the data; the applicant can
    obtain their own entries with the request's access token.
    """

    __tablename__ = "personal_data_access"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("requests.id", ondelete="CASCADE"), nullable=False, index=True
    )
    accessed_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    actor_sub: Mapped[str] = mapped_column(String(255), nullable=False)
    actor_name: Mapped[str | None] = mapped_column(String(200))
    actor_roles: Mapped[str] = mapped_column(String(255), nullable=False)
    actor_opd: Mapped[str | None] = mapped_column(String(32))
    # What was done with the data, e.g. view_applicant, print_notice, export_register.
    purpose: Mapped[str] = mapped_column(String(64), nullable=False)
    endpoint: Mapped[str] = mapped_column(String(200), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(500))



# What a staff list's `q` searches: the number, the information asked for and the OPD; the
# applicant's personal data never (it is not in these tables, and must not be indexed).
# An objection is also found through its request (see handlers.list_objections).
REQUEST_SEARCH = Search(Request.number, Request.information, Request.opd)
REQUEST_SEARCH.index("ix_requests_search")
OBJECTION_SEARCH = Search(Objection.number, Objection.opd)
OBJECTION_SEARCH.index("ix_objections_search")

# The DIP tables live in their own module; importing it here registers them on Base.metadata
# so migrations and the app see one schema.
from services.ppid import dip_models  # noqa: E402,F401
