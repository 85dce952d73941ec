"""URLs: absolute links for e-mails and feeds, built from BASE_URL with or without a request (cron),
and the bounded integer converter that every `<int:…>` in a route uses."""

from __future__ import annotations

from flask import Flask, current_app
from werkzeug.routing import IntegerConverter

# Ids are PostgreSQL `integer`s: a larger number in a path could only fail in the database.
MAX_ID = 2**31 - 1


class BoundedIntegerConverter(IntegerConverter):
    """`<int:id>` that matches 0…2³¹−1 only: `/registrations/2147483648/…` is a plain 404."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def install_converters(app: Flask) -> None:
    """Before any blueprint is registered: rules take their converter when they are added."""
    app.url_map.converters["int"] = BoundedIntegerConverter


def external_url(endpoint: str, **values) -> str:
    # url_for needs a request or SERVER_NAME; setting SERVER_NAME would also restrict routing by
    # Host, so build the path from the URL map directly.
    adapter = current_app.url_map.bind("localhost")
    return current_app.config["BASE_URL"] + adapter.build(endpoint, values)
