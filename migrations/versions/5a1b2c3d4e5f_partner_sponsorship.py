"""partner sponsorship

Sponsorship tiers and their places per sponsorship year (a counter beside its limit, kept within
it by a CHECK), partner companies with their billing details and logo, their contacts,
sponsorships (one holding tier a year for a partner: a partial unique index), event sponsors and
the complimentary ticket codes of a sponsorship; and the number and day of the receipt issued for
a payment.

Revision ID: 5a1b2c3d4e5f
Revises: d0c5e7a1b2c3
Create Date: 2026-12-02 03:23:53.162258

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5a1b2c3d4e5f'
down_revision = 'd0c5e7a1b2c3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receipt_number', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('receipt_issued_on', sa.Date(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_payments_receipt_number'), ['receipt_number'])
    op.create_table('partners',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name_ja', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('website', sa.String(length=500), nullable=False),
    sa.Column('description_ja', sa.Text(), nullable=False),
    sa.Column('description_en', sa.Text(), nullable=False),
    sa.Column('logo', sa.LargeBinary(), nullable=True),
    sa.Column('logo_type', sa.String(length=20), nullable=True),
    sa.Column('logo_version', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('billing_name', sa.String(length=200), nullable=False),
    sa.Column('billing_address', sa.String(length=500), nullable=False),
    sa.Column('billing_department', sa.String(length=200), nullable=False),
    sa.Column('billing_contact', sa.String(length=200), nullable=False),
    sa.Column('registration_number', sa.String(length=14), nullable=True),
    sa.Column('registration_number_confirmed', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("logo_type IS NULL OR logo_type IN ('image/png', 'image/jpeg', 'image/webp', 'image/svg+xml')", name=op.f('ck_partners_logo_type_known')),
    sa.CheckConstraint('(logo IS NULL) = (logo_type IS NULL)', name=op.f('ck_partners_logo_with_type')),
    sa.CheckConstraint('logo_version >= 0', name=op.f('ck_partners_logo_version_not_negative')),
    sa.CheckConstraint('registration_number IS NULL OR length(registration_number) = 14', name=op.f('ck_partners_registration_number_length')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partners'))
    )
    op.create_table('sponsorship_tiers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=60), nullable=False),
    sa.Column('name_ja', sa.String(length=120), nullable=False),
    sa.Column('name_en', sa.String(length=120), nullable=False),
    sa.Column('benefits_ja', sa.Text(), nullable=False),
    sa.Column('benefits_en', sa.Text(), nullable=False),
    sa.Column('price_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('price_includes_tax', sa.Boolean(), nullable=False),
    sa.Column('tax_rate', sa.Integer(), nullable=False),
    sa.Column('places', sa.Integer(), nullable=True),
    sa.Column('complimentary_tickets', sa.Integer(), nullable=False),
    sa.Column('logo_size', sa.String(length=8), nullable=False),
    sa.Column('mention_at_openings', sa.Boolean(), nullable=False),
    sa.Column('posts', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('active', 'retired', name='status_known', native_enum=False, create_constraint=True, length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("logo_size IN ('large', 'medium', 'small')", name=op.f('ck_sponsorship_tiers_logo_size_known')),
    sa.CheckConstraint('complimentary_tickets >= 0', name=op.f('ck_sponsorship_tiers_complimentary_tickets_not_negative')),
    sa.CheckConstraint('length(currency) = 3', name=op.f('ck_sponsorship_tiers_currency_code')),
    sa.CheckConstraint('places IS NULL OR places >= 0', name=op.f('ck_sponsorship_tiers_places_not_negative')),
    sa.CheckConstraint('posts >= 0', name=op.f('ck_sponsorship_tiers_posts_not_negative')),
    sa.CheckConstraint('price_minor >= 0', name=op.f('ck_sponsorship_tiers_price_not_negative')),
    sa.CheckConstraint('tax_rate BETWEEN 0 AND 100', name=op.f('ck_sponsorship_tiers_tax_rate_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sponsorship_tiers')),
    sa.UniqueConstraint('slug', name=op.f('uq_sponsorship_tiers_slug'))
    )
    op.create_table('partner_contacts',
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_partner_contacts_partner_id_partners'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_partner_contacts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('partner_id', 'user_id', name=op.f('pk_partner_contacts'))
    )
    with op.batch_alter_table('partner_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_contacts_user_id'), ['user_id'], unique=False)

    op.create_table('sponsorship_tier_years',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tier_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('places', sa.Integer(), nullable=True),
    sa.Column('taken', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.CheckConstraint('places IS NULL OR taken <= places', name=op.f('ck_sponsorship_tier_years_taken_within_places')),
    sa.CheckConstraint('taken >= 0', name=op.f('ck_sponsorship_tier_years_taken_not_negative')),
    sa.CheckConstraint('year BETWEEN 2000 AND 9999', name=op.f('ck_sponsorship_tier_years_year_range')),
    sa.ForeignKeyConstraint(['tier_id'], ['sponsorship_tiers.id'], name=op.f('fk_sponsorship_tier_years_tier_id_sponsorship_tiers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sponsorship_tier_years')),
    sa.UniqueConstraint('tier_id', 'year', name='uq_sponsorship_tier_years_tier_id_year')
    )
    op.create_table('event_sponsorships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('venue', 'food', 'speaker', 'other')", name=op.f('ck_event_sponsorships_role_known')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_sponsorships_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_event_sponsorships_partner_id_partners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_sponsorships')),
    sa.UniqueConstraint('event_id', 'partner_id', 'role', name='uq_event_sponsorships_event_id_partner_id_role')
    )
    with op.batch_alter_table('event_sponsorships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_sponsorships_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_sponsorships_partner_id'), ['partner_id'], unique=False)

    op.create_table('sponsorships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('tier_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('awaiting_payment', 'invoiced', 'paid', 'expired', 'lapsed', 'cancelled', name='status_known', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('price_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('price_includes_tax', sa.Boolean(), nullable=False),
    sa.Column('tax_rate', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('bought_by_id', sa.Integer(), nullable=True),
    sa.Column('renewal_of_id', sa.Integer(), nullable=True),
    sa.Column('renewal_reminders', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('payment_reminders', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("method <> 'invoice' OR due_on IS NOT NULL", name=op.f('ck_sponsorships_invoice_has_due_date')),
    sa.CheckConstraint("method IN ('card', 'invoice')", name=op.f('ck_sponsorships_method_known')),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_sponsorships_ends_on_or_after_start')),
    sa.CheckConstraint('length(currency) = 3', name=op.f('ck_sponsorships_currency_code')),
    sa.CheckConstraint('payment_reminders >= 0', name=op.f('ck_sponsorships_payment_reminders_not_negative')),
    sa.CheckConstraint('price_minor >= 0', name=op.f('ck_sponsorships_price_not_negative')),
    sa.CheckConstraint('renewal_reminders BETWEEN 0 AND 2', name=op.f('ck_sponsorships_renewal_reminders_range')),
    sa.CheckConstraint('tax_rate BETWEEN 0 AND 100', name=op.f('ck_sponsorships_tax_rate_range')),
    sa.CheckConstraint('year BETWEEN 2000 AND 9999', name=op.f('ck_sponsorships_year_range')),
    sa.ForeignKeyConstraint(['bought_by_id'], ['users.id'], name=op.f('fk_sponsorships_bought_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_sponsorships_order_id_orders'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_sponsorships_partner_id_partners'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['renewal_of_id'], ['sponsorships.id'], name=op.f('fk_sponsorships_renewal_of_id_sponsorships'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tier_id'], ['sponsorship_tiers.id'], name=op.f('fk_sponsorships_tier_id_sponsorship_tiers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sponsorships'))
    )
    with op.batch_alter_table('sponsorships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sponsorships_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sponsorships_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index('ix_sponsorships_status_ends_on', ['status', 'ends_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_sponsorships_tier_id'), ['tier_id'], unique=False)
        batch_op.create_index('uq_sponsorships_partner_id_year_holding', ['partner_id', 'year'], unique=True, sqlite_where=sa.text("status IN ('awaiting_payment', 'invoiced', 'paid')"), postgresql_where=sa.text("status IN ('awaiting_payment', 'invoiced', 'paid')"))

    op.create_table('sponsorship_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sponsorship_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=True),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('number >= 1', name=op.f('ck_sponsorship_codes_number_positive')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_sponsorship_codes_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_sponsorship_codes_registration_id_registrations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sponsorship_id'], ['sponsorships.id'], name=op.f('fk_sponsorship_codes_sponsorship_id_sponsorships'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sponsorship_codes')),
    sa.UniqueConstraint('code', name=op.f('uq_sponsorship_codes_code')),
    sa.UniqueConstraint('registration_id', name=op.f('uq_sponsorship_codes_registration_id')),
    sa.UniqueConstraint('sponsorship_id', 'event_id', 'number', name='uq_sponsorship_codes_sponsorship_id_event_id_number')
    )
    with op.batch_alter_table('sponsorship_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sponsorship_codes_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sponsorship_codes_sponsorship_id'), ['sponsorship_id'], unique=False)



def downgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_payments_receipt_number'), type_='unique')
        batch_op.drop_column('receipt_issued_on')
        batch_op.drop_column('receipt_number')
    with op.batch_alter_table('sponsorship_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sponsorship_codes_sponsorship_id'))
        batch_op.drop_index(batch_op.f('ix_sponsorship_codes_event_id'))

    op.drop_table('sponsorship_codes')
    with op.batch_alter_table('sponsorships', schema=None) as batch_op:
        batch_op.drop_index('uq_sponsorships_partner_id_year_holding', sqlite_where=sa.text("status IN ('awaiting_payment', 'invoiced', 'paid')"), postgresql_where=sa.text("status IN ('awaiting_payment', 'invoiced', 'paid')"))
        batch_op.drop_index(batch_op.f('ix_sponsorships_tier_id'))
        batch_op.drop_index('ix_sponsorships_status_ends_on')
        batch_op.drop_index(batch_op.f('ix_sponsorships_partner_id'))
        batch_op.drop_index(batch_op.f('ix_sponsorships_order_id'))

    op.drop_table('sponsorships')
    with op.batch_alter_table('event_sponsorships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_sponsorships_partner_id'))
        batch_op.drop_index(batch_op.f('ix_event_sponsorships_event_id'))

    op.drop_table('event_sponsorships')
    op.drop_table('sponsorship_tier_years')
    with op.batch_alter_table('partner_contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_contacts_user_id'))

    op.drop_table('partner_contacts')
    op.drop_table('sponsorship_tiers')
    op.drop_table('partners')
