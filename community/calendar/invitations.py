"""Calendar invitations in the events domain's e-mails (RFC 6047): METHOD:REQUEST when a person
has a place or the event moves, METHOD:CANCEL when their place or the whole event is gone.

To be filled in: see the calendar issue.
"""

from __future__ import annotations


def register() -> None:
    """Hook the invitations into the events domain's e-mails (events never imports calendar)."""
