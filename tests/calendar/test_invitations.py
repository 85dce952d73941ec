"""Calendar invitations in the registration e-mails: METHOD:REQUEST (inline in the
multipart/alternative and attached as invite.ics) when a person gets a confirmed place or the event
moves, METHOD:CANCEL when that place or the whole event is gone; the feed's UID and SEQUENCE, the
recipient's language, and nothing for people who never had a place.

Mail goes through the real SMTP server of the `mailbox` fixture; the clock is frozen.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from icalendar import Calendar

from community.events import notify, services
from community.events.services import event_data
from community.payments import services as payments
from tests.calendar.validity import assert_valid_calendar
from tests.conftest import text_of
from tests.payments.test_checkout import _paid_event, _status
from tests.payments.test_sandbox import _order_of, _press, _to_sandbox

NOW = datetime(2030, 5, 1, 3, 0, tzinfo=UTC)


@pytest.fixture
def clock(app):
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


# --- reading the e-mails -------------------------------------------------------------------------


def calendar_parts(message):
    """(the text/calendar parts inside multipart/alternative, the invite.ics attachments)."""
    inline = [
        part
        for part in message.walk()
        if part.get_content_type() == "text/calendar" and not part.get_filename()
    ]
    attached = [part for part in message.iter_attachments() if part.get_filename() == "invite.ics"]
    return inline, attached


def invitation_in(message) -> Calendar:
    """The message's one invitation, after checking where and how it travels."""
    assert message.get_content_type() == "multipart/mixed"
    alternative = next(message.iter_parts())
    assert alternative.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in alternative.iter_parts()] == [
        "text/plain",
        "text/html",
        "text/calendar",
    ]
    [inline], [attached] = calendar_parts(message)
    assert inline.get_content_charset() == "utf-8"
    assert inline.get_content_disposition() is None
    assert attached.get_content_type() == "application/ics"
    assert attached.get_content_disposition() == "attachment"
    body = inline.get_payload(decode=True)
    assert attached.get_payload(decode=True) == body
    calendar = Calendar.from_ical(body)
    assert inline.get_param("method") == str(calendar["METHOD"])
    return calendar


def has_no_invitation(message) -> bool:
    return calendar_parts(message) == ([], [])


def vevent(calendar: Calendar):
    [component] = calendar.walk("VEVENT")
    return component


def feed_event(client, event):
    return vevent(Calendar.from_ical(client.get(f"/events/{event.slug}.ics").data))


data_of = event_data


# --- a place: METHOD:REQUEST ---------------------------------------------------------------------


def test_a_confirmation_carries_the_event_inline_and_attached_as_a_request(
    clock, client, make_event, register, mailbox
):
    event = make_event(title_en="Invitation night")
    registration = register(event, 1)
    message = mailbox.last_to("guest1@example.com")
    assert message["Subject"] == "You are registered: Invitation night"
    calendar = invitation_in(message)
    assert str(calendar["METHOD"]) == "REQUEST"
    component = vevent(calendar)
    feed = feed_event(client, event)
    assert str(component["UID"]) == str(feed["UID"]) == f"event-{event.id}@localhost"
    assert component["SEQUENCE"] == feed["SEQUENCE"] == 0
    assert str(component["STATUS"]) == "CONFIRMED"
    assert component["DTSTART"].dt == event.starts_at
    assert component["DTSTAMP"].dt == NOW
    assert str(component["ATTENDEE"]) == "mailto:guest1@example.com"
    assert component["ATTENDEE"].params["RSVP"] == "FALSE"
    assert component["ATTENDEE"].params["PARTSTAT"] == "ACCEPTED"
    assert str(component["ORGANIZER"]).startswith("mailto:")
    manage = f"/registrations/{registration.id}/{services.manage_token(registration)}"
    assert manage in str(component["DESCRIPTION"])
    # The text and HTML bodies are still what people read.
    assert "You are registered for Invitation night." in text_of(message)


def test_every_invitation_is_valid_for_three_parsers(clock, make_event, register, mailbox):
    event = make_event(title_ja="招待, テスト; です", venue_name="渋谷ホール, 3階")
    person = register(event, 1, language="ja")
    services.update_event(event, data_of(event, starts_at=event.starts_at + timedelta(hours=1)))
    services.cancel_registration(person.id)
    messages = mailbox.to("guest1@example.com")
    assert [str(invitation_in(m)["METHOD"]) for m in messages] == ["REQUEST", "REQUEST", "CANCEL"]
    for message in messages:
        [inline], _ = calendar_parts(message)
        assert_valid_calendar(
            inline.get_payload(decode=True),
            expected_events=1,
            method=inline.get_param("method"),
        )


