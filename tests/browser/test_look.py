"""The look, checked in a real browser in both languages: the footer never touches the content,
the event page has one primary action, focus is visible, nothing scrolls sideways at 320 px,
choice questions are fieldsets with legends, and the wordmark comes from templates/_brand.html.

Screenshots of the home page, the events list, an event page and a form page, in Japanese and
English at 390 and 1280 px, go to tests/artifacts/ (test_look_pages-<backend>-<lang>-<width>-*.png).
"""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import pytest
from jinja2 import ChoiceLoader, DictLoader

from community.events.services import QuestionData, TicketTypeData
from tests.browser.conftest import choice_questions

pytestmark = pytest.mark.browser

LANGUAGES = {"ja": "ja-JP", "en": "en-US"}
WIDTHS = (390, 1280)
# Between the end of the content and the footer: the footer's margin (site.css, --space-7).
MIN_FOOTER_GAP_PX = 24
STATIC = Path(__file__).resolve().parents[2] / "static"


def gradient_png(width: int = 960, height: int = 400) -> bytes:
    """A real PNG (a blue gradient), so that screenshots show a cover, not a broken image."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # no filter
        for x in range(width):
            rows += bytes((20 + x * 60 // width, 80 + y * 80 // height, 160))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 6))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def events(live_server, publish_on_live_server, tmp_path):
    """A free evening with choice questions and a cover, and a paid workshop."""
    from sqlalchemy import select

    from community.core.db import db
    from community.events.models import Event
    from community.events.services import set_cover_image

    app = live_server.app
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    free = publish_on_live_server(
        slug="look-night",
        title_ja="メンターと出会う夜",
        title_en="An evening with mentors",
        summary_ja="キャリアについて気軽に話せる夜です。",
        summary_en="An easy evening to talk about careers.",
        description_ja="**初めての方も歓迎**します。",
        description_en="**Newcomers welcome.**",
        format="hybrid",
        online_url="https://meet.example/look",
        venue_address="1-2-3 Shibuya, Tokyo",
        days=4,
        questions=[
            QuestionData(kind="short_text", label_ja="会社", label_en="Company", required=True),
            *choice_questions(food_required=True),
        ],
    )
    paid = publish_on_live_server(
        slug="look-workshop",
        kind="workshop",
        title_ja="有料ワークショップ",
        title_en="A paid workshop",
        summary_en="Bring a laptop.",
        summary_ja="ノートPCをお持ちください。",
        days=8,
        ticket_types=[TicketTypeData(slug="seat", name_ja="席", name_en="Seat", price_minor=3000)],
    )
    with app.app_context():
        event = db.session.scalar(select(Event).where(Event.slug == free))
        set_cover_image(event, gradient_png())
    return {"free": f"/events/{free}", "paid": f"/events/{paid}"}


FOOTER_GAP = """() => {
  const main = document.querySelector("main").getBoundingClientRect();
  const footer = document.querySelector("footer.site-footer").getBoundingClientRect();
  return footer.top - main.bottom;
}"""

# The bottom of main's last visible descendant: what the reader sees as the end of the content.
CONTENT_BOTTOM = """() => Math.max(...[...document.querySelectorAll("main *")]
  .map((element) => element.getBoundingClientRect())
  .filter((box) => box.width > 1 && box.height > 1)
  .map((box) => box.bottom))"""

SCROLLS_SIDEWAYS = (
    "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
)


def test_look_pages(make_page, live_server, events, shoot):
    """Home, events, an event page and a form page at 390 and 1280 px in both languages:
    screenshots, the footer apart from the content, no sideways scrolling even at 320 px."""
    pages = {
        "home": "/",
        "events": "/events",
        "event": events["free"],
        "form": "/account/signup",
    }
    for language, locale in LANGUAGES.items():
        page = make_page(locale=locale, viewport={"width": WIDTHS[0], "height": 800})
        for name, path in pages.items():
            page.goto(path)
            assert page.locator("html").get_attribute("lang") == language
            for width in (320, *WIDTHS):
                page.set_viewport_size({"width": width, "height": 800})
                where = f"{language}-{width}/{name}"
                assert page.evaluate(SCROLLS_SIDEWAYS) <= 0, f"{where} scrolls sideways"
                gap = page.evaluate(FOOTER_GAP)
                assert gap >= MIN_FOOTER_GAP_PX, f"{where}: footer {gap}px from main"
                content_end = page.evaluate(CONTENT_BOTTOM)
                footer_top = page.locator("footer.site-footer").bounding_box()["y"]
                assert footer_top - content_end >= MIN_FOOTER_GAP_PX, (
                    f"{where}: the footer is {footer_top - content_end}px from the content"
                )
                if width in WIDTHS:
                    shoot(page, f"{language}-{width}-{name}")


def test_the_event_pages_primary_action_is_its_only_primary_button(make_page, events):
    for language, locale in LANGUAGES.items():
        page = make_page(locale=locale, viewport={"width": 1280, "height": 900})
        for path, label in (
            (events["free"], {"en": "Register", "ja": "申し込む"}),
            (
                events["paid"],
                {"en": "Continue to payment — ¥3,000", "ja": "お支払いへ進む（￥3,000）"},
            ),
        ):
            page.goto(path)
            primary = page.locator("main .button-primary")
            assert primary.count() == 1, f"{language} {path}: {primary.count()} primary actions"
            assert primary.inner_text().strip() == label[language]
            assert primary.evaluate("(element) => element.type") == "submit"
            # It stands out: filled with the accent colour, larger than the page's text.
            style = primary.evaluate(
                "(element) => [getComputedStyle(element).backgroundColor,"
                " parseFloat(getComputedStyle(element).fontSize),"
                " parseFloat(getComputedStyle(document.body).fontSize)]"
            )
            assert style[0] == "rgb(11, 92, 173)" and style[1] > style[2], style


def _luminance(rgb: str) -> float:
    channels = [int(value) / 255 for value in re.findall(r"\d+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_a_link_focused_from_the_keyboard_has_a_visible_outline(make_page, events):
    for locale in LANGUAGES.values():
        page = make_page(locale=locale, viewport={"width": 1280, "height": 900})
        page.goto("/events")
        link = page.locator(".event-card h3 a").first
        link.focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")  # focus from the keyboard: :focus-visible applies
        assert link.evaluate("(element) => element === document.activeElement")
        outline = link.evaluate(
            "(element) => { const s = getComputedStyle(element);"
            " return [s.outlineStyle, parseFloat(s.outlineWidth), s.outlineColor,"
            " getComputedStyle(document.body).backgroundColor]; }"
        )
        style, width, colour, background = outline
        assert style == "solid" and width >= 2, outline
        # WCAG 1.4.11: a focus indicator at least 3:1 against what surrounds it.
        assert contrast(colour, background) >= 3, outline


def test_a_choice_question_is_a_fieldset_with_a_legend_and_an_optional_one_says_so(
    make_page, events
):
    labels = {
        "en": ("Food", "Interests (optional)", "Company"),
        "ja": ("食事", "興味（任意）", "会社"),
    }
    for language, locale in LANGUAGES.items():
        page = make_page(locale=locale)
        page.goto(events["free"])
        food, interests, company = labels[language]
        food_group = page.get_by_role("group", name=food, exact=True)
        assert food_group.evaluate("(element) => element.tagName") == "FIELDSET"
        assert food_group.locator("legend").inner_text().strip() == food
        assert food_group.get_by_role("radio").count() == 2
        interests_group = page.get_by_role("group", name=interests, exact=True)
        assert interests_group.get_by_role("checkbox").count() == 2
        # A required field is not marked with an asterisk, and says it is required.
        assert page.get_by_label(company, exact=True).get_attribute("required") is not None
        assert "*" not in page.locator("main form").inner_text()


def test_the_wordmark_the_title_and_the_icons_come_from_the_brand_partial(
    make_page, live_server, events
):
    page = make_page(locale="en-US")
    page.goto("/")
    mark = page.locator("header .wordmark img")
    assert mark.get_attribute("src") == "/static/brand/mark.svg"
    assert mark.evaluate("(image) => image.complete && image.naturalWidth > 0")
    assert page.locator("header .wordmark").inner_text().strip() == "Tokyo Tech Community"
    icons = page.locator("link[rel=icon]")
    assert sorted(icons.evaluate_all("(links) => links.map((l) => l.getAttribute('href'))")) == [
        "/favicon.ico",
        "/static/brand/mark.svg",
    ]
    icon = page.request.get("/favicon.ico")
    assert icon.body() == (STATIC / "brand" / "favicon.ico").read_bytes()

    # A community that replaces templates/_brand.html changes every page's header and title.
    replacement = """
{% macro name() %}Replaced Community{% endmacro %}
{% macro wordmark() %}<a class="wordmark" href="/"><img class="wordmark-mark"
  src="/static/brand/mark.svg" alt="" width="32" height="32"><span>Replaced Community</span></a>
{% endmacro %}
{% macro icons() %}<link rel="icon" href="/static/brand/mark.svg" type="image/svg+xml">
{% endmacro %}
"""
    app = live_server.app
    app.jinja_env.loader = ChoiceLoader(
        [DictLoader({"_brand.html": replacement}), app.jinja_env.loader]
    )
    # Templates change with a deploy, which starts new processes: their rendered header,
    # footer and pages are not kept (core/fragments.py, core/navigation.py).
    app.extensions["site_chrome"].clear()
    app.extensions["page_blocks"].clear()
    page.goto(events["paid"])
    assert page.locator("header .wordmark").inner_text().strip() == "Replaced Community"
    assert page.title() == "A paid workshop · Replaced Community"
    assert page.locator("footer .footer-name").inner_text().strip() == "Replaced Community"
    assert page.locator("link[rel=icon]").count() == 1
