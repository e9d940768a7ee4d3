"""the worker's heartbeats, read by /readyz of the web processes

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 17:20:00

One row per worker process and part (the relay, each consumer) with its state: what the web
processes, which never talk to the broker, know of the broker and of the consumers
(`services.common.heartbeat`).
"""
from collections.abc import Sequence

from alembic import op

from services.common.heartbeat import create_heartbeat_table, drop_heartbeat_table

revision: str = '0009'
down_revision: str | Sequence[str] | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_heartbeat_table(op)


def downgrade() -> None:
    drop_heartbeat_table(op)
