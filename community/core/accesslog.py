"""Secrets kept out of logs: the addresses that carry one (a manage link, a private feed, an
e-mailed confirmation or reset link) are logged with the secret replaced, by gunicorn's access
log (`RedactingLogger`, named in gunicorn.conf.py) and by our own error log (`redact`).

A new route whose path holds a secret must be matched by SECRET_IN_PATH; a test walks the URL map
and fails on any `<token>`-like argument that would reach the log.
"""

from __future__ import annotations

import re

from gunicorn.glogging import Logger

REDACTED = "[redacted]"
# The segment after these prefixes is a secret (registrations: the one after the id).
SECRET_IN_PATH = re.compile(
    r"(/registrations/\d+|/calendar/u|/calendar/guest|/account/confirm|/account/email"
    r"|/account/reset)/(?!resend\b)[^/?#\s\"]+"
)


def redact(text: str) -> str:
    return SECRET_IN_PATH.sub(lambda match: f"{match.group(1)}/{REDACTED}", text)


class RedactingLogger(Logger):
    """gunicorn's logger, with every secret-bearing path in an access-log line redacted (the
    request line, the path, the referrer and the raw environ atoms alike)."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            key: redact(value) if isinstance(value, str) else value for key, value in atoms.items()
        }
