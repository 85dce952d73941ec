"""Registering through the JSON API: the same rules as the pages, answered with the statuses of
SPEC.md and errors that name each field, and bad input that changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from community.core.db import db, utcnow
from community.core.errors import Busy
from community.events import services
from community.events.models import Registration
from community.events.offers import VoucherUse, voucher_kind
from community.events.services import QuestionData, TicketTypeData


def _register(client, slug: str, body=None, **kwargs):
    body = {"name": "Hana Guest", "email": "hana@example.com"} if body is None else body
    return client.post(f"/api/v1/events/{slug}/registrations", json=body, **kwargs)


def _registrations() -> int:
    return db.session.scalar(select(func.count()).select_from(Registration))


def test_registration_is_confirmed_with_201_and_its_id(client, make_event):
    event = make_event()
    response = _register(client, event.slug)
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "confirmed"
    assert "checkout_url" not in body
    registration = db.session.get(Registration, body["id"])
    assert (registration.email, registration.status, registration.locale) == (
        "hana@example.com",
        "confirmed",
        "en",
    )


def test_registration_when_full_is_waitlisted(client, make_event):
    event = make_event(capacity=1)
    assert _register(client, event.slug).get_json()["status"] == "confirmed"
    second = _register(client, event.slug, {"name": "Ken", "email": "ken@example.com"})
    assert second.status_code == 201
    assert second.get_json()["status"] == "waitlisted"


def test_paid_ticket_holds_the_place_awaiting_payment_with_a_checkout_url(client, make_event):
    event = make_event(tickets=[TicketTypeData(slug="paid", name_en="Paid", price_minor=2000)])
    response = _register(
        client, event.slug, {"name": "Pay", "email": "pay@example.com", "ticket_type": "paid"}
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "awaiting_payment"
    # No Stripe key in tests: the offline sandbox's test checkout page stands in for Stripe's.
    assert "/payments/sandbox/checkout/cs_sandbox_" in body["checkout_url"]


def test_language_comes_from_the_body_or_else_from_lang(client, make_event):
    event = make_event()
    body = {"name": "A", "email": "a@example.com", "language": "ja"}
    first = _register(client, event.slug, body).get_json()
    second = client.post(
        f"/api/v1/events/{event.slug}/registrations?lang=ja",
        json={"name": "B", "email": "b@example.com"},
    ).get_json()
    assert db.session.get(Registration, first["id"]).locale == "ja"
    assert db.session.get(Registration, second["id"]).locale == "ja"


def test_a_voucher_nobody_gave_is_refused_on_its_field_and_registers_nobody(client, make_event):
    # Until issue 11 the field was accepted and ignored; now a domain must give the code meaning.
    event = make_event()
    body = {"name": "V", "email": "v@example.com", "voucher": "PARTNER-2026"}
    response = _register(client, event.slug, body)
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"voucher"}
    assert _registrations() == 0


class _PartnerSeats:
    """A test domain's vouchers: PARTNER-2026 is a free seat, as often as it is asked."""

    def redeem(self, code, registration):
        return VoucherUse(price_minor=0) if code == "PARTNER-2026" else None

    def release(self, registration):
        pass


def test_a_voucher_a_domain_gave_meaning_lowers_the_price_through_the_api(app, client, make_event):
    voucher_kind.register(app, "partner-seat", _PartnerSeats())
    event = make_event(
        tickets=[TicketTypeData(slug="paid", name_en="Paid", price_minor=3000)],
    )
    body = {"name": "V", "email": "v@example.com", "ticket_type": "paid", "voucher": "PARTNER-2026"}
    response = _register(client, event.slug, body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["status"] == "confirmed"
    assert db.session.scalar(select(Registration.price_minor)) == 0


@pytest.mark.parametrize("email", ["hana@example.com", "Hana@EXAMPLE.com", " HANA@example.com "])
def test_second_registration_with_the_same_email_is_409(client, make_event, email):
    event = make_event()
    assert _register(client, event.slug).status_code == 201
    response = _register(client, event.slug, {"name": "Again", "email": email})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "conflict"
    assert _registrations() == 1


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"email": "a@example.com"}, {"name"}),
        ({"name": "  ", "email": "a@example.com"}, {"name"}),
        ({"name": "x" * 121, "email": "a@example.com"}, {"name"}),
        ({"name": "Tab\tname", "email": "a@example.com"}, {"name"}),
        ({"name": 42, "email": "a@example.com"}, {"name"}),
        ({"name": "A", "email": "not-an-address"}, {"email"}),
        ({"name": "A"}, {"email"}),
        ({"name": "A", "email": ["a@example.com"]}, {"email"}),
        ({}, {"name", "email"}),
        ({"name": "A", "email": "a@example.com", "ticket_type": 3}, {"ticket_type"}),
        ({"name": "A", "email": "a@example.com", "answers": []}, {"answers"}),
        ({"name": "A", "email": "a@example.com", "answers": {"1": {"x": 1}}}, {"answers.1"}),
        ({"name": "A", "email": "a@example.com", "voucher": 100}, {"voucher"}),
        ({"name": "A", "email": "a@example.com", "language": "fr"}, {"language"}),
        (
            {"name": "", "email": "bad", "voucher": [], "answers": 1},
            {"name", "email", "voucher", "answers"},
        ),
    ],
)
def test_invalid_input_is_422_naming_each_field_and_changes_nothing(
    client, make_event, body, fields
):
    event = make_event()
    response = _register(client, event.slug, body)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == fields
    assert all(error["fields"].values())
    assert _registrations() == 0


