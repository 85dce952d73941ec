"""document numbers

The last number given in each series of documents (invoices, receipts) for each year: the next
one is taken by incrementing the row inside the transaction that issues the document, so that no
two documents share a number and none is skipped unless its transaction rolls back.

Revision ID: d0c5e7a1b2c3
Revises: c3d5e7f9a1b2
Create Date: 2026-12-02 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd0c5e7a1b2c3'
down_revision = 'c3d5e7f9a1b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('document_numbers',
    sa.Column('series', sa.String(length=8), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.CheckConstraint('last_number >= 0', name=op.f('ck_document_numbers_last_number_not_negative')),
    sa.PrimaryKeyConstraint('series', 'year', name=op.f('pk_document_numbers'))
    )


def downgrade():
    op.drop_table('document_numbers')
