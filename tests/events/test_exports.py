"""The attendee list's CSV export is for people with a spreadsheet: statuses in words of the
organiser's language (the list's own words), times as dates a spreadsheet reads (YYYY-MM-DD HH:MM
in the event's zone, named in the header), a BOM for Excel, and no cell that runs as a formula.

Registrations are made at fixed moments (time-machine) on the real databases.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
import time_machine

from community.events import services
from community.events.services import QuestionData, TicketTypeData

REGISTERED_AT = datetime(2030, 1, 5, 9, 30, tzinfo=UTC)
CHECKED_IN_AT = datetime(2030, 1, 15, 18, 5, tzinfo=UTC)


def rows_of(response) -> list[dict[str, str]]:
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    header, *records = table
    return [dict(zip(header, record, strict=True)) for record in records]


@pytest.fixture
def london(make_event, register):
    """build(owner): an event in London (not the site's Tokyo), people in several states."""

    def build(owner):
        with time_machine.travel(REGISTERED_AT, tick=False):
            event = make_event(
                by=owner,
                capacity=2,
                timezone="Europe/London",
                tickets=[TicketTypeData(slug="general", name_ja="一般", name_en="=General")],
                questions=[
                    QuestionData(
                        kind="single_choice",
                        label_ja="食事",
                        label_en="+Food",
                        options=[
                            {"value": "veg", "ja": "ベジタリアン", "en": "Vegetarian"},
                            {"value": "any", "ja": "何でも", "en": "-Anything"},
                        ],
                    )
                ],
            )
            food = event.questions[0]
            here = register(event, 1, name="Ann Arbor", answers={str(food.id): "any"})
            register(event, 2, name="@Ben", answers={str(food.id): "veg"})
            register(event, 3, name="Cid Waiting")
            gone = register(event, 4, name="Dee Gone")
        services.cancel_registration(gone.id)  # Cid is promoted; Dee's place is freed
        with time_machine.travel(CHECKED_IN_AT, tick=False):
            services.check_in(event, here.ticket_code)
        return event

    return build


def test_statuses_are_words_and_times_are_spreadsheet_dates_in_the_events_zone(
    client, login, organiser, london
):
    event = london(organiser)
    login(organiser)
    rows = rows_of(client.get(f"/organiser/events/{event.slug}/attendees.csv"))
    by_name = {row["Name"]: row for row in rows}
    assert set(rows[0]) >= {"Registered (Europe/London)", "Checked in (Europe/London)"}
    ann = by_name["Ann Arbor"]
    assert ann["Status"] == "Confirmed"
    # 09:30 UTC in January is 09:30 in London (18:30 in Tokyo, which the site defaults to).
    assert ann["Registered (Europe/London)"] == "2030-01-05 09:30"
    assert ann["Checked in (Europe/London)"] == "2030-01-15 18:05"
    assert by_name["Dee Gone"]["Status"] == "Cancelled"
    assert by_name["Dee Gone"]["Checked in (Europe/London)"] == ""
    assert {row["Status"] for row in rows} <= {"Confirmed", "Waiting list", "Cancelled"}
    for row in rows:
        assert "T" not in row["Registered (Europe/London)"]
        assert "+" not in row["Registered (Europe/London)"]


def test_a_japanese_organiser_gets_the_export_in_japanese(client, login, make_user, london):
    japanese = make_user(role="organiser", locale="ja")
    event = london(japanese)
    login(japanese)
    rows = rows_of(client.get(f"/organiser/events/{event.slug}/attendees.csv"))
    by_name = {row["お名前"]: row for row in rows}
    ann = by_name["Ann Arbor"]
    assert ann["状態"] == "参加確定"
    assert ann["申し込み日時（Europe/London）"] == "2030-01-05 09:30"
    assert ann["チケット種別"] == "一般"
    assert ann["食事"] == "何でも"
    # A cancelled registration, not a cancelled event (中止).
    assert by_name["Dee Gone"]["状態"] == "キャンセル済み"


def test_what_people_typed_cannot_run_as_a_formula(client, login, organiser, london):
    event = london(organiser)
    login(organiser)
    rows = rows_of(client.get(f"/organiser/events/{event.slug}/attendees.csv"))
    assert "'+Food" in rows[0]  # the question's label, in the header
    by_name = {row["Name"]: row for row in rows}
    assert "'@Ben" in by_name
    assert by_name["Ann Arbor"]["Ticket type"] == "'=General"
    assert by_name["Ann Arbor"]["'+Food"] == "'-Anything"
    assert by_name["'@Ben"]["'+Food"] == "Vegetarian"


def test_the_export_uses_the_same_words_as_the_attendee_list(client, login, organiser, london):
    event = london(organiser)
    login(organiser)
    page = client.get(f"/organiser/events/{event.slug}/attendees").get_data(as_text=True)
    rows = rows_of(client.get(f"/organiser/events/{event.slug}/attendees.csv"))
    for status in {row["Status"] for row in rows}:
        assert f">{status}</td>" in page
