"""Versions of shared content: a counter per name (`events`: what the public calendars show),
bumped by the database itself, by triggers, in the same transaction as the change.

A reader learns whether anything changed from one primary-key read, whatever the amount of
content: a version it has seen means nothing it shows has changed since, in any process. The
triggers (created by the migrations, see `a0b1c2d3e4f5_content_versions`) catch every writer,
the ORM's flush and Core's UPDATE statements alike, and a rolled-back change rolls its bump back.

Beware: on SQLite, `op.batch_alter_table` rebuilds a table without its triggers; a migration
that batch-alters a watched table must create its triggers again (the calendar's freshness
tests fail if it does not).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, String, Table, bindparam, select, text

from community.core.db import db, read_rows

content_versions = Table(
    "content_versions",
    db.metadata,
    Column("name", String(40), primary_key=True),
    Column("version", BigInteger, nullable=False, server_default=text("0")),
)

_READ = select(content_versions.c.version).where(content_versions.c.name == bindparam("name"))


def content_version(name: str) -> int:
    """The version of `name` now (0 before its first change)."""
    return read_rows(_READ, {"name": name}).scalar() or 0
