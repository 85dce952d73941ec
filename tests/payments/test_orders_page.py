"""The orders back office: who sees which orders, the filters, the totals by purpose, month and
currency, the CSV export, one order's payments, refunds and webhook events, and a fixed number of
queries for the list."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest

from community.accounts.models import User
from community.core.db import db, utcnow
from community.payments import reports
from community.payments import services as payments
from community.payments.models import Order, Payment, Refund, WebhookEvent
from tests.conftest import PASSWORD, IsolatedClient, count_queries, submit

# --- helpers -------------------------------------------------------------------------------------


@pytest.fixture
def make_order(app):
    """make_order(reference, purpose="ticket", amount=3000, currency="JPY", status="paid",
    refunded=0, created_at=None, email=..., description=...) → an order in that state."""

    def make(
        reference,
        *,
        purpose: str = "ticket",
        amount: int = 3000,
        currency: str = "JPY",
        status: str = "paid",
        refunded: int = 0,
        created_at: datetime | None = None,
        email: str = "buyer@example.com",
        description: str = "A ticket",
    ) -> Order:
        order = payments.open_order(
            purpose=purpose,
            reference=str(reference),
            amount_minor=amount,
            currency=currency,
            email=email,
            description=description,
        )
        moment = created_at or utcnow()
        order.created_at = moment
        if status != "pending":
            order.transition("paid" if status in reports.MONEY_STATUSES else status, moment)
        if status in ("partially_refunded", "refunded"):
            order.refunded_minor = amount if status == "refunded" else refunded
            order.transition(status, moment)
        db.session.commit()
        return order

    return make


def signed_in(app, user: User) -> IsolatedClient:
    """A client of its own, signed in as `user` (several people can look in one test)."""
    app.test_client_class = IsolatedClient
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = submit(client, "/account/login", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def link_to(order: Order) -> str:
    return f'href="/organiser/orders/{order.id}"'


@pytest.fixture
def world(make_user, make_event, register, organiser, make_order):
    """Olive runs Alpha, Bob runs Beta; one ticket order for each, and a grant's (a purpose
    without a visibility rule: no domain registered one)."""
    bob = make_user(role="organiser", email="bob@example.com", name="Bob Organiser")
    alpha = make_event(title_en="Alpha meetup")
    beta = make_event(title_en="Beta meetup", by=bob)
    alpha_order = make_order(
        register(alpha, 1).id, email="guest1@example.com", description="Alpha meetup"
    )
    beta_order = make_order(
        register(beta, 2).id, email="guest2@example.com", description="Beta meetup"
    )
    donation = make_order(7, purpose="grant", email="donor@example.com", description="Gift")
    return {
        "olive": organiser,
        "bob": bob,
        "admin": make_user(role="admin", email="admin@example.com"),
        "alpha": alpha,
        "beta": beta,
        "alpha_order": alpha_order,
        "beta_order": beta_order,
        "donation": donation,
    }


# --- who sees what -------------------------------------------------------------------------------


def test_an_organiser_sees_only_the_ticket_orders_of_the_events_they_run(app, world):
    olive = signed_in(app, world["olive"])
    page = olive.get("/organiser/orders/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert link_to(world["alpha_order"]) in html
    assert link_to(world["beta_order"]) not in html
    assert link_to(world["donation"]) not in html
    assert "guest2@example.com" not in html


def test_an_order_of_another_organisers_event_is_not_found_rather_than_forbidden(app, world):
    olive = signed_in(app, world["olive"])
    assert olive.get(f"/organiser/orders/{world['alpha_order'].id}").status_code == 200
    assert olive.get(f"/organiser/orders/{world['beta_order'].id}").status_code == 404
    # A purpose without a visibility rule is for admins only.
    assert olive.get(f"/organiser/orders/{world['donation'].id}").status_code == 404
    assert olive.get("/organiser/orders/999999").status_code == 404
    assert olive.get("/organiser/orders/99999999999999999999").status_code == 404


def test_a_co_organiser_sees_the_orders_of_the_event(app, world):
    bob = signed_in(app, world["bob"])
    html = bob.get("/organiser/orders/").get_data(as_text=True)
    assert link_to(world["beta_order"]) in html
    assert link_to(world["alpha_order"]) not in html
    assert bob.get(f"/organiser/orders/{world['alpha_order'].id}").status_code == 404


def test_an_admin_sees_every_order(app, world):
    admin = signed_in(app, world["admin"])
    html = admin.get("/organiser/orders/").get_data(as_text=True)
    for name in ("alpha_order", "beta_order", "donation"):
        assert link_to(world[name]) in html
        assert admin.get(f"/organiser/orders/{world[name].id}").status_code == 200


def test_a_member_is_refused_and_a_visitor_is_sent_to_sign_in(app, client, world, make_user):
    for path in ("/organiser/orders/", "/organiser/orders/orders.csv",
                 f"/organiser/orders/{world['alpha_order'].id}"):  # fmt: skip
        anonymous = client.get(path)
        assert anonymous.status_code == 302
        assert "/account/login" in anonymous.headers["Location"]
    member = signed_in(app, make_user(role="member"))
    for path in ("/organiser/orders/", "/organiser/orders/orders.csv",
                 f"/organiser/orders/{world['alpha_order'].id}"):  # fmt: skip
        assert member.get(path).status_code == 403


def test_organisers_have_an_orders_link_and_members_do_not(app, world, make_user):
    olive = signed_in(app, world["olive"])
    assert 'href="/organiser/orders/"' in olive.get("/").get_data(as_text=True)
    member = signed_in(app, make_user(role="member"))
    assert 'href="/organiser/orders/"' not in member.get("/").get_data(as_text=True)


# --- filters -------------------------------------------------------------------------------------


@pytest.fixture
def varied_orders(make_event, register, organiser, make_order):
    event = make_event(capacity=20)
    regs = [register(event, n).id for n in range(1, 6)]
    return {
        # 2026-01-31 23:59 and 2026-02-01 00:30 in Tokyo: on each side of the month's end.
        "january": make_order(
            regs[0], email="ann@example.com", created_at=datetime(2026, 1, 31, 14, 59, tzinfo=UTC)
        ),
        "february": make_order(
            regs[1], email="ben@example.com", created_at=datetime(2026, 1, 31, 15, 30, tzinfo=UTC)
        ),
        "pending": make_order(
            regs[2],
            email="cat@example.com",
            status="pending",
            created_at=datetime(2026, 2, 10, 3, 0, tzinfo=UTC),
        ),
        "failed": make_order(
            regs[3],
            email="dan_x@example.com",
            status="failed",
            created_at=datetime(2026, 3, 1, 3, 0, tzinfo=UTC),
        ),
        "donation": make_order(
            9,
            purpose="grant",
            email="ann@example.com",
            created_at=datetime(2026, 2, 2, 3, 0, tzinfo=UTC),
        ),
    }


def _shown(client, query: str, orders: dict) -> set[str]:
    page = client.get(f"/organiser/orders/?{query}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    return {name for name, order in orders.items() if link_to(order) in html}


def test_the_list_is_filtered_by_purpose_status_dates_and_email(app, varied_orders, make_user):
    admin = signed_in(app, make_user(role="admin"))
    everything = set(varied_orders)
    assert _shown(admin, "", varied_orders) == everything
    assert _shown(admin, "purpose=grant", varied_orders) == {"donation"}
    assert _shown(admin, "purpose=ticket", varied_orders) == everything - {"donation"}
    assert _shown(admin, "status=pending", varied_orders) == {"pending"}
    assert _shown(admin, "status=failed&purpose=ticket", varied_orders) == {"failed"}
    assert _shown(admin, "q=ANN@", varied_orders) == {"january", "donation"}
    # LIKE's wildcards are searched as themselves.
    assert _shown(admin, "q=_", varied_orders) == {"failed"}
    # Dates are whole days in Tokyo: 2026-02-01 starts at 2026-01-31 15:00 UTC.
    assert _shown(admin, "from=2026-02-01", varied_orders) == everything - {"january"}
    assert _shown(admin, "to=2026-01-31", varied_orders) == {"january"}
    assert _shown(admin, "from=2026-02-01&to=2026-02-10", varied_orders) == {
        "february",
        "pending",
        "donation",
    }


@pytest.mark.parametrize(
    "query",
    [
        "status=lost",
        "status=%02",
        "purpose=%02ticket",
        "purpose=no-such-purpose",
        "from=2026-13-45",
        "from=31/01/2026",
        "to=%02",
        "from=0001-01-01&to=9999-12-31",
        "q=%01ann%02",
        "page=abc",
        "page=-3",
        "page=99999999999999999999999999999",
        "page=" + "9" * 5000,
        "from=2026-02-10&to=2026-02-01",
    ],
)
def test_bad_filters_never_fail_the_page(app, varied_orders, make_user, query):
    admin = signed_in(app, make_user(role="admin"))
    assert admin.get(f"/organiser/orders/?{query}").status_code == 200
    csv_export = admin.get(f"/organiser/orders/orders.csv?{query}")
    assert csv_export.status_code == 200


def test_filters_that_are_not_understood_are_ignored_and_said_so(app, varied_orders, make_user):
    admin = signed_in(app, make_user(role="admin"))
    page = admin.get("/organiser/orders/?status=lost&from=2026-13-45&purpose=%01bogus")
    html = page.get_data(as_text=True)
    assert "The status you chose is unknown" in html
    assert "The start date is not a date" in html
    assert "The purpose you chose is unknown" in html
    # Ignored, not applied: every order is listed.
    assert all(link_to(order) in html for order in varied_orders.values())
    nul = admin.get("/organiser/orders/?q=%01ann")
    assert _shown(admin, "q=%01ann", varied_orders) == {"january", "donation"}
    assert "\x01" not in nul.get_data(as_text=True)


def test_a_page_past_the_end_shows_the_last_page(app, make_user, make_order):
    for number in range(55):
        make_order(f"x{number}", purpose="grant", email=f"d{number}@example.com")
    admin = signed_in(app, make_user(role="admin"))
    html = admin.get("/organiser/orders/?page=9").get_data(as_text=True)
    assert "Page 2 of 2" in html
    assert len(re.findall(r'href="/organiser/orders/\d+"', html)) == 5


# --- totals --------------------------------------------------------------------------------------


@pytest.fixture
def money_orders(make_event, register, organiser, make_order):
    event = make_event(capacity=20)
    regs = [register(event, n).id for n in range(1, 8)]
    jan = datetime(2026, 1, 20, 3, 0, tzinfo=UTC)
    # 2026-02-01 00:30 in Tokyo, still January in UTC.
    feb = datetime(2026, 1, 31, 15, 30, tzinfo=UTC)
    make_order(regs[0], amount=3000, created_at=jan)
    make_order(regs[1], amount=5000, status="partially_refunded", refunded=2000, created_at=jan)
    make_order(regs[2], amount=4000, status="refunded", created_at=feb)
    make_order(regs[3], amount=1000, status="pending", created_at=jan)
    make_order(regs[4], amount=1250, currency="USD", created_at=jan)
    make_order(regs[5], amount=2000, currency="USD", status="failed", created_at=jan)
    make_order(regs[6], amount=999, currency="USD", status="expired", created_at=feb)
    make_order(3, purpose="grant", amount=10000, created_at=feb)


def test_totals_are_by_purpose_local_month_and_currency_never_mixing_currencies(app, money_orders):
    admin = db.session.scalar(db.select(User).where(User.email == "organiser@example.com"))
    admin.role = "admin"
    db.session.commit()
    totals = reports.totals_by_month(admin, reports.OrderFilters())
    found = {
        (t.purpose, t.month, t.currency): (t.orders, t.gross_minor, t.refunded_minor, t.net_minor)
        for t in totals
    }
    assert found == {
        ("ticket", "2026-01", "JPY"): (2, 8000, 2000, 6000),
        ("ticket", "2026-01", "USD"): (1, 1250, 0, 1250),
        ("ticket", "2026-02", "JPY"): (1, 4000, 4000, 0),
        ("grant", "2026-02", "JPY"): (1, 10000, 0, 10000),
    }
    # Newest month first.
    assert [t.month for t in totals] == ["2026-02", "2026-02", "2026-01", "2026-01"]


def test_totals_follow_the_filters_and_the_viewers_visibility(app, money_orders):
    olive = db.session.scalar(db.select(User).where(User.email == "organiser@example.com"))
    totals = reports.totals_by_month(olive, reports.OrderFilters())
    assert {t.purpose for t in totals} == {"ticket"}
    january = reports.OrderFilters.from_args({"to": "2026-01-31", "q": ""})
    assert {(t.month, t.currency) for t in reports.totals_by_month(olive, january)} == {
        ("2026-01", "JPY"),
        ("2026-01", "USD"),
    }
    assert reports.totals_by_month(olive, reports.OrderFilters(status="pending")) == []


def test_the_page_shows_gross_refunded_and_net_in_each_currency(app, money_orders):
    olive = signed_in(app, db.session.scalar(db.select(User).where(User.role == "organiser")))
    html = olive.get("/organiser/orders/").get_data(as_text=True)
    totals = html.split('totals-table"')[1].split("</table>")[0]
    assert "2026-01" in totals and "2026-02" in totals
    assert "¥8,000" in totals and "¥2,000" in totals and "¥6,000" in totals
    assert "$12.50" in totals
    assert "¥10,000" not in totals  # the grant is not Olive's to see


# --- CSV -----------------------------------------------------------------------------------------


def _csv_rows(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    return list(csv.reader(io.StringIO(text, newline="")))


def test_the_csv_export_is_for_excel_with_amounts_in_minor_units(
    app, make_event, register, organiser, make_order, world
):
    event = world["alpha"]
    usd = make_order(
        register(event, 5).id,
        amount=1234,
        currency="USD",
        status="partially_refunded",
        refunded=234,
        email="=cmd@example.com",
        description="@SUM(A1:A9) 東京",
        created_at=datetime(2026, 1, 31, 15, 30, tzinfo=UTC),
    )
    olive = signed_in(app, world["olive"])
    response = olive.get("/organiser/orders/orders.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = _csv_rows(response)
    header, records = rows[0], {row[0]: row for row in rows[1:]}
    assert set(records) == {str(world["alpha_order"].id), str(usd.id)}
    row = dict(zip(header, records[str(usd.id)], strict=True))
    assert row["Placed (Asia/Tokyo)"] == "2026-02-01 00:30"
    assert row["Currency"] == "USD"
    assert row["Amount (minor units)"] == "1234"
    assert row["Refunded (minor units)"] == "234"
    assert row["Net (minor units)"] == "1000"
    assert row["Amount"] == "$12.34"
    assert row["Net"] == "$10.00"
    # Statuses and purposes in the words the pages show, not the database's codes.
    assert row["Status"] == "Partly refunded"
    assert row["Purpose"] == "Tickets"
    # Cells that a spreadsheet would run as formulas are defused; Japanese survives.
    assert row["E-mail address"] == "'=cmd@example.com"
    assert row["Description"] == "'@SUM(A1:A9) 東京"
    jpy = dict(zip(header, records[str(world["alpha_order"].id)], strict=True))
    assert (jpy["Amount (minor units)"], jpy["Currency"], jpy["Amount"]) == (
        "3000",
        "JPY",
        "¥3,000",
    )


def test_the_csv_export_speaks_the_viewers_language(app, world, make_order, register, make_user):
    refunded = make_order(
        register(world["alpha"], 6).id,
        status="refunded",
        created_at=datetime(2026, 3, 1, 14, 59, tzinfo=UTC),
    )
    admin = signed_in(app, make_user(role="admin", email="kanri@example.com", locale="ja"))
    rows = _csv_rows(admin.get("/organiser/orders/orders.csv"))
    header, records = rows[0], {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert "状態" in header
    assert records[str(refunded.id)]["状態"] == "返金済み"
    assert records[str(world["alpha_order"].id)]["状態"] == "支払い済み"
    # 14:59 UTC is 23:59 in Tokyo: the day the spreadsheet shows is Tokyo's.
    placed = next(name for name in header if "Asia/Tokyo" in name)
    assert records[str(refunded.id)][placed] == "2026-03-01 23:59"


def test_the_csv_export_follows_the_filters(app, world):
    admin = signed_in(app, world["admin"])
    rows = _csv_rows(admin.get("/organiser/orders/orders.csv?purpose=grant"))
    assert [row[0] for row in rows[1:]] == [str(world["donation"].id)]
    rows = _csv_rows(admin.get("/organiser/orders/orders.csv?q=guest"))
    assert {row[0] for row in rows[1:]} == {
        str(world["alpha_order"].id),
        str(world["beta_order"].id),
    }


# --- one order -----------------------------------------------------------------------------------


def test_the_order_page_shows_its_payments_refunds_and_webhook_events(app, world):
    order = world["alpha_order"]
    db.session.add_all(
        [
            Payment(
                order_id=order.id,
                provider="stripe",
                session_id="cs_test_first_attempt",
                amount_minor=3000,
                currency="JPY",
                status="expired",
            ),
            Payment(
                order_id=order.id,
                provider="stripe",
                session_id="cs_test_second_attempt",
                payment_intent_id="pi_test_paid",
                amount_minor=3000,
                currency="JPY",
                status="paid",
            ),
            Refund(
                order_id=order.id,
                provider="stripe",
                refund_id="re_test_partial",
                amount_minor=1000,
                status="succeeded",
                reason="Came for half the day",
                settled_at=utcnow(),
            ),
            WebhookEvent(
                provider="stripe",
                event_id="evt_test_completed",
                type="checkout.session.completed",
                order_id=order.id,
                outcome="paid",
                payload={},
            ),
            WebhookEvent(
                provider="stripe",
                event_id="evt_test_refunded",
                type="charge.refunded",
                order_id=order.id,
                outcome="partially_refunded",
                payload={},
            ),
            WebhookEvent(
                provider="stripe",
                event_id="evt_test_other_order",
                type="checkout.session.expired",
                order_id=world["beta_order"].id,
                outcome="expired",
                payload={},
            ),
        ]
    )
    db.session.commit()
    olive = signed_in(app, world["olive"])
    html = olive.get(f"/organiser/orders/{order.id}").get_data(as_text=True)
    for shown in (
        "guest1@example.com",
        "¥3,000",
        "cs_test_first_attempt",
        "cs_test_second_attempt",
        "pi_test_paid",
        "re_test_partial",
        "¥1,000",
        "Came for half the day",
        "checkout.session.completed",
        "evt_test_completed",
        "charge.refunded",
        "partially_refunded",
    ):
        assert shown in html, shown
    assert "evt_test_other_order" not in html
    # A way back to the attendee the order is for.
    assert f"/organiser/events/{world['alpha'].slug}/attendees?q=guest1@example.com" in html


def test_an_order_without_payments_says_so(app, world):
    admin = signed_in(app, world["admin"])
    html = admin.get(f"/organiser/orders/{world['donation'].id}").get_data(as_text=True)
    assert "No payment was started" in html
    assert "No webhook event was recorded" in html


# --- a fixed number of queries -------------------------------------------------------------------


@pytest.mark.parametrize("viewer_role", ["organiser", "admin"])
def test_the_list_runs_a_fixed_number_of_queries(
    app, make_event, register, organiser, make_order, viewer_role
):
    organiser.role = viewer_role
    db.session.commit()
    event = make_event(capacity=10)
    references = [register(event, n).id for n in range(1, 4)]
    client = signed_in(app, organiser)
    counts = []
    made = 0
    for total in (10, 100):
        for number in range(made, total):
            months_ago = number % 5
            make_order(
                references[number % 3],
                amount=1000 + number,
                currency=("JPY", "USD")[number % 2],
                status=("paid", "partially_refunded", "refunded", "failed")[number % 4],
                refunded=100,
                created_at=datetime(2026, 6 - months_ago, 10, 3, 0, tzinfo=UTC),
                email=f"buyer{number}@example.com",
            )
        made = total
        client.get("/organiser/orders/")  # warm caches of compiled statements
        with count_queries() as statements:
            page = client.get("/organiser/orders/")
        assert page.status_code == 200
        assert f"{total} orders" in page.get_data(as_text=True)
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    # The viewer, the purposes, a count and a page, the month span and the sums (+ BEGIN on SQLite).
    assert counts[0] <= 7, counts
    # The export holds every filtered order, not one page.
    assert len(_csv_rows(client.get("/organiser/orders/orders.csv"))) == 101


def test_the_pages_render_in_japanese(app, world):
    admin = signed_in(app, world["admin"])
    admin.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ja"
    assert admin.get("/organiser/orders/?status=lost").status_code == 200
    assert admin.get(f"/organiser/orders/{world['alpha_order'].id}").status_code == 200
    rows = _csv_rows(admin.get("/organiser/orders/orders.csv"))
    assert len(rows) == 4


@pytest.mark.parametrize("reference", ["99999999999999999999", "²", "abc"])
def test_a_ticket_order_whose_reference_is_no_registration_still_shows(
    app, world, make_order, reference
):
    order = make_order(reference)
    admin = signed_in(app, world["admin"])
    assert admin.get(f"/organiser/orders/{order.id}").status_code == 200
    olive = signed_in(app, world["olive"])
    assert olive.get(f"/organiser/orders/{order.id}").status_code == 404
