"""membership, donations: content versions bumped by triggers, as events' and sponsorship's are

`membership` goes up with any change to the plans and their benefits (what /join and a plan's
page show to everyone); `donations` with any change to campaigns, gifts and their payments (what
/donate, a campaign's page and the donors' wall show: the totals raised, matching, the names of
donors who agreed to be named). A person's own membership and gifts are not shared content: their
pages read them on each request. The function `bump_content_version` on PostgreSQL is the one
of a0b1c2d3e4f5.

Revision ID: b7c8d9e0f1a2
Revises: 84ac006df321
Create Date: 2026-12-04 19:30:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "b7c8d9e0f1a2"
down_revision = "84ac006df321"
branch_labels = None
depends_on = None

# (content, table): any change to a row counts.
WATCHED = (
    ("membership", "membership_plans"),
    ("membership", "membership_plan_benefits"),
    ("donations", "donation_campaigns"),
    ("donations", "donations"),
    ("donations", "donation_payments"),
)
OPERATIONS = ("INSERT", "UPDATE", "DELETE")


def _bump(name: str) -> str:
    return (
        f"INSERT INTO content_versions (name, version) VALUES ({name}, 1) "
        "ON CONFLICT (name) DO UPDATE SET version = content_versions.version + 1"
    )


def _triggers():
    for content, table in WATCHED:
        for operation in OPERATIONS:
            yield f"{table}_version_on_{operation.lower()}", content, table, operation


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, content, table, operation in _triggers():
        if postgresql:
            op.execute(
                f"CREATE TRIGGER {name} AFTER {operation} ON {table} FOR EACH ROW "
                f"EXECUTE FUNCTION bump_content_version('{content}')"
            )
        else:
            op.execute(
                f"CREATE TRIGGER {name} AFTER {operation} ON {table} FOR EACH ROW "
                f"BEGIN {_bump(repr(content))}; END"
            )


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, _content, table, _operation in _triggers():
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgresql else ""))
