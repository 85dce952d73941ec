"""Membership in a real browser, without Stripe: a signed-in person picks the student plan on
/join, pays on the payment sandbox's checkout page, comes back to an active membership with its
receipt, and then registers for a workshop at the member price."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from community.events.services import TicketTypeData
from tests.browser.conftest import add_staff, sign_in

pytestmark = pytest.mark.browser

PASSWORD = "a long enough member password"


@pytest.fixture
def student_plan(live_server):
    """A ¥2,000 plan paid once a year that gives member prices; the app has the sandbox."""
    from community.membership import services

    assert live_server.app.config["PAYMENTS_SANDBOX"]
    with live_server.app.app_context():
        services.create_plan(
            services.PlanFields(
                slug="student",
                name_ja="学生会員",
                name_en="Student",
                description_ja="学生の方のための会員です。",
                description_en="For students.",
                price_minor=2000,
                currency="JPY",
                renewal="one_off",
                benefits=("member_prices", "members_only"),
            )
        )
    return "student"


@pytest.fixture
def member_priced_workshop(publish_on_live_server):
    return publish_on_live_server(
        slug="member-priced-workshop",
        kind="workshop",
        title_en="Member-priced workshop",
        days=7,
        ticket_types=[
            TicketTypeData(slug="seat", name_en="Seat", price_minor=3000, member_price_minor=1500)
        ],
    )


def a_person(live_server) -> str:
    from community.core.db import db

    with live_server.app.app_context():
        person = add_staff("member", "joining", PASSWORD, ("en",))["en"]
        db.session.commit()
        return person.email


def test_a_person_joins_a_paid_plan_in_the_sandbox_then_registers_at_the_member_price(
    live_server, page, shoot, mailbox, student_plan, member_priced_workshop
):
    email = a_person(live_server)
    sign_in(page, email, PASSWORD)

    page.goto("/join")
    expect(page.get_by_role("heading", name="Join the community", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Student", level=2)).to_be_visible()
    shoot(page, "01-plans")
    page.get_by_role("link", name="Choose Student").click()

    expect(page).to_have_url(re.compile(r"/join/student$"))
    shoot(page, "02-plan")
    page.get_by_role("button", name="Pay ¥2,000 and become a member").click()

    expect(page).to_have_url(re.compile(r"/payments/sandbox/checkout/cs_sandbox_\w+"))
    expect(page.get_by_text(email)).to_be_visible()
    shoot(page, "03-sandbox-checkout")
    page.get_by_role("button", name=re.compile(r"^Pay ¥2,000")).click()

    expect(page).to_have_url(re.compile(r"/membership\?paid=1$"))
    expect(page.get_by_role("heading", name="Your membership", level=1)).to_be_visible()
    expect(page.locator("dl.facts dd").nth(1)).to_have_text("Active")
    expect(page.get_by_role("link", name="領収書")).to_be_visible()
    shoot(page, "04-member")
    welcome = mailbox.last_to(email)
    assert welcome["Subject"] == "Welcome: you are a member"
    assert any(part.get_content_type() == "application/pdf" for part in welcome.walk())

    page.goto(f"/events/{member_priced_workshop}")
    expect(page.get_by_role("heading", name="Member-priced workshop", level=1)).to_be_visible()
    page.get_by_role("button", name="Continue to payment").click()
    expect(page).to_have_url(re.compile(r"/payments/sandbox/checkout/cs_sandbox_\w+"))
    shoot(page, "05-member-price-checkout")
    # The member price, not the ticket's ¥3,000.
    page.get_by_role("button", name=re.compile(r"^Pay ¥1,500")).click()
    expect(page).to_have_url(re.compile(r"/registrations/\d+/[^/?]+\?paid=1$"))
    expect(page.get_by_text("Confirmed", exact=True)).to_be_visible()
    shoot(page, "06-registered")
