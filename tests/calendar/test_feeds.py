"""What the feeds say: which events, under which UID and SEQUENCE, in which zone and languages,
with which marks and links, and how large. (How they are served over HTTP: test_feeds_http.py.)"""

from __future__ import annotations

import secrets
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from community.calendar import services
from community.calendar.services import MAX_FEED_BYTES
from community.core.db import db, utcnow
from community.core.errors import NotFound
from community.events import services as event_services
from community.events.models import Category, Event, Registration
from community.events.notify import manage_url
from tests.calendar.conftest import (
    TRICKY_SUMMARY_JA,
    TRICKY_TITLE_JA,
    event_data,
    private_count,
    private_path,
    public_count,
    vevents,
)
from tests.calendar.validity import assert_valid_calendar, unfolded_lines

TOKYO_TITLE_EN = "Study night, drinks; part \\ one"


def _feeds_of(world, event_slug: str, scopes: list[str]) -> dict[str, str]:
    paths = {"public": "/calendar.ics", "event": f"/events/{event_slug}.ics"}
    paths.update({scope: f"/calendar/{scope}.ics" for scope in scopes})
    paths["private"] = private_path(world.person)
    return paths


def _component(client, path: str, slug: str):
    response = client.get(path)
    assert response.status_code == 200, path
    found = vevents(response.data)
    assert slug in found, f"{slug} is not in {path}"
    return found[slug]


# --- UID and SEQUENCE -----------------------------------------------------------------------------


def test_uid_is_stable_across_edits_and_the_same_in_every_feed(client, world, clock):
    event = world.events["tokyo"]
    paths = _feeds_of(world, event.slug, ["career", "events"])

    def uids() -> set[str]:
        found = set()
        for path in paths.values():
            for query in ("", "?lang=ja", "?lang=en"):
                found.add(str(_component(client, path + query, event.slug)["UID"]))
        return found

    before = uids()
    assert len(before) == 1
    clock.shift(timedelta(hours=1))
    event_services.update_event(
        event,
        event_data(
            event,
            title_en="Study night (new title)",
            starts_at=event.starts_at + timedelta(days=1),
            ends_at=event.ends_at + timedelta(days=1),
            venue_name="Another hall",
        ),
    )
    clock.shift(timedelta(hours=1))
    event_services.cancel_event(db.session.get(Event, event.id))
    assert uids() == before


def test_sequence_goes_up_when_the_time_changes_and_not_for_a_typo_fix(client, world, clock):
    event = world.events["tokyo"]
    paths = _feeds_of(world, event.slug, ["career"])

    def sequences_and_descriptions():
        components = [_component(client, path, event.slug) for path in paths.values()]
        sequences = {int(component["SEQUENCE"]) for component in components}
        assert len(sequences) == 1, f"the feeds disagree on SEQUENCE: {sequences}"
        return sequences.pop(), [str(component["DESCRIPTION"]) for component in components]

    first, descriptions = sequences_and_descriptions()
    clock.shift(timedelta(hours=1))
    fixed_summary = TRICKY_SUMMARY_JA.replace("セミコロン", "セミコロン記号")
    event_services.update_event(event, event_data(event, summary_ja=fixed_summary))
    after_typo, fixed = sequences_and_descriptions()
    assert after_typo == first
    assert all("セミコロン記号" in description for description in fixed)
    assert fixed != descriptions

    clock.shift(timedelta(hours=1))
    event = db.session.get(Event, event.id)
    event_services.update_event(
        event,
        event_data(
            event,
            starts_at=event.starts_at + timedelta(hours=1),
            ends_at=event.ends_at + timedelta(hours=1),
        ),
    )
    after_move, _ = sequences_and_descriptions()
    assert after_move == first + 1


# --- cancellation ---------------------------------------------------------------------------------


def test_cancelled_event_stays_in_the_public_and_private_feeds_marked_cancelled(
    client, world, clock
):
    clock.shift(timedelta(hours=1))
    event_services.cancel_event(world.events["tokyo"])
    for slug, scope in (("tokyo-study-night", "career"), ("cancelled-meetup", "ml")):
        for path in _feeds_of(world, slug, [scope]).values():
            default = _component(client, path, slug)
            english = _component(client, path + "?lang=en", slug)
            assert str(default["STATUS"]) == "CANCELLED", path
            assert str(english["STATUS"]) == "CANCELLED", path
            assert str(english["SUMMARY"]).startswith("[Cancelled] "), path
            # The private feed speaks the person's language (Japanese) unless asked otherwise.
            marker = "[中止] " if path.startswith("/calendar/u/") else "[中止 / Cancelled] "
            assert str(default["SUMMARY"]).startswith(marker), (path, str(default["SUMMARY"]))
    assert private_count(world.person) == 6
    response = client.get(private_path(world.person))
    assert_valid_calendar(response.data, expected_events=6)


