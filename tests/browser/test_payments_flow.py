"""A guest in a real browser buys a workshop ticket without Stripe: register, "Pay now", pay on
the sandbox's test checkout page, and come back to a confirmed place and its e-mail."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from community.core.db import db, utcnow
from community.events import services
from community.events.services import EventData, TicketTypeData
from tests.conftest import link_in, password_hash

pytestmark = pytest.mark.browser


@pytest.fixture
def paid_workshop(live_server):
    """A published workshop with one ¥3,000 ticket; the app has no Stripe key (the sandbox)."""
    from community.accounts.models import User

    assert live_server.app.config["PAYMENTS_SANDBOX"]
    with live_server.app.app_context():
        organiser = User(
            email="org@example.com",
            name="Org",
            role="organiser",
            locale="en",
            password_hash=password_hash("x" * 12),
        )
        db.session.add(organiser)
        db.session.commit()
        start = utcnow().replace(microsecond=0) + timedelta(days=7)
        event = services.create_event(
            EventData(
                slug="paid-workshop",
                kind="workshop",
                title_ja="有料ワークショップ",
                title_en="Paid workshop",
                summary_en="Bring a laptop.",
                starts_at=start,
                ends_at=start + timedelta(hours=3),
                capacity=10,
                venue_name="Loopback Hall",
                ticket_types=[TicketTypeData(slug="seat", name_en="Seat", price_minor=3000)],
            ),
            organiser,
        )
        services.publish_event(event)
        return event.slug


def test_guest_pays_for_a_workshop_in_the_sandbox_and_is_confirmed(
    live_server, page, mailbox, shoot, paid_workshop
):
    page.goto(f"/events/{paid_workshop}")
    expect(page.get_by_role("heading", name="Paid workshop", level=1)).to_be_visible()
    page.get_by_label("Name").fill("Paula Payer")
    page.get_by_label("E-mail address").fill("paula@example.com")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("status")).to_contain_text("Complete the payment to confirm it.")
    shoot(page, "01-awaiting-payment")

    page.get_by_role("button", name="Pay now").click()
    expect(page).to_have_url(re.compile(r"/payments/sandbox/checkout/cs_sandbox_\w+"))
    expect(page.get_by_role("heading", name="Test checkout", level=1)).to_be_visible()
    expect(page.get_by_text("TEST PAYMENT", exact=False).first).to_be_visible()
    expect(page.get_by_text("No real money moves.", exact=False).first).to_be_visible()
    expect(page.get_by_text("Paid workshop")).to_be_visible()
    expect(page.get_by_text("paula@example.com")).to_be_visible()
    shoot(page, "02-sandbox-checkout")

    page.get_by_role("button", name=re.compile(r"^Pay ¥3,000")).click()
    expect(page).to_have_url(re.compile(r"/registrations/\d+/[^/?]+\?paid=1$"))
    expect(page.get_by_text("Confirmed", exact=True)).to_be_visible()
    qr = page.get_by_role("img", name=re.compile("QR code of your ticket"))
    expect(qr).to_be_visible()
    shoot(page, "03-confirmed")

    confirmation = mailbox.last_to("paula@example.com")
    assert confirmation["Subject"].startswith("You are registered")
    page.goto(link_in(confirmation, "/registrations/"))
    expect(page.get_by_text("Confirmed", exact=True)).to_be_visible()