def test_promotion_from_the_waiting_list_carries_a_request_and_waiting_does_not(
    clock, make_event, register, mailbox
):
    event = make_event(capacity=1)
    first = register(event, 1)
    register(event, 2)
    assert has_no_invitation(mailbox.last_to("guest2@example.com"))  # on the waiting list
    services.cancel_registration(first.id)
    promoted = mailbox.last_to("guest2@example.com")
    assert promoted["Subject"].startswith("A place came free")
    component = vevent(invitation_in(promoted))
    assert str(component["ATTENDEE"]) == "mailto:guest2@example.com"
    assert str(component["STATUS"]) == "CONFIRMED"


def test_a_paid_place_is_invited_when_the_money_arrives_and_cancelled_when_refunded(
    clock, client, make_event, register, mailbox
):
    event = _paid_event(make_event, price=3000)
    registration = register(event, 1)
    assert has_no_invitation(mailbox.last_to("guest1@example.com"))  # awaiting payment
    _press(client, _to_sandbox(client, registration), "pay")
    assert _status(registration) == "confirmed"
    paid = mailbox.last_to("guest1@example.com")
    assert paid["Subject"].startswith("You are registered")
    calendar = invitation_in(paid)
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(vevent(calendar)["UID"]) == str(feed_event(client, event)["UID"])
    clock.shift(timedelta(hours=1))
    payments.refund_order(_order_of(registration))
    assert _status(registration) == "cancelled"
    refunded = mailbox.last_to("guest1@example.com")
    calendar = invitation_in(refunded)
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(vevent(calendar)["STATUS"]) == "CANCELLED"


# --- a new time or place: METHOD:REQUEST with a higher SEQUENCE ----------------------------------

MOVES = {
    "time": lambda event: {"starts_at": event.starts_at + timedelta(days=1), "ends_at": None},
    "venue": lambda event: {"venue_name": "Roppongi Tech Lab"},
    "coordinates": lambda event: {"latitude": 35.6628, "longitude": 139.7314},
}


@pytest.mark.parametrize("move", MOVES.values(), ids=MOVES.keys())
def test_a_new_time_or_place_sends_each_confirmed_person_a_request_with_a_higher_sequence(
    clock, client, make_event, register, mailbox, move
):
    event = make_event(capacity=2)
    register(event, 1)
    register(event, 2, language="ja")
    register(event, 3)  # waiting: no place, so no calendar entry to update
    mailbox.clear()
    clock.shift(timedelta(hours=2))
    changes = move(event)
    if "ends_at" in changes:
        changes["ends_at"] = changes["starts_at"] + timedelta(hours=2)
    services.update_event(event, data_of(event, **changes))
    assert event.sequence == 1
    assert sorted(message["To"] for message in mailbox.messages) == [
        "guest1@example.com",
        "guest2@example.com",
    ]
    english = mailbox.last_to("guest1@example.com")
    assert english["Subject"] == f"New time or place: {event.title_en}"
    assert "has changed" in text_of(english)
    component = vevent(invitation_in(english))
    feed = feed_event(client, event)
    assert component["SEQUENCE"] == feed["SEQUENCE"] == 1
    assert str(component["UID"]) == str(feed["UID"])
    assert component["DTSTART"].dt == event.starts_at
    assert component["DTSTAMP"].dt == NOW + timedelta(hours=2)
    japanese = mailbox.last_to("guest2@example.com")
    assert str(vevent(invitation_in(japanese))["SUMMARY"]) == event.title_ja


def test_a_typo_fix_in_the_description_sends_nothing_and_keeps_the_sequence(
    clock, make_event, register, mailbox
):
    event = make_event()
    register(event, 1)
    mailbox.clear()
    services.update_event(event, data_of(event, description_en="Fixed a tpyo: typo."))
    assert event.description_en == "Fixed a tpyo: typo."
    assert event.sequence == 0
    assert mailbox.messages == []


def test_a_capacity_increase_with_a_move_tells_the_promoted_person_once(
    clock, make_event, register, mailbox
):
    event = make_event(capacity=1)
    register(event, 1)
    register(event, 2)
    mailbox.clear()
    later = event.starts_at + timedelta(hours=1)
    services.update_event(
        event, data_of(event, capacity=2, starts_at=later, ends_at=later + timedelta(hours=2))
    )
    assert [m["Subject"].split(":")[0] for m in mailbox.to("guest2@example.com")] == [
        "A place came free"
    ]
    assert vevent(invitation_in(mailbox.last_to("guest2@example.com")))["SEQUENCE"] == 1
    assert mailbox.last_to("guest1@example.com")["Subject"].startswith("New time or place")


# --- a place gone: METHOD:CANCEL -----------------------------------------------------------------


