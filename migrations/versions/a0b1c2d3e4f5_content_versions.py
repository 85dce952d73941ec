"""core: content versions, bumped by triggers in the same transaction as a change

`content_versions` holds a counter per kind of shared content. `events` goes up with every change
to what the public calendars and event lists show of events: an event added or removed, an
event's stamp, sequence, status, category, slug or start changed (its counters, such as places
taken, do not count), a category added, changed or removed. `sponsorship` goes up with any change
to tiers, partners, sponsorships and event sponsorships (what the partners' walls show). The
triggers do it, so every writer is caught, ORM and Core alike, and a rolled-back change rolls its
bump back. A reader compares one small row instead of every row's stamp.

SQLite: a later `batch_alter_table` of a watched table drops its triggers (the table is
rebuilt): such a migration must create them again.

Revision ID: a0b1c2d3e4f5
Revises: 9f5a6b7c8d9e
Create Date: 2026-12-03 14:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "a0b1c2d3e4f5"
down_revision = "9f5a6b7c8d9e"
branch_labels = None
depends_on = None

# The columns of an event whose change changes what is shown of it (the rest show through
# updated_at, which every edit of an event's content moves); its counters (places taken) are
# read with each page and do not count.
EVENT_COLUMNS = ("updated_at", "sequence", "status", "category_id", "slug", "starts_at")
# (content, table, only when one of these columns changes: None for any change)
WATCHED = (
    ("events", "events", EVENT_COLUMNS),
    ("events", "categories", None),
    ("sponsorship", "sponsorship_tiers", None),
    ("sponsorship", "sponsorship_tier_years", None),
    ("sponsorship", "partners", None),
    ("sponsorship", "sponsorships", None),
    ("sponsorship", "event_sponsorships", None),
)
OPERATIONS = ("INSERT", "UPDATE", "DELETE")


def _bump(name: str) -> str:
    return (
        f"INSERT INTO content_versions (name, version) VALUES ({name}, 1) "
        "ON CONFLICT (name) DO UPDATE SET version = content_versions.version + 1"
    )


def _triggers():
    for content, table, columns in WATCHED:
        for operation in OPERATIONS:
            when = columns if operation == "UPDATE" else None
            yield f"{table}_version_on_{operation.lower()}", content, table, operation, when


def upgrade():
    op.create_table(
        "content_versions",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_content_versions")),
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute(
            "CREATE FUNCTION bump_content_version() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {_bump('TG_ARGV[0]')}; RETURN NULL; END $$"
        )
    for name, content, table, operation, columns in _triggers():
        distinct = "IS DISTINCT FROM" if postgresql else "IS NOT"
        changed = " OR ".join(f"OLD.{column} {distinct} NEW.{column}" for column in columns or ())
        if postgresql:
            when = f" WHEN ({changed})" if columns else ""
            op.execute(
                f"CREATE TRIGGER {name} AFTER {operation} ON {table} FOR EACH ROW{when} "
                f"EXECUTE FUNCTION bump_content_version('{content}')"
            )
        else:
            when = f" WHEN {changed}" if columns else ""
            op.execute(
                f"CREATE TRIGGER {name} AFTER {operation} ON {table} FOR EACH ROW{when} "
                f"BEGIN {_bump(repr(content))}; END"
            )


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, _content, table, _operation, _columns in _triggers():
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgresql else ""))
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS bump_content_version()")
    op.drop_table("content_versions")
