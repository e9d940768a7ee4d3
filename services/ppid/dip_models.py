"""Tables of what the PPID publishes: the Daftar Informasi Publik (DIP) and the public
subject lines of requests.

A DIP row is one entry of the list a public body must publish (UU 14/2008 Pasal 7 ayat 1 and
Perki 1/2021): what the information is, which OPD holds it, who answers for it, when and
where it was made, in which form it exists and how long it is kept. Exempt entries also carry
the Pasal 17 ground, the consequence test and the date the exemption ends.
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
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.common.listing import Search
from services.ppid.models import Base, UtcDateTime


class DipEntry(Base):
    __tablename__ = "dip_entries"
    __table_args__ = (
        CheckConstraint(
            "category IN ('berkala', 'serta_merta', 'setiap_saat', 'dikecualikan')",
            name="category",
        ),
        # The database refuses an exempt entry without its legal ground, consequence test
        # and end date, whatever path wrote it.
        CheckConstraint(
            "category <> 'dikecualikan' OR (exemption_clause IS NOT NULL"
            " AND exemption_basis IS NOT NULL AND consequence_test IS NOT NULL"
            " AND exempt_until IS NOT NULL)",
            name="exemption_complete",
        ),
        CheckConstraint("soft_copy OR hard_copy", name="some_form"),
        Index("ix_dip_entries_opd_category", "opd", "category"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    category: Mapped[str] = mapped_column(String(20), nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    opd: Mapped[str] = mapped_column(String(32), nullable=False)
    holding_unit: Mapped[str | None] = mapped_column(String(200))
    responsible: Mapped[str] = mapped_column(String(200), nullable=False)
    made_when: Mapped[str] = mapped_column(String(100), nullable=False)
    made_where: Mapped[str] = mapped_column(String(200), nullable=False)
    soft_copy: Mapped[bool] = mapped_column(Boolean, nullable=False)
    hard_copy: Mapped[bool] = mapped_column(Boolean, nullable=False)
    retention_period: Mapped[str] = mapped_column(String(100), nullable=False)
    url: Mapped[str | None] = mapped_column(String(500))
    exemption_clause: Mapped[str | None] = mapped_column(String(1))
    exemption_basis: Mapped[str | None] = mapped_column(String(500))
    consequence_test: Mapped[str | None] = mapped_column(Text)
    consequence_test_date: Mapped[date | None] = mapped_column(Date)
    exempt_until: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    created_by: Mapped[str] = mapped_column(String(255), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    updated_by: Mapped[str] = mapped_column(String(255), nullable=False)

    # The ETag's version: SQLAlchemy sets it on insert, raises it with every update and
    # refuses an update whose row changed underneath (as for requests and objections).
    __mapper_args__ = {"version_id_col": version}


# The public list's `q`: the title, the summary and the holding OPD's code.
DIP_SEARCH = Search(DipEntry.title, DipEntry.summary, DipEntry.opd)
DIP_SEARCH.index("ix_dip_entries_search")

class PublicSubject(Base):
    """The subject line under which a request appears in the public list.

    What a citizen typed as "information requested" may name people, places or cases that
    are nobody else's business, so the public list never shows it. A PPID officer writes
    this line instead, checked for identifying details before it is stored.
    """

    __tablename__ = "request_public_subjects"

    request_id: Mapped[int] = mapped_column(
        ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True
    )
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    set_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    set_by: Mapped[str] = mapped_column(String(255), nullable=False)