def test_unknown_ticket_type_is_422_on_ticket_type(client, make_event):
    event = make_event()
    body = {"name": "A", "email": "a@example.com", "ticket_type": "vip"}
    response = _register(client, event.slug, body)
    assert response.status_code == 422
    assert list(response.get_json()["error"]["fields"]) == ["ticket_type"]
    assert _registrations() == 0


def test_missing_required_answer_is_422_naming_the_question(client, make_event):
    event = make_event(
        questions=[QuestionData(kind="short_text", label_en="Company", required=True)]
    )
    question_id = event.questions[0].id
    response = _register(client, event.slug)
    assert response.status_code == 422
    assert list(response.get_json()["error"]["fields"]) == [f"answers.{question_id}"]
    body = {"name": "A", "email": "a@example.com", "answers": {str(question_id): "ACME"}}
    assert _register(client, event.slug, body).status_code == 201


def test_answers_to_unknown_questions_are_422(client, make_event):
    event = make_event()
    body = {"name": "A", "email": "a@example.com", "answers": {"999999": "x"}}
    response = _register(client, event.slug, body)
    assert response.status_code == 422
    assert list(response.get_json()["error"]["fields"]) == ["answers"]


def test_error_messages_are_in_the_language_asked_for(client, make_event):
    event = make_event()
    response = client.post(
        f"/api/v1/events/{event.slug}/registrations?lang=en", json={"email": "a@example.com"}
    )
    assert response.get_json()["error"]["fields"]["name"] == "Enter your name."


@pytest.mark.parametrize("slug", ["no-such-event", "draft-event", "Not A Slug"])
def test_registration_for_an_unknown_or_draft_event_is_404(client, make_event, slug):
    make_event(slug="draft-event", publish=False)
    response = _register(client, slug)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert _registrations() == 0


def test_registration_for_a_cancelled_event_is_410(client, make_event):
    event = make_event()
    services.cancel_event(event)
    response = _register(client, event.slug)
    assert response.status_code == 410
    assert response.get_json()["error"]["code"] == "registration_closed"
    assert _registrations() == 0


def test_registration_after_the_window_closed_is_410(client, make_event):
    event = make_event(registration_closes_at=utcnow() - timedelta(minutes=1))
    response = _register(client, event.slug)
    assert response.status_code == 410
    assert _registrations() == 0


def test_registration_before_the_window_opens_is_410(client, make_event):
    event = make_event(registration_opens_at=utcnow() + timedelta(days=1))
    assert _register(client, event.slug).status_code == 410


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ('{"name": "A", "email": ', "application/json"),
        ("not json at all", "application/json"),
        ("null", "application/json"),
        ('["a@example.com"]', "application/json"),
        ('"a@example.com"', "application/json"),
        ("name=A&email=a%40example.com", "application/x-www-form-urlencoded"),
        ('{"name": "A", "email": "a@example.com"}', "text/plain"),
        ("", None),
        ("[" * 100_000, "application/json"),
    ],
    ids=lambda value: repr(value)[:30],
)
def test_a_body_that_is_not_a_json_object_is_a_json_400(client, make_event, data, content_type):
    event = make_event()
    response = client.post(
        f"/api/v1/events/{event.slug}/registrations", data=data, content_type=content_type
    )
    assert response.status_code == 400
    assert response.mimetype == "application/json"
    assert response.get_json()["error"]["code"] == "bad_request"
    assert _registrations() == 0


def test_busy_database_is_503_with_retry_after(client, make_event, monkeypatch):
    event = make_event()

    def busy(*args, **kwargs):
        raise Busy("We are very busy right now. Please try again in a moment.")

    monkeypatch.setattr(services, "register_for_event", busy)
    response = _register(client, event.slug)
    assert response.status_code == 503
    # Flask-Limiter writes its own Retry-After on this rate-limited route; a value is all we need.
    assert int(response.headers["Retry-After"]) > 0
    assert response.get_json()["error"]["code"] == "busy"


def test_registrations_are_rate_limited_with_a_json_429(make_app, make_event):
    event = make_event()
    limited = make_app(RATELIMIT_REGISTER="2 per minute").test_client()
    for number in range(2):
        body = {"name": "R", "email": f"r{number}@example.com"}
        assert _register(limited, event.slug, body).status_code == 201
    response = _register(limited, event.slug, {"name": "R", "email": "r9@example.com"})
    assert response.status_code == 429
    assert response.mimetype == "application/json"
    assert "error" in response.get_json()


def test_the_api_needs_no_csrf_token_and_ignores_the_session(client, make_event, make_user, login):
    event = make_event()
    member = make_user(email="member@example.com")
    login(member)
    response = _register(client, event.slug, {"name": "Someone", "email": "other@example.com"})
    assert response.status_code == 201
    registration = db.session.get(Registration, response.get_json()["id"])
    assert registration.user_id is None
