"""Fixtures shared by every test: the app on a real database (SQLite, and PostgreSQL when
TEST_DATABASE_URL is set), a real SMTP server on loopback, and helpers for CSRF-protected forms.

SQLite: the schema is migrated once per run into a template file that each test copies.
PostgreSQL: the schema is migrated once per run into a schema of its own; tables are truncated
after each test.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import has_app_context
from flask.testing import FlaskClient

from community import create_app
from community.core import db as core_db
from community.core.db import db, utcnow
from community.core.outbox import finish_deliveries
from community.events import services as event_services
from community.events.services import EventData, TicketTypeData

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


def pytest_report_header(config):
    from tests.browser.conftest import browser_status

    lines = [f"databases: {', '.join(BACKENDS)}"]
    if "postgresql" not in BACKENDS:
        lines.append("TEST_DATABASE_URL is not set: database tests run on SQLite only")
    lines.append(browser_status())
    return lines


# --- SMTP ----------------------------------------------------------------------------------------


class Mailbox:
    """Collects what the SMTP server received, parsed as e-mail messages."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted"

    def clear(self) -> None:
        self.messages.clear()

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address.lower() in m["To"].lower()]

    def last_to(self, address: str, wait: float = 5.0) -> EmailMessage:
        """The latest message to `address`, waiting a little for one: pages send their e-mail
        after the answer, so a browser may be quicker than the SMTP conversation."""
        deadline = time.monotonic() + wait
        while not (found := self.to(address)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert found, f"no message to {address}; got {[m['To'] for m in self.messages]}"
        return found[-1]


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def link_in(message: EmailMessage, path_fragment: str) -> str:
    """The first link in the text part whose path contains `path_fragment`."""
    for url in re.findall(r"https?://\S+", text_of(message)):
        if path_fragment in url:
            return url
    raise AssertionError(f"no link containing {path_fragment!r} in:\n{text_of(message)}")


def worker_environment(app, smtp_server) -> dict[str, str]:
    """The environment of a `flask --app wsgi worker` process on this test's database, sending
    to the test SMTP server."""
    return {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_server.port),
        "MAIL_DELIVERY": "worker",
        "COMMUNITY_ENV": "test",
        "SECRET_KEY": "a-test-secret-that-is-long-enough-for-the-checks",
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def smtp_server():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    controller.mailbox = mailbox
    yield controller
    controller.stop()


@pytest.fixture
def mailbox(smtp_server) -> Mailbox:
    smtp_server.mailbox.clear()
    yield smtp_server.mailbox
    smtp_server.mailbox.clear()


# --- databases -----------------------------------------------------------------------------------


def _migrate(url: str, tmp_path_factory) -> None:
    app = create_app(_base_config(url, tmp_path_factory.mktemp("mig-outbox")))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()


def _base_config(url: str, outbox) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-for-tests",
        "BASE_URL": "http://localhost",
        "MAIL_SERVER": "",
        "MAIL_OUTBOX_DIR": str(outbox),
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_ENABLED": True,
        "COMMUNITY_ENV": "test",
        "STRIPE_SECRET_KEY": "",
        # Tests see every write at once; the micro-cache has tests of its own.
        "PAGE_CACHE_SECONDS": 0,
    }