# --- time zones and text --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("slug", "local_start", "local_end"),
    [
        ("tokyo-study-night", "20270305T190000", "20270305T210000"),
        # Starts in GMT, ends in BST: the clocks went forward in between.
        ("london-night", "20270328T003000", "20270328T033000"),
        ("new-york-online", "20270316T190000", "20270316T210000"),
    ],
)
def test_times_round_trip_through_every_parser_in_the_events_zone(
    client, world, slug, local_start, local_end
):
    event = db.session.scalar(select(Event).where(Event.slug == slug))
    for path in ("/calendar.ics", f"/events/{slug}.ics"):
        body = client.get(path).data
        parsed = assert_valid_calendar(body)
        lines = unfolded_lines(body)
        assert f"DTSTART;TZID={event.timezone}:{local_start}" in lines
        assert f"DTEND;TZID={event.timezone}:{local_end}" in lines
        zones = {str(zone["TZID"]) for zone in parsed.icalendar.walk("VTIMEZONE")}
        used = {str(c["DTSTART"].params["TZID"]) for c in parsed.icalendar.walk("VEVENT")}
        assert event.timezone in zones
        assert zones == used
        # (ical adds one of its own for X-WR-TIMEZONE when the feed has no event in that zone.)
        assert zones <= {zone.tz_id for zone in parsed.ical.timezones}

        component = vevents(body)[slug]
        assert component["DTSTART"].params["TZID"] == event.timezone
        assert component["DTSTART"].dt == event.starts_at
        assert component["DTEND"].dt == event.ends_at
        [strict] = [e for e in parsed.ical.events if e.uid == str(component["UID"])]
        assert strict.dtstart == event.starts_at
        assert strict.dtend == event.ends_at
        [loose] = [
            e for e in parsed.vobject.contents["vevent"] if e.uid.value == str(component["UID"])
        ]
        assert loose.dtstart.value == event.starts_at
        assert loose.dtend.value == event.ends_at
        # vobject read the offsets from our VTIMEZONE: the same local times as the zone's.
        local = ZoneInfo(event.timezone)
        assert loose.dtstart.value.utcoffset() == event.starts_at.astimezone(local).utcoffset()
        assert loose.dtend.value.utcoffset() == event.ends_at.astimezone(local).utcoffset()


def test_japanese_text_with_commas_semicolons_and_newlines_is_escaped_and_round_trips(
    client, world
):
    body = client.get("/events/tokyo-study-night.ics").data
    lines = unfolded_lines(body)
    [summary] = [line for line in lines if line.startswith("SUMMARY")]
    [description] = [line for line in lines if line.startswith("DESCRIPTION:1行目")]
    [location] = [line for line in lines if line.startswith("LOCATION")]
    assert summary == (
        "SUMMARY:勉強会\\, 懇親会\\; 特別回 \\\\ 第1部 / Study night\\, drinks\\; part \\\\ one"
    )
    assert description.startswith(
        "DESCRIPTION:1行目\\, カンマ\\; セミコロン \\\\ バックスラッシュ\\n2行目: 東京、渋谷\\n\\n"
    )
    assert location == "LOCATION:渋谷ホール\\, 3階\\; 会議室A\\, 東京都渋谷区1-2-3"
    assert "\n2行目".encode() not in body  # a newline in the text is never a line break

    parsed = assert_valid_calendar(body, expected_events=1)
    expected_summary = f"{TRICKY_TITLE_JA} / {TOKYO_TITLE_EN}"
    expected_location = "渋谷ホール, 3階; 会議室A, 東京都渋谷区1-2-3"
    [component] = parsed.icalendar.walk("VEVENT")
    [strict] = parsed.ical.events
    [loose] = parsed.vobject.contents["vevent"]
    for summary_text, description_text, location_text in (
        (str(component["SUMMARY"]), str(component["DESCRIPTION"]), str(component["LOCATION"])),
        (strict.summary, strict.description, strict.location),
        (loose.summary.value, loose.description.value, loose.location.value),
    ):
        assert summary_text == expected_summary
        assert description_text.startswith(TRICKY_SUMMARY_JA + "\n\n")
        assert location_text == expected_location


# --- languages ------------------------------------------------------------------------------------


def test_lang_picks_japanese_english_or_both_and_an_unknown_value_gives_both(client, world):
    def summary(query: str) -> str:
        return str(_component(client, "/calendar.ics" + query, "tokyo-study-night")["SUMMARY"])

    assert summary("?lang=ja") == TRICKY_TITLE_JA
    assert summary("?lang=en") == TOKYO_TITLE_EN
    assert summary("") == f"{TRICKY_TITLE_JA} / {TOKYO_TITLE_EN}"
    default = client.get("/calendar.ics").data
    for unknown in ("?lang=fr", "?lang=", "?lang=JA", "?lang=ja,en"):
        assert client.get("/calendar.ics" + unknown).data == default, unknown
    english = client.get("/calendar.ics?lang=en").data
    assert b"NAME:Tokyo Tech Community\r\n" in english
    assert b"[Cancelled] Cancelled meetup" in english
    assert "中止".encode() not in english
    japanese = client.get("/calendar.ics?lang=ja").data
    assert "[中止] 中止の会".encode() in japanese
    assert b"Cancelled meetup" not in japanese


