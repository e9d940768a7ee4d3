"""the queue of mail to applicants

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 16:30:00

Mail to an applicant (receipt, written notice, extension, the Atasan's decision) is queued
in the transaction of the change it reports and sent by the worker
(`services.common.mailer.mail_queue_table`).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PENDING = sa.text('sent_at IS NULL AND failed_at IS NULL')


def upgrade() -> None:
    op.create_table('mail_queue',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('recipient', sa.String(length=320), nullable=True),
    sa.Column('params', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_queue'))
    )
    op.create_index('ix_mail_queue_pending', 'mail_queue', ['next_attempt_at'], unique=False,
                    postgresql_where=_PENDING, sqlite_where=_PENDING)


def downgrade() -> None:
    op.drop_index('ix_mail_queue_pending', table_name='mail_queue',
                  postgresql_where=_PENDING, sqlite_where=_PENDING)
    op.drop_table('mail_queue')
