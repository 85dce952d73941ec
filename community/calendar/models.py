"""The calendar domain's tables: private feeds' secret addresses, what each feed last served.

No I/O here; the rules are in services.py.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from community.core.db import UTCDateTime, db, utcnow


class PrivateFeed(db.Model):
    """The secret address of one person's feed: one per account, or one per e-mail address for
    guests (who reach it through the manage link of any of their registrations).

    The token is the whole credential; rotating it replaces it in place, so the old address
    stops working at once.
    """

    __tablename__ = "calendar_private_feeds"
    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (email IS NULL)", name="one_owner"),
        CheckConstraint("email IS NULL OR email = lower(email)", name="email_lowercase"),
        # secrets.token_urlsafe(32): 256 bits in 43 characters; never fewer than 128 bits.
        CheckConstraint("length(token) >= 22", name="token_long_enough"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class FeedVersion(db.Model):
    """What a feed served last: the fingerprint of its inputs, its ETag and since when.

    Shared by every process, so that `Last-Modified` only ever moves forward (even when an event
    leaves the feed) and a conditional request is answered 304 without building the feed.
    """

    __tablename__ = "calendar_feed_versions"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    inputs: Mapped[str] = mapped_column(String(64))
    etag: Mapped[str] = mapped_column(String(64))
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime())
