"""Japanese pages as a Japanese reader sees them: Debian's Noto CJK font is installed, every page
says <html lang="ja">, and Chromium draws its Japanese text with the Japanese (JP) face of Noto CJK,
never with a fallback that has no such glyphs (boxes, "tofu") nor with the Chinese faces that
the same font file holds (a lang="zh" page gets those, with other shapes for the same kanji).

Chromium reports the fonts it really used through the DevTools protocol
(CSS.getPlatformFontsForNode: each family and how many glyphs it drew). Screenshots of every page
at a phone's and a desktop's width are kept as tests/artifacts/ja-<page>-<width>.png.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.browser.conftest import browser_required, chromium_available, save_screenshot

pytestmark = pytest.mark.browser

WIDTHS = (390, 1280)
# Kana, kanji, CJK punctuation and full-width forms.
JAPANESE = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
JAPANESE_NOTO = re.compile(r"^Noto (?:Sans|Serif) CJK JP\b")
EVENT_SLUG = "nihongo-hyouji-night"
# (name for the screenshot, path, the HTTP status it answers with)
PAGES = [
    ("home", "/", 200),
    ("events", "/events", 200),
    ("event", f"/events/{EVENT_SLUG}", 200),
    ("not-found", "/no-such-page", 404),
    ("sign-in", "/account/login", 200),
]
# Elements whose text must be Japanese on every page: the page's heading and the main menu.
CHECKED = ["main h1", "nav.main-nav a"]


def japanese_font_families() -> list[str]:
    """The families that fontconfig offers for Japanese text."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    done = subprocess.run(
        [fc_list, ":lang=ja", "family"], capture_output=True, text=True, timeout=60, check=False
    )
    return sorted({name for line in done.stdout.splitlines() for name in line.split(",") if name})


@pytest.fixture(scope="session")
def japanese_font() -> str:
    families = japanese_font_families()
    found = [name for name in families if JAPANESE_NOTO.match(name)]
    if not found:
        reason = (
            "No Noto CJK JP font: `fc-list :lang=ja` offers "
            f"{families or 'nothing'}. Install Debian's fonts-noto-cjk "
            "(apt-get install fonts-noto-cjk; .ci/run does), or Japanese pages are drawn as boxes."
        )
        if browser_required() or chromium_available():
            pytest.fail(reason, pytrace=False)
        # No browser here and none required (a developer's machine without Chromium): the browser
        # tests are skipped as a whole (tests/browser/conftest.py), so the font they need is too.
        # CI sets REQUIRE_BROWSER_TESTS=1, where a missing font fails above.
        pytest.skip(reason)
    return found[0]


def test_debian_noto_cjk_font_for_japanese_is_installed(japanese_font):
    assert JAPANESE_NOTO.match(japanese_font)


@pytest.fixture
def japanese_event(publish_on_live_server):
    from community.events.services import TicketTypeData

    return publish_on_live_server(
        slug=EVENT_SLUG,
        title_ja="日本語表示の確認会",
        title_en="Japanese rendering night",
        summary_ja="漢字・ひらがな・カタカナ、全角の「かっこ」と句読点。",
        summary_en="Kanji, kana and Japanese punctuation.",
        venue_name="渋谷コミュニティホール",
        venue_address="東京都渋谷区渋谷2-1-1",
        ticket_types=[TicketTypeData(slug="general", name_ja="一般", name_en="General")],
    )


def fonts_used(page, selector: str) -> list[dict]:
    """What Chromium drew the text of the first element matching `selector` with."""
    session = page.context.new_cdp_session(page)
    try:
        session.send("DOM.enable")
        session.send("CSS.enable")
        root = session.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        node = session.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        assert node, f"no element matches {selector!r}"
        return session.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    finally:
        session.detach()


def assert_drawn_with_the_japanese_face(page, selector: str, where: str) -> None:
    text = page.locator(selector).first.inner_text()
    japanese = len(JAPANESE.findall(text))
    assert japanese, f"{where}: {selector} is not in Japanese: {text!r}"
    fonts = fonts_used(page, selector)
    summary = ", ".join(f"{font['familyName']} ({font['glyphCount']})" for font in fonts)
    cjk = [font for font in fonts if "CJK" in font["familyName"]]
    wrong_face = [font["familyName"] for font in cjk if not JAPANESE_NOTO.match(font["familyName"])]
    assert wrong_face == [], f"{where}: {text!r} drawn with the non-Japanese faces {wrong_face}"
    drawn_by_noto_jp = sum(font["glyphCount"] for font in cjk)
    # Latin letters, digits and spaces may come from another font; every Japanese character must
    # come from Noto CJK JP, or it was drawn from a font without it (a box).
    assert drawn_by_noto_jp >= japanese, (
        f"{where}: {text!r} has {japanese} Japanese characters but Noto CJK JP drew "
        f"{drawn_by_noto_jp} glyphs; fonts used: {summary}"
    )


@pytest.mark.parametrize(("name", "path", "status"), PAGES, ids=[page[0] for page in PAGES])
def test_japanese_pages_say_lang_ja_and_are_drawn_with_noto_cjk_jp(
    make_page, japanese_font, japanese_event, name, path, status
):
    page = make_page(locale="ja-JP", viewport={"width": WIDTHS[0], "height": 900})
    response = page.goto(path)
    assert response is not None and response.status == status, f"{path}: {response.status}"
    assert page.evaluate("document.documentElement.lang") == "ja", path
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        where = f"{path} at {width}px"
        for selector in CHECKED:
            assert_drawn_with_the_japanese_face(page, selector, where)
        save_screenshot(page, f"ja-{name}-{width}")


def test_the_event_page_draws_its_japanese_content_with_noto_cjk_jp(
    make_page, japanese_font, japanese_event
):
    page = make_page(locale="ja-JP", viewport={"width": WIDTHS[0], "height": 900})
    page.goto(f"/events/{japanese_event}")
    # The organiser's own words (title, summary, venue), not only the interface's.
    for selector in ("main h1", "main p.lead", "main dl.facts dd", "main table td"):
        assert_drawn_with_the_japanese_face(page, selector, "the event page")
