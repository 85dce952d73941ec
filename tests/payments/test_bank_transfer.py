"""Bank transfers against an order's invoice: an administrator records one on the order's page,
and it settles the order as a paid checkout would (its purpose's fulfilment runs), once, for
exactly the order's amount; the record says who made it and when."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from community.core.dates import zone
from community.core.db import db, utcnow
from community.core.errors import Conflict, DomainError
from community.events.models import Registration
from community.payments import services as payments
from community.payments.fulfilment import Fulfilment, fulfilment_handler
from community.payments.models import Order, Payment
from community.payments.providers import BANK_TRANSFER
from tests.conftest import csrf_token_from, submit


@pytest.fixture
def admin(make_user, login):
    user = make_user(role="admin", name="Ada Admin", email="ada@example.com")
    login(user)
    return user


def _today() -> str:
    return utcnow().astimezone(zone("Asia/Tokyo")).date().isoformat()


def _page(order) -> str:
    return f"/organiser/orders/{order.id}/bank-transfer"


def _order_of(registration) -> Order:
    db.session.rollback()
    return db.session.scalar(
        select(Order).where(Order.purpose == "ticket", Order.reference == str(registration.id))
    )


def _record(client, order, amount="3,000", day=None, reference="ヤマダ タロウ"):
    data = {"amount": amount, "received_on": day or _today(), "reference": reference}
    return submit(client, _page(order), data)


def test_a_bank_transfer_fulfils_the_ticket_and_closes_its_card_checkout(
    client, admin, awaiting_payment, fake_stripe, mailbox
):
    _, registration, session_id = awaiting_payment(price=3000)
    order = _order_of(registration)
    # The registration points at its order by foreign key.
    assert db.session.get(Registration, registration.id).order_id == order.id
    order_page = client.get(f"/organiser/orders/{order.id}").get_data(as_text=True)
    assert f'href="{_page(order)}"' in order_page

    response = _record(client, order)

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/organiser/orders/{order.id}")
    db.session.rollback()
    order = db.session.get(Order, order.id)
    assert order.status == "paid"
    year = utcnow().astimezone(zone("Asia/Tokyo")).year
    assert order.invoice_number == f"INV-{year}-0001"  # the first invoice of the year
    transfer = next(p for p in order.payments if p.kind == "bank_transfer")
    assert (transfer.provider, transfer.status, transfer.amount_minor) == (
        "bank_transfer",
        "paid",
        3000,
    )
    assert transfer.session_id is None
    assert transfer.received_on.isoformat() == _today()
    assert transfer.transfer_reference == "ヤマダ タロウ"
    assert transfer.recorded_by_id == admin.id
    assert db.session.get(Registration, registration.id).status == "confirmed"
    assert mailbox.last_to(registration.email)["Subject"].startswith("You are registered")
    # The card checkout can no longer take a second payment.
    assert fake_stripe.get(session_id)["status"] == "expired"
    card = next(p for p in order.payments if p.kind == "checkout")
    assert card.status == "expired"
    # The order's page says who recorded it, and when.
    page = client.get(f"/organiser/orders/{order.id}").get_data(as_text=True)
    assert "Recorded by" in page and "Ada Admin" in page
    assert "ヤマダ タロウ" in page
    assert order.invoice_number in page


def test_a_transfer_of_another_amount_is_refused_with_the_amount_due(
    client, admin, awaiting_payment
):
    _, registration, _ = awaiting_payment(price=3000)
    order = _order_of(registration)
    response = _record(client, order, amount="2500")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "This order is for ¥3,000: record a transfer of exactly that amount" in page
    assert _order_of(registration).status == "pending"
    assert db.session.scalar(select(func.count()).where(Payment.kind == "bank_transfer")) == 0


def test_a_second_transfer_for_the_same_order_is_refused(client, admin, awaiting_payment, mailbox):
    _, registration, _ = awaiting_payment(price=3000)
    order = _order_of(registration)
    assert _record(client, order).status_code == 303
    again = _record(client, order)
    assert again.status_code == 409
    assert "This order is already paid: a second payment is not recorded." in again.get_data(
        as_text=True
    )
    db.session.rollback()
    assert db.session.scalar(select(func.count()).where(Payment.kind == "bank_transfer")) == 1
    confirmations = [m for m in mailbox.to(registration.email) if "registered" in m["Subject"]]
    assert len(confirmations) == 1


def test_a_day_still_to_come_is_refused(client, admin, awaiting_payment):
    _, registration, _ = awaiting_payment(price=3000)
    order = _order_of(registration)
    tomorrow = (utcnow().astimezone(zone("Asia/Tokyo")).date() + timedelta(days=1)).isoformat()
    response = _record(client, order, day=tomorrow)
    assert response.status_code == 422
    assert "cannot be later than today" in response.get_data(as_text=True)
    assert _order_of(registration).status == "pending"


@pytest.mark.parametrize(
    ("amount", "day", "message"),
    [
        ("", None, "Give the amount that arrived."),
        ("three thousand", None, "Give an amount such as 1500"),
        ("3000", "yesterday", "Give the day as a date, such as 2026-12-03."),
    ],
    ids=["no-amount", "not-an-amount", "not-a-day"],
)
def test_bad_input_is_refused_on_the_form(client, admin, awaiting_payment, amount, day, message):
    _, registration, _ = awaiting_payment(price=3000)
    order = _order_of(registration)
    response = _record(client, order, amount=amount, day=day)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _order_of(registration).status == "pending"


def test_only_admins_record_transfers(client, make_user, login, organiser, awaiting_payment):
    _, registration, _ = awaiting_payment(price=3000)
    order = _order_of(registration)
    anonymous = client.get(_page(order))
    assert anonymous.status_code == 302 and "/account/login" in anonymous.headers["Location"]
    login(organiser)  # the event's own organiser: sees the order, may not record money
    assert client.get(_page(order)).status_code == 403
    token = csrf_token_from(client.get(f"/organiser/orders/{order.id}").get_data(as_text=True))
    refused = client.post(
        _page(order), data={"csrf_token": token, "amount": "3000", "received_on": _today()}
    )
    assert refused.status_code == 403
    assert f'href="{_page(order)}"' not in client.get(f"/organiser/orders/{order.id}").get_data(
        as_text=True
    )
    assert _order_of(registration).status == "pending"


def test_recording_a_transfer_needs_the_csrf_token(client, admin, awaiting_payment):
    _, registration, _ = awaiting_payment(price=3000)
    order = _order_of(registration)
    response = client.post(_page(order), data={"amount": "3000", "received_on": _today()})
    assert response.status_code == 400
    assert _order_of(registration).status == "pending"


def test_the_page_and_its_refusals_are_in_japanese(client, make_user, login, awaiting_payment):
    _, registration, _ = awaiting_payment(price=3000)
    login(make_user(role="admin", name="管理 花子", locale="ja"))
    order = _order_of(registration)
    page = client.get(_page(order)).get_data(as_text=True)
    assert "銀行振込を記録する" in page
    assert "入金額" in page
    assert "コミュニティのタイムゾーン（Asia/Tokyo）での日付です。" in page
    refused = _record(client, order, amount="2500").get_data(as_text=True)
    assert "この注文の金額は￥3,000です" in refused
    assert "入金日に今日より後の日付は指定できません。" in _record(
        client, order, day="2999-01-01"
    ).get_data(as_text=True)
    assert _record(client, order).status_code == 303
    shown = client.get(f"/organiser/orders/{order.id}").get_data(as_text=True)
    today = utcnow().astimezone(zone("Asia/Tokyo")).date()
    assert f"{today.year}年{today.month}月{today.day}日（" in shown  # the day it arrived
    assert "記録した人" in shown and "管理 花子" in shown


def test_a_test_purpose_is_fulfilled_once_by_a_transfer_and_an_unfulfillable_one_is_refused(app):
    given: list[int] = []

    def paid(order):
        if order.reference == "gone":
            return False, None
        given.append(order.id)
        return True, None

    fulfilment_handler.register(
        app, "invoice-test", Fulfilment(paid, lambda order: None, lambda *args: None)
    )
    today = utcnow().astimezone(zone()).date()
    order = payments.open_order(
        purpose="invoice-test",
        reference="partner-1",
        amount_minor=500_000,
        currency="JPY",
        email="partner@example.com",
        description="Gold partnership",
    )
    number = payments.issue_invoice(order.id)
    assert payments.issue_invoice(order.id) == number  # given once
    payment = payments.record_payment(
        order.id,
        BANK_TRANSFER,
        amount_minor=500_000,
        currency="JPY",
        received_on=today,
        recorded_by_id=None,
        reference="KABUSHIKIGAISHA REI",
    )
    assert given == [order.id]
    assert db.session.get(Order, order.id).status == "paid"
    assert db.session.get(Payment, payment.id).kind == "bank_transfer"
    with pytest.raises(Conflict):
        payments.record_bank_transfer(
            order.id, amount_minor=500_000, received_on=today, recorded_by_id=None
        )
    assert given == [order.id]

    gone = payments.open_order(
        purpose="invoice-test",
        reference="gone",
        amount_minor=500_000,
        currency="JPY",
        email="partner@example.com",
        description="A tier no longer offered",
    )
    with pytest.raises(DomainError, match="can no longer be given"):
        payments.record_bank_transfer(
            gone.id, amount_minor=500_000, received_on=today, recorded_by_id=None
        )
    db.session.rollback()
    assert db.session.get(Order, gone.id).status == "pending"
    assert db.session.get(Order, gone.id).invoice_number is None
    assert db.session.scalar(select(func.count()).where(Payment.order_id == gone.id)) == 0


def test_a_subscription_cannot_be_paid_by_transfer(app):
    order = payments.open_order(
        purpose="membership",
        reference="m-1",
        amount_minor=12_000,
        currency="JPY",
        email="member@example.com",
        description="Yearly membership",
        mode="subscription",
        interval="year",
    )
    with pytest.raises(DomainError, match="paid by card"):
        payments.record_bank_transfer(
            order.id,
            amount_minor=12_000,
            received_on=utcnow().astimezone(zone()).date(),
            recorded_by_id=None,
        )


def test_two_admins_recording_the_same_transfer_at_once_record_it_once(
    app, client, admin, make_user, awaiting_payment, writers_meet, mailbox
):
    import threading

    from tests.conftest import PASSWORD, IsolatedClient

    _, registration, _ = awaiting_payment(price=3000)
    order = _order_of(registration)
    other = app.test_client()
    assert isinstance(other, IsolatedClient)
    other.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    colleague = make_user(role="admin", email="bo@example.com", name="Bo Admin")
    login_page = other.get("/account/login").get_data(as_text=True)
    other.post(
        "/account/login",
        data={
            "csrf_token": csrf_token_from(login_page),
            "email": colleague.email,
            "password": PASSWORD,
        },
    )
    forms = []
    for browser in (client, other):
        token = csrf_token_from(browser.get(_page(order)).get_data(as_text=True))
        forms.append((browser, token))
    db.session.commit()
    path, today = _page(order), _today()
    writers_meet(2)  # both have read the order as pending before either writes
    statuses: list[int] = []

    def record(browser, token):
        data = {"csrf_token": token, "amount": "3000", "received_on": today}
        statuses.append(browser.post(path, data=data).status_code)

    threads = [threading.Thread(target=record, args=pair) for pair in forms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [303, 409]
    db.session.rollback()
    assert db.session.scalar(select(func.count()).where(Payment.kind == "bank_transfer")) == 1
    assert db.session.get(Order, order.id).status == "paid"
    assert db.session.get(Registration, registration.id).status == "confirmed"
    confirmations = [m for m in mailbox.to(registration.email) if "registered" in m["Subject"]]
    assert len(confirmations) == 1


def test_the_page_of_an_order_that_does_not_exist_is_not_found(client, admin):
    assert client.get("/organiser/orders/999999/bank-transfer").status_code == 404
