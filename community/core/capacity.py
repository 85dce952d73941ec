"""Limited places under any concurrency: one counter column beside one limit column.

`claim(counter, limit, where)` adds one to the counter with a conditional UPDATE (`counter <
limit`, or no limit when the limit is NULL) and its row count decides: True means this
transaction holds one more place. Reading a count and then inserting would oversell on both
databases, even under REPEATABLE READ. `release()` gives one back. Each counter is backed by a
CHECK (`counter <= limit`, `counter >= 0`) in its own table, so that even a bug cannot oversell.
Used by ticket types and events, and by whatever else has places (sponsorship tiers).
"""

from __future__ import annotations

from sqlalchemy import or_, update
from sqlalchemy.orm import InstrumentedAttribute

from community.core.db import db


def claim(counter: InstrumentedAttribute, limit: InstrumentedAttribute, *where, count=1) -> bool:
    """Take `count` places of the row(s) matching `where`, if the limit allows; True if taken."""
    model = counter.class_
    taken = db.session.execute(
        update(model)
        .where(*where, or_(limit.is_(None), counter + count <= limit))
        .values({counter.key: counter + count})
    )
    return taken.rowcount == 1


def release(counter: InstrumentedAttribute, *where, count=1) -> None:
    """Give back `count` places taken with `claim` (the CHECK refuses going below zero)."""
    model = counter.class_
    db.session.execute(update(model).where(*where).values({counter.key: counter - count}))