def test_cancelling_a_confirmed_place_sends_a_cancel_for_the_same_uid_and_sequence(
    clock, client, make_event, register, mailbox
):
    event = make_event(format="online", venue_name="", online_url="https://meet.example.com/x")
    registration = register(event, 1)
    request = vevent(invitation_in(mailbox.last_to("guest1@example.com")))
    assert str(request["LOCATION"]) == "https://meet.example.com/x"
    clock.shift(timedelta(minutes=5))
    services.cancel_registration(registration.id)
    message = mailbox.last_to("guest1@example.com")
    assert message["Subject"].startswith("Your registration is cancelled")
    calendar = invitation_in(message)
    assert str(calendar["METHOD"]) == "CANCEL"
    component = vevent(calendar)
    assert str(component["STATUS"]) == "CANCELLED"
    assert str(component["UID"]) == str(request["UID"]) == str(feed_event(client, event)["UID"])
    assert component["SEQUENCE"] == request["SEQUENCE"]
    # Same SEQUENCE: the later DTSTAMP is what tells clients the cancellation is newer.
    assert component["DTSTAMP"].dt > request["DTSTAMP"].dt
    assert component["ATTENDEE"].params["PARTSTAT"] == "DECLINED"
    # Someone who has given up their place is not sent the online link again.
    assert "meet.example.com" not in component.to_ical().decode()


def test_leaving_the_waiting_list_sends_no_calendar(clock, make_event, register, mailbox):
    event = make_event(capacity=1)
    register(event, 1)
    waiting = register(event, 2)
    services.cancel_registration(waiting.id)
    message = mailbox.last_to("guest2@example.com")
    assert message["Subject"].startswith("Your registration is cancelled")
    assert has_no_invitation(message)


def test_cancelling_the_event_sends_a_cancel_with_a_higher_sequence_to_places_only(
    clock, client, make_event, register, mailbox
):
    event = make_event(capacity=1)
    register(event, 1)
    register(event, 2)  # waiting
    mailbox.clear()
    services.cancel_event(event, "The venue flooded.")
    assert sorted(message["To"] for message in mailbox.messages) == [
        "guest1@example.com",
        "guest2@example.com",
    ]
    assert has_no_invitation(mailbox.last_to("guest2@example.com"))
    calendar = invitation_in(mailbox.last_to("guest1@example.com"))
    assert str(calendar["METHOD"]) == "CANCEL"
    component = vevent(calendar)
    feed = feed_event(client, event)
    assert str(component["STATUS"]) == str(feed["STATUS"]) == "CANCELLED"
    assert component["SEQUENCE"] == feed["SEQUENCE"] == 1
    assert str(component["UID"]) == str(feed["UID"])


def test_e_mails_about_no_place_carry_no_calendar(clock, make_event, register, mailbox):
    event = make_event(capacity=1)
    register(event, 1)
    register(event, 2)
    assert has_no_invitation(mailbox.last_to("guest2@example.com"))  # waitlisted
    paid = _paid_event(make_event)
    register(paid, 3)
    assert has_no_invitation(mailbox.last_to("guest3@example.com"))  # awaiting payment
    clock.move_to(event.starts_at - timedelta(hours=12))
    assert services.send_reminders() >= 1
    reminder = mailbox.last_to("guest1@example.com")
    assert reminder["Subject"].startswith("Reminder")
    assert has_no_invitation(reminder)


# --- the recipient's language --------------------------------------------------------------------


def test_each_invitation_is_in_its_recipients_language(clock, make_event, register, mailbox):
    event = make_event(
        title_ja="秋の勉強会",
        title_en="Autumn study night",
        summary_ja="日本語の概要",
        summary_en="The English summary",
    )
    japanese = register(event, 1, language="ja")
    register(event, 2, language="en")
    request_ja = vevent(invitation_in(mailbox.last_to("guest1@example.com")))
    request_en = vevent(invitation_in(mailbox.last_to("guest2@example.com")))
    assert str(request_ja["SUMMARY"]) == "秋の勉強会"
    assert "日本語の概要" in str(request_ja["DESCRIPTION"])
    assert "The English summary" not in str(request_ja["DESCRIPTION"])
    assert str(request_en["SUMMARY"]) == "Autumn study night"
    assert "The English summary" in str(request_en["DESCRIPTION"])
    assert "日本語の概要" not in str(request_en["DESCRIPTION"])
    assert request_ja["UID"] == request_en["UID"]
    services.cancel_registration(japanese.id)
    cancel_ja = vevent(invitation_in(mailbox.last_to("guest1@example.com")))
    # The event goes on: the place was cancelled (キャンセル済み), not the event (中止).
    assert str(cancel_ja["SUMMARY"]) == "[キャンセル済み] 秋の勉強会"


# --- the hook ------------------------------------------------------------------------------------


def test_a_failing_calendar_part_does_not_stop_the_e_mail(
    app, clock, make_event, register, mailbox, caplog
):
    def broken(kind, registration):
        raise RuntimeError("no calendar today")

    notify.mail_parts.replace(app, "calendar", broken)
    with caplog.at_level(logging.ERROR, logger="community.events.notify"):
        register(make_event(), 1)
    message = mailbox.last_to("guest1@example.com")
    assert message["Subject"].startswith("You are registered")
    assert has_no_invitation(message)
    assert "no calendar today" in caplog.text
