"""The record of organisers' e-mails to attendees: one row per message sent, with both language
versions and how many people it went to. The sending itself is services/attendees.py's.

The row is also what makes a confirmed message go out once: the preview page hands the browser a
random send key, and the row is written (under a unique constraint on the event and that key)
and committed before the first e-mail leaves. A second press of "Send", a reload of the confirm
request, or two tabs at once meet the constraint and send nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from community.core.db import UTCDateTime, db, utcnow

SEND_KEY_LENGTH = 32


class OrganiserMessage(db.Model):
    __tablename__ = "organiser_messages"
    __table_args__ = (
        UniqueConstraint("event_id", "send_key"),
        CheckConstraint("recipients >= 0", name="recipients_not_negative"),
        CheckConstraint("sent >= 0 AND sent <= recipients", name="sent_within_recipients"),
        # A version is a subject and a body; at least one language has one.
        CheckConstraint("(subject_ja = '') = (body_ja = '')", name="ja_complete"),
        CheckConstraint("(subject_en = '') = (body_en = '')", name="en_complete"),
        CheckConstraint("subject_ja <> '' OR subject_en <> ''", name="has_a_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No index of its own: the unique (event_id, send_key) serves look-ups by event.
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    sent_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    send_key: Mapped[str] = mapped_column(String(SEND_KEY_LENGTH))
    subject_ja: Mapped[str] = mapped_column(String(200), default="")
    body_ja: Mapped[str] = mapped_column(Text, default="")
    subject_en: Mapped[str] = mapped_column(String(200), default="")
    body_en: Mapped[str] = mapped_column(Text, default="")
    # How many people the message was for, and how many e-mails the mail server accepted.
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    sent: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
