"""an event that moves a case between OPDs has an outbox row per routing key

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 16:40:00

The event id is unique per routing key, no longer per row: a reassignment is published to
the OPD the case leaves and to the one it reaches, with one id and one body.
"""
from collections.abc import Sequence

from alembic import op

from services.common.outbox import outbox_row_per_event, outbox_rows_per_route

revision: str = '0005'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    outbox_rows_per_route(op)


def downgrade() -> None:
    outbox_row_per_event(op)
