"""Secrets never reach the logs: manage links, private feeds and e-mailed links are written to
gunicorn's access log (and our error log) with their secret replaced."""

from __future__ import annotations

import re
import urllib.error
import urllib.request

from community.core.accesslog import REDACTED, redact
from community.events import services
from tests.serving import gunicorn_serving

SECRET = "S3cretT0kenThatMustNeverBeLogged_abcdefgh"


def test_every_route_with_a_secret_in_its_path_is_redacted(app):
    secret_arguments = {"token"}
    checked = []
    for rule in app.url_map.iter_rules():
        if not secret_arguments & set(rule.arguments):
            continue
        path = re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?(\w+)>", lambda m: SECRET if m.group(1) in
                      secret_arguments else "12", rule.rule)  # fmt: skip
        assert SECRET not in redact(f"GET {path}?x=1 HTTP/1.1"), rule.rule
        checked.append(rule.rule)
    assert len(checked) >= 5, checked  # manage pages, feeds, confirmation and reset links


def test_ordinary_paths_are_logged_as_they_are():
    for path in ("/events/tokyo-meetup-2026", "/account/confirm/resend", "/calendar.ics"):
        assert redact(path) == path


def test_gunicorns_access_log_never_holds_a_manage_or_feed_token(
    app, smtp_server, tmp_path, make_event, register
):
    registration = register(make_event())
    token = services.manage_token(registration)
    log = tmp_path / "access.log"
    with gunicorn_serving(app, smtp_server, tmp_path, workers=1, threads=2, access_log=log) as base:
        for path in (
            f"/registrations/{registration.id}/{token}",
            f"/calendar/u/{SECRET}.ics",
            f"/account/reset/{SECRET}",
        ):
            try:
                urllib.request.urlopen(base + path, timeout=30).close()
            except urllib.error.HTTPError as answer:
                answer.close()
    text = log.read_text()
    assert f"/registrations/{registration.id}/{REDACTED}" in text
    assert token not in text
    assert SECRET not in text
