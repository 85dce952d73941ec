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

from flask import g, has_app_context, has_request_context, request
from sqlalchemy import BigInteger, Column, String, Table, event, select, text
from sqlalchemy.orm import Session

from community.core.db import db, read_rows
from community.core.window import window_read

content_versions = Table(
    "content_versions",
    db.metadata,
    Column("name", String(40), primary_key=True),
    Column("version", BigInteger, nullable=False, server_default=text("0")),
)

_READ_ALL = select(content_versions.c.name, content_versions.c.version)
_SEEN = "_content_versions"


def content_version(name: str) -> int:
    """The version of `name` now (0 before its first change)."""
    return _all_versions().get(name, 0)


def _all_versions() -> dict[str, int]:
    """Every version, in one small read (a row per kind of content): once per GET or HEAD
    request, and where the micro-cache is on, once per its window in this process
    (core/window.py). Anything else, or a request that has written, reads them each time."""
    if not has_request_context() or request.method not in ("GET", "HEAD"):
        return _read_all()
    seen = g.get(_SEEN)
    if seen is None:
        seen = window_read(("content-versions",), _read_all)
        setattr(g, _SEEN, seen)
    return seen


def _read_all() -> dict[str, int]:
    return dict(read_rows(_READ_ALL).all())


def _forget_seen(session, *args) -> None:
    """A write may have changed them: what this request read before is read again."""
    if has_app_context():
        g.pop(_SEEN, None)


_WRITES_DONE = ("after_flush", "after_commit", "after_soft_rollback")


def install() -> None:
    """Once per process: each flush, commit or rollback makes the request read them again."""
    for name in _WRITES_DONE:
        if not event.contains(Session, name, _forget_seen):
            event.listen(Session, name, _forget_seen)
