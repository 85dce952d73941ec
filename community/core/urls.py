"""Absolute links for e-mails and feeds, built from BASE_URL, with or without a request (cron)."""

from __future__ import annotations

from flask import current_app


def external_url(endpoint: str, **values) -> str:
    # url_for needs a request or SERVER_NAME; setting SERVER_NAME would also restrict routing by
    # Host, so build the path from the URL map directly.
    adapter = current_app.url_map.bind("localhost")
    return current_app.config["BASE_URL"] + adapter.build(endpoint, values)
