"""Fixtures for browser tests: the app served on loopback by a real WSGI server, Debian's Chromium
driven by Playwright, and screenshots under tests/artifacts/.

Playwright's own browser download is not used; CHROMIUM_PATH (default /usr/bin/chromium) names the
browser. Without it these tests are skipped, or fail when REQUIRE_BROWSER_TESTS=1 (for CI).
Page fixtures live here; the app and the SMTP mailbox come from tests/conftest.py.
axe-core (npm) is installed on first use into .venv/node/, which git ignores.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",  # we run as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",  # every request goes to the live server on 127.0.0.1
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
# Fail fast: a page on loopback that takes longer than this is a bug, not a slow network.
TIMEOUT_MS = 10_000


def browser_required() -> bool:
    return os.environ.get("REQUIRE_BROWSER_TESTS") == "1"


def chromium_available() -> bool:
    return os.path.isfile(CHROMIUM_PATH) and os.access(CHROMIUM_PATH, os.X_OK)


def browser_status() -> str:
    """One line for the test report's header (printed by tests/conftest.py)."""
    if chromium_available():
        return f"browser tests: run with Chromium at {CHROMIUM_PATH}"
    if browser_required():
        return (
            f"browser tests: FAIL, Chromium not found at {CHROMIUM_PATH} (REQUIRE_BROWSER_TESTS=1)"
        )
    return f"browser tests: SKIPPED, no Chromium at {CHROMIUM_PATH} (apt-get install chromium)"


# --- the live server -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveServer:
    url: str
    app: object


@pytest.fixture
def live_server(make_app):
    """The app on a free loopback port, served by werkzeug in a background thread."""
    # Bind first, so BASE_URL (used in e-mailed links) can name the port; the server then takes
    # over this very socket, leaving no window in which another process could grab the port.
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    app = make_app(BASE_URL=url, RATELIMIT_ENABLED=False)
    server = make_server("127.0.0.1", port, app, threaded=True, fd=listener.fileno())
    listener.close()  # the server holds its own duplicate of the descriptor
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield LiveServer(url=url, app=app)
    server.shutdown()
    thread.join(timeout=10)
    assert not thread.is_alive(), "the live server did not stop"


@pytest.fixture
def publish_on_live_server(live_server):
    """publish_on_live_server(slug=..., **EventData fields) → the slug of a published event,
    made by an organiser account, in the live server's database."""
    from datetime import timedelta

    from community.accounts.models import User
    from community.core.db import db, utcnow
    from community.events import services
    from community.events.services import EventData, TicketTypeData
    from tests.conftest import password_hash

    def publish(**fields) -> str:
        with live_server.app.app_context():
            organiser = User(
                email=f"org-{fields['slug']}@example.com",
                name="Org",
                role="organiser",
                locale="en",
                password_hash=password_hash("x" * 12),
            )
            db.session.add(organiser)
            db.session.commit()
            start = utcnow().replace(microsecond=0) + timedelta(days=fields.pop("days", 5))
            values = {
                "kind": "event",
                "title_ja": fields.get("title_en", ""),
                "starts_at": start,
                "ends_at": start + timedelta(hours=2),
                "capacity": 10,
                "venue_name": "Loopback Hall",
                "ticket_types": [TicketTypeData(slug="general", name_en="General")],
                **fields,
            }
            event = services.create_event(EventData(**values), organiser)
            services.publish_event(event)
            return event.slug

    return publish


# --- the browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    if not chromium_available():
        reason = f"Chromium is not installed at {CHROMIUM_PATH} (apt-get install chromium)"
        if browser_required():
            pytest.fail(f"{reason}; REQUIRE_BROWSER_TESTS=1 makes this a failure", pytrace=False)
        # A developer's machine may lack Chromium: the skip is announced in the report header,
        # and CI (REQUIRE_BROWSER_TESTS=1) turns it into the failure above.
        pytest.skip(f"{reason}; browser tests skipped")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def make_page(browser, live_server, artifact_stem, request):
    """Open a page in a fresh browser context (own cookies) whose base URL is the live server.

    Keyword arguments go to `browser.new_context` (locale, viewport, ...). On a failed test,
    each open page is saved as a screenshot before its context closes.
    """
    contexts = []

    def factory(**context_options):
        options = {"locale": "en-US", **context_options}
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield factory
    if request.node.stash.get(CALL_FAILED, False):
        open_tabs = [tab for context in contexts for tab in context.pages]
        for number, tab in enumerate(open_tabs, start=1):
            save_screenshot(tab, f"{artifact_stem}-failure-{number}")
    for context in contexts:
        context.close()


