"""The events blueprint: public pages (public.py) and the organisers' back office (organiser.py)."""

from flask import Blueprint

bp = Blueprint("events", __name__)

from community.events.views import organiser, public  # noqa: E402, F401 - they register routes
