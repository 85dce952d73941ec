"""Fixtures for the membership tests: plans, members signed in on browsers of their own, and the
fake Stripe (the payments tests' server, reset for each test) with its webhooks reaching the app.

`make_plan(**fields)` makes a plan through the service (as an administrator would): by default
a paid plan renewed once a year that gives member prices and members-only tickets;
`browser_of(user)` is another browser signed in as `user`; `join(browser, plan)` presses the
plan page's button and returns the response (a redirect to the fake Stripe for a paid plan);
`pay(location)` pays that checkout at the fake Stripe (its signed webhooks reach the app).

Added for the membership suites: `frozen` (time stands still on MOMENT), `fresh(membership)`
(re-read from the database), `kinds(membership)` (its history's kinds, in order),
`member(plan)` (a person who joined `plan` and paid it: (user, browser, membership)),
`subscription_id_of(membership)` (its subscription's id at Stripe), `page_text(response)` and
`in_japanese(message)`.
"""

from __future__ import annotations

import html
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask_babel import force_locale, gettext

from community.core.db import db
from community.membership import services
from community.membership.models import Membership
from community.payments import services as payments
from tests.conftest import PASSWORD, IsolatedClient, csrf_token_from, submit
from tests.payments import conftest as payments_fixtures
from tests.payments.fake_stripe import flask_client_sender

fake_stripe_server = payments_fixtures.fake_stripe_server
fake_stripe = payments_fixtures.fake_stripe

PLAN_DEFAULTS = {
    "name_ja": "個人会員",
    "name_en": "Individual",
    "description_ja": "コミュニティを支える個人会員です。",
    "description_en": "For individuals who support the community.",
    "price_minor": 5000,
    "currency": "JPY",
    "renewal": "one_off",
    "benefits": ("member_prices", "members_only"),
    "position": 0,
}


@pytest.fixture
def app(make_app, fake_stripe):
    """The real Stripe gateway, pointed at the fake Stripe."""
    app = make_app(
        STRIPE_SECRET_KEY="sk_test_fake",
        STRIPE_API_BASE=fake_stripe.url,
        STRIPE_WEBHOOK_SECRET=fake_stripe.webhook_secret,
    )
    with app.app_context():
        yield app


@pytest.fixture
def make_plan(app):
    counter = iter(range(1, 10_000))

    def factory(**fields):
        number = next(counter)
        values = {**PLAN_DEFAULTS, "slug": f"plan-{number}", **fields}
        values["benefits"] = tuple(values["benefits"])
        return services.create_plan(services.PlanFields(**values))

    return factory


@pytest.fixture
def browser_of(app):
    def make(user, language: str = "en"):
        app.test_client_class = IsolatedClient
        browser = app.test_client()
        browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
        response = submit(browser, "/account/login", {"email": user.email, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
        return browser

    return make


@pytest.fixture
def stripe_delivers(app, fake_stripe):
    """The fake Stripe's signed webhooks reach the app through a browser of their own."""
    app.test_client_class = IsolatedClient
    webhooks = app.test_client()
    fake_stripe.webhook_sender = flask_client_sender(webhooks)
    return fake_stripe


def join(browser, plan):
    path = f"/join/{plan.slug}"
    page = browser.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    token = csrf_token_from(page.get_data(as_text=True))
    return browser.post(path, data={"csrf_token": token})


def session_id_of(location: str) -> str:
    return urlsplit(location).path.rsplit("/", 1)[-1]


@pytest.fixture
def pay(stripe_delivers):
    def pay_at_stripe(location: str):
        return stripe_delivers.complete(session_id_of(location))

    return pay_at_stripe


# --- added for the membership suites -------------------------------------------------------------

TOKYO = ZoneInfo("Asia/Tokyo")
MOMENT = datetime(2030, 5, 10, 10, 0, tzinfo=TOKYO)


@pytest.fixture
def frozen():
    """Time stands still on MOMENT (move it with `frozen.move_to(...)`), for the app, the fake
    Stripe and its signatures alike."""
    with time_machine.travel(MOMENT, tick=False) as traveller:
        yield traveller


def fresh(membership) -> Membership:
    """The membership as the database has it now (the test's read transaction ended)."""
    db.session.rollback()
    return db.session.get(Membership, membership.id, populate_existing=True)


def kinds(membership) -> list[str]:
    return [event.kind for event in fresh(membership).history]


def subscription_id_of(membership) -> str:
    return payments.subscription_of(fresh(membership).order_id).subscription_id


def page_text(response) -> str:
    """The page's HTML with its character references read (an apostrophe is &#39; in it)."""
    return html.unescape(response.get_data(as_text=True))


def in_japanese(message) -> str:
    """A message (lazy, or an English msgid) as a Japanese reader gets it."""
    with force_locale("ja"):
        return gettext(message) if isinstance(message, str) else str(message)


@pytest.fixture
def member(make_user, browser_of, pay):
    """member(plan, language="en", **user fields) → (user, browser, membership): a person who
    joined `plan` through its page and paid it at the fake Stripe."""

    def make(plan, language: str = "en", **fields):
        user = make_user(locale=language, **fields)
        browser = browser_of(user, language)
        response = join(browser, plan)
        assert response.status_code == 303, response.get_data(as_text=True)
        pay(response.headers["Location"])
        membership = services.current_membership(user)
        assert membership is not None and membership.status == "active"
        return user, browser, membership

    return make
