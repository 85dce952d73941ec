"""The private calendar in a real browser: a member reads the feed's address on their profile,
asks for a new one, and the old address stops answering while the new one serves the feed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from community.accounts.models import User
from community.core.db import db, utcnow
from community.events import services
from tests.conftest import password_hash

pytestmark = pytest.mark.browser

EMAIL = "mika.member@example.com"
PASSWORD = "a long enough member password"


@pytest.fixture
def member_registered(live_server, publish_on_live_server):
    """A confirmed member registered for one event, in the live server's database."""
    slug = publish_on_live_server(slug="feed-night", title_en="Feed night", summary_en="Calendars.")
    with live_server.app.app_context():
        member = User(
            email=EMAIL,
            name="Mika Member",
            role="member",
            locale="en",
            password_hash=password_hash(PASSWORD),
            email_confirmed_at=utcnow(),
        )
        db.session.add(member)
        db.session.commit()
        services.register_for_event(slug, name=member.name, email=EMAIL, language="en", user=member)


def test_member_gets_a_new_calendar_address_and_the_old_one_stops_working(
    live_server, page, shoot, member_registered
):
    page.goto("/account/login")
    page.get_by_label("E-mail address").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Welcome back")

    page.get_by_role("banner").get_by_role("link", name="My account").click()
    address = page.get_by_label("Address of my calendar")
    expect(address).to_be_visible()
    expect(address).to_have_attribute("readonly", "")
    old_url = address.input_value()
    assert re.fullmatch(re.escape(live_server.url) + r"/calendar/u/[A-Za-z0-9_-]{43}\.ics", old_url)
    # Selecting the field takes the whole address, ready to paste into a calendar app.
    address.select_text()
    selected = address.evaluate(
        "field => field.value.slice(field.selectionStart, field.selectionEnd)"
    )
    assert selected == old_url
    webcal = page.get_by_role("link", name="Subscribe in my calendar app (webcal)")
    expect(webcal).to_have_attribute("href", old_url.replace("http://", "webcal://", 1))
    before = page.request.get(old_url)
    assert before.status == 200
    assert "Feed night" in before.text()
    shoot(page, "01-profile-with-calendar")

    page.get_by_role("button", name="New address").click()

    expect(page.get_by_role("status")).to_contain_text("Your calendar has a new address.")
    expect(page).to_have_url(re.compile(r"/account/profile#calendar-feed$"))
    new_url = page.get_by_label("Address of my calendar").input_value()
    assert new_url != old_url
    shoot(page, "02-new-address")

    assert page.request.get(old_url).status == 404
    after = page.request.get(new_url)
    assert after.status == 200
    assert after.headers["content-type"].startswith("text/calendar")
    assert "Feed night" in after.text()
