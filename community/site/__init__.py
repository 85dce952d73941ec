"""The site's own pages: the home page and the pages that introduce partnership, membership and
donations. It reads the domains through their services and owns no data."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from community.core.navigation import NavEntry, add_navigation
from community.site.views import bp

NAVIGATION = (
    NavEntry("site.donate", _l("Donate"), 50),
    NavEntry("site.donate", _l("Donate"), 40, place="footer"),
)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    add_navigation(app, *NAVIGATION)
