"""trigram similarity for duplicate suggestions (PostgreSQL only, where allowed)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 18:40:00

`duplicates.py` compares a report's title and description with the open reports of its
category by `pg_trgm`'s `similarity()`. The extension is trusted since PostgreSQL 13, so the
database's owner may create it; where the login may not, the migration goes on without it
and the suggestions fall back to comparing the texts in Python, as on SQLite.
"""
import logging
from collections.abc import Sequence

from alembic import op
from sqlalchemy.exc import DBAPIError

revision: str = '0002'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger(__name__)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DBAPIError as exc:
        log.warning("pg_trgm not created (%s); duplicate suggestions compare texts in Python",
                    type(exc.orig).__name__)


def downgrade() -> None:
    # Other databases' objects may use the extension; it stays.
    pass
