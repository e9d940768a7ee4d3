"""Tables of the SIBER service (its own database; no other service reads them).

An article's body is stored sanitised (`sanitize.py`); every save keeps a revision. Photos
hold the file store's keys, never the bytes. Instants are stored in UTC and come back aware.
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
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.common.calendar_sync import calendar_state_table
from services.common.db import NAMING_CONVENTION, UtcDateTime, one_of
from services.common.heartbeat import heartbeat_table
from services.common.listing import Search
from services.common.outbox import plumbing_tables
from services.siber.domain import ARTICLE_STATES, ASSIGNMENT_STATES


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


outbox, inbox = plumbing_tables(Base.metadata)
calendar_state = calendar_state_table(Base.metadata)
worker_heartbeats = heartbeat_table(Base.metadata)


class Article(Base):
    """A news article of one OPD, from draft to publication."""

    __tablename__ = "articles"
    __table_args__ = (
        CheckConstraint(one_of("status", ARTICLE_STATES), name="status"),
        Index("ix_articles_opd_status", "opd", "status"),
        Index("ix_articles_status_published_at", "status", "published_at"),
        Index("ix_articles_status_scheduled_at", "status", "scheduled_at"),
        Index("ix_articles_submitted_at", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    opd: Mapped[str] = mapped_column(String(32), nullable=False)
    slug: Mapped[str] = mapped_column(String(160), nullable=False, unique=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    lead: Mapped[str] = mapped_column(Text, nullable=False, default="")
    body_html: Mapped[str] = mapped_column(Text, nullable=False, default="")
    activity_date: Mapped[date | None] = mapped_column(Date)
    place: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(24), nullable=False)
    author_sub: Mapped[str] = mapped_column(String(255), nullable=False)
    author_name: Mapped[str | None] = mapped_column(String(200))
    # The editor who claimed it for review; regency-level Diskominfo staff.
    editor_sub: Mapped[str | None] = mapped_column(String(255))
    editor_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    # The FIRST submission: the daily duty and the statistics count it, a resubmission not.
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revision_notes: Mapped[str | None] = mapped_column(Text)
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    scheduled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    corrected_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    correction_note: Mapped[str | None] = mapped_column(Text)
    taken_down_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    takedown_reason: Mapped[str | None] = mapped_column(Text)
    rejected_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}

    tags: Mapped[list[ArticleTag]] = relationship(
        order_by="ArticleTag.tag", cascade="all, delete-orphan", lazy="selectin"
    )
    photos: Mapped[list[Photo]] = relationship(
        order_by="(Photo.position, Photo.id)", back_populates="article", lazy="raise"
    )

    @property
    def tag_names(self) -> list[str]:
        return [t.tag for t in self.tags]


class ArticleTag(Base):
    __tablename__ = "article_tags"
    __table_args__ = (Index("ix_article_tags_tag", "tag"),)

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(50), primary_key=True)


class Photo(Base):
    """A photo of an article: the original as uploaded (metadata stripped) and, once the
    worker made them, a web rendition and a thumbnail."""

    __tablename__ = "photos"
    __table_args__ = (
        CheckConstraint(one_of("content_type", ("image/jpeg", "image/png", "image/webp")), name="content_type"),
        Index("ix_photos_article_id", "article_id"),
        Index("ix_photos_pending", "renditions_ready"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), nullable=False)
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    web_key: Mapped[str | None] = mapped_column(String(255))
    thumb_key: Mapped[str | None] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    content_type: Mapped[str] = mapped_column(String(32), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    caption: Mapped[str] = mapped_column(String(500), nullable=False)
    credit: Mapped[str] = mapped_column(String(200), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    renditions_ready: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # Why the worker could not make the renditions (it stops trying), for the operator.
    rendition_error: Mapped[str | None] = mapped_column(String(200))
    uploaded_by: Mapped[str] = mapped_column(String(255), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)

    article: Mapped[Article] = relationship(back_populates="photos", lazy="raise")


class Revision(Base):
    """The article's text as one save left it, by whom and in which state."""

    __tablename__ = "article_revisions"
    __table_args__ = (UniqueConstraint("article_id", "number", name="uq_article_revisions_article_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(24), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    lead: Mapped[str] = mapped_column(Text, nullable=False)
    body_html: Mapped[str] = mapped_column(Text, nullable=False)
    activity_date: Mapped[date | None] = mapped_column(Date)
    place: Mapped[str | None] = mapped_column(String(200))
    tags: Mapped[str] = mapped_column(Text, nullable=False, default="")
    author_sub: Mapped[str] = mapped_column(String(255), nullable=False)
    author_name: Mapped[str | None] = mapped_column(String(200))
    author_role: Mapped[str] = mapped_column(String(32), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)


class Comment(Base):
    """An editorial comment, private to staff; `parent_id` threads the answers."""

    __tablename__ = "article_comments"
    __table_args__ = (Index("ix_article_comments_article_id", "article_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), nullable=False)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("article_comments.id", ondelete="CASCADE"))
    author_sub: Mapped[str] = mapped_column(String(255), nullable=False)
    author_name: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)


class Assignment(Base):
    """An editor's request that an OPD cover an upcoming event by a due time."""

    __tablename__ = "assignments"
    __table_args__ = (
        CheckConstraint(one_of("status", ASSIGNMENT_STATES), name="status"),
        Index("ix_assignments_opd_status", "opd", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    opd: Mapped[str] = mapped_column(String(32), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    event_date: Mapped[date] = mapped_column(Date, nullable=False)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))
    created_by: Mapped[str] = mapped_column(String(255), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    fulfilled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}


class OpdQuota(Base):
    """An OPD's own daily quota, where it differs from `SIBER_DAILY_QUOTA`."""

    __tablename__ = "opd_quotas"
    __table_args__ = (CheckConstraint("per_day >= 1 AND per_day <= 20", name="per_day"),)

    opd: Mapped[str] = mapped_column(String(32), primary_key=True)
    per_day: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)


class DailyDuty(Base):
    """One OPD's duty to submit news on one working day (the `siber.daily_news` clock)."""

    __tablename__ = "daily_duties"
    __table_args__ = (UniqueConstraint("opd", "day", name="uq_daily_duties_opd_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    opd: Mapped[str] = mapped_column(String(32), nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    met_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))


# What `q` of the staff list searches: the title, the slug and the OPD code (no person's name).
ARTICLE_SEARCH = Search(Article.title, Article.slug, Article.opd)
ARTICLE_SEARCH.index("ix_articles_search")
