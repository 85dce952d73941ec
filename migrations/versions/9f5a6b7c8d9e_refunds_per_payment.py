"""payments: refunds of each payment, not only of the one that settled an order

A subscription's later payments (each month of a monthly gift) are refunded one by one: a refund
names its payment, and each payment keeps what went back of it. Existing refunds were all of the
payment that settled their order, which keeps the order's refunded amount.

Revision ID: 9f5a6b7c8d9e
Revises: 8e4f5a6b7c8d
Create Date: 2026-12-02 20:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9f5a6b7c8d9e'
down_revision = '8e4f5a6b7c8d'
branch_labels = None
depends_on = None

SETTLING_PAYMENT = (
    "SELECT payments.id FROM payments WHERE payments.order_id = {order} "
    "AND payments.status = 'paid' AND payments.kind <> 'renewal' ORDER BY payments.id LIMIT 1"
)


def upgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('refunded_minor', sa.Integer(), server_default=sa.text('0'), nullable=False)
        )
        batch_op.create_check_constraint(
            batch_op.f('ck_payments_refunded_not_negative'), 'refunded_minor >= 0'
        )
        batch_op.create_check_constraint(
            batch_op.f('ck_payments_refunded_within_amount'), 'refunded_minor <= amount_minor'
        )
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payment_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_refunds_payment_id'), ['payment_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_refunds_payment_id_payments'),
            'payments',
            ['payment_id'],
            ['id'],
            ondelete='CASCADE',
        )
    op.execute(
        "UPDATE refunds SET payment_id = ("
        + SETTLING_PAYMENT.format(order="refunds.order_id")
        + ")"
    )
    op.execute(
        "UPDATE payments SET refunded_minor = (SELECT orders.refunded_minor FROM orders "
        "WHERE orders.id = payments.order_id) "
        "WHERE payments.id = (" + SETTLING_PAYMENT.format(order="payments.order_id") + ") "
        "AND payments.amount_minor >= (SELECT orders.refunded_minor FROM orders "
        "WHERE orders.id = payments.order_id)"
    )


def downgrade():
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_refunds_payment_id_payments'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_refunds_payment_id'))
        batch_op.drop_column('payment_id')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_payments_refunded_within_amount'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_payments_refunded_not_negative'), type_='check')
        batch_op.drop_column('refunded_minor')