def postgres_url_with_schema(schema: str) -> str:
    base = os.environ["TEST_DATABASE_URL"]
    if base.startswith("postgresql://"):
        base = "postgresql+psycopg://" + base.removeprefix("postgresql://")
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(scope="session")
def postgres_schema():
    """A fresh schema for this run, dropped at the end."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(postgres_url_with_schema("public"))
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    yield schema
    with engine.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database(request, tmp_path_factory):
    """(backend, url-maker): a migrated database for this run, on each backend."""
    if request.param == "sqlite":
        template = tmp_path_factory.mktemp("sqlite-template") / "template.db"
        _migrate(f"sqlite:///{template}", tmp_path_factory)

        def make_url(tmp_path):
            target = tmp_path / "test.db"
            shutil.copyfile(template, target)
            return f"sqlite:///{target}"

        return "sqlite", make_url
    schema = request.getfixturevalue("postgres_schema")
    url = postgres_url_with_schema(schema)
    _migrate(url, tmp_path_factory)
    return "postgresql", lambda tmp_path: url


# What a test left behind: the tables with rows, and the id sequences it moved on (a row
# inserted then deleted, or rolled back). Emptying only these (children first) and restarting
# those sequences is several times quicker than truncating every table after every test.
_USED_SEQUENCES = """
SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) FROM pg_sequences
WHERE schemaname = current_schema() AND last_value IS NOT NULL
"""


def _truncate_all(url: str) -> None:
    names = [table.name for table in db.metadata.sorted_tables]
    with_rows = " UNION ALL ".join(
        f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM \"{name}\")" for name in names
    )
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        used = set(connection.scalars(sa.text(with_rows)))
        # Deleting events bumps content_versions (a trigger): it is emptied last.
        children_first = [name for name in reversed(names) if name != "content_versions"]
        for name in [*children_first, "content_versions"]:
            if name in used or name == "content_versions":
                connection.execute(sa.text(f'DELETE FROM "{name}"'))
        for sequence in connection.scalars(sa.text(_USED_SEQUENCES)).all():
            connection.execute(sa.text(f"ALTER SEQUENCE {sequence} RESTART"))
    engine.dispose()


@pytest.fixture
def make_app(database, smtp_server, tmp_path):
    """Build an app on this test's database; overrides go on top of the test configuration."""
    backend, make_url = database
    url = make_url(tmp_path)
    apps = []

    def factory(**overrides):
        config = _base_config(url, tmp_path / "outbox")
        config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
        config.update(overrides)
        app = create_app(config)
        app.config["TEST_BACKEND"] = backend
        apps.append(app)
        return app

    yield factory
    finish_deliveries()  # none may open a connection once the engines are disposed
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    if backend == "postgresql":
        _truncate_all(url)


