"""events: an index in the public lists' order (starts_at, id)

The lists of upcoming and past events are read a page at a time in this order: with the index the
database walks the events in order and stops at the end of the page, instead of sorting every
upcoming event for each page.

Revision ID: 84ac006df321
Revises: a0b1c2d3e4f5
Create Date: 2026-12-03 15:00:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "84ac006df321"
down_revision = "a0b1c2d3e4f5"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_events_starts_at_id", "events", ["starts_at", "id"], unique=False)


def downgrade():
    op.drop_index("ix_events_starts_at_id", table_name="events")