@pytest.fixture
def page(make_page):
    """A page in an English-speaking browser on a desktop-sized window."""
    return make_page(locale="en-US")


# --- axe-core ------------------------------------------------------------------------------------

NODE_PREFIX = Path(__file__).resolve().parents[2] / ".venv" / "node"
AXE_SCRIPT = NODE_PREFIX / "node_modules" / "axe-core" / "axe.min.js"
AXE_PACKAGE = "axe-core@4"


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """The path of axe.min.js, installed with npm into .venv/node/ the first time."""
    if not AXE_SCRIPT.is_file():
        npm = shutil.which("npm")
        if npm is None:
            reason = "npm is not installed, so axe-core cannot be (apt-get install npm)"
            if browser_required():
                pytest.fail(reason, pytrace=False)
            # As for a missing Chromium: a developer's machine may lack npm; CI
            # (REQUIRE_BROWSER_TESTS=1) fails above instead, so the check always runs there.
            pytest.skip(reason)
        NODE_PREFIX.mkdir(parents=True, exist_ok=True)
        command = [npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix"]
        done = subprocess.run(
            [*command, str(NODE_PREFIX), AXE_PACKAGE],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0 or not AXE_SCRIPT.is_file():
            pytest.fail(f"npm could not install {AXE_PACKAGE}:\n{done.stderr}", pytrace=False)
    return AXE_SCRIPT


# --- screenshots ---------------------------------------------------------------------------------


CALL_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash[CALL_FAILED] = report.failed
    return report


def artifact_name(node_name: str) -> str:
    """`test_x[sqlite]` → `test_x-sqlite`: a file name without brackets."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", node_name).strip("-")


def save_screenshot(page, file_stem: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{file_stem}.png"
    page.screenshot(path=path, full_page=True)
    return path


@pytest.fixture
def artifact_stem(request) -> str:
    """This test's prefix for artifact files; the previous run's files are removed first."""
    stem = artifact_name(request.node.name)
    for old in ARTIFACTS.glob(f"{stem}-*.png"):
        old.unlink()
    return stem


@pytest.fixture
def shoot(artifact_stem):
    """`shoot(page, step)` saves tests/artifacts/<test-name>-<step>.png."""

    def take(page, step: str) -> Path:
        return save_screenshot(page, f"{artifact_stem}-{artifact_name(step)}")

    return take


# --- people who sign in --------------------------------------------------------------------------


def add_staff(role: str, prefix: str, password: str, languages=("ja", "en")) -> dict:
    """One confirmed account with `role` per language (e-mail `<prefix>-<language>@example.com`),
    added to the session, not committed: {language: User}."""
    from community.accounts.models import User
    from community.core.db import db, utcnow
    from tests.conftest import password_hash

    people = {}
    for language in languages:
        person = User(
            email=f"{prefix}-{language}@example.com",
            name=f"{prefix.capitalize()} {language}",
            role=role,
            locale=language,
            password_hash=password_hash(password),
            email_confirmed_at=utcnow(),
        )
        db.session.add(person)
        people[language] = person
    return people


def sign_in(page, email: str, password: str) -> None:
    page.goto("/account/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"^(?!.*/account/login)"))


def choice_questions(*, food_required: bool = False) -> list:
    """A single-choice and a multiple-choice question, the kinds a form shows as fieldsets."""
    from community.events.services import QuestionData

    return [
        QuestionData(
            kind="single_choice",
            label_ja="食事",
            label_en="Food",
            required=food_required,
            options=[
                {"value": "veg", "ja": "ベジタリアン", "en": "Vegetarian"},
                {"value": "any", "ja": "何でも", "en": "Anything"},
            ],
        ),
        QuestionData(
            kind="multiple_choice",
            label_ja="興味",
            label_en="Interests",
            options=[
                {"value": "web", "ja": "ウェブ", "en": "Web"},
                {"value": "ml", "ja": "機械学習", "en": "ML"},
            ],
        ),
    ]
