"""Both languages: the catalog is complete; the reader's language is chosen in the right order."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from community.core.dates import format_local
from tests.conftest import submit

ROOT = Path(__file__).resolve().parents[2]
JA_CATALOG = ROOT / "community" / "translations" / "ja" / "LC_MESSAGES" / "messages.po"


def _ja_catalog():
    with JA_CATALOG.open("rb") as handle:
        return read_po(handle, locale="ja")


def _source_messages() -> set[str]:
    method_map = [
        ("community/**.py", "python"),
        ("templates/**.html", "jinja2"),
        ("templates/**.txt", "jinja2"),
    ]
    options = {"templates/**": {"extensions": "jinja2.ext.do"}}
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT),
        method_map=method_map,
        options_map=options,
        keywords={"_": None, "gettext": None, "_l": None, "lazy_gettext": None, "ngettext": (1, 2)},
        directory_filter=lambda path: (
            not Path(path).name.startswith(".")
            and Path(path).name not in {".venv", "instance", "tests", "bench", "migrations"}
        ),
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_japanese_catalog_has_no_untranslated_or_fuzzy_entry():
    catalog = _ja_catalog()
    untranslated = [
        m.id
        for m in catalog
        if m.id and (not all(m.string) if isinstance(m.string, tuple) else not m.string)
    ]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert untranslated == []
    assert fuzzy == []


def test_every_ui_string_in_the_code_is_in_the_japanese_catalog():
    catalog_ids = {m.id[0] if isinstance(m.id, tuple) else m.id for m in _ja_catalog() if m.id}
    missing = sorted(_source_messages() - catalog_ids)
    assert missing == [], "run `make extract-messages` and translate: " + repr(missing)


def test_japanese_placeholders_match_the_english_ones():
    import re

    placeholder = re.compile(r"%\(\w+\)[sd]")
    for message in _ja_catalog():
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set(placeholder.findall(ids[-1]))
        for string in strings:
            assert set(placeholder.findall(string)) == expected, message.id


def test_japanese_page_renders_japanese(client):
    response = client.get("/", headers={"Accept-Language": "ja"})
    html = response.get_data(as_text=True)
    assert '<html lang="ja">' in html
    assert "イベント" in html
    assert "ログイン" in html
    assert "Sign in" not in html


def test_accept_language_chooses_english_when_preferred(client):
    html = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9,ja;q=0.5"}).get_data(
        as_text=True
    )
    assert '<html lang="en">' in html
    assert "Sign in" in html


def test_the_switch_overrides_accept_language_for_the_session(client):
    response = submit(client, "/", {"lang": "ja", "next": "/events"}, post_path="/language")
    assert response.status_code == 302
    assert response.headers["Location"] == "/events"
    html = client.get("/events", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="ja">' in html


def test_the_switch_refuses_to_redirect_to_another_site(client):
    response = submit(client, "/", {"lang": "en", "next": "https://evil.example/"}, "/language")
    assert response.headers["Location"] == "/"


def test_the_users_setting_wins_over_the_session_and_the_switch_updates_it(
    client, make_user, login
):
    user = make_user(locale="ja")
    login(user)
    html = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="ja">' in html
    submit(client, "/", {"lang": "en", "next": "/"}, post_path="/language")
    assert user.locale == "en"
    html = client.get("/", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert '<html lang="en">' in html


def test_times_are_shown_in_the_events_zone_with_the_zone_named(app):
    moment = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    with app.app_context(), app.test_request_context(headers={"Accept-Language": "ja"}):
        assert format_local(moment, "Asia/Tokyo") == "2026年12月3日（木）19:00 JST"
    with app.app_context(), app.test_request_context(headers={"Accept-Language": "en"}):
        assert format_local(moment, "Asia/Tokyo") == "Thu 3 Dec 2026, 19:00 JST"
        assert format_local(moment, "Europe/London") == "Thu 3 Dec 2026, 10:00 GMT"


def test_a_time_just_before_midnight_utc_is_the_next_day_in_tokyo(app):
    moment = datetime(2026, 12, 31, 15, 30, tzinfo=UTC)
    with app.app_context(), app.test_request_context(headers={"Accept-Language": "ja"}):
        assert format_local(moment, "Asia/Tokyo") == "2027年1月1日（金）00:30 JST"
