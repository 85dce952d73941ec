"""The JSON API under /api/v1 and its OpenAPI 3.1 document at /api/openapi.json.

views.py holds the routes, schemas.py parses input and serialises output, openapi.py describes
both. The API reads and writes other domains only through their services; it never uses the
session cookie, so it is exempt from CSRF and authenticates organisers with bearer tokens.
"""

from community.api.views import bp

__all__ = ["bp"]
