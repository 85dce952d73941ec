"""DomainError: a refusal by a business rule, with a message a person can read in their language.

Services raise these; views turn them into a flashed message, a form error or a JSON error.
"""

from __future__ import annotations

from flask_babel import LazyString


class DomainError(Exception):
    """A rule refused the request. `message` is lazily translated; `field` names the culprit."""

    code = "invalid"
    http_status = 422

    def __init__(self, message: str | LazyString, *, field: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return str(self.message)


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class Conflict(DomainError):
    code = "conflict"
    http_status = 409


class Forbidden(DomainError):
    code = "forbidden"
    http_status = 403


class Busy(DomainError):
    """The database was too busy to take the write lock in time; the request may be retried."""

    code = "busy"
    http_status = 503
