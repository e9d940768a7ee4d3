"""a request returned to the PPID by an objection the Atasan granted

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-30 17:00:00

When the Atasan PPID grants an objection (`overturned`), the PPID's notice is annulled and
the request returns for a new one. The annulled notice stays as the record
(`notices.superseded_at`), so a request may have several notices, one of them in force;
`requests.reopened_at` says when the request came back. The registers' period is by
receipt time, hence the index on `requests.submitted_at`.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CURRENT = sa.text('superseded_at IS NULL')


def upgrade() -> None:
    with op.batch_alter_table('requests') as batch:
        batch.add_column(sa.Column('reopened_at', sa.DateTime(timezone=True), nullable=True))
        batch.create_index('ix_requests_submitted_at', ['submitted_at'], unique=False)
    with op.batch_alter_table('notices') as batch:
        batch.add_column(sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True))
        batch.drop_constraint('uq_notices_request_id', type_='unique')
        batch.create_index('ix_notices_request_id', ['request_id'], unique=False)
        batch.create_index(
            'uq_notices_current', ['request_id'], unique=True,
            sqlite_where=_CURRENT, postgresql_where=_CURRENT,
        )


def downgrade() -> None:
    # Only the notice in force survives a downgrade: the old schema holds one per request.
    op.execute(sa.text('DELETE FROM notices WHERE superseded_at IS NOT NULL'))
    with op.batch_alter_table('notices') as batch:
        batch.drop_index('uq_notices_current')
        batch.drop_index('ix_notices_request_id')
        batch.create_unique_constraint('uq_notices_request_id', ['request_id'])
        batch.drop_column('superseded_at')
    with op.batch_alter_table('requests') as batch:
        batch.drop_index('ix_requests_submitted_at')
        batch.drop_column('reopened_at')
