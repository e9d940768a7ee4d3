"""a request returned by a granted objection keeps whether it was late

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 17:30:00

A granted objection gives the PPID a new notice duty with its own due time; the duty it
missed before stays missed in the statistics (`requests.late_before_reopen`).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | Sequence[str] | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('requests') as batch:
        batch.add_column(sa.Column('late_before_reopen', sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('requests') as batch:
        batch.drop_column('late_before_reopen')
