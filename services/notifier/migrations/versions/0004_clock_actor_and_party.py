"""clocks say who must act, whose time it is and what can still be done; skipped steps

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 16:30:00

`clocks.role`, `party` and `actions` keep what the producer's instruction said; a clock may
end `cancelled` (a withdrawn request) or `closed` (a citizen's window), and a step may be
`skipped` (a later step of its kind came due at the same time). The shipped policy of
`ppid.response` stops proposing an extension that the request can no longer take: its
stored document is updated only when it is still the one first shipped.
"""
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FIRST_ACTION = (
    "Kirim pemberitahuan tertulis kepada pemohon melalui aplikasi PPID, atau perpanjang waktu "
    "satu kali (paling lama 7 hari kerja) dengan alasan tertulis (UU 14/2008 Pasal 22 ayat 7 dan 8)."
)
_ACTION = (
    "Kirim pemberitahuan tertulis kepada pemohon melalui aplikasi PPID secepatnya "
    "(UU 14/2008 Pasal 22 ayat 7)."
)
_VARIANTS = [{"when": ["extend"], "action": _FIRST_ACTION}]


def upgrade() -> None:
    with op.batch_alter_table('clocks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column('party', sa.String(length=16), server_default=sa.text("'staff'"), nullable=False)
        )
        batch_op.add_column(sa.Column('actions', sa.JSON(), nullable=True))
        batch_op.drop_constraint(op.f('ck_clocks_state'), type_='check')
        batch_op.create_check_constraint(
            'state', "state IN ('running', 'met', 'breached', 'stopped', 'cancelled', 'closed')"
        )
        batch_op.create_check_constraint('party', "party IN ('staff', 'citizen')")
    with op.batch_alter_table('notification_steps', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_notification_steps_state'), type_='check')
        batch_op.create_check_constraint(
            'state', "state IN ('pending', 'sent', 'cancelled', 'skipped')"
        )
    _update_response_policy(_FIRST_ACTION, {"action": _ACTION, "action_variants": _VARIANTS})


def downgrade() -> None:
    _update_response_policy(_ACTION, {"action": _FIRST_ACTION, "action_variants": None})
    op.execute("UPDATE notification_steps SET state = 'cancelled' WHERE state = 'skipped'")
    with op.batch_alter_table('notification_steps', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_notification_steps_state'), type_='check')
        batch_op.create_check_constraint('state', "state IN ('pending', 'sent', 'cancelled')")
    op.execute("UPDATE clocks SET state = 'stopped' WHERE state IN ('cancelled', 'closed')")
    with op.batch_alter_table('clocks', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_clocks_party'), type_='check')
        batch_op.drop_constraint(op.f('ck_clocks_state'), type_='check')
        batch_op.create_check_constraint(
            'state', "state IN ('running', 'met', 'breached', 'stopped')"
        )
        batch_op.drop_column('actions')
        batch_op.drop_column('party')
        batch_op.drop_column('role')


def _update_response_policy(current_action: str, changes: dict) -> None:
    """The shipped `ppid.response` policy, moved on only if no operator has edited its text."""
    bind = op.get_bind()
    policies = sa.table(
        'policies', sa.column('clock', sa.String), sa.column('document', sa.JSON),
        sa.column('version', sa.Integer),
    )
    row = bind.execute(sa.select(policies.c.document).where(policies.c.clock == 'ppid.response')).first()
    if row is None:
        return
    document = row[0] if isinstance(row[0], dict) else json.loads(row[0])
    if document.get("action") != current_action:
        return
    document = {**document, **{k: v for k, v in changes.items() if v is not None}}
    if changes.get("action_variants") is None:
        document.pop("action_variants", None)
    # A new version, so an editor holding the old ETag cannot overwrite it unseen.
    bind.execute(
        sa.update(policies).where(policies.c.clock == 'ppid.response').values(document=document, version=policies.c.version + 1)
    )
