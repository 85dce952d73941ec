"""The registration engine: places, quotas, the waiting list, holds, offers, cancelling."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from community.accounts.membership import membership_check
from community.core.db import db, utcnow
from community.core.errors import Conflict, DomainError, NotFound
from community.core.outbox import deliver_due
from community.events import services
from community.events.models import Event, Registration, TicketType
from community.events.offers import price_rule
from community.events.services import QuestionData, RegistrationClosed, TicketTypeData


def _status(registration) -> str:
    return db.session.get(Registration, registration.id, populate_existing=True).status


def _recount(event_id: int) -> None:
    """The counters always equal the rows that hold places."""
    event = db.session.get(Event, event_id, populate_existing=True)
    holding = db.session.scalar(
        select(func.count()).where(
            Registration.event_id == event_id,
            Registration.status.in_(("confirmed", "awaiting_payment", "offered")),
        )
    )
    assert event.places_taken == holding
    for ticket in db.session.scalars(select(TicketType).where(TicketType.event_id == event_id)):
        db.session.refresh(ticket)
        held = db.session.scalar(
            select(func.count()).where(
                Registration.ticket_type_id == ticket.id,
                Registration.status.in_(("confirmed", "awaiting_payment", "offered")),
            )
        )
        assert ticket.taken == held


def test_free_registration_is_confirmed_and_e_mailed(make_event, register, mailbox):
    event = make_event(capacity=2)
    registration = register(event, 1)
    assert registration.status == "confirmed"
    message = mailbox.last_to("guest1@example.com")
    assert message["Subject"] == f"You are registered: {event.title_en}"
    assert "/registrations/" in message.get_body(("plain",)).get_content()
    _recount(event.id)


def test_the_registrants_language_is_used_for_the_e_mail(make_event, register, mailbox):
    event = make_event()
    register(event, 1, language="ja")
    assert mailbox.last_to("guest1@example.com")["Subject"] == f"【お申し込み完了】{event.title_ja}"


def test_when_full_people_are_waitlisted_in_order(make_event, register):
    event = make_event(capacity=2)
    statuses = [register(event, n).status for n in range(1, 5)]
    assert statuses == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
    _recount(event.id)


def test_ticket_quota_holds_inside_the_capacity(make_event, register):
    event = make_event(
        capacity=3,
        tickets=[
            TicketTypeData(slug="student", name_en="Student", quota=1),
            TicketTypeData(slug="general", name_en="General"),
        ],
    )
    first = register(event, 1, ticket_type="student")
    second = register(event, 2, ticket_type="student")
    third = register(event, 3, ticket_type="general")
    assert (first.status, second.status, third.status) == ("confirmed", "waitlisted", "confirmed")
    _recount(event.id)


def test_paid_ticket_holds_the_place_awaiting_payment(app, make_event, register):
    event = make_event(tickets=[TicketTypeData(slug="paid", name_en="Paid", price_minor=3000)])
    registration = register(event, 1)
    assert registration.status == "awaiting_payment"
    assert registration.price_minor == 3000 and registration.currency == "JPY"
    expected = utcnow() + timedelta(minutes=app.config["PAYMENT_HOLD_MINUTES"])
    assert abs((registration.hold_expires_at - expected).total_seconds()) < 60
    _recount(event.id)


def test_same_email_twice_is_refused(make_event, register):
    event = make_event()
    register(event, 1)
    with pytest.raises(Conflict):
        register(event, 2, email="GUEST1@example.com")


def test_duplicate_email_is_refused_by_the_database_itself(make_event, register):
    event = make_event()
    first = register(event, 1)
    clone = Registration(
        event_id=event.id,
        ticket_type_id=first.ticket_type_id,
        name="Clone",
        email="guest1@example.com",
        status="waitlisted",
        ticket_code="another-code",
        manage_nonce="n",
    )
    db.session.add(clone)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_cancelled_registration_does_not_block_registering_again(make_event, register):
    event = make_event()
    first = register(event, 1)
    services.cancel_registration(first.id)
    again = register(event, 1)
    assert again.status == "confirmed"


def test_cancelling_frees_the_place_and_promotes_the_first_waiting(make_event, register, mailbox):
    event = make_event(capacity=1)
    holder = register(event, 1)
    first_waiting = register(event, 2)
    second_waiting = register(event, 3)
    mailbox.clear()
    services.cancel_registration(holder.id)
    assert _status(holder) == "cancelled"
    assert _status(first_waiting) == "confirmed"
    assert _status(second_waiting) == "waitlisted"
    subjects = {m["To"]: m["Subject"] for m in mailbox.messages}
    assert subjects["guest2@example.com"].startswith("A place came free")
    assert subjects["guest1@example.com"].startswith("Your registration is cancelled")
    _recount(event.id)


def test_leaving_the_waiting_list_keeps_the_order_of_the_others(make_event, register):
    event = make_event(capacity=1)
    holder = register(event, 1)
    leaving = register(event, 2)
    staying = register(event, 3)
    services.cancel_registration(leaving.id)
    services.cancel_registration(holder.id)
    assert _status(staying) == "confirmed"
    _recount(event.id)


def test_a_capacity_increase_promotes_from_the_waiting_list(make_event, register, organiser):
    from dataclasses import replace

    event = make_event(capacity=1)
    register(event, 1)
    waiting = [register(event, n) for n in (2, 3, 4)]
    data = services.event_data(event)
    services.update_event(event, replace(data, capacity=3))
    assert [_status(r) for r in waiting] == ["confirmed", "confirmed", "waitlisted"]
    _recount(event.id)


def test_capacity_cannot_drop_below_the_places_taken(make_event, register):
    from dataclasses import replace

    event = make_event(capacity=3)
    register(event, 1)
    register(event, 2)
    with pytest.raises(DomainError) as refused:
        services.update_event(event, replace(services.event_data(event), capacity=1))
    assert refused.value.field == "capacity"
    assert db.session.get(Event, event.id, populate_existing=True).capacity == 3


def test_an_expired_payment_hold_releases_the_place_and_promotes(app, make_event, register):
    event = make_event(
        capacity=1, tickets=[TicketTypeData(slug="paid", name_en="Paid", price_minor=2000)]
    )
    holder = register(event, 1)
    waiting = register(event, 2)
    assert services.expire_holds_and_offers() == 0
    later = utcnow() + timedelta(minutes=app.config["PAYMENT_HOLD_MINUTES"] + 1)
    assert services.expire_holds_and_offers(later) == 1
    assert _status(holder) == "expired"
    # A paid ticket is offered to the next person, for a limited time.
    promoted = db.session.get(Registration, waiting.id, populate_existing=True)
    assert promoted.status == "offered"
    assert promoted.offer_expires_at is not None
    assert services.expire_holds_and_offers(later) == 0  # running again changes nothing
    _recount(event.id)


def test_an_offer_not_taken_in_time_passes_to_the_next(app, make_event, register, mailbox):
    event = make_event(
        capacity=1, tickets=[TicketTypeData(slug="paid", name_en="Paid", price_minor=2000)]
    )
    holder = register(event, 1)
    second = register(event, 2)
    third = register(event, 3)
    services.cancel_registration(holder.id)
    assert _status(second) == "offered"
    offer_end = db.session.get(Registration, second.id).offer_expires_at
    assert services.expire_holds_and_offers(offer_end - timedelta(seconds=1)) == 0
    assert services.expire_holds_and_offers(offer_end) == 1
    assert _status(second) == "expired"
    assert _status(third) == "offered"
    assert any(m["Subject"].startswith("Your offer has expired") for m in mailbox.to("guest2@"))
    _recount(event.id)


def test_registration_window_edges_in_tokyo(make_event, register):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    tokyo = ZoneInfo("Asia/Tokyo")
    opens = datetime(2030, 4, 1, 10, 0, tzinfo=tokyo)
    closes = datetime(
        2030, 4, 10, 0, 0, tzinfo=tokyo
    )  # midnight in Tokyo, 15:00 UTC the day before
    with time_machine.travel(datetime(2030, 3, 1, tzinfo=tokyo), tick=False):
        event = make_event(
            starts_at=datetime(2030, 4, 20, 19, tzinfo=tokyo),
            ends_at=datetime(2030, 4, 20, 21, tzinfo=tokyo),
            registration_opens_at=opens,
            registration_closes_at=closes,
        )
    with (
        time_machine.travel(opens - timedelta(seconds=1), tick=False),
        pytest.raises(RegistrationClosed),
    ):
        register(event, 1)
    with time_machine.travel(opens, tick=False):
        assert register(event, 2).status == "confirmed"
    with time_machine.travel(closes - timedelta(seconds=1), tick=False):
        assert register(event, 3).status == "confirmed"
    with time_machine.travel(closes, tick=False), pytest.raises(RegistrationClosed):
        register(event, 4)


def test_registration_is_refused_for_cancelled_draft_and_unknown_events(make_event, register):
    draft = make_event(publish=False)
    with pytest.raises(NotFound):
        register(draft, 1)
    cancelled = make_event()
    services.cancel_event(cancelled)
    with pytest.raises(RegistrationClosed):
        register(cancelled, 1)
    with pytest.raises(NotFound):
        services.register_for_event("no-such-event", name="A", email="a@example.com")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"email": "not-an-address"}, "email"),
        ({"ticket_type": "no-such-ticket"}, "ticket_type"),
        ({"answers": {}}, "answers.QUESTION"),
        ({"answers": {"QUESTION": "not-an-option"}}, "answers.QUESTION"),
        ({"answers": {"99999": "x"}}, "answers"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(make_event, register, changes, field):
    event = make_event(
        questions=[
            QuestionData(
                kind="single_choice",
                label_en="Diet",
                required=True,
                options=[{"value": "veg", "en": "Vegetarian"}, {"value": "any", "en": "Any"}],
            )
        ]
    )
    question_id = str(event.questions[0].id)
    changes = {
        key: (
            {k.replace("QUESTION", question_id): v for k, v in value.items()}
            if isinstance(value, dict)
            else value
        )
        for key, value in changes.items()
    }
    values = {"answers": {question_id: "veg"}, **changes}
    with pytest.raises(DomainError) as refused:
        register(event, 1, **values)
    assert refused.value.field == field.replace("QUESTION", question_id)
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0
    assert db.session.get(Event, event.id, populate_existing=True).places_taken == 0


def test_answers_are_stored_with_the_registration(make_event, register):
    event = make_event(
        questions=[
            QuestionData(kind="short_text", label_en="Company"),
            QuestionData(
                kind="multiple_choice",
                label_en="Topics",
                options=[{"value": "ai", "en": "AI"}, {"value": "web", "en": "Web"}],
            ),
        ]
    )
    company, topics = event.questions
    registration = register(
        event, 1, answers={str(company.id): "ACME", str(topics.id): ["ai", "web"]}
    )
    stored = {a.question_id: a.value for a in db.session.get(Registration, registration.id).answers}
    assert stored == {company.id: "ACME", topics.id: '["ai", "web"]'}


def test_members_only_tickets_need_a_signed_in_member(app, make_event, register, make_user):
    event = make_event(
        tickets=[TicketTypeData(slug="members", name_en="Members", members_only=True)]
    )
    member = make_user(email="guest2@example.com")
    with pytest.raises(DomainError) as refused:
        register(event, 1)
    assert refused.value.field == "ticket_type"
    assert "/join" in str(refused.value)  # the message says where to become a member
    membership_check.register(app, "test", lambda user, benefit: user.id == member.id)
    # The member's address typed by a guest gives nothing; the member signed in does.
    with pytest.raises(DomainError):
        register(event, 2)
    assert register(event, 2, user=member).status == "confirmed"


def test_members_pay_the_member_price(app, make_event, register, make_user):
    event = make_event(
        tickets=[
            TicketTypeData(
                slug="standard", name_en="Standard", price_minor=3000, member_price_minor=2000
            )
        ]
    )
    member = make_user(email="guest1@example.com")
    membership_check.register(app, "test", lambda user, benefit: user.id == member.id)
    assert register(event, 1, user=member).price_minor == 2000
    assert register(event, 2).price_minor == 3000


def test_cancelling_after_the_deadline_is_refused_but_leaving_the_waitlist_is_not(
    make_event, register
):
    event = make_event(capacity=1, cancel_deadline_hours=48)
    holder = register(event, 1)
    waiting = register(event, 2)
    with time_machine.travel(event.starts_at - timedelta(hours=47), tick=False):
        with pytest.raises(DomainError):
            services.cancel_registration(holder.id)
        services.cancel_registration(waiting.id)
    assert _status(holder) == "confirmed"
    assert _status(waiting) == "cancelled"
    # Organisers may still cancel for the person.
    with time_machine.travel(event.starts_at - timedelta(hours=47), tick=False):
        services.cancel_registration(holder.id, by_organiser=True)
    assert _status(holder) == "cancelled"


def test_promote_by_hand_makes_room_when_full(make_event, register):
    event = make_event(capacity=1)
    register(event, 1)
    first = register(event, 2)
    chosen = register(event, 3)
    services.promote_by_hand(chosen.id)
    assert _status(chosen) == "confirmed"
    assert _status(first) == "waitlisted"
    assert db.session.get(Event, event.id, populate_existing=True).capacity == 2
    _recount(event.id)


def test_reminders_are_sent_once(app, make_event, register, mailbox):
    event = make_event()
    register(event, 1)
    waiting_event = make_event(capacity=0)
    register(waiting_event, 2)
    mailbox.clear()
    too_early = event.starts_at - timedelta(hours=app.config["REMINDER_HOURS"], minutes=5)
    assert services.send_reminders(too_early) == 0
    due = event.starts_at - timedelta(hours=app.config["REMINDER_HOURS"] - 1)
    assert services.send_reminders(due) == 1
    assert services.send_reminders(due) == 0
    assert services.send_reminders(due + timedelta(minutes=10)) == 0
    reminders = [m for m in mailbox.messages if m["Subject"].startswith("Reminder")]
    assert [m["To"] for m in reminders] == ["guest1@example.com"]
    assert "/registrations/" in reminders[0].get_body(("plain",)).get_content()


def test_send_reminders_command_is_cron_safe(app, runner, make_event, register, mailbox):
    event = make_event()
    register(event, 1)
    mailbox.clear()
    with time_machine.travel(event.starts_at - timedelta(hours=2), tick=False):
        first = runner.invoke(args=["events", "send-reminders"])
        second = runner.invoke(args=["events", "send-reminders"])
    assert "Reminders sent: 1" in first.output
    assert "Reminders sent: 0" in second.output
    assert len(mailbox.to("guest1@example.com")) == 1


def test_check_in_twice_says_so(make_event, register):
    event = make_event()
    registration = register(event, 1)
    checked, before = services.check_in(event, registration.ticket_code)
    assert before is None and checked.checked_in_at is not None
    _, before = services.check_in(event, registration.ticket_code)
    assert before == checked.checked_in_at
    with pytest.raises(NotFound):
        services.check_in(event, "no-such-code")


def test_manage_token_works_only_for_its_registration(make_event, register):
    event = make_event()
    first = register(event, 1)
    second = register(event, 2)
    token = services.manage_token(first)
    assert services.find_registration_by_token(first.id, token).id == first.id
    assert services.find_registration_by_token(second.id, token) is None
    services.rotate_manage_token(first)
    assert services.find_registration_by_token(first.id, token) is None


def test_illegal_status_moves_are_refused(make_event, register):
    from community.events.models import IllegalTransition

    event = make_event()
    registration = register(event, 1)
    services.cancel_registration(registration.id)
    row = db.session.get(Registration, registration.id)
    with pytest.raises(IllegalTransition):
        row.transition("confirmed", utcnow())


def test_account_deletion_cancels_and_anonymises_the_persons_registrations(
    client, make_event, register, make_user, login
):
    from tests.conftest import PASSWORD, submit

    user = make_user(email="leaving@example.com")
    event = make_event(capacity=1)
    mine = register(event, 1, email="leaving@example.com", user=user)
    waiting = register(event, 2)
    login(user)
    exported = client.get("/account/export.json").get_json()
    assert [r["event"] for r in exported["registrations"]] == [event.slug]
    submit(client, "/account/delete", {"password": PASSWORD, "confirm": "y"})
    row = db.session.get(Registration, mine.id, populate_existing=True)
    assert row.status == "cancelled"
    assert (row.name, row.user_id) == ("", None)
    assert row.email == f"deleted-{row.id}@deleted.invalid"
    assert _status(waiting) == "confirmed"


def test_check_in_with_an_unprintable_code_is_simply_not_found(make_event, register):
    event = make_event()
    register(event, 1)
    for code in ("abc\x00def", "\x1b[2J", "x" * 500):
        with pytest.raises(NotFound):
            services.check_in(event, code)


def test_an_event_cancelled_between_reading_it_and_locking_it_takes_no_registration(
    app, make_event, register
):
    """The registration reads its event, then takes the event's lock: an organiser who cancels
    in between (here: while a price rule is asked, from another connection) wins, and nothing
    of the registration is written."""
    event = make_event(capacity=5)
    event_id = event.id

    def cancel_meanwhile(question):
        with db.engine.begin() as other:
            other.execute(
                Event.__table__.update()
                .where(Event.__table__.c.id == event_id)
                .values(status="cancelled")
            )
        return None

    price_rule.register(app, "cancels-meanwhile", cancel_meanwhile)
    with pytest.raises(RegistrationClosed):
        register(event, 1)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0
    stored = db.session.get(Event, event_id, populate_existing=True)
    assert (stored.status, stored.places_taken) == ("cancelled", 0)


def test_the_worker_reads_a_rounds_registrations_at_once_and_sends_each_its_own_mail(
    app, make_event, register, mailbox
):
    """The outbox's read-ahead (notify.read_ahead): the registrations of a round's notices, their
    event and ticket types are read in one query, not one query per e-mail."""
    app.config["MAIL_DELIVERY"] = "worker"  # the notices wait in the outbox for the worker
    event = make_event(capacity=3)
    for number in range(1, 9):
        register(event, number)
    db.session.expire_all()
    reads: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if "FROM registrations" in statement and statement.lstrip().startswith("SELECT"):
            reads.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", note)
    try:
        assert deliver_due() == 8
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", note)
    assert len(reads) == 1
    for number in range(1, 9):
        assert len(mailbox.to(f"guest{number}@example.com")) == 1
    first, last = (mailbox.last_to(f"guest{n}@example.com")["Subject"] for n in (1, 8))
    assert "waiting list" not in first and "waiting list" in last  # each person's own news
