"""payment receipt url

The address of Stripe's receipt for a paid payment (its charge's receipt_url), so that the buyer's
registration page can link to it; empty until Stripe has been asked.

Revision ID: e5b7c1d2a3f4
Revises: c7e2a9d4b810
Create Date: 2026-12-03 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5b7c1d2a3f4'
down_revision = 'c7e2a9d4b810'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receipt_url', sa.String(length=2000), nullable=True))


def downgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_column('receipt_url')
