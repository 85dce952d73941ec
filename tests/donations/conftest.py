"""Fixtures for the donations tests: campaigns, browsers giving through the real forms, and the
fake Stripe (the payments tests' server, reset for each test) with its signed webhooks reaching
the app.

`app` is the real Stripe gateway pointed at the fake; `stripe_delivers` is the fake with its
webhooks delivered to the app through a test client of their own. `browser(language="en")` is a
new browser whose Accept-Language is `language` (the donor's language when not signed in);
`browser_of(user, language="en")` is one signed in as `user`. `make_campaign(**fields)` writes a
campaign row directly (goal 100000 JPY, running from an hour ago for 30 days; pass
`match_partner_name`/`match_cap_minor` for a matched one). `give(browser, campaign=slug,
**form)` shows the gift form (`/donate`, or the campaign's page) and posts it (defaults: once,
another amount of "5000" JPY, from donor@example.com, anonymous on the wall) and returns the
response — a 303 to the fake Stripe's checkout when the gift is taken. `pay(response,
**complete)` completes that checkout at the fake Stripe (its signed webhooks reach the app);
`session_id_of(response)` is its Checkout Session's id.

Reading what happened: `gift_of(email)` (that address's latest gift), `fresh(donation)`
(re-read from the database), `payments_of(donation)` (its DonationPayment rows, oldest first),
`manage_url_of(donation)` (the path of its private page), `subscription_id_of(donation)` (its
subscription's id at Stripe), `page_text(response)` (the HTML with character references read),
`form_token(browser, path)` (the CSRF token of the page at `path`), and the e-mails delivered
to the test SMTP server: the `mailbox` fixture (tests/conftest.py), `mails_to(mailbox, address,
count)` (waits for `count` of them) and `pdf_attachments(message)`.

`renew(donation, paid=True)` is the next month at Stripe for a monthly gift
(fake_stripe.renew_subscription, its events delivered); `frozen` stands time still on MOMENT
for the app, the fake Stripe and its signatures alike.
"""

from __future__ import annotations

import html
import time
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from community.core.db import db, utcnow
from community.donations import services
from community.donations.models import Campaign, Donation, DonationPayment
from community.payments import services as payments
from community.payments.models import Order
from tests.conftest import PASSWORD, IsolatedClient, csrf_token_from, submit
from tests.payments import conftest as payments_fixtures
from tests.payments.fake_stripe import flask_client_sender
from tests.sponsorship import conftest as sponsorship_fixtures

fake_stripe_server = payments_fixtures.fake_stripe_server
fake_stripe = payments_fixtures.fake_stripe
# Partner companies (sponsorship's), for campaigns matched by one from the directory.
make_partner = sponsorship_fixtures.make_partner

TOKYO = ZoneInfo("Asia/Tokyo")
MOMENT = datetime(2030, 5, 10, 10, 0, tzinfo=TOKYO)

