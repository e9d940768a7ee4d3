"""the submission's tables keep their listed values as one array constant (PostgreSQL only)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 00:05:00

PostgreSQL parses and plans a table's CHECK expressions again for every INSERT or UPDATE
statement. `status IN ('a', 'b')` is stored as an array built from one cast constant per
value; `status::text = ANY ('{a,b}'::text[])` accepts the same values from one constant:
half the stored text and nothing to fold, about 120,000 fewer instructions in the database
per citizen's submission (`services.common.db.ListedValues`). SQLite keeps `IN (…)`.
"""
from collections.abc import Sequence

from alembic import op

from services.common.db import ListedValues, any_of, one_of, rewrite_listed_checks

revision: str = '0012'
down_revision: str | Sequence[str] | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The listed values of each table as they stood at this revision.
_LISTED = {
    'requests': (
        ListedValues('status', ('received', 'assigned', 'answered', 'withdrawn')),
        ListedValues('channel', ('web', 'walk_in', 'letter', 'phone', 'email', 'fax')),
        ListedValues('obtain_method', ('inspect', 'soft_copy', 'hard_copy')),
        ListedValues('delivery_method', ('in_person', 'post', 'courier', 'fax', 'email')),
    ),
    'applicants': (
        ListedValues('identity_type', ('nik', 'legal_entity')),
    ),
}


def upgrade() -> None:
    rewrite_listed_checks(op, _LISTED, any_of)


def downgrade() -> None:
    rewrite_listed_checks(op, _LISTED, one_of)
