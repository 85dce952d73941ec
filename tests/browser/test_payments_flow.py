"""A guest in a real browser buys a workshop ticket without Stripe: register, "Pay now", pay on
the sandbox's test checkout page, and come back to a confirmed place and its e-mail."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from community.events.services import TicketTypeData
from tests.conftest import link_in

pytestmark = pytest.mark.browser


@pytest.fixture
def paid_workshop(live_server, publish_on_live_server):
    """A published workshop with one ¥3,000 ticket; the app has no Stripe key (the sandbox)."""
    assert live_server.app.config["PAYMENTS_SANDBOX"]
    return publish_on_live_server(
        slug="paid-workshop",
        kind="workshop",
        title_ja="有料ワークショップ",
        title_en="Paid workshop",
        summary_en="Bring a laptop.",
        days=7,
        ticket_types=[TicketTypeData(slug="seat", name_en="Seat", price_minor=3000)],
    )


def test_guest_pays_for_a_workshop_in_the_sandbox_and_is_confirmed(
    live_server, page, mailbox, shoot, paid_workshop
):
    page.goto(f"/events/{paid_workshop}")
    expect(page.get_by_role("heading", name="Paid workshop", level=1)).to_be_visible()
    page.get_by_label("Name").fill("Paula Payer")
    page.get_by_label("E-mail address").fill("paula@example.com")
    shoot(page, "01-registering")
    # The one paid ticket: the button says where it leads, and for how much.
    page.get_by_role("button", name="Continue to payment — ¥3,000").click()
    # A paid ticket goes straight to the payment page (the sandbox's, as no Stripe key is set).
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