GIFT_DEFAULTS = {
    "kind": "one_off",
    "amount": "other",
    "other_amount": "5000",
    "currency": "JPY",
    "email": "donor@example.com",
    "wall": "anonymous",
    "donor_name": "",
    "message": "",
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
def stripe_delivers(app, fake_stripe):
    """The fake Stripe's signed webhooks reach the app through a test client of their own."""
    app.test_client_class = IsolatedClient
    webhooks = app.test_client()
    fake_stripe.webhook_sender = flask_client_sender(webhooks)
    return fake_stripe


@pytest.fixture
def frozen():
    """Time stands still on MOMENT (move it with `frozen.move_to(...)`)."""
    with time_machine.travel(MOMENT, tick=False) as traveller:
        yield traveller


@pytest.fixture
def browser(app):
    def make(language: str = "en") -> IsolatedClient:
        app.test_client_class = IsolatedClient
        new = app.test_client()
        new.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
        return new

    return make


@pytest.fixture
def browser_of(browser):
    def make(user, language: str = "en") -> IsolatedClient:
        signed_in = browser(language)
        response = submit(signed_in, "/account/login", {"email": user.email, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
        return signed_in

    return make


@pytest.fixture
def make_campaign(app):
    counter = iter(range(1, 10_000))

    def factory(**fields) -> Campaign:
        number = next(counter)
        now = utcnow().replace(microsecond=0)
        values = {
            "slug": f"campaign-{number}",
            "name_ja": f"キャンペーン{number}",
            "name_en": f"Campaign {number}",
            "story_ja": "会場費のための募金です。",
            "story_en": "Raising money for the venue.",
            "goal_minor": 100_000,
            "currency": "JPY",
            "starts_at": now - timedelta(hours=1),
            "ends_at": now + timedelta(days=30),
            "match_partner_name": "",
            "match_cap_minor": 0,
            "status": "active",
        }
        values.update(fields)
        campaign = Campaign(**values)
        db.session.add(campaign)
        db.session.commit()
        return campaign

    return factory


def form_token(browser, path: str) -> str:
    page = browser.get(path)
    assert page.status_code == 200, f"{path} answered {page.status_code}"
    return csrf_token_from(page.get_data(as_text=True))


def give(browser, *, campaign: str | None = None, **form):
    """Show the gift form and post it; the response (a 303 to Stripe when the gift is taken)."""
    path = f"/donate/campaigns/{campaign}" if campaign else "/donate"
    values = {**GIFT_DEFAULTS, **form}
    if campaign and "campaign" not in form:
        values["campaign"] = campaign
    data = {name: value for name, value in values.items() if value is not None}
    data["csrf_token"] = form_token(browser, path)
    return browser.post(path, data=data)


def session_id_of(response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)
    return urlsplit(response.headers["Location"]).path.rsplit("/", 1)[-1]


@pytest.fixture
def pay(stripe_delivers):
    def pay_at_stripe(response, **complete):
        return stripe_delivers.complete(session_id_of(response), **complete)

    return pay_at_stripe


def gift_of(email: str) -> Donation | None:
    """The latest gift made from this address."""
    db.session.rollback()
    return db.session.scalar(
        select(Donation).where(Donation.email == email).order_by(Donation.id.desc()).limit(1)
    )


def fresh(donation: Donation) -> Donation:
    """The gift as the database has it now (the test's read transaction ended)."""
    db.session.rollback()
    return db.session.get(Donation, donation.id, populate_existing=True)


def payments_of(donation: Donation) -> list[DonationPayment]:
    db.session.rollback()
    return list(
        db.session.scalars(
            select(DonationPayment)
            .where(DonationPayment.donation_id == donation.id)
            .order_by(DonationPayment.id)
        )
    )


def order_of(donation: Donation) -> Order:
    return db.session.get(Order, fresh(donation).order_id, populate_existing=True)


def manage_url_of(donation: Donation) -> str:
    return urlsplit(services.manage_url(fresh(donation))).path


def subscription_id_of(donation: Donation) -> str:
    return payments.subscription_of(fresh(donation).order_id).subscription_id


@pytest.fixture
def renew(stripe_delivers):
    def next_month(donation: Donation, paid: bool = True):
        return stripe_delivers.renew_subscription(subscription_id_of(donation), paid=paid)

    return next_month


def page_text(response) -> str:
    """The page's HTML with its character references read (an apostrophe is &#39; in it)."""
    return html.unescape(response.get_data(as_text=True))


def mails_to(mailbox, address: str, count: int = 1, wait: float = 5.0) -> list:
    """The messages delivered to `address`, once there are at least `count` (waiting a little:
    e-mail goes after the response)."""
    deadline = time.monotonic() + wait
    while len(found := mailbox.to(address)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(found) >= count, (
        f"{len(found)} message(s) to {address}, not {count}: {[m['Subject'] for m in found]}"
    )
    return found


def pdf_attachments(message) -> list:
    return [
        part for part in message.iter_attachments() if part.get_content_type() == "application/pdf"
    ]
