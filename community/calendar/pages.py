"""The calendar's HTML pages: subscribing (webcal://, Google, download) and the help for each
client, the private feed's section on the profile and manage pages, and rotating its address.

To be filled in: see the calendar issue.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("calendar_pages", __name__)
