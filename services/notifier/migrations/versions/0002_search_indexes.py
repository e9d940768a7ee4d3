"""full-text search indexes of the staff lists (PostgreSQL only)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 16:30:00

The columns are those of `models.CLOCK_SEARCH`, `models.DELIVERY_SEARCH` and `models.INBOX_SEARCH`;
`search_index_ddl` writes the expression `Search.document()` writes, since the planner uses
an expression index only for a query that repeats its expression. SQLite searches with LIKE
and has no such index.
"""
from collections.abc import Sequence

from alembic import op

from services.common.listing import create_search_indexes, drop_search_indexes

revision: str = '0002'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_INDEXES = {
    "ix_clocks_search": ("clocks", ("subject", "clock", "service", "opd")),
    "ix_notification_log_search": ("notification_log", ("case_subject", "clock", "opd", "title")),
    "ix_inbox_messages_search": ("inbox_messages", ("title", "case_subject", "clock", "opd")),
}


def upgrade() -> None:
    create_search_indexes(op, _INDEXES)


def downgrade() -> None:
    drop_search_indexes(op, _INDEXES)