@pytest.fixture
def app(make_app):
    app = make_app()
    with app.app_context():
        yield app


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in a fresh app context, and whose every response
    is read and closed, as in production (unless `close_responses` is false: a test of what
    happens before the close).

    The `app` fixture keeps an app context open for the test's own queries; without this, requests
    would share its `g` (Flask-Login's user, Flask-Babel's locale) and its database session. The
    test's pending changes are committed before each request, and its objects are expired after,
    so that both sides see what the other wrote.
    """

    close_responses = True

    def open(self, *args, **kwargs):
        if has_app_context():
            db.session.commit()
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        # As gunicorn and Werkzeug's server do: the whole body is sent, then the response is
        # closed, which runs what waits for the answer to be out (mail sent after the response).
        if self.close_responses:
            response.get_data()
            response.close()
        if has_app_context():
            db.session.expire_all()
        return response


@pytest.fixture
def client(app):
    app.test_client_class = IsolatedClient
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def post_together(path: str, browsers_and_tokens) -> list[int]:
    """POST `path` from each (browser, CSRF token) at once, in threads; the statuses, sorted."""
    statuses: list[int] = []

    def post(browser, token):
        statuses.append(browser.post(path, data={"csrf_token": token}).status_code)

    threads = [threading.Thread(target=post, args=pair) for pair in browsers_and_tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(statuses)


@pytest.fixture
def writers_meet(monkeypatch):
    """writers_meet(n): the next n write transactions (core.transaction.write_transaction, as
    in replace_secret) each start writing only when all n have read: the worst interleaving of n
    requests. Later ones (the outbox sending their e-mails) go as usual."""

    def arrange(parties: int = 2) -> None:
        barrier = threading.Barrier(parties, timeout=10)
        begin_write = core_db.begin_write
        waiting = iter(range(parties))
        lock = threading.Lock()

        def begin_when_all_have_read(session):
            with lock:
                meets = next(waiting, None) is not None
            if meets:
                barrier.wait()
            begin_write(session)

        monkeypatch.setattr(core_db, "begin_write", begin_when_all_have_read)

    return arrange


# --- forms and people ----------------------------------------------------------------------------

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@contextmanager
def count_queries():
    """The SQL statements run inside the block (for tests that a page's queries do not grow
    with its rows)."""
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def csrf_token_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def submit(client, page_path: str, data: dict, post_path: str | None = None, **kwargs):
    """GET the page (for its CSRF token), then POST the form, as a browser would."""
    page = client.get(page_path)
    assert page.status_code == 200, f"{page_path} answered {page.status_code}"
    payload = {"csrf_token": csrf_token_from(page.get_data(as_text=True)), **data}
    return client.post(post_path or page_path, data=payload, **kwargs)


PASSWORD = "correct horse battery"
_PASSWORD_HASHES: dict[str, str] = {}


def password_hash(password: str) -> str:
    """scrypt is slow on purpose; hash each test password once per run."""
    from werkzeug.security import generate_password_hash

    if password not in _PASSWORD_HASHES:
        _PASSWORD_HASHES[password] = generate_password_hash(password)
    return _PASSWORD_HASHES[password]


@pytest.fixture
def make_user(app):
    from community.accounts.models import User
    from community.core.db import utcnow

    counter = iter(range(1, 10_000))

    def factory(**overrides) -> User:
        number = next(counter)
        values = {
            "email": f"person{number}@example.com",
            "name": f"Person {number}",
            "password_hash": password_hash(overrides.pop("password", PASSWORD)),
            "locale": "en",
            "role": "member",
            "email_confirmed_at": utcnow(),
        }
        values.update(overrides)
        user = User(**values)
        db.session.add(user)
        db.session.commit()
        return user

    return factory


@pytest.fixture
def login(client):
    def do_login(user, password: str = PASSWORD, remember: bool = False):
        data = {"email": user.email, "password": password}
        if remember:
            data["remember"] = "y"
        response = submit(client, "/account/login", data)
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    return do_login


# --- events --------------------------------------------------------------------------------------


@pytest.fixture
def organiser(make_user):
    return make_user(role="organiser", email="organiser@example.com", name="Olive Organiser")


@pytest.fixture
def make_event(app, organiser):
    """make_event(capacity=1, tickets=[...], publish=False, days=3, **EventData fields)."""
    counter = iter(range(1, 10_000))

    def factory(
        *,
        tickets: list[TicketTypeData] | None = None,
        questions: list | None = None,
        publish: bool = True,
        by=None,
        days: int = 10,
        **changes,
    ):
        number = next(counter)
        start = utcnow().replace(microsecond=0) + timedelta(days=days)
        values = {
            "slug": f"event-{number}",
            "kind": "event",
            "title_ja": f"イベント{number}",
            "title_en": f"Event {number}",
            "summary_ja": "テスト",
            "summary_en": "A test event",
            "starts_at": start,
            "ends_at": start + timedelta(hours=2),
            "capacity": 10,
            "venue_name": "Test Hall",
            "ticket_types": tickets
            or [TicketTypeData(slug="general", name_ja="一般", name_en="General")],
            "questions": questions or [],
        }
        values.update(changes)
        event = event_services.create_event(EventData(**values), by or organiser)
        if publish:
            event_services.publish_event(event)
        return event

    return factory


@pytest.fixture
def register(app):
    """register(event, n) → the registration for person n (person{n}@example.com)."""

    def do_register(event, number: int = 1, **changes):
        values = {
            "name": f"Guest {number}",
            "email": f"guest{number}@example.com",
            "language": "en",
        }
        values.update(changes)
        return event_services.register_for_event(event.slug, **values)

    return do_register
