"""The API is exactly what its OpenAPI document (/api/openapi.json) says.

The document is valid OpenAPI 3.1 and names every API route. Then the app is served as in
production, by gunicorn (two processes) on this test's database, SQLite or PostgreSQL, and
schemathesis' command line tests it from the document alone: every phase (examples, coverage,
fuzzing, stateful), every check (`--checks all`: no server error; only documented statuses,
content types and headers; bodies valid against their schemas; invalid input refused and valid
input accepted; auth enforced; …), and every warning counts as a failure. A document that asks
for less or more than the API takes shows up there: as a failed `negative_data_rejection` or
`positive_data_acceptance`, or as a `validation_mismatch` / `missing_test_data` warning.

tests/api/schemathesis_hooks.py gives valid registrations what only the database knows (the
seeded event's ticket types and question); everything else comes from the document.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import schemathesis
from sqlalchemy import func, select

from community.accounts import services as accounts
from community.api.openapi import build_document
from community.core.db import db, utcnow
from community.events import services
from community.events.models import Registration
from community.events.services import EventData, QuestionData, TicketTypeData
from tests.serving import gunicorn_serving

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
OPERATIONS = {
    ("GET", "/api/v1/events"),
    ("GET", "/api/v1/events/{slug}"),
    ("POST", "/api/v1/events/{slug}/registrations"),
    ("GET", "/api/v1/events/{slug}/attendees"),
    ("GET", "/api/v1/sponsors"),
    ("GET", "/api/openapi.json"),
}
SEEDED_SLUG = "conformance-night"
# Deterministic generation: the same cases on every run. 40 per operation and phase reach every
# documented status and keep each database's run near a minute and a half.
MAX_EXAMPLES = 40
CONFIG = """\
# One thread: CPython 3.11.7 can crash compiling ASTs from several threads at once (hypothesis
# describes lambdas with ast.parse). The server side runs two processes.
workers = 1
request-timeout = 30
continue-on-failure = true

[generation]
max-examples = {max_examples}
deterministic = true
database = "none"
unique-inputs = true
# core.views answers a NUL anywhere in a request with a 400 (documented): JSON Schema cannot say
# "no NUL in any string, key or unknown property", so valid data is drawn without it.
allow-x00 = false

[phases.stateful]
max-steps = 10

[warnings]
display = [{warnings}]
fail-on = true

[auth.openapi.bearerAuth]
bearer = "${{CONFORMANCE_TOKEN}}"
"""


def test_the_document_is_valid_openapi_3_1(app):
    schema = schemathesis.openapi.from_dict(build_document(app.config["BASE_URL"]))
    assert schema.raw_schema["openapi"] == "3.1.0"
    schema.validate()  # against the OpenAPI meta-schema that schemathesis bundles


def test_every_api_route_is_documented_and_nothing_else(app):
    routes = {
        (method, re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    document = build_document(app.config["BASE_URL"])
    documented = {
        (method.upper(), path) for path, methods in document["paths"].items() for method in methods
    }
    assert documented == routes == OPERATIONS


@pytest.fixture
def seeded(app, make_user):
    organiser = make_user(role="organiser", email="conformance@example.com")
    start = utcnow().replace(microsecond=0) + timedelta(days=14)
    event = services.create_event(
        EventData(
            slug=SEEDED_SLUG,
            kind="event",
            title_ja="適合性の夕べ",
            title_en="Conformance night",
            summary_ja="テスト",
            summary_en="A test",
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            capacity=5,
            venue_name="Hall",
            ticket_types=[
                TicketTypeData(slug="general", name_ja="一般", name_en="General", quota=4),
                TicketTypeData(slug="paid", name_ja="有料", name_en="Paid", price_minor=1500),
            ],
            questions=[
                QuestionData(
                    kind="single_choice",
                    label_en="Food",
                    options=[{"value": "veg", "en": "Veg"}, {"value": "any", "en": "Any"}],
                )
            ],
        ),
        organiser,
    )
    services.publish_event(event)
    _token, raw = accounts.create_api_token(organiser, "conformance")
    seeded = {"token": raw, "question_id": event.questions[0].id, "event_id": event.id}
    db.session.commit()
    db.session.remove()
    return seeded


@pytest.fixture
def served(app, seeded, smtp_server, tmp_path):
    """The app under gunicorn (2 processes × 2 threads) on this test's database, with the
    offline payment sandbox (paid tickets get a checkout_url without Stripe) and no rate limits
    (past the 30th registration a minute every answer would be a 429, and the rules behind it
    would go untested)."""
    log_path = tmp_path / "gunicorn.log"
    with gunicorn_serving(
        app, smtp_server, tmp_path, workers=2, threads=2, log_path=log_path, STRIPE_SECRET_KEY=""
    ) as base:
        yield base, log_path


def test_schemathesis_finds_nothing_against_gunicorn(served, seeded, tmp_path, mailbox):
    from schemathesis.core.warnings import SchemathesisWarning

    base, log_path = served
    config = tmp_path / "schemathesis.toml"
    every_warning = ", ".join(f'"{warning.value}"' for warning in SchemathesisWarning)
    config.write_text(CONFIG.format(max_examples=MAX_EXAMPLES, warnings=every_warning))
    env = {
        **os.environ,
        "CONFORMANCE_TOKEN": seeded["token"],
        "CONFORMANCE_SLUG": SEEDED_SLUG,
        "CONFORMANCE_QUESTION_ID": str(seeded["question_id"]),
        "SCHEMATHESIS_HOOKS": "tests.api.schemathesis_hooks",
        "PYTHONPATH": str(ROOT),
        "NO_COLOR": "1",
    }
    started = time.monotonic()
    result = subprocess.run(
        [str(BIN / "schemathesis"), "--config-file", str(config), "--no-color", "run",
         f"{base}/api/openapi.json", "--phases", "examples,coverage,fuzzing,stateful",
         "--checks", "all", "--mode", "all"],
        # In tmp_path: schemathesis keeps a .schemathesis/ cache in its working directory.
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    output = f"{result.stdout}{result.stderr}\n(schemathesis ran {time.monotonic() - started:.0f}s)"
    crashes = _tracebacks(log_path.read_text())
    print(output)
    assert result.returncode == 0, output + "\n--- gunicorn ---\n" + crashes
    assert "No issues found" in result.stdout, output
    assert not crashes, crashes
    # The valid registrations reached the rules: places taken, a waiting list, payments held.
    db.session.rollback()
    statuses = dict(
        db.session.execute(
            select(Registration.status, func.count())
            .where(Registration.event_id == seeded["event_id"])
            .group_by(Registration.status)
        ).all()
    )
    assert {"confirmed", "waitlisted"} <= set(statuses), statuses


def _tracebacks(log: str) -> str:
    """The server's tracebacks, each with the line that introduced it."""
    lines = log.splitlines()
    found = []
    for number, line in enumerate(lines):
        if line.startswith("Traceback"):
            end = number + 1
            while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end]):
                end += 1
            found.append("\n".join(lines[max(number - 1, 0) : end + 1]))
    return "\n\n".join(found)
