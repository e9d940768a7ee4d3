"""Tables of webhook endpoints, their deliveries and the log of every attempt.

An OPD system that cannot speak AMQP registers an endpoint with routing-key patterns; each
matching event becomes one delivery row per endpoint, and every HTTP attempt at that delivery
is kept in the attempt log so the OPD can see what was sent, when, and what its server said.

Signing secrets are stored as issued (they are needed in clear to sign), so this database is
as sensitive as the secrets themselves.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.common.db import UtcDateTime
from services.common.listing import Search
from services.notifier.models import Base

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a bigint identity.
_ID = BigInteger().with_variant(Integer, "sqlite")

PENDING = "pending"
SUCCEEDED = "succeeded"
FAILED = "failed"
DELIVERY_STATES = (PENDING, SUCCEEDED, FAILED)


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_opd_enabled", "opd", "enabled"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # The OPD that owns the endpoint and whose events alone it may carry; NULL for a
    # regency-level system, which may subscribe to anything.
    opd: Mapped[str | None] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(String(2048), nullable=False)
    description: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    patterns: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    secret: Mapped[str] = mapped_column(String(100), nullable=False)
    # After a rotation the old secret keeps signing beside the new one until this instant,
    # so the receiver can switch secrets without losing a delivery.
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Start of the current run of failed attempts (NULL after any success): the endpoint is
    # disabled once the run has lasted long enough.
    failing_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The ETag's version: SQLAlchemy sets it on insert and raises it with every ORM update
    # of the row (and refuses an update whose row changed underneath it).
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    created_by: Mapped[str] = mapped_column(String(255), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    updated_by: Mapped[str] = mapped_column(String(255), nullable=False)

    __mapper_args__ = {"version_id_col": version}


class WebhookDelivery(Base):
    """One event for one endpoint, from first attempt to success or exhaustion."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
        CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status"),
        # Workers only ever look for due pending rows: a partial index keeps that lookup
        # small however long the delivery log grows.
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    endpoint_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False
    )
    event_id: Mapped[str] = mapped_column(String(64), nullable=False)
    event_type: Mapped[str] = mapped_column(String(255), nullable=False)
    routing_key: Mapped[str] = mapped_column(String(255), nullable=False)
    subject: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    # Serialised once: every retry sends (and signs) exactly the same bytes.
    body: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Attempts made in the current round: the index into the retry schedule. A manual
    # redelivery starts a new round.
    round_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Set when a worker claims the row; only the holder of the lease may record the outcome.
    lease_token: Mapped[str | None] = mapped_column(String(36))
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_duration_ms: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    succeeded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    redelivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    redelivered_by: Mapped[str | None] = mapped_column(String(255))

    attempt_log: Mapped[list[WebhookAttempt]] = relationship(
        back_populates="delivery",
        order_by="WebhookAttempt.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise",
    )


class WebhookAttempt(Base):
    """One HTTP request made for a delivery, and what came of it."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        _ID, ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False, index=True
    )
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    succeeded: Mapped[bool] = mapped_column(Boolean, nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[int] = mapped_column(Integer, nullable=False)
    # The first characters of the receiver's answer, to help its operator debug.
    response_excerpt: Mapped[str | None] = mapped_column(String(500))

    delivery: Mapped[WebhookDelivery] = relationship(back_populates="attempt_log")


# What `q` searches in the webhook lists: an endpoint's description and OPD (not its URL,
# which may carry the receiver's own credentials); a delivery's event type, subject and
# routing key.
WEBHOOK_ENDPOINT_SEARCH = Search(WebhookEndpoint.description, WebhookEndpoint.opd)
WEBHOOK_ENDPOINT_SEARCH.index("ix_webhook_endpoints_search")
WEBHOOK_DELIVERY_SEARCH = Search(WebhookDelivery.event_type, WebhookDelivery.subject,
                         WebhookDelivery.routing_key)
WEBHOOK_DELIVERY_SEARCH.index("ix_webhook_deliveries_search")