def test_private_feed_speaks_the_persons_language_unless_lang_says_otherwise(client, world):
    path = private_path(world.person)  # Mika reads Japanese

    def summary(query: str) -> str:
        return str(_component(client, path + query, "tokyo-study-night")["SUMMARY"])

    assert summary("") == TRICKY_TITLE_JA
    assert summary("?lang=ja") == TRICKY_TITLE_JA
    assert summary("?lang=en") == TOKYO_TITLE_EN
    assert client.get(path + "?lang=fr").data == client.get(path).data


# --- private feeds --------------------------------------------------------------------------------


def test_private_feed_shows_the_online_and_manage_links_and_public_feeds_no_online_link(
    client, world
):
    registration = world.registrations["workshop"]
    component = _component(client, private_path(world.person) + "?lang=en", "ml-workshop")
    description = str(component["DESCRIPTION"])
    assert "Online link: https://meet.example.com/ml-workshop" in description
    assert f"Your registration: {manage_url(registration)}" in description

    public_paths = ["/calendar.ics", "/calendar/ml.ics", "/calendar/workshops.ics"]
    public_paths += [f"/events/{slug}.ics" for slug in ("ml-workshop", "new-york-online")]
    for path in public_paths:
        for query in ("", "?lang=ja", "?lang=en"):
            body = client.get(path + query).data
            assert b"meet.example.com" not in body, path + query
            assert b"/registrations/" not in body, path + query


def test_waitlisted_and_unpaid_registrations_are_marked_and_tentative(client, world):
    assert world.registrations["new_york"].status == "waitlisted"
    assert world.registrations["paid"].status == "awaiting_payment"
    path = private_path(world.person)
    english = vevents(client.get(path + "?lang=en").data)
    assert str(english["new-york-online"]["SUMMARY"]) == "[Waiting list] New York online"
    assert str(english["paid-online-workshop"]["SUMMARY"]) == "[Payment pending] Paid online course"
    japanese = vevents(client.get(path).data)
    assert str(japanese["new-york-online"]["SUMMARY"]) == "[キャンセル待ち] ニューヨーク オンライン"
    for found in (english, japanese):
        assert str(found["new-york-online"]["STATUS"]) == "TENTATIVE"
        assert str(found["paid-online-workshop"]["STATUS"]) == "TENTATIVE"
        assert str(found["tokyo-study-night"]["STATUS"]) == "CONFIRMED"
        assert not str(found["tokyo-study-night"]["SUMMARY"]).startswith("[")


def test_a_guests_feed_holds_the_registrations_of_the_address_in_its_language(client, world):
    # guest1 took New York's only place, in English, without an account.
    new_york = world.events["new_york"]
    registration = db.session.scalar(
        select(Registration).where(
            Registration.event_id == new_york.id, Registration.email == "guest1@example.com"
        )
    )
    feed = services.guest_feed_for(registration)
    assert feed.user_id is None and feed.email == "guest1@example.com"
    response = client.get(f"/calendar/u/{feed.token}.ics")
    parsed = assert_valid_calendar(response.data, expected_events=1)
    [component] = parsed.icalendar.walk("VEVENT")
    assert str(component["SUMMARY"]) == "New York online"
    assert str(component["STATUS"]) == "CONFIRMED"
    assert f"Your registration: {manage_url(registration)}" in str(component["DESCRIPTION"])
    assert services.guest_feed_for(registration).token == feed.token


def test_private_feed_gives_the_online_link_only_to_confirmed_places(client, world):
    """As the manage page and the e-mails do: a person waiting for a place, or who has not paid,
    does not get the link that lets them in."""
    assert world.registrations["new_york"].status == "waitlisted"
    assert world.registrations["paid"].status == "awaiting_payment"
    found = vevents(client.get(private_path(world.person) + "?lang=en").data)
    for slug in ("new-york-online", "paid-online-workshop"):
        text = " | ".join(str(found[slug].get(name, "")) for name in ("DESCRIPTION", "LOCATION"))
        assert "meet.example.com" not in text, f"{slug}: {text}"
    assert "https://meet.example.com/ml-workshop" in str(found["ml-workshop"]["DESCRIPTION"])


