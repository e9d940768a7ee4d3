"""fewer index entries written for every new clock and its steps

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 21:30:00

A clock is written with six notification steps, and each row adds an entry to every index
of its table. `ix_notification_steps_clock_id_state` repeated what the unique key
(`clock_id`, `run`, `key`) already serves: a clock's steps are found by the key's first
column, and their state is read from the few rows found. `ix_clocks_stopped_at` served
only closed clocks (the dashboard's clocks closed in a period): it now leaves open ones out,
as `ix_clocks_open_due_at` leaves closed ones out.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CLOSED = sa.text('stopped_at IS NOT NULL')


def upgrade() -> None:
    op.drop_index('ix_notification_steps_clock_id_state', table_name='notification_steps')
    op.drop_index('ix_clocks_stopped_at', table_name='clocks')
    op.create_index('ix_clocks_stopped_at', 'clocks', ['stopped_at'], unique=False,
                    postgresql_where=_CLOSED, sqlite_where=_CLOSED)


def downgrade() -> None:
    op.drop_index('ix_clocks_stopped_at', table_name='clocks')
    op.create_index('ix_clocks_stopped_at', 'clocks', ['stopped_at'], unique=False)
    op.create_index('ix_notification_steps_clock_id_state', 'notification_steps',
                    ['clock_id', 'state'], unique=False)
