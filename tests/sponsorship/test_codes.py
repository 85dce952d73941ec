"""Complimentary ticket codes: an active (paid, within its dates) sponsorship gets its tier's
number of codes for every published event taking place during it, once; a code used when
registering (the service, the event page's form, the API) gives a free place counted against the
event's capacity and the ticket type's quota, once, only for its event and only while the
sponsorship is active; a registration that ends gives its code back; two people using one code at
the same moment cannot both get a place; the partner's dashboard lists the codes and who used
them."""

from __future__ import annotations

import html
import re
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select, update

from community.core.db import db
from community.core.errors import DomainError
from community.events import services as events
from community.events.models import Event, Registration, TicketType
from community.events.services import TicketTypeData
from community.payments import services as payments
from community.sponsorship import codes, years
from community.sponsorship.models import ComplimentaryCode, Sponsorship
from tests.conftest import PASSWORD, IsolatedClient, submit
from tests.sponsorship.conftest import contact_of

TOKYO = ZoneInfo("Asia/Tokyo")
# In the 2030 sponsorship year (April 2030 to March 2031).
MOMENT = datetime(2030, 5, 10, 10, 0, tzinfo=TOKYO)
AMOUNT = 110_000  # the default tier: 100,000 yen and 10 % tax
CODE = re.compile(r"SP-[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{10}")

USED = "This code has already been used."
OTHER_EVENT = "This code is for another event."
ENDED = "This code's sponsorship has ended: the code can no longer be used."


@pytest.fixture
def frozen():
    with time_machine.travel(MOMENT, tick=False) as traveller:
        yield traveller


@pytest.fixture
def sponsor(frozen, make_tier, make_partner, buy):
    """sponsor(tickets=2, paid=True, year=2030) → a partner's sponsorship (paid by a recorded
    bank transfer unless paid=False)."""

    def make(*, tickets: int = 2, paid: bool = True, year: int = 2030, partner=None):
        tier = make_tier(complimentary_tickets=tickets, places=None)
        partner = partner or make_partner()
        sponsorship = buy(partner, tier, year=year)
        if paid:
            payments.record_bank_transfer(
                sponsorship.order_id,
                amount_minor=AMOUNT,
                received_on=years.today(),
                recorded_by_id=None,
            )
        db.session.rollback()
        return db.session.get(Sponsorship, sponsorship.id, populate_existing=True)

    return make


@pytest.fixture
def paid_event(make_event):
    """paid_event(capacity=10, quota=None, **fields): a published event with a 3,000 yen ticket."""

    def make(*, capacity: int = 10, quota: int | None = None, **fields):
        return make_event(
            capacity=capacity,
            tickets=[TicketTypeData(slug="paid", name_en="Paid", price_minor=3000, quota=quota)],
            **fields,
        )

    return make


def codes_of(sponsorship, event=None) -> list[ComplimentaryCode]:
    # A registration's commit keeps what the session holds (expire_on_commit=False): every read
    # here is a fresh one.
    db.session.rollback()
    query = select(ComplimentaryCode).where(ComplimentaryCode.sponsorship_id == sponsorship.id)
    if event is not None:
        query = query.where(ComplimentaryCode.event_id == event.id)
    query = query.order_by(ComplimentaryCode.event_id, ComplimentaryCode.number)
    return list(db.session.scalars(query.execution_options(populate_existing=True)))


def code_row(code: str) -> ComplimentaryCode:
    db.session.rollback()
    query = select(ComplimentaryCode).where(ComplimentaryCode.code == code)
    return db.session.scalar(query.execution_options(populate_existing=True))


def counts(event) -> tuple[int, int, int]:
    """(the event's places taken, its ticket type's taken, registrations holding a place)."""
    db.session.rollback()
    stored = db.session.get(Event, event.id, populate_existing=True)
    ticket = db.session.scalar(
        select(TicketType)
        .where(TicketType.event_id == event.id)
        .execution_options(populate_existing=True)
    )
    holding = db.session.scalar(
        select(func.count())
        .select_from(Registration)
        .where(
            Registration.event_id == event.id,
            Registration.status.in_(("confirmed", "awaiting_payment", "offered")),
        )
    )
    return stored.places_taken, ticket.taken, holding


