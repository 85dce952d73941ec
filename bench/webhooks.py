"""The webhook burst: about a thousand signed Stripe deliveries at once, a third of them repeats.

After the registration burst, bench.run creates ORDERS paid tickets awaiting payment on one
event (`python -m bench.webhooks --setup ORDERS`, in a subprocess on the benchmark database):
each a registration holding a place, an order (purpose ticket, ¥3,000) and an open Stripe
session. Two orders in three are paid (`checkout.session.completed`, and for every other one an
`async_payment_succeeded` sent before it, out of order), the third expires
(`checkout.session.expired`). Repeats of events already in the list (same id, same body) make a
third of all deliveries; some follow their original at once, so that both arrive at the same
moment. THREADS threads wait at a barrier, then POST them, signed with the server's
STRIPE_WEBHOOK_SECRET, to `/stripe/webhook` of the running gunicorn. The outcome is read back
from the database (`--verify`): every order and registration in its right state, one
webhook_events row per distinct event, each effect applied once, counters equal to the rows, and
no answer other than 200 — or the run fails. Each order's buyer is told once (confirmed, or the
place released): the burst waits for the outbox worker to send those e-mails to the SMTP sink, and
exactly one per order must arrive.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import random
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from bench.burst import MAIL_DRAIN_TIMEOUT_SECONDS, MailSink, _percentile, wait_for_mail
from bench.errors import BenchError
from bench.server import check_local

THREADS = 32
SEED = 2026
PRICE_MINOR = 3000
SAME_MOMENT_PAIRS = 16  # the first deliveries: pairs of one event, released together
BARRIER_TIMEOUT_SECONDS = 60
REQUEST_TIMEOUT_SECONDS = 60
SUBPROCESS_TIMEOUT_SECONDS = 300
RESULT_PREFIX = "BENCH-JSON "


def is_paid(index: int) -> bool:
    """Two orders in three are paid, the third expires."""
    return index % 3 != 2


def has_async(index: int) -> bool:
    """Every other paid order is also paid asynchronously, announced before `completed`."""
    return is_paid(index) and index % 2 == 0


# --- setup and verification (inside the application, with DATABASE_URL) -------------------------


def setup(orders: int, prefix: str) -> dict:
    """One published event with a paid ticket type, and `orders` registrations awaiting payment,
    each with its pending order and open Stripe session. Core inserts, no e-mails."""
    from sqlalchemy import insert, select, update

    from community.core.db import db, utcnow
    from community.events.models import Category, Event, Registration, TicketType
    from community.payments.models import Order, Payment

    now = utcnow()
    starts_at = now.replace(microsecond=0) + timedelta(days=45)
    hold = now + timedelta(hours=2)
    event = Event(
        slug=f"{prefix}-webhooks-{secrets.token_hex(4)}",
        kind="workshop",
        status="published",
        title_ja="有料ワークショップ",
        title_en="Paid workshop",
        summary_ja="ベンチマーク用のイベント。",
        summary_en="An event for the webhook burst.",
        description_ja="",
        description_en="",
        category_id=db.session.scalar(select(Category.id).order_by(Category.id)),
        format="online",
        online_url="https://meet.example.org/paid",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=3),
        timezone="Asia/Tokyo",
        language="ja_en",
        capacity=orders,
        places_taken=0,
        created_at=now,
        updated_at=now,
    )
    ticket = TicketType(
        slug="paid",
        name_ja="有料",
        name_en="Paid",
        price_minor=PRICE_MINOR,
        currency="JPY",
        quota=orders,
        taken=0,
        position=0,
    )
    event.ticket_types.append(ticket)
    db.session.add(event)
    db.session.flush()
    registrations = [
        {
            "event_id": event.id,
            "ticket_type_id": ticket.id,
            "user_id": None,
            "name": f"Buyer {index}",
            "email": f"buyer{index:05d}@example.com",
            "locale": "en" if index % 3 == 0 else "ja",
            "status": "awaiting_payment",
            "price_minor": PRICE_MINOR,
            "currency": "JPY",
            "ticket_code": secrets.token_urlsafe(12),
            "manage_nonce": secrets.token_hex(8),
            "created_at": now,
            "queued_at": now + timedelta(microseconds=index),
            "hold_expires_at": hold,
            "updated_at": now,
        }
        for index in range(orders)
    ]
    db.session.execute(insert(Registration.__table__), registrations)
    registration_ids = {
        email: registration_id
        for registration_id, email in db.session.execute(
            select(Registration.id, Registration.email).where(Registration.event_id == event.id)
        )
    }
    db.session.execute(update(Event).where(Event.id == event.id).values(places_taken=orders))
    db.session.execute(update(TicketType).where(TicketType.id == ticket.id).values(taken=orders))
    order_rows = [
        {
            "purpose": "ticket",
            "reference": str(registration_ids[row["email"]]),
            "description": "Paid workshop",
            "buyer_email": row["email"],
            "mode": "payment",
            "amount_minor": PRICE_MINOR,
            "currency": "JPY",
            "refunded_minor": 0,
            "status": "pending",
            "expires_at": hold,
            "created_at": now,
        }
        for row in registrations
    ]
    db.session.execute(insert(Order.__table__), order_rows)
    order_ids = dict(
        db.session.execute(
            select(Order.reference, Order.id).where(
                Order.purpose == "ticket",
                Order.reference.in_([str(i) for i in registration_ids.values()]),
            )
        ).all()
    )
    ordered = [order_ids[str(registration_ids[row["email"]])] for row in registrations]
    db.session.execute(
        insert(Payment.__table__),
        [
            {
                "order_id": order_id,
                "provider": "stripe",
                "session_id": f"cs_bench_{index}",
                "checkout_url": "https://checkout.example/pay",
                "amount_minor": PRICE_MINOR,
                "currency": "JPY",
                "status": "open",
                "expires_at": hold,
                "created_at": now,
                "updated_at": now,
            }
            for index, order_id in enumerate(ordered)
        ],
    )
    db.session.commit()
    return {"slug": event.slug, "orders": ordered}


def verify(slug: str, orders: int) -> dict:
    """What the database holds after the burst, judged order by order."""
    from sqlalchemy import String, cast, func, select

    from community.core.db import db
    from community.events.models import HOLDING, Event, Registration, TicketType
    from community.payments.models import Order, Payment, WebhookEvent

    event = db.session.scalar(select(Event).where(Event.slug == slug))
    if event is None:
        raise BenchError(f"no event {slug} in the database")
    rows = db.session.execute(
        select(Payment.session_id, Payment.status, Order.status, Registration.status)
        .join(Order, Order.id == Payment.order_id)
        .join(Registration, cast(Registration.id, String) == Order.reference)
        .where(Payment.session_id.like("cs_bench_%"), Registration.event_id == event.id)
    ).all()
    wrong = []
    states = Counter()
    for session_id, payment_status, order_status, registration_status in rows:
        index = int(session_id.removeprefix("cs_bench_"))
        expected = ("paid", "confirmed") if is_paid(index) else ("expired", "expired")
        states[f"order {order_status} / registration {registration_status}"] += 1
        if (order_status, registration_status) != expected or payment_status != expected[0]:
            wrong.append(
                f"{session_id}: order {order_status}, payment {payment_status}, "
                f"registration {registration_status}, not {expected[0]}/{expected[1]}"
            )
    events = db.session.execute(
        select(WebhookEvent.event_id, WebhookEvent.outcome).where(
            WebhookEvent.event_id.like("evt_bench_%")
        )
    ).all()
    holding = db.session.scalar(
        select(func.count())
        .select_from(Registration)
        .where(Registration.event_id == event.id, Registration.status.in_(HOLDING))
    )
    taken = db.session.scalar(
        select(func.sum(TicketType.taken)).where(TicketType.event_id == event.id)
    )
    return {
        "orders_found": len(rows),
        "orders_expected": orders,
        "states": dict(sorted(states.items())),
        "wrong": wrong[:5],
        "wrong_count": len(wrong),
        "webhook_event_rows": len(events),
        "webhook_event_ids": len({event_id for event_id, _ in events}),
        "outcomes": dict(sorted(Counter(outcome for _, outcome in events).items())),
        "places_taken": event.places_taken,
        "ticket_taken": int(taken or 0),
        "holding_rows": holding,
        "capacity": event.capacity,
    }


def _subprocess(app_env: dict[str, str], arguments: list[str]) -> dict:
    from bench.dataset import run_module

    return run_module("bench.webhooks", app_env, arguments, SUBPROCESS_TIMEOUT_SECONDS)


# --- the deliveries ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    event_id: str
    body: bytes


def _session(index: int, order_id: int, paid: bool) -> dict:
    return {
        "id": f"cs_bench_{index}",
        "object": "checkout.session",
        "status": "complete" if paid else "expired",
        "payment_status": "paid" if paid else "unpaid",
        "amount_total": PRICE_MINOR,
        "currency": "jpy",
        "client_reference_id": str(order_id),
        "metadata": {"order_id": str(order_id), "purpose": "ticket"},
        "payment_intent": f"pi_bench_{index}" if paid else None,
    }


def _delivery(kind: str, index: int, order_id: int, created: int) -> Delivery:
    event_id = f"evt_bench_{kind.rsplit('.', 1)[-1]}_{index}"
    body = {
        "id": event_id,
        "object": "event",
        "api_version": "2025-03-31.basil",
        "type": kind,
        "created": created,
        "livemode": False,
        "data": {"object": _session(index, order_id, kind != "checkout.session.expired")},
    }
    return Delivery(event_id, json.dumps(body, separators=(",", ":")).encode())


def plan_deliveries(order_ids: list[int], rng: random.Random) -> tuple[list[Delivery], dict]:
    """Every distinct event once, shuffled with async_payment_succeeded before its completed;
    then repeats (a third of the whole) after their first delivery, some right after it."""
    created = int(time.time())
    distinct: list[Delivery] = []
    for index, order_id in enumerate(order_ids):
        if not is_paid(index):
            distinct.append(_delivery("checkout.session.expired", index, order_id, created))
            continue
        distinct.append(_delivery("checkout.session.completed", index, order_id, created))
        if has_async(index):
            kind = "checkout.session.async_payment_succeeded"
            distinct.append(_delivery(kind, index, order_id, created))
    rng.shuffle(distinct)
    position = {d.event_id: i for i, d in enumerate(distinct)}
    out_of_order = 0
    for index in range(len(order_ids)):
        if has_async(index):
            first = position[f"evt_bench_async_payment_succeeded_{index}"]
            then = position[f"evt_bench_completed_{index}"]
            if first > then:
                distinct[first], distinct[then] = distinct[then], distinct[first]
                position[distinct[first].event_id], position[distinct[then].event_id] = first, then
            out_of_order += 1

    repeats = len(distinct) // 2  # a third of all deliveries
    deliveries = list(distinct)
    same_moment = 0
    # The first wave: pairs of the same event, released by the barrier together.
    for pair in range(min(SAME_MOMENT_PAIRS, repeats)):
        deliveries.insert(2 * pair + 1, distinct[pair])
        same_moment += 1
    for _ in range(repeats - same_moment):
        delivery = rng.choice(distinct)
        first = deliveries.index(delivery)
        if rng.random() < 0.25:
            deliveries.insert(first + 1, delivery)  # right behind: at the same moment
            same_moment += 1
        else:
            deliveries.insert(rng.randint(first + 1, len(deliveries)), delivery)
    return deliveries, {
        "distinct_events": len(distinct),
        "repeats": repeats,
        "same_moment_repeats": same_moment,
        "async_before_completed": out_of_order,
    }


def sign(body: bytes, secret: str, at: int) -> str:
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256)
    return f"t={at},v1={digest.hexdigest()}"


@dataclass
class Answer:
    status: int = 0
    problem: str = ""
    sent_at: float = 0.0
    answered_at: float = 0.0


@dataclass
class WebhookResult:
    orders: int
    paid_orders: int
    expired_orders: int
    deliveries: int
    distinct_events: int
    repeats: int
    same_moment_repeats: int
    async_before_completed: int
    threads: int
    errors: int
    error_examples: list[str]
    seconds: float
    deliveries_per_second: float
    latency_p50_ms: float
    latency_p99_ms: float
    database: dict
    mails_received: int | None
    # From the last answer until the last e-mail arrived (None: no sink, or not all came).
    mail_drain_seconds: float | None = None
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self) | {"result": "PASS" if not self.failures else "FAIL"}


def _send(request: urllib.request.Request, answer: Answer) -> None:
    answer.sent_at = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:  # noqa: S310
            answer.status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        answer.status, body = error.code, error.read()
    except (OSError, http.client.HTTPException) as error:
        answer.answered_at = time.perf_counter()
        answer.problem = f"socket error: {error!r}"
        return
    answer.answered_at = time.perf_counter()
    if answer.status != 200:
        answer.problem = f"HTTP {answer.status}: {body[:200].decode(errors='replace')}"


def _judge(result: WebhookResult, expected_outcomes: dict[str, int]) -> list[str]:
    database = result.database
    failures = []
    if result.errors:
        examples = "; ".join(result.error_examples)
        failures.append(f"{result.errors} error answers (must be 0), e.g. {examples}")
    if database["orders_found"] != database["orders_expected"]:
        failures.append(
            f"{database['orders_found']} bench orders found, not {database['orders_expected']}"
        )
    if database["wrong_count"]:
        failures.append(
            f"{database['wrong_count']} orders in the wrong state, e.g. "
            + "; ".join(database["wrong"])
        )
    if database["webhook_event_rows"] != result.distinct_events:
        failures.append(
            f"{database['webhook_event_rows']} webhook_events rows for "
            f"{result.distinct_events} distinct events"
        )
    if database["webhook_event_ids"] != database["webhook_event_rows"]:
        failures.append("an event id was recorded more than once")
    if database["outcomes"] != expected_outcomes:
        failures.append(f"outcomes {database['outcomes']}, not {expected_outcomes}")
    if not database["places_taken"] == database["ticket_taken"] == database["holding_rows"]:
        failures.append(
            f"counters differ from the rows: places_taken {database['places_taken']}, "
            f"ticket taken {database['ticket_taken']}, rows holding {database['holding_rows']}"
        )
    if database["holding_rows"] != result.paid_orders:
        failures.append(f"{database['holding_rows']} places held, not {result.paid_orders}")
    if result.mails_received is not None and result.mails_received != result.orders:
        failures.append(
            f"{result.mails_received} e-mails arrived for {result.orders} orders (one each, "
            f"after waiting up to {MAIL_DRAIN_TIMEOUT_SECONDS}s for the outbox)"
        )
    return failures


def run_webhooks(
    base_url: str,
    app_env: dict[str, str],
    webhook_secret: str,
    *,
    orders: int,
    threads: int = THREADS,
    mail_sink: MailSink | None = None,
    still_sending: Callable[[], None] | None = None,
) -> WebhookResult:
    created = _subprocess(app_env, ["--setup", str(orders)])
    order_ids = created["orders"]
    deliveries, shape = plan_deliveries(order_ids, random.Random(SEED))
    paid = sum(1 for index in range(orders) if is_paid(index))
    print(
        f"  {len(deliveries)} deliveries ({shape['distinct_events']} distinct events, "
        f"{shape['repeats']} repeats) for {orders} orders on {created['slug']}, "
        f"{threads} threads: POST /stripe/webhook",
        flush=True,
    )
    url = f"{base_url}/stripe/webhook"
    check_local(url)  # http://127.0.0.1 only, hence the noqa below
    at = int(time.time())
    requests = [
        urllib.request.Request(  # noqa: S310
            url,
            data=delivery.body,
            headers={
                "Content-Type": "application/json",
                "Stripe-Signature": sign(delivery.body, webhook_secret, at),
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            },
            method="POST",
        )
        for delivery in deliveries
    ]
    answers = [Answer() for _ in deliveries]
    next_index = iter(range(len(deliveries)))
    lock = threading.Lock()
    released: list[float] = []
    barrier = threading.Barrier(
        threads,
        action=lambda: released.append(time.perf_counter()),
        timeout=BARRIER_TIMEOUT_SECONDS,
    )

    def work() -> None:
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return
        while True:
            with lock:
                index = next(next_index, None)
            if index is None:
                return
            _send(requests[index], answers[index])

    mails_before = mail_sink.received if mail_sink else 0
    workers = [
        threading.Thread(target=work, name=f"webhook-{n}", daemon=True) for n in range(threads)
    ]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + BARRIER_TIMEOUT_SECONDS + 600
    for worker in workers:
        worker.join(timeout=max(deadline - time.monotonic(), 0.1))
    if any(worker.is_alive() for worker in workers):
        raise BenchError("some webhook deliveries never finished")

    for answer in answers:
        if not answer.sent_at and not answer.problem:
            answer.problem = "never sent (the barrier broke)"
    answered = [a for a in answers if a.answered_at]
    release = released[0] if released else time.perf_counter()
    last_answer = max((a.answered_at for a in answered), default=release)
    seconds = last_answer - release
    mails, drain_seconds = None, None
    if mail_sink is not None:
        print("  waiting for the outbox to send the buyers' e-mails …", flush=True)
        mails, drain_seconds = wait_for_mail(
            mail_sink, mails_before, orders, last_answer, still_sending
        )
    latencies = [(a.answered_at - a.sent_at) * 1000 for a in answered]
    problems = [a.problem for a in answers if a.problem]
    database = _subprocess(app_env, ["--verify", created["slug"], "--orders", str(orders)])
    result = WebhookResult(
        orders=orders,
        paid_orders=paid,
        expired_orders=orders - paid,
        deliveries=len(deliveries),
        threads=threads,
        errors=len(problems),
        error_examples=list(dict.fromkeys(problems))[:3],
        seconds=round(seconds, 3),
        deliveries_per_second=round(len(deliveries) / seconds, 1) if seconds > 0 else 0.0,
        latency_p50_ms=round(_percentile(latencies, 0.50), 1),
        latency_p99_ms=round(_percentile(latencies, 0.99), 1),
        database=database,
        mails_received=mails,
        mail_drain_seconds=round(drain_seconds, 2) if drain_seconds is not None else None,
        **shape,
    )
    expected = {"paid": paid, "expired": orders - paid}
    if shape["async_before_completed"]:
        expected["already paid"] = shape["async_before_completed"]
    result.failures = _judge(result, dict(sorted(expected.items())))
    return result


def render_webhooks(result: WebhookResult) -> str:
    database = result.database
    states = ", ".join(f"{state} {n}" for state, n in database["states"].items())
    outcomes = ", ".join(f"{outcome} {n}" for outcome, n in database["outcomes"].items())
    lines = [
        f"Webhook burst: {result.deliveries} signed deliveries at once for {result.orders} orders "
        f"({result.paid_orders} paid, {result.expired_orders} expiring)",
        "  via:              POST /stripe/webhook (Stripe-Signature), "
        f"{result.threads} threads after a barrier",
        f"  distinct events:  {result.distinct_events} "
        f"({result.async_before_completed} async_payment_succeeded before their completed)",
        f"  repeats:          {result.repeats} "
        f"({result.repeats / result.deliveries:.0%} of deliveries; "
        f"{result.same_moment_repeats} right behind their original)",
        f"  errors:           {result.errors} (must be 0)",
        f"  deliveries/s:     {result.deliveries_per_second:.1f} "
        f"({result.deliveries} in {result.seconds:.2f}s from the barrier to the last answer)",
        f"  latency:          p50 {result.latency_p50_ms:.0f} ms, "
        f"p99 {result.latency_p99_ms:.0f} ms",
        f"  database:         {states or 'no orders'}",
        f"  webhook_events:   {database['webhook_event_rows']} rows, "
        f"{database['webhook_event_ids']} distinct ids; outcomes {outcomes or 'none'}",
        f"  places:           places_taken {database['places_taken']}/{database['capacity']}, "
        f"ticket taken {database['ticket_taken']}, rows holding {database['holding_rows']}",
    ]
    if result.mails_received is not None:
        lines.append(
            f"  e-mails received: {result.mails_received} for {result.orders} orders "
            "(by the local SMTP sink, after the outbox drained)"
        )
        drained = (
            f"{result.mail_drain_seconds:.1f}s after the last answer (the last e-mail's arrival)"
            if result.mail_drain_seconds is not None
            else f"not within {MAIL_DRAIN_TIMEOUT_SECONDS}s"
        )
        lines.append(f"  outbox drained:   {drained}")
    lines.append("  result:           " + ("PASS" if not result.failures else "FAIL"))
    return "\n".join(lines)


# --- the subprocess entry point ------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.webhooks",
        description="Set up or verify the webhook burst in the database named by DATABASE_URL.",
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--setup", type=int, metavar="ORDERS", help="create paid orders")
    mode.add_argument("--verify", metavar="SLUG", help="report the burst's event")
    parser.add_argument("--orders", type=int, default=0, help="orders created (with --verify)")
    parser.add_argument("--prefix", default="bench", help="slug prefix (bench)")
    arguments = parser.parse_args(argv)
    if arguments.setup is not None and arguments.setup < 3:
        parser.error("--setup needs at least 3 orders")
    from community import create_app

    app = create_app()
    try:
        with app.app_context():
            if arguments.setup is not None:
                result = setup(arguments.setup, arguments.prefix)
            else:
                result = verify(arguments.verify, arguments.orders)
    except BenchError as error:
        print(f"bench.webhooks failed: {error}", file=sys.stderr)
        return 1
    print(RESULT_PREFIX + json.dumps(result, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
