"""full-text search indexes of the staff lists and the DIP (PostgreSQL only)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 16:00:00

The columns are those of `models.REQUEST_SEARCH`, `models.OBJECTION_SEARCH` and
`dip_models.DIP_SEARCH`; `search_index_ddl` writes the expression `Search.document()`
writes, since the planner uses an expression index only for a query that repeats its
expression. SQLite searches with LIKE and has no such index.
"""
from collections.abc import Sequence

from alembic import op

from services.common.listing import create_search_indexes, drop_search_indexes

revision: str = '0003'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = {
    "ix_requests_search": ("requests", ("number", "information", "opd")),
    "ix_objections_search": ("objections", ("number", "opd")),
    "ix_dip_entries_search": ("dip_entries", ("title", "summary", "opd")),
}


def upgrade() -> None:
    create_search_indexes(op, _INDEXES)


def downgrade() -> None:
    drop_search_indexes(op, _INDEXES)
