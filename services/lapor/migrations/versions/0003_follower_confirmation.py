"""followers confirm their address before mails reach them (double opt-in)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 19:55:00

A follower's row now waits for the confirmation of its address (`confirmed_at`). Rows
created before had no such step and keep receiving mails: they count as confirmed since
they started following. The existing `token_hash` is the hash of the mailed token, which
confirms and then ends the following.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('followers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE followers SET confirmed_at = created_at")


def downgrade() -> None:
    # Without the column every row would receive mails: pending ones must go first.
    op.execute("DELETE FROM followers WHERE confirmed_at IS NULL")
    with op.batch_alter_table('followers', schema=None) as batch_op:
        batch_op.drop_column('confirmed_at')
