"""payments ledger for every way money arrives

Payments are of a kind: a Checkout Session (which alone needs a session id), a bank transfer
recorded by hand against the order's invoice (the day it arrived, the bank's reference, who
recorded it), or a subscription's renewal (its provider invoice). One payment settles an order.
Orders carry their subscription's interval and their invoice number; subscriptions get rows of
their own; a registration points at the order of its current payment by foreign key (filled in
for the registrations paid so far from the order's reference).

Revision ID: b8d4e2f6a9c1
Revises: a7c3e9f1b2d4
Create Date: 2026-12-01 16:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b8d4e2f6a9c1'
down_revision = 'a7c3e9f1b2d4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('billing_interval', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('invoice_number', sa.String(length=32), nullable=True))
    # Subscriptions so far were all monthly.
    op.execute("UPDATE orders SET billing_interval = 'month' WHERE mode = 'subscription'")
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f('ck_orders_billing_interval_known'),
            "billing_interval IS NULL OR billing_interval IN ('month', 'year')",
        )
        batch_op.create_check_constraint(
            op.f('ck_orders_subscription_has_interval'),
            "(mode = 'subscription') = (billing_interval IS NOT NULL)",
        )
        batch_op.create_unique_constraint(batch_op.f('uq_orders_invoice_number'), ['invoice_number'])

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), nullable=False, server_default='checkout'))
        batch_op.add_column(sa.Column('invoice_id', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('received_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('transfer_reference', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('recorded_by_id', sa.Integer(), nullable=True))
        batch_op.alter_column('session_id', existing_type=sa.String(length=255), nullable=True)
        batch_op.drop_constraint(op.f('ck_payments_provider_known'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_payments_provider_known'), "provider IN ('stripe', 'sandbox', 'bank_transfer')"
        )
        batch_op.create_check_constraint(
            op.f('ck_payments_kind_known'), "kind IN ('checkout', 'bank_transfer', 'renewal')"
        )
        batch_op.create_check_constraint(
            op.f('ck_payments_checkout_has_session'), "kind <> 'checkout' OR session_id IS NOT NULL"
        )
        batch_op.create_check_constraint(
            op.f('ck_payments_renewal_has_invoice'), "kind <> 'renewal' OR invoice_id IS NOT NULL"
        )
        batch_op.create_check_constraint(
            op.f('ck_payments_bank_transfer_kind'),
            "(kind = 'bank_transfer') = (provider = 'bank_transfer')",
        )
        batch_op.create_check_constraint(
            op.f('ck_payments_bank_transfer_received'),
            "kind <> 'bank_transfer' OR (received_on IS NOT NULL AND status = 'paid')",
        )
        batch_op.create_unique_constraint(
            batch_op.f('uq_payments_provider_invoice_id'), ['provider', 'invoice_id']
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_payments_recorded_by_id_users'), 'users', ['recorded_by_id'], ['id'],
            ondelete='SET NULL',
        )
        batch_op.create_index(batch_op.f('ix_payments_recorded_by_id'), ['recorded_by_id'], unique=False)
        batch_op.create_index(
            'uq_payments_order_id_settled', ['order_id'], unique=True,
            sqlite_where=sa.text("status = 'paid' AND kind <> 'renewal'"),
            postgresql_where=sa.text("status = 'paid' AND kind <> 'renewal'"),
        )

    op.create_table('subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('subscription_id', sa.String(length=255), nullable=False),
    sa.Column('billing_interval', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('current_period_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_at_period_end', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("provider IN ('stripe', 'sandbox', 'bank_transfer')", name=op.f('ck_subscriptions_provider_known')),
    sa.CheckConstraint("billing_interval IN ('month', 'year')", name=op.f('ck_subscriptions_billing_interval_known')),
    sa.CheckConstraint("status IN ('active', 'past_due', 'ended')", name=op.f('ck_subscriptions_status_known')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_subscriptions_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriptions')),
    sa.UniqueConstraint('provider', 'subscription_id', name='uq_subscriptions_provider_subscription_id')
    )
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscriptions_order_id'), ['order_id'], unique=False)

    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('order_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_registrations_order_id_orders'), 'orders', ['order_id'], ['id'],
            ondelete='SET NULL',
        )
        batch_op.create_index(batch_op.f('ix_registrations_order_id'), ['order_id'], unique=False)
    # The registrations paid (or paying) so far: their newest order.
    op.execute(
        "UPDATE registrations SET order_id = (SELECT max(orders.id) FROM orders "
        "WHERE orders.purpose = 'ticket' AND orders.reference = CAST(registrations.id AS VARCHAR(64)))"
    )


def downgrade():
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registrations_order_id'))
        batch_op.drop_constraint(batch_op.f('fk_registrations_order_id_orders'), type_='foreignkey')
        batch_op.drop_column('order_id')

    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscriptions_order_id'))
    op.drop_table('subscriptions')

    # Only Checkout Sessions fit the earlier ledger: the other payments go with their columns.
    op.execute("DELETE FROM payments WHERE kind <> 'checkout'")
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(
            'uq_payments_order_id_settled',
            sqlite_where=sa.text("status = 'paid' AND kind <> 'renewal'"),
            postgresql_where=sa.text("status = 'paid' AND kind <> 'renewal'"),
        )
        batch_op.drop_index(batch_op.f('ix_payments_recorded_by_id'))
        batch_op.drop_constraint(batch_op.f('fk_payments_recorded_by_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_payments_provider_invoice_id'), type_='unique')
        batch_op.drop_constraint(op.f('ck_payments_bank_transfer_received'), type_='check')
        batch_op.drop_constraint(op.f('ck_payments_bank_transfer_kind'), type_='check')
        batch_op.drop_constraint(op.f('ck_payments_renewal_has_invoice'), type_='check')
        batch_op.drop_constraint(op.f('ck_payments_checkout_has_session'), type_='check')
        batch_op.drop_constraint(op.f('ck_payments_kind_known'), type_='check')
        batch_op.drop_constraint(op.f('ck_payments_provider_known'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_payments_provider_known'), "provider IN ('stripe', 'sandbox')"
        )
        batch_op.alter_column('session_id', existing_type=sa.String(length=255), nullable=False)
        batch_op.drop_column('recorded_by_id')
        batch_op.drop_column('transfer_reference')
        batch_op.drop_column('received_on')
        batch_op.drop_column('invoice_id')
        batch_op.drop_column('kind')

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_orders_invoice_number'), type_='unique')
        batch_op.drop_constraint(op.f('ck_orders_subscription_has_interval'), type_='check')
        batch_op.drop_constraint(op.f('ck_orders_billing_interval_known'), type_='check')
        batch_op.drop_column('invoice_number')
        batch_op.drop_column('billing_interval')
