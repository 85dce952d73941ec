"""A guest in a real browser: find an event, register, open the manage link from the e-mail,
cancel, and the person waiting gets the place."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from community.core.db import db
from community.events import services
from community.events.models import Registration
from tests.conftest import link_in

pytestmark = pytest.mark.browser


@pytest.fixture
def full_soon(publish_on_live_server):
    """An event with one place, which the browser's guest will take; someone registers after."""
    return publish_on_live_server(
        slug="browser-night",
        title_ja="ブラウザの夜",
        title_en="Browser night",
        summary_en="One place only.",
        capacity=1,
    )


def test_guest_registers_cancels_by_the_e_mailed_link_and_the_next_person_is_promoted(
    live_server, page, mailbox, shoot, full_soon
):
    page.goto("/events")
    page.get_by_role("link", name="Browser night").click()
    expect(page.get_by_role("heading", name="Browser night", level=1)).to_be_visible()
    shoot(page, "01-event")

    page.get_by_label("Name").fill("Gina Guest")
    page.get_by_label("E-mail address").fill("gina@example.com")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("status")).to_contain_text("You are registered.")
    expect(page.get_by_text("Confirmed", exact=True)).to_be_visible()
    qr = page.get_by_role("img", name=re.compile("QR code of your ticket"))
    expect(qr).to_be_visible()
    assert qr.evaluate("image => image.complete && image.naturalWidth > 0"), "QR did not load"
    shoot(page, "02-registered")

    with live_server.app.app_context():
        waiting = services.register_for_event(
            full_soon, name="Wendy Waiting", email="wendy@example.com", language="en"
        )
        assert waiting.status == "waitlisted"
        waiting_id = waiting.id

    manage_link = link_in(mailbox.last_to("gina@example.com"), "/registrations/")
    mailbox.clear()  # what follows waits for the e-mails of the cancellation, sent after it
    page.goto(manage_link)
    shoot(page, "03-manage-page")
    page.get_by_role("button", name="Cancel my registration").click()
    expect(page.get_by_role("status")).to_contain_text("Your registration is cancelled.")
    expect(page.get_by_text("Cancelled", exact=True)).to_be_visible()
    shoot(page, "04-cancelled")

    with live_server.app.app_context():
        assert db.session.get(Registration, waiting_id).status == "confirmed"
    promoted = mailbox.last_to("wendy@example.com")
    assert promoted["Subject"].startswith("A place came free")

    page.goto(link_in(promoted, "/registrations/"))
    expect(page.get_by_text("Confirmed", exact=True)).to_be_visible()
    shoot(page, "05-promoted-person")
