"""DIP entries keep their authors' whole token subject

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 17:50:00

A token's `sub` may be up to 255 characters (the chassis refuses longer ones); the DIP kept
only 100, so a longer subject made PostgreSQL refuse the write.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | Sequence[str] | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ('created_by', 'updated_by')


def upgrade() -> None:
    with op.batch_alter_table('dip_entries') as batch:
        for column in _COLUMNS:
            batch.alter_column(column, type_=sa.String(255), existing_type=sa.String(100),
                               existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('dip_entries') as batch:
        for column in _COLUMNS:
            batch.alter_column(column, type_=sa.String(100), existing_type=sa.String(255),
                               existing_nullable=False)
