"""Where the venue is on the map: the organiser's form takes a latitude and a longitude (both or
neither, in range, decimal degrees), shows them again, and the calendars carry them as GEO."""

from __future__ import annotations

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from community.core.db import db
from community.events.models import Event
from tests.conftest import csrf_token_from, submit
from tests.events.test_organiser import (  # noqa: F401 - the *_fixture names are fixtures
    event_form,
    form_as_shown,
    make_event_fixture,
    organiser_fixture,
    uploads_fixture,
)


def saved_event() -> Event:
    return db.session.scalar(select(Event).where(Event.slug == "mentoring-night"))


def geo_in_feed(client, event):
    [component] = Calendar.from_ical(client.get(f"/events/{event.slug}.ics").data).walk("VEVENT")
    return component.get("GEO")


def test_the_event_form_saves_the_coordinates_and_the_feed_shows_them(client, login, organiser):
    login(organiser)
    response = submit(
        client, "/organiser/events/new", event_form(latitude="35.658", longitude="139.7016")
    )
    assert response.status_code == 302
    event = saved_event()
    assert (event.latitude, event.longitude) == (35.658, 139.7016)
    page = client.get(f"/organiser/events/{event.slug}/edit").get_data(as_text=True)
    assert 'name="latitude"' in page and 'value="35.658"' in page
    assert 'value="139.7016"' in page
    published = client.post(
        f"/organiser/events/{event.slug}/publish", data={"csrf_token": csrf_token_from(page)}
    )
    assert published.status_code == 302
    body = client.get(f"/events/{event.slug}.ics").data
    assert b"\r\nGEO:35.658;139.7016\r\n" in body
    geo = geo_in_feed(client, event)
    assert (geo.latitude, geo.longitude) == (35.658, 139.7016)


def test_coordinates_pasted_from_a_map_into_the_latitude_box_fill_both(client, login, organiser):
    login(organiser)
    response = submit(
        client, "/organiser/events/new", event_form(latitude="35.65800, 139.70160", longitude="")
    )
    assert response.status_code == 302
    assert (saved_event().latitude, saved_event().longitude) == (35.658, 139.7016)


def test_full_width_digits_from_a_japanese_input_method_are_read(client, login, organiser):
    login(organiser)
    response = submit(
        client,
        "/organiser/events/new",
        event_form(latitude="３５．６５８", longitude="１３９．７０１６"),
    )
    assert response.status_code == 302
    assert (saved_event().latitude, saved_event().longitude) == (35.658, 139.7016)


BAD_COORDINATES = {
    "latitude only": (
        {"latitude": "35.658", "longitude": ""},
        "Give both the latitude and the longitude, or neither.",
    ),
    "longitude only": (
        {"latitude": "", "longitude": "139.7016"},
        "Give both the latitude and the longitude, or neither.",
    ),
    "latitude beyond a pole": (
        {"latitude": "95", "longitude": "139.7016"},
        "A latitude is between -90 and 90.",
    ),
    "longitude beyond the date line": (
        {"latitude": "35.658", "longitude": "200"},
        "A longitude is between -180 and 180.",
    ),
    "swapped": (
        {"latitude": "139.7016", "longitude": "35.658"},
        "A latitude is between -90 and 90.",
    ),
    "words": (
        {"latitude": "Shibuya", "longitude": "139.7016"},
        "Give the position in decimal degrees, such as 35.658 or 139.7016.",
    ),
    "degrees and minutes": (
        {"latitude": "35°39'29\"N", "longitude": "139°42'06\"E"},
        "Give the position in decimal degrees, such as 35.658 or 139.7016.",
    ),
    "not a number": (
        {"latitude": "nan", "longitude": "inf"},
        "Give the position in decimal degrees, such as 35.658 or 139.7016.",
    ),
}


@pytest.mark.parametrize(
    ("change", "message"), BAD_COORDINATES.values(), ids=BAD_COORDINATES.keys()
)
def test_bad_coordinates_are_refused_with_a_message_and_change_nothing(
    client, login, organiser, make_event, change, message
):
    event = make_event(latitude=35.6628, longitude=139.7314)
    before = (event.latitude, event.longitude, event.sequence, event.updated_at)
    login(organiser)
    response = submit(client, f"/organiser/events/{event.slug}/edit", event_form(**change))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert (event.latitude, event.longitude, event.sequence, event.updated_at) == before
    response = submit(client, "/organiser/events/new", event_form(**change))
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Event)) == 1


def test_saving_the_form_as_shown_keeps_the_coordinates_and_the_sequence(
    client, login, organiser, make_event
):
    event = make_event(latitude=35.658, longitude=139.7016)
    login(organiser)
    page = client.get(f"/organiser/events/{event.slug}/edit").get_data(as_text=True)
    response = client.post(f"/organiser/events/{event.slug}/edit", data=form_as_shown(page))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert (event.latitude, event.longitude, event.sequence) == (35.658, 139.7016, 0)


def test_clearing_both_coordinates_removes_the_geo_and_moves_the_event(
    client, login, organiser, make_event
):
    event = make_event(latitude=35.658, longitude=139.7016)
    assert geo_in_feed(client, event) is not None
    login(organiser)
    page = client.get(f"/organiser/events/{event.slug}/edit").get_data(as_text=True)
    data = form_as_shown(page)
    data["latitude"] = data["longitude"] = ""
    response = client.post(f"/organiser/events/{event.slug}/edit", data=data)
    assert response.status_code == 302
    assert (event.latitude, event.longitude, event.sequence) == (None, None, 1)
    assert geo_in_feed(client, event) is None


def test_the_demo_venues_are_on_the_map(client, runner):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    shibuya = db.session.scalar(select(Event).where(Event.slug == "mentoring-night-tokyo"))
    roppongi = db.session.scalar(select(Event).where(Event.slug == "intro-to-sql-workshop"))
    assert (shibuya.latitude, shibuya.longitude) == pytest.approx((35.658, 139.7016), abs=0.01)
    assert (roppongi.latitude, roppongi.longitude) == pytest.approx((35.6628, 139.7314), abs=0.01)
    geo = geo_in_feed(client, shibuya)
    assert (geo.latitude, geo.longitude) == (shibuya.latitude, shibuya.longitude)
    online = db.session.scalar(select(Event).where(Event.slug == "career-talk-online"))
    assert online.latitude is None and geo_in_feed(client, online) is None
