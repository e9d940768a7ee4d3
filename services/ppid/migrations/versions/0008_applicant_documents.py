"""documents applicants attach, and who signs the printed letters

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 17:10:00

`applicant_documents` holds what an applicant attaches to a request (identity card, power
of attorney, a legal entity's deed): personal data, read only by staff with access to the
request (each read recorded) and by the applicant with the access token. The NIP columns
(and the registering officer's name) are printed under the signature of the notice, the
objection decision and the receipt of a walk-in or letter request.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'applicant_documents',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('identity_card', 'power_of_attorney', 'legal_entity_deed')",
            name=op.f('ck_applicant_documents_kind'),
        ),
        sa.ForeignKeyConstraint(
            ['request_id'], ['requests.id'],
            name=op.f('fk_applicant_documents_request_id_requests'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_applicant_documents')),
    )
    with op.batch_alter_table('applicant_documents') as batch:
        batch.create_index(batch.f('ix_applicant_documents_request_id'), ['request_id'], unique=False)
    with op.batch_alter_table('requests') as batch:
        batch.add_column(sa.Column('registered_by_name', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('registered_by_nip', sa.String(length=30), nullable=True))
    with op.batch_alter_table('notices') as batch:
        batch.add_column(sa.Column('issued_by_nip', sa.String(length=30), nullable=True))
    with op.batch_alter_table('objections') as batch:
        batch.add_column(sa.Column('decided_by_nip', sa.String(length=30), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('objections') as batch:
        batch.drop_column('decided_by_nip')
    with op.batch_alter_table('notices') as batch:
        batch.drop_column('issued_by_nip')
    with op.batch_alter_table('requests') as batch:
        batch.drop_column('registered_by_nip')
        batch.drop_column('registered_by_name')
    with op.batch_alter_table('applicant_documents') as batch:
        batch.drop_index(batch.f('ix_applicant_documents_request_id'))
    op.drop_table('applicant_documents')
