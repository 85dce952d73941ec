"""subscriptions: the amount each future invoice charges, and a pause

A subscription's amount can change after its checkout (a monthly donor gives more or less), and
its collection can be paused at Stripe: the ledger keeps both.

Revision ID: 7d3e4f5a6b7c
Revises: 6c2d3e4f5a6b
Create Date: 2026-12-02 10:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7d3e4f5a6b7c'
down_revision = '6c2d3e4f5a6b'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('amount_minor', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('paused', sa.Boolean(), server_default=sa.text('false'), nullable=False)
        )
        batch_op.create_check_constraint(
            batch_op.f('ck_subscriptions_amount_positive'),
            'amount_minor IS NULL OR amount_minor > 0',
        )


def downgrade():
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_subscriptions_amount_positive'), type_='check')
        batch_op.drop_column('paused')
        batch_op.drop_column('amount_minor')
