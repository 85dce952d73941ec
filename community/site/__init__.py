"""The site's own pages: the home page and the pages that introduce partnership, membership and
donations. It reads the domains through their services and owns no data."""

from __future__ import annotations

from flask import Flask

from community.site.views import bp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
