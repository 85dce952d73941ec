"""payment receipt questions

When Stripe is to be asked again for a paid payment's receipt, and how many times it was asked: the worker asks for
the receipts it does not have yet with a growing pause, instead of the webhook's request asking
(and waiting) while Stripe may not answer.

Revision ID: c3d5e7f9a1b2
Revises: b8d4e2f6a9c1
Create Date: 2026-12-01 20:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3d5e7f9a1b2'
down_revision = 'b8d4e2f6a9c1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receipt_next_ask_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column('receipt_questions', sa.Integer(), server_default=sa.text('0'), nullable=False)
        )
        batch_op.create_check_constraint(
            op.f('ck_payments_receipt_questions_not_negative'), 'receipt_questions >= 0'
        )


def downgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_payments_receipt_questions_not_negative'), type_='check')
        batch_op.drop_column('receipt_questions')
        batch_op.drop_column('receipt_next_ask_at')
