"""registration vouchers

A registration remembers the voucher redeemed with it (the kind, which names the domain that
gave the code its meaning, and the code) and whether its place lies outside its ticket type's
quota (a voucher may give a place that counts against the event's capacity only).

Revision ID: a7c3e9f1b2d4
Revises: f1a2b3c4d5e6
Create Date: 2026-12-01 16:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c3e9f1b2d4'
down_revision = 'f1a2b3c4d5e6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('voucher_kind', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('voucher_code', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('outside_quota', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_check_constraint(
            op.f('ck_registrations_voucher_kind_and_code'),
            '(voucher_kind IS NULL) = (voucher_code IS NULL)',
        )


def downgrade():
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_registrations_voucher_kind_and_code'), type_='check')
        batch_op.drop_column('outside_quota')
        batch_op.drop_column('voucher_code')
        batch_op.drop_column('voucher_kind')