def test_rotated_token_old_address_answers_404_and_the_new_one_200(client, world):
    feed = services.feed_for_user(world.person)
    old = f"/calendar/u/{feed.token}.ics"
    assert client.get(old).status_code == 200
    services.rotate_feed(feed)
    new = f"/calendar/u/{feed.token}.ics"
    assert new != old
    assert client.get(old).status_code == 404
    response = client.get(new)
    assert response.status_code == 200
    assert_valid_calendar(response.data, expected_events=private_count(world.person))


def test_malformed_unknown_and_rotated_tokens_answer_the_same_404(client, world):
    feed = services.feed_for_user(world.person)
    rotated = f"/calendar/u/{feed.token}.ics"
    services.rotate_feed(feed)
    paths = [rotated, "/calendar/u/not-a-token.ics", f"/calendar/u/{secrets.token_urlsafe(32)}.ics"]
    answers = [client.get(path) for path in paths]
    assert [answer.status_code for answer in answers] == [404, 404, 404]
    # The page names the address asked for (its language switch comes back to it): apart from
    # that, nothing tells a token that never existed from one that was rotated or malformed.
    bodies = {
        answer.data.replace(path.encode(), b"PATH")
        for answer, path in zip(answers, paths, strict=True)
    }
    assert len(bodies) == 1
    assert len({answer.headers.get("Content-Type") for answer in answers}) == 1


# --- what never appears ---------------------------------------------------------------------------


def test_unknown_category_or_event_answers_404(client, world):
    for path in (
        "/calendar/no-such-category.ics",
        "/events/no-such-event.ics",
        "/events/draft-idea.ics",
        "/calendar/u/.ics",
    ):
        assert client.get(path).status_code == 404, path


def test_a_draft_never_appears_in_any_feed(client, world):
    draft = world.events["draft"]
    assert draft.status == "draft"
    # Nobody can register for a draft, so no private feed can name it either.
    with pytest.raises(NotFound):
        event_services.register_for_event(
            draft.slug, name="Mika", email=world.person.email, user=world.person
        )
    uid = f"event-{draft.id}@".encode()
    paths = ["/calendar.ics", "/calendar/events.ics", "/calendar/career.ics"]
    paths += ["/calendar/workshops.ics", "/calendar/ml.ics", private_path(world.person)]
    for path in paths:
        for query in ("", "?lang=ja", "?lang=en"):
            body = client.get(path + query).data
            assert uid not in body, path + query
            assert b"draft-idea" not in body, path + query
            assert "下書き".encode() not in body, path + query


# --- size -----------------------------------------------------------------------------------------


def test_feed_stays_under_one_megabyte_keeping_the_nearest_events(client, clock):
    category = Category(slug="long", name_ja="長い説明の分類" * 5, name_en="Long text category")
    db.session.add(category)
    start = utcnow() - timedelta(days=20)
    total = 450
    for number in range(total):
        begins = start + timedelta(hours=6 * number)
        db.session.add(
            Event(
                slug=f"long-{number}",
                kind="workshop" if number % 3 else "event",
                status="published",
                title_ja=f"長いタイトル{number}、" + "東京の技術者の集まり" * 15,
                title_en=f"Long title {number}, " + "a gathering of Tokyo engineers " * 5,
                summary_ja="日本語の長い説明文です。改行も;記号も,あります。\n" * 16,
                summary_en="A long English summary, with commas; and lines.\n" * 10,
                starts_at=begins,
                ends_at=begins + timedelta(hours=2),
                venue_name="東京都渋谷区の会場",
                capacity=10,
                timezone="Asia/Tokyo" if number % 2 else "Europe/London",
                category=category,
            )
        )
    db.session.commit()
    assert public_count() == total

    def nearest_first(*conditions) -> list[str]:
        query = select(Event.slug).where(Event.starts_at >= utcnow() - timedelta(days=30))
        query = query.where(*conditions).order_by(Event.starts_at, Event.id)
        return list(db.session.scalars(query))

    scopes = {
        "/calendar.ics": nearest_first(),
        "/calendar/long.ics": nearest_first(Event.category_id == category.id),
        "/calendar/workshops.ics": nearest_first(Event.kind == "workshop"),
        "/calendar/events.ics": nearest_first(Event.kind == "event"),
    }
    for path, in_order in scopes.items():
        body = client.get(path).data
        assert len(body) <= MAX_FEED_BYTES, path
        kept = [line.rsplit("/", 1)[-1] for line in unfolded_lines(body) if line.startswith("URL:")]
        assert kept == in_order[: len(kept)], f"{path} did not keep the nearest events"
        if len(kept) < len(in_order):
            # Cut as late as possible: the next event would not have fitted.
            assert len(body) > MAX_FEED_BYTES - 5_000, path
        if path == "/calendar.ics":
            assert len(kept) < total, "the feed was not cut"
            # (The three parsers take seconds over a megabyte: one feed is enough.)
            assert_valid_calendar(body, expected_events=len(kept))
