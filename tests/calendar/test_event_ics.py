"""One event as an .ics file: linked from the event page, the manage page and the e-mails."""

from __future__ import annotations

from icalendar import Calendar

from community.events import services


def test_event_ics_has_the_event_in_its_zone_with_a_stable_uid(client, make_event):
    event = make_event(title_en="Calendar night", timezone="Asia/Tokyo")
    response = client.get(f"/events/{event.slug}.ics?lang=en")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.data)
    [component] = calendar.walk("VEVENT")
    assert str(component["summary"]) == "Calendar night"
    assert component["dtstart"].dt.tzinfo is not None
    assert component["dtstart"].params["TZID"] == "Asia/Tokyo"
    assert component["dtstart"].dt == event.starts_at
    assert calendar.walk("VTIMEZONE")
    again = Calendar.from_ical(client.get(f"/events/{event.slug}.ics").data)
    assert again.walk("VEVENT")[0]["uid"] == component["uid"]


def test_drafts_and_unknown_events_have_no_ics(client, make_event):
    draft = make_event(publish=False)
    assert client.get(f"/events/{draft.slug}.ics").status_code == 404
    assert client.get("/events/no-such-event.ics").status_code == 404


def test_cancelled_event_ics_says_cancelled(client, make_event):
    event = make_event()
    services.cancel_event(event)
    [component] = Calendar.from_ical(client.get(f"/events/{event.slug}.ics").data).walk("VEVENT")
    assert str(component["status"]) == "CANCELLED"


def test_event_and_manage_pages_link_to_the_ics(client, make_event, register, mailbox):
    event = make_event()
    assert f'href="/events/{event.slug}.ics"' in client.get(f"/events/{event.slug}").get_data(
        as_text=True
    )
    registration = register(event, 1)
    manage = f"/registrations/{registration.id}/{services.manage_token(registration)}"
    assert f'href="/events/{event.slug}.ics"' in client.get(manage).get_data(as_text=True)
    text = mailbox.last_to("guest1@example.com").get_body(("plain",)).get_content()
    assert f"/events/{event.slug}.ics" in text