def refused(error: pytest.ExceptionInfo, message: str) -> None:
    assert error.value.field == "voucher"
    assert str(error.value) == message


def attempt(app, event, number: int, code: str) -> Registration:
    """Register with `code` as a page would: in an app context (a database session) of its own,
    so that a refusal leaves nothing in the test's session."""
    slug = event.slug
    with app.app_context():
        try:
            return events.register_for_event(
                slug,
                name=f"Guest {number}",
                email=f"guest{number}@example.com",
                ticket_type="paid",
                language="en",
                voucher=code,
            )
        finally:
            db.session.remove()


def signed_in(app, user):
    app.test_client_class = IsolatedClient
    browser = app.test_client()
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = submit(browser, "/account/login", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    return browser


# --- issuing -------------------------------------------------------------------------------------


def test_an_active_sponsorship_gets_its_tiers_number_of_codes_for_each_published_event_once(
    sponsor, make_event
):
    sponsorship = sponsor(tickets=3)
    soon = make_event(days=10)
    later = make_event(days=200)
    draft = make_event(days=20, publish=False)
    after_the_end = make_event(days=400)  # June 2031: the sponsorship ends in March

    assert codes.issue_codes() == 6
    assert codes.issue_codes() == 0

    issued = codes_of(sponsorship)
    assert {(row.event_id, row.number) for row in issued} == {
        (event.id, number) for event in (soon, later) for number in (1, 2, 3)
    }
    assert all(CODE.fullmatch(row.code) for row in issued)
    assert len({row.code for row in issued}) == 6
    assert all(row.registration_id is None and row.used_at is None for row in issued)
    assert codes_of(sponsorship, draft) == []
    assert codes_of(sponsorship, after_the_end) == []
    # An event published later gets its codes from the next run.
    events.publish_event(draft)
    assert codes.issue_codes() == 3
    assert len(codes_of(sponsorship, draft)) == 3
    assert codes.issue_codes(sponsorship.partner_id) == 0


def test_each_sponsorship_gets_its_own_codes(sponsor, make_event):
    first, second = sponsor(tickets=1), sponsor(tickets=2)
    event = make_event()
    assert codes.issue_codes(first.partner_id) == 1
    assert codes.issue_codes() == 2
    assert len(codes_of(first, event)) == 1
    assert len(codes_of(second, event)) == 2


def test_no_codes_for_an_unpaid_invoice(sponsor, make_event):
    sponsorship = sponsor(paid=False)
    make_event()
    assert sponsorship.status == "invoiced"
    assert codes.issue_codes() == 0
    assert codes_of(sponsorship) == []


def test_no_codes_for_a_tier_without_complimentary_tickets(sponsor, make_event):
    sponsorship = sponsor(tickets=0)
    make_event()
    assert codes.issue_codes() == 0
    assert codes_of(sponsorship) == []


def test_no_codes_for_events_after_the_sponsorship_ends(frozen, sponsor, make_event):
    sponsorship = sponsor()
    last_evening = make_event(
        starts_at=datetime(2031, 3, 31, 19, tzinfo=TOKYO),
        ends_at=datetime(2031, 3, 31, 21, tzinfo=TOKYO),
    )
    next_morning = make_event(
        starts_at=datetime(2031, 4, 1, 0, 30, tzinfo=TOKYO),  # 15:30 UTC on 31 March
        ends_at=datetime(2031, 4, 1, 2, tzinfo=TOKYO),
    )
    assert codes.issue_codes() == 2
    assert len(codes_of(sponsorship, last_evening)) == 2
    assert codes_of(sponsorship, next_morning) == []


def test_a_sponsorship_for_next_year_gets_codes_only_once_it_has_started(
    frozen, sponsor, make_event
):
    sponsorship = sponsor(year=2031)
    event = make_event(
        starts_at=datetime(2031, 5, 1, 19, tzinfo=TOKYO),
        ends_at=datetime(2031, 5, 1, 21, tzinfo=TOKYO),
    )
    assert codes.issue_codes() == 0
    frozen.move_to(datetime(2031, 4, 1, 9, tzinfo=TOKYO))
    assert codes.issue_codes() == 2
    assert len(codes_of(sponsorship, event)) == 2


# --- using a code --------------------------------------------------------------------------------


def test_a_code_gives_a_free_confirmed_place_counted_against_capacity_and_quota(
    sponsor, paid_event, register
):
    sponsorship = sponsor()
    event = paid_event(capacity=3, quota=2)
    codes.issue_codes()
    code = codes_of(sponsorship, event)[0].code

    registration = register(event, 1, ticket_type="paid", voucher=code)

    assert registration.status == "confirmed"
    assert registration.price_minor == 0
    assert registration.voucher_kind == "sponsorship"
    assert counts(event) == (1, 1, 1)
    used = code_row(code)
    assert used.registration_id == registration.id
    assert used.used_at is not None
    # Without a code the same ticket costs its price.
    assert register(event, 2, ticket_type="paid").status == "awaiting_payment"
    assert counts(event) == (2, 2, 2)


def test_a_code_is_read_as_typed_in_lower_case_with_spaces(sponsor, paid_event, register):
    sponsorship = sponsor()
    event = paid_event()
    codes.issue_codes()
    code = codes_of(sponsorship, event)[0].code
    registration = register(event, 1, ticket_type="paid", voucher=f"  {code.lower()} ")
    assert (registration.status, registration.price_minor) == ("confirmed", 0)
    assert code_row(code).registration_id == registration.id


def test_a_code_used_twice_is_refused_the_second_time(app, sponsor, paid_event, register):
    sponsorship = sponsor()
    event = paid_event()
    codes.issue_codes()
    code = codes_of(sponsorship, event)[0].code
    first = register(event, 1, ticket_type="paid", voucher=code)

    with pytest.raises(DomainError) as error:
        attempt(app, event, 2, code)

    refused(error, USED)
    assert counts(event) == (1, 1, 1)
    assert code_row(code).registration_id == first.id
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 1


def test_a_code_for_another_event_is_refused(app, sponsor, paid_event, register):
    sponsorship = sponsor()
    event, other = paid_event(), paid_event()
    codes.issue_codes()
    code = codes_of(sponsorship, event)[0].code

    with pytest.raises(DomainError) as error:
        attempt(app, other, 1, code)

    refused(error, OTHER_EVENT)
    assert counts(other) == (0, 0, 0)
    assert code_row(code).registration_id is None
    assert register(event, 1, ticket_type="paid", voucher=code).status == "confirmed"


def test_a_code_is_refused_once_the_sponsorship_has_ended(
    app, frozen, sponsor, paid_event, register
):
    sponsorship = sponsor()
    # A night event on the sponsorship's last day, whose registration stays open until its end.
    event = paid_event(
        starts_at=datetime(2031, 3, 31, 22, tzinfo=TOKYO),
        ends_at=datetime(2031, 4, 1, 6, tzinfo=TOKYO),
        registration_closes_at=datetime(2031, 4, 1, 5, tzinfo=TOKYO),
    )
    codes.issue_codes()
    first, second = (row.code for row in codes_of(sponsorship, event))

    frozen.move_to(datetime(2031, 3, 31, 23, 59, tzinfo=TOKYO))
    assert register(event, 1, ticket_type="paid", voucher=first).status == "confirmed"
    frozen.move_to(datetime(2031, 4, 1, 0, 1, tzinfo=TOKYO))
    with pytest.raises(DomainError) as error:
        attempt(app, event, 2, second)

    refused(error, ENDED)
    assert code_row(second).registration_id is None
    assert counts(event) == (1, 1, 1)


def test_a_code_of_a_cancelled_sponsorship_is_refused(app, sponsor, paid_event):
    """A full refund cancels a sponsorship (test_purchase.py): its codes can no longer be used."""
    sponsorship = sponsor()
    event = paid_event()
    codes.issue_codes()
    code = codes_of(sponsorship, event)[0].code
    db.session.rollback()
    with db.session.begin():
        db.session.execute(
            update(Sponsorship).where(Sponsorship.id == sponsorship.id).values(status="cancelled")
        )
    with pytest.raises(DomainError) as error:
        attempt(app, event, 1, code)
    refused(error, ENDED)
    assert counts(event) == (0, 0, 0)


def test_a_refused_code_leaves_the_session_fit_for_the_next_registration(
    sponsor, paid_event, register
):
    # One session, as a script or a worker would use: the refused registration's row is rolled
    # back, and must not stay in the session (on SQLite the next INSERT reuses its id).
    sponsorship = sponsor()
    event, other = paid_event(), paid_event()
    codes.issue_codes()
    code = codes_of(sponsorship, event)[0].code
    with pytest.raises(DomainError) as error:  # kept, as a caller that reports it would
        register(other, 1, ticket_type="paid", voucher=code)
    assert register(event, 1, ticket_type="paid", voucher=code).status == "confirmed"
    refused(error, OTHER_EVENT)


def test_cancelling_the_registration_gives_the_code_back(sponsor, paid_event, register):
    sponsorship = sponsor()
    event = paid_event(capacity=1)
    codes.issue_codes()
    code = codes_of(sponsorship, event)[0].code
    first = register(event, 1, ticket_type="paid", voucher=code)

    events.cancel_registration(first.id)

    back = code_row(code)
    assert (back.registration_id, back.used_at) == (None, None)
    assert counts(event) == (0, 0, 0)
    again = register(event, 2, ticket_type="paid", voucher=code)
    assert (again.status, again.price_minor) == ("confirmed", 0)
    assert code_row(code).registration_id == again.id
    assert counts(event) == (1, 1, 1)


def test_a_code_on_a_full_event_waits_and_gets_the_next_place_free(sponsor, paid_event, register):
    sponsorship = sponsor()
    event = paid_event(capacity=1)
    codes.issue_codes()
    code = codes_of(sponsorship, event)[0].code
    holder = register(event, 1, ticket_type="paid")

    waiting = register(event, 2, ticket_type="paid", voucher=code)
    assert waiting.status == "waitlisted"
    assert counts(event) == (1, 1, 1)

    events.cancel_registration(holder.id)
    db.session.rollback()
    promoted = db.session.get(Registration, waiting.id)
    assert (promoted.status, promoted.price_minor) == ("confirmed", 0)
    assert code_row(code).registration_id == waiting.id
    assert counts(event) == (1, 1, 1)


def test_the_event_pages_form_takes_a_code_and_refuses_it_the_second_time(
    sponsor, paid_event, client
):
    sponsorship = sponsor()
    event = paid_event()
    codes.issue_codes()
    code = codes_of(sponsorship, event)[0].code
    page = f"/events/{event.slug}"
    form = {"name": "Hana Employee", "email": "hana@example.com", "ticket_type": "paid"}

    response = submit(client, page, {**form, "voucher": code}, post_path=f"{page}/register")

    assert response.status_code == 302, response.get_data(as_text=True)
    registration = db.session.scalar(select(Registration))
    assert (registration.status, registration.price_minor) == ("confirmed", 0)
    assert code_row(code).registration_id == registration.id

    again = submit(
        client,
        page,
        {**form, "email": "ken@example.com", "voucher": code},
        post_path=f"{page}/register",
    )
    assert again.status_code == 422
    shown = html.unescape(again.get_data(as_text=True))
    assert re.search(r'id="voucher-error">' + re.escape(USED), shown)
    assert counts(event) == (1, 1, 1)


def test_the_api_takes_a_code_and_refuses_it_the_second_time_with_422_on_voucher(
    sponsor, paid_event, client
):
    sponsorship = sponsor()
    event = paid_event()
    codes.issue_codes()
    code = codes_of(sponsorship, event)[0].code
    path = f"/api/v1/events/{event.slug}/registrations"
    body = {"name": "Hana", "email": "hana@example.com", "ticket_type": "paid", "voucher": code}

    response = client.post(path, json=body)

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["status"] == "confirmed"
    again = client.post(path, json={**body, "email": "ken@example.com"})
    assert again.status_code == 422
    assert set(again.get_json()["error"]["fields"]) == {"voucher"}
    assert USED in str(again.get_json()["error"]["fields"]["voucher"])
    assert counts(event) == (1, 1, 1)


def test_two_registrations_with_the_same_code_at_the_same_moment_only_one_gets_it(
    app, sponsor, paid_event, writers_meet
):
    sponsorship = sponsor()
    event = paid_event()
    codes.issue_codes()
    code = codes_of(sponsorship, event)[0].code
    slug = event.slug
    db.session.commit()
    writers_meet(2)  # both have read the event and the code before either writes
    outcomes: list[str] = []

    def person(number: int) -> None:
        with app.app_context():
            try:
                events.register_for_event(
                    slug,
                    name=f"Person {number}",
                    email=f"rush{number}@example.com",
                    ticket_type="paid",
                    language="en",
                    voucher=code,
                )
            except DomainError as error:
                outcomes.append(f"{error.field}: {error}")
            else:
                outcomes.append("registered")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=person, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == sorted(["registered", f"voucher: {USED}"])
    assert counts(event) == (1, 1, 1)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 1
    assert code_row(code).registration_id is not None


# --- the partner's dashboard ---------------------------------------------------------------------


def test_the_partners_dashboard_lists_its_codes_and_who_used_them(
    app, sponsor, paid_event, register
):
    sponsorship = sponsor(tickets=2)
    event = paid_event(title_en="Spring Meetup")
    codes.issue_codes()
    used, unused = codes_of(sponsorship, event)
    register(event, 1, name="Hana Employee", ticket_type="paid", voucher=used.code)
    browser = signed_in(app, contact_of(sponsorship.partner))

    page = browser.get(f"/partners/companies/{sponsorship.partner_id}")

    assert page.status_code == 200
    shown = html.unescape(page.get_data(as_text=True))
    assert "Spring Meetup" in shown
    assert used.code in shown
    assert unused.code in shown
    assert "Hana Employee" in shown
    assert "Not used yet" in shown


def test_looking_at_the_dashboard_issues_the_codes_owed(app, sponsor, paid_event):
    # codes.py: "Codes are issued by a timed job (and when the partner's page is looked at)".
    sponsorship = sponsor(tickets=1)
    event = paid_event()
    browser = signed_in(app, contact_of(sponsorship.partner))
    page = browser.get(f"/partners/companies/{sponsorship.partner_id}")
    assert page.status_code == 200
    [code] = codes_of(sponsorship, event)
    assert code.code in page.get_data(as_text=True)


def test_another_companys_codes_are_not_shown_to_a_stranger(app, sponsor, paid_event, make_partner):
    sponsorship = sponsor()
    paid_event()
    codes.issue_codes()
    stranger = signed_in(app, contact_of(make_partner()))
    page = stranger.get(f"/partners/companies/{sponsorship.partner_id}")
    assert page.status_code == 403
    for row in codes_of(sponsorship):
        assert row.code not in page.get_data(as_text=True)


def test_the_dashboard_lists_codes_only_for_events_still_to_come(app, frozen, sponsor, paid_event):
    # codes_by_event: "The partner's codes for events still to come".
    sponsorship = sponsor(tickets=1)
    over = paid_event(days=10, title_en="Over Already")
    coming = paid_event(days=40, title_en="Still Coming")
    codes.issue_codes()
    [past_code] = codes_of(sponsorship, over)
    [future_code] = codes_of(sponsorship, coming)

    frozen.move_to(over.ends_at + timedelta(days=1))
    browser = signed_in(app, contact_of(sponsorship.partner))
    shown = browser.get(f"/partners/companies/{sponsorship.partner_id}").get_data(as_text=True)

    assert future_code.code in shown
    assert past_code.code not in shown


def test_the_dashboard_does_not_offer_the_codes_of_a_cancelled_sponsorship(
    app, sponsor, paid_event
):
    # Codes that can no longer be used (ENDED) are not to be handed to employees.
    sponsorship = sponsor(tickets=1)
    event = paid_event()
    codes.issue_codes()
    [code] = codes_of(sponsorship, event)
    db.session.rollback()
    with db.session.begin():
        db.session.execute(
            update(Sponsorship).where(Sponsorship.id == sponsorship.id).values(status="cancelled")
        )
    browser = signed_in(app, contact_of(sponsorship.partner))
    shown = browser.get(f"/partners/companies/{sponsorship.partner_id}").get_data(as_text=True)
    assert code.code not in shown
