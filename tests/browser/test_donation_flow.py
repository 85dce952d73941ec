"""Giving in a real browser, without Stripe: a visitor without an account opens a campaign,
gives monthly (another amount, typed with a separator), pays on the payment sandbox's checkout
page, lands on the gift's private page, is e-mailed its receipt and link, and sees the
campaign's progress bar move."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


@pytest.fixture
def campaign(live_server) -> str:
    """A ¥300,000 campaign that runs for a month; the app has the sandbox."""
    from community.core.db import db, utcnow
    from community.donations.models import Campaign

    assert live_server.app.config["PAYMENTS_SANDBOX"]
    with live_server.app.app_context():
        db.session.add(
            Campaign(
                slug="scholarships",
                name_ja="奨学金",
                name_en="Workshop scholarships",
                story_en="Free places at workshops for students.",
                goal_minor=300_000,
                currency="JPY",
                starts_at=utcnow() - timedelta(days=1),
                ends_at=utcnow() + timedelta(days=30),
                match_partner_name="Sample Cloud K.K.",
                match_cap_minor=10_000,
            )
        )
        db.session.commit()
    return "/donate/campaigns/scholarships"


def bar_reaches(page, path: str, value: str, seconds: float = 8.0) -> None:
    """The bar shows `value`: anonymous pages may be up to the micro-cache's seconds old."""
    deadline = time.monotonic() + seconds
    while True:
        page.goto(path)
        bar = page.locator("progress.progress-bar")
        if bar.get_attribute("value") == value or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    expect(bar).to_have_attribute("value", value)


def test_a_visitor_gives_monthly_to_a_campaign_in_the_sandbox_and_the_bar_moves(
    live_server, page, shoot, mailbox, campaign
):
    email = "monthly-giver@example.com"
    page.goto(campaign)
    expect(page.get_by_role("heading", name="Workshop scholarships", level=1)).to_be_visible()
    expect(page.locator("progress.progress-bar")).to_have_attribute("value", "0")
    shoot(page, "01-campaign")

    page.get_by_label("Every month").check()
    page.get_by_label("Another amount", exact=True).first.check()
    page.get_by_role("textbox", name="Another amount").fill("20,000")
    page.get_by_role("textbox", name="E-mail address").fill(email)
    page.get_by_label("With my name and the amount").check()
    page.get_by_role("textbox", name="Name on the donor wall").fill("Hana")
    shoot(page, "02-gift-form")
    page.get_by_role("button", name="Continue to payment").click()

    expect(page).to_have_url(re.compile(r"/payments/sandbox/checkout/cs_sandbox_\w+"))
    shoot(page, "03-sandbox-checkout")
    page.get_by_role("button", name=re.compile(r"^Pay ¥20,000")).click()

    expect(page).to_have_url(re.compile(r"/donate/gifts/\d+/[0-9a-f]+\?paid=1$"))
    expect(page.get_by_role("heading", name="Your monthly gift", level=1)).to_be_visible()
    expect(page.get_by_text("Charged each month. Thank you!")).to_be_visible()
    expect(page.get_by_role("button", name="Pause the gift")).to_be_visible()
    shoot(page, "04-private-page")
    started = mailbox.last_to(email)
    assert started["Subject"] == "Thank you: your monthly donation has started"
    assert any(part.get_content_type() == "application/pdf" for part in started.walk())

    # ¥20,000 given and ¥10,000 matched (the cap) of ¥300,000: 10%.
    bar_reaches(page, campaign, "10")
    expect(page.get_by_text("¥30,000 of ¥300,000")).to_be_visible()
    expect(page.locator(".donor-wall").get_by_text("Hana")).to_be_visible()
    expect(page.locator(".donor-wall")).not_to_contain_text(email)
    shoot(page, "05-bar-moved")
