"""every request is stored with its number

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 01:50:00

A submission now takes its number before it writes the request (in one statement on
PostgreSQL), so no request row is ever without one; the columns say so.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('requests') as batch:
        batch.alter_column('number', existing_type=sa.String(length=20), nullable=False)
        batch.alter_column('sequence', existing_type=sa.Integer(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('requests') as batch:
        batch.alter_column('sequence', existing_type=sa.Integer(), nullable=True)
        batch.alter_column('number', existing_type=sa.String(length=20), nullable=True)
