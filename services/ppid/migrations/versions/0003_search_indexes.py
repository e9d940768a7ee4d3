"""full-text search indexes of the staff lists and the DIP (PostgreSQL only)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 16:00:00

The expressions are exactly those `services.common.listing.Search.document()` writes for
`models.REQUEST_SEARCH`, `models.OBJECTION_SEARCH` and `dip_models.DIP_SEARCH`: the planner uses an expression
index only for a query that repeats its expression. SQLite searches with LIKE and has no
such index.
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0003'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DOCUMENT = "to_tsvector('simple'::regconfig, translate({text}, '/.-_@:', '      '))"
_INDEXES = {
    "ix_requests_search": (
        "requests",
        "((coalesce(number, '') || ' ') || coalesce(information, '')) || ' ' || coalesce(opd, '')",
    ),
    "ix_objections_search": ("objections", "(coalesce(number, '') || ' ') || coalesce(opd, '')"),
    "ix_dip_entries_search": (
        "dip_entries",
        "((coalesce(title, '') || ' ') || coalesce(summary, '')) || ' ' || coalesce(opd, '')",
    ),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, (table, text) in _INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON {table} USING gin ({_DOCUMENT.format(text=text)})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in _INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
