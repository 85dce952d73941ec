"""Organising from a phone, in a real browser: the dashboard, the attendee list, the orders page
and the check-in page at 390 px and 1280 px wide, in Japanese and in English. At 390 px nothing
makes the page scroll sideways and the tables are cards; at 1280 px they are tables. Every page
passes axe-core (no serious or critical violation). At the door an organiser undoes a mistaken
check-in, with JavaScript and without; the e-mail to attendees is previewed and then sent.

Screenshots of every page at both widths go to tests/artifacts/.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import TIMEOUT_MS, add_staff
from tests.browser.conftest import sign_in as signing_in
from tests.browser.test_accessibility import AXE_RUN, FAILING_IMPACTS, OVERFLOWING

pytestmark = pytest.mark.browser

PASSWORD = "a long enough phone password"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
LOCALES = {"ja": "ja-JP", "en": "en-US"}
# What the page says when its width is right, for a message that names the culprit.
FITS = "() => document.scrollingElement.scrollWidth <= window.innerWidth"
TABLE_DISPLAY = """() => [...document.querySelectorAll("table.stack-table")].map(
  (table) => getComputedStyle(table).display)"""
# The label a card shows beside a value (CSS generated content from data-label).
FIRST_CELL_LABEL = """() => {
  const cell = document.querySelector("table.stack-table td[data-label]");
  return cell ? getComputedStyle(cell, "::before").content : "";
}"""


@pytest.fixture
def door(live_server):
    """An event run by two organisers (one reads Japanese, one English), with long names and
    addresses, answers, people confirmed, checked in, waiting and cancelled, and a paid order."""
    from community.core.db import db, utcnow
    from community.core.outbox import deliver_due
    from community.events import services
    from community.events.services import EventData, QuestionData, TicketTypeData
    from community.payments import sandbox

    app = live_server.app
    with app.app_context(), app.test_request_context(base_url=live_server.url):
        organisers = add_staff("organiser", "phone", PASSWORD, LOCALES)
        db.session.commit()
        start = utcnow().replace(microsecond=0) + timedelta(days=4)
        event = services.create_event(
            EventData(
                slug="phone-night",
                kind="event",
                title_ja="スマートフォンで運営する夜のミートアップ",
                title_en="An evening meetup run from a phone",
                starts_at=start,
                ends_at=start + timedelta(hours=2),
                capacity=4,
                venue_name="Shibuya Hall",
                ticket_types=[
                    TicketTypeData(slug="general", name_ja="一般", name_en="General"),
                    TicketTypeData(
                        slug="supporter",
                        name_ja="サポーター",
                        name_en="Supporter",
                        price_minor=3000,
                    ),
                ],
                questions=[
                    QuestionData(kind="short_text", label_ja="会社名", label_en="Company"),
                    QuestionData(
                        kind="single_choice",
                        label_ja="食事の希望",
                        label_en="Food preference",
                        options=[
                            {"value": "veg", "ja": "ベジタリアン", "en": "Vegetarian"},
                            {"value": "any", "ja": "何でも", "en": "Anything"},
                        ],
                    ),
                ],
            ),
            organisers["en"],
        )
        services.set_organisers(event, [person.email for person in organisers.values()])
        services.publish_event(event)
        company, food = event.questions

        def register(name, email, language="en", ticket="general", **answers):
            return services.register_for_event(
                event.slug,
                name=name,
                email=email,
                language=language,
                ticket_type=ticket,
                answers={str(company.id): answers.get("company", ""), str(food.id): "veg"},
            )

        arrived = register(
            "山田 花子",
            "hanako.yamada.with.a.very.long.address@example-company.co.jp",
            "ja",
            company="株式会社とても長い名前のソフトウェア開発会社",
        )
        services.check_in(event, arrived.ticket_code)
        register("Alexandra Konstantinopoulou-Featherstonehaugh", "alexandra@example.com")
        buyer = register("Bea Buyer", "bea@example.com", ticket="supporter")
        sandbox.pay(re.search(r"/checkout/([^/?#]+)", services.payment_page_for(buyer)).group(1))
        gone = register("Dee Gone", "dee@example.com")
        services.cancel_registration(gone.id)
        register("Eve Early", "eve@example.com", "ja")
        register("Wendy Waiting", "wendy@example.com")  # the event is full: the waiting list
        db.session.commit()
        deliver_due()  # the set-up's own e-mails go now, before the test looks at the mailbox
        return {
            "slug": event.slug,
            "arrived": arrived.name,
            "arrived_id": arrived.id,
            "emails": {language: person.email for language, person in organisers.items()},
        }


def sign_in(page, email: str) -> None:
    signing_in(page, email, PASSWORD)


def organiser_pages(slug: str) -> list[tuple[str, str]]:
    return [
        ("dashboard", "/organiser/"),
        ("attendees", f"/organiser/events/{slug}/attendees"),
        ("orders", "/organiser/orders/"),
        ("check-in", f"/organiser/events/{slug}/check-in"),
        ("check-in-search", f"/organiser/events/{slug}/check-in?q=a"),
    ]


def check_here(page, axe_script, where: str, viewport: dict, shoot) -> list[str]:
    """axe and the width on the loaded page at this viewport; the problems found, as text."""
    page.set_viewport_size(viewport)
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(axe_script))
    shoot(page, where)
    problems = [
        f"{where}: {violation['id']} [{violation['impact']}] {violation['help']} "
        + ", ".join(node["target"] for node in violation["nodes"][:5])
        for violation in page.evaluate(AXE_RUN)
        if violation["impact"] in FAILING_IMPACTS
    ]
    if viewport is PHONE:
        if not page.evaluate(FITS):
            problems.append(f"{where}: scrolls sideways: {page.evaluate(OVERFLOWING)}")
        displays = page.evaluate(TABLE_DISPLAY)
        if any(display != "block" for display in displays):
            problems.append(f"{where}: a table is not stacked into cards: {displays}")
    else:
        displays = page.evaluate(TABLE_DISPLAY)
        if any(display != "table" for display in displays):
            problems.append(f"{where}: a table is not a table on a desktop: {displays}")
    return problems


@pytest.mark.parametrize("language", list(LOCALES))
def test_the_organiser_pages_fit_a_phone_and_a_desktop_and_pass_axe(
    browser, live_server, door, axe_script, shoot, language
):
    context = browser.new_context(
        base_url=live_server.url, locale=LOCALES[language], viewport=DESKTOP, bypass_csp=True
    )
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        sign_in(page, door["emails"][language])
        assert page.locator("html").get_attribute("lang") == language
        problems = []
        stacked = 0
        for name, path in organiser_pages(door["slug"]):
            response = page.goto(path)
            assert response is not None and response.status == 200, (path, response)
            for width, viewport in (("390", PHONE), ("1280", DESKTOP)):
                problems += check_here(page, axe_script, f"{width}-{name}", viewport, shoot)
            page.set_viewport_size(PHONE)
            if page.locator("table.stack-table").count():
                stacked += 1
                # Each value in a card says which column it is, in the reader's language.
                label = page.evaluate(FIRST_CELL_LABEL)
                assert label not in ("", "none", "normal"), (name, label)
        assert stacked == 3  # the dashboard, the attendee list and the orders page
        assert not problems, "\n".join(problems)
    finally:
        context.close()


def test_the_attendee_cards_on_a_phone_show_each_value_with_its_label(
    browser, live_server, door, shoot
):
    context = browser.new_context(base_url=live_server.url, locale="en-US", viewport=PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        sign_in(page, door["emails"]["en"])
        page.goto(f"/organiser/events/{door['slug']}/attendees")
        card = page.locator("table.stack-table tbody tr").filter(has_text=door["arrived"])
        expect(card).to_be_visible()
        status = card.locator("td[data-label='Status']")
        assert status.evaluate("cell => getComputedStyle(cell, '::before').content") == '"Status"'
        expect(status).to_have_text("Confirmed")
        box = card.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        # The actions are there, inside the card.
        expect(
            card.get_by_role("button", name=re.compile("Cancel the registration"))
        ).to_be_visible()
        shoot(page, "attendee-card")
    finally:
        context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_an_organiser_undoes_a_mistaken_check_in_on_a_phone(
    browser, live_server, door, shoot, javascript
):
    context = browser.new_context(
        base_url=live_server.url, locale="en-US", viewport=PHONE, java_script_enabled=javascript
    )
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        sign_in(page, door["emails"]["en"])
        page.goto(f"/organiser/events/{door['slug']}/check-in")
        expect(page.locator(".check-in-count")).to_contain_text("1 / 4")
        recent = page.get_by_role("region", name="Just checked in")
        expect(recent).to_contain_text(door["arrived"])
        shoot(page, "01-before-undo")
        undo = re.compile(rf"^Undo check-in\W+{re.escape(door['arrived'])}$")
        page.get_by_role("button", name=undo).click()
        expect(page.get_by_role("status").first).to_contain_text(
            f"Check-in undone: {door['arrived']}"
        )
        expect(page.locator(".check-in-count")).to_contain_text("0 / 4")
        expect(page.get_by_role("region", name="Just checked in")).to_have_count(0)
        assert page.evaluate(FITS)
        shoot(page, "02-undone")

        # Checked in again from the search, as the person really is here after all.
        page.get_by_label("Name, e-mail address or ticket code").fill("山田")
        page.get_by_role("button", name="Search", exact=True).click()
        page.get_by_role("button", name=f"Check in {door['arrived']}").click()
        expect(page.get_by_role("status").first).to_contain_text(f"Checked in: {door['arrived']}")
        expect(page.locator(".check-in-count")).to_contain_text("1 / 4")
        shoot(page, "03-checked-in-again")
    finally:
        context.close()
    with live_server.app.app_context():
        from community.core.db import db
        from community.events.models import Registration

        assert db.session.get(Registration, door["arrived_id"]).checked_in_at is not None


@pytest.mark.parametrize("language", list(LOCALES))
def test_an_organiser_previews_the_e_mail_then_sends_it_from_a_phone(
    browser, live_server, door, axe_script, shoot, mailbox, language
):
    context = browser.new_context(
        base_url=live_server.url, locale=LOCALES[language], viewport=PHONE, bypass_csp=True
    )
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        sign_in(page, door["emails"][language])
        page.goto(f"/organiser/events/{door['slug']}/attendees")
        page.locator("#subject_ja").fill("会場のご案内")
        page.locator("#body_ja").fill("会場は渋谷ホールです。\n\nお気をつけてお越しください。")
        page.locator("#subject_en").fill("About the venue")
        page.locator("#body_en").fill("The venue is Shibuya Hall.\n\nSee you there.")
        page.locator("form.message-form button[type=submit]").click()
        # Five people: everyone but the one who cancelled (the waiting list included).
        expect(page.locator(".recipient-count")).to_contain_text("5")
        expect(page.locator(".message-preview")).to_have_count(2)
        problems = []
        for width, viewport in (("390", PHONE), ("1280", DESKTOP)):
            problems += check_here(page, axe_script, f"{width}-preview", viewport, shoot)
        assert not problems, "\n".join(problems)
        assert mailbox.messages == []

        page.set_viewport_size(PHONE)
        page.locator(".confirm-actions button").first.click()
        expect(page.get_by_role("status").first).to_contain_text("5")
        shoot(page, "sent")
    finally:
        context.close()
    mailbox.last_to("wendy@example.com")
    assert len(mailbox.messages) == 5
    subjects = {message["To"]: message["Subject"] for message in mailbox.messages}
    assert subjects["eve@example.com"] == "会場のご案内"
    assert subjects["bea@example.com"] == "About the venue"
