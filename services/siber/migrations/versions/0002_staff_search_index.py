"""full-text search index of the staff article list (PostgreSQL only)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 18:30:00

The columns are those of `models.ARTICLE_SEARCH`; `search_index_ddl` writes the expression
`Search.document()` writes, so the planner can use the index. SQLite searches with LIKE.
"""
from collections.abc import Sequence

from alembic import op

from services.common.listing import create_search_indexes, drop_search_indexes

revision: str = '0002'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = {"ix_articles_search": ("articles", ("title", "slug", "opd"))}


def upgrade() -> None:
    create_search_indexes(op, _INDEXES)


def downgrade() -> None:
    drop_search_indexes(op, _INDEXES)
