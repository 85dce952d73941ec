"""The JSON API under /api/v1 and its OpenAPI 3.1 document at /api/openapi.json.

views.py holds the routes; schemas.py the pydantic models that validate what comes in and what
goes out; openapi.py the spectree instance that applies them and generates the document from them,
so the document cannot drift from the code. The API reads and writes other domains only through
their services; it never uses the session cookie, so it is exempt from CSRF and authenticates
organisers with bearer tokens.
"""

from __future__ import annotations

from flask import Flask

from community.api.views import bp
from community.extensions import csrf

__all__ = ["bp", "init_app"]


def init_app(app: Flask) -> None:
    # Bearer tokens, never the session cookie: CSRF tokens have nothing to guard.
    csrf.exempt(bp)
    app.register_blueprint(bp)
