"""organiser messages

One row per e-mail an organiser sends to an event's attendees, with both language versions; the
unique (event, send key) makes a confirmed message go out once however often "Send" is pressed.

Revision ID: c7e2a9d4b810
Revises: b1c2d3e4f5a6
Create Date: 2026-12-02 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c7e2a9d4b810'
down_revision = 'b1c2d3e4f5a6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('organiser_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('sent_by_user_id', sa.Integer(), nullable=True),
    sa.Column('send_key', sa.String(length=32), nullable=False),
    sa.Column('subject_ja', sa.String(length=200), nullable=False),
    sa.Column('body_ja', sa.Text(), nullable=False),
    sa.Column('subject_en', sa.String(length=200), nullable=False),
    sa.Column('body_en', sa.Text(), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('sent', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('recipients >= 0', name=op.f('ck_organiser_messages_recipients_not_negative')),
    sa.CheckConstraint('sent >= 0 AND sent <= recipients', name=op.f('ck_organiser_messages_sent_within_recipients')),
    sa.CheckConstraint("(subject_ja = '') = (body_ja = '')", name=op.f('ck_organiser_messages_ja_complete')),
    sa.CheckConstraint("(subject_en = '') = (body_en = '')", name=op.f('ck_organiser_messages_en_complete')),
    sa.CheckConstraint("subject_ja <> '' OR subject_en <> ''", name=op.f('ck_organiser_messages_has_a_version')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_organiser_messages_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sent_by_user_id'], ['users.id'], name=op.f('fk_organiser_messages_sent_by_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organiser_messages')),
    sa.UniqueConstraint('event_id', 'send_key', name=op.f('uq_organiser_messages_event_id_send_key'))
    )
    with op.batch_alter_table('organiser_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organiser_messages_sent_by_user_id'), ['sent_by_user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('organiser_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organiser_messages_sent_by_user_id'))

    op.drop_table('organiser_messages')
