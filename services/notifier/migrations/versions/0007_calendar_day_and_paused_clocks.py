"""clocks count working or calendar days, and may be paused by their owner

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 18:30:00

`clocks.counting` keeps how the owner counted the duty (a LAPOR! completion counts 60
calendar days); a clock may be `paused` while the owner waits for the citizen, with
`paused_at` and the time held so far (`paused_seconds`, `paused_working_days`). Every clock
made before counted working days and was never paused.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATES = "'running', 'met', 'breached', 'stopped', 'cancelled', 'closed'"


def upgrade() -> None:
    with op.batch_alter_table('clocks', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'counting', sa.String(length=16), server_default=sa.text("'working_days'"), nullable=False
        ))
        batch_op.add_column(sa.Column('paused_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column('paused_seconds', sa.BigInteger(), server_default=sa.text('0'), nullable=False)
        )
        batch_op.add_column(
            sa.Column('paused_working_days', sa.Integer(), server_default=sa.text('0'), nullable=False)
        )
        batch_op.drop_constraint(op.f('ck_clocks_state'), type_='check')
        batch_op.create_check_constraint('state', f"state IN ({_STATES}, 'paused')")
        batch_op.create_check_constraint('counting', "counting IN ('working_days', 'calendar_days')")


def downgrade() -> None:
    # A held duty runs again with the due instant it had: the owner's resume never came.
    op.execute("UPDATE clocks SET state = 'running' WHERE state = 'paused'")
    with op.batch_alter_table('clocks', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_clocks_counting'), type_='check')
        batch_op.drop_constraint(op.f('ck_clocks_state'), type_='check')
        batch_op.create_check_constraint('state', f"state IN ({_STATES})")
        batch_op.drop_column('paused_working_days')
        batch_op.drop_column('paused_seconds')
        batch_op.drop_column('paused_at')
        batch_op.drop_column('counting')
