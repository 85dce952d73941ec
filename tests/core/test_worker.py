"""`flask --app wsgi worker`: the timed jobs that cron runs in production, which `make run` runs
beside the development server. One round expires lapsed holds (and offers) and sends reminders;
a failing job is logged and the worker goes on."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import time_machine

from community.core.db import db
from community.core.mail import send_mail
from community.events.models import Registration
from community.events.services import TicketTypeData
from tests.conftest import worker_environment

MAIL_CONTEXT = {
    "user": type("Person", (), {"name": "Hanako"})(),
    "confirm_url": "http://localhost/account/confirm/abc",
    "hours": 48,
}


def _status(registration_id: int) -> str:
    db.session.rollback()
    return db.session.get(Registration, registration_id).status


def test_a_round_of_the_worker_expires_a_lapsed_hold_and_offers_the_place(
    app, runner, make_event, register
):
    event = make_event(
        capacity=1,
        tickets=[TicketTypeData(slug="paid", name_en="Paid", price_minor=3000)],
    )
    holder = register(event, 1, ticket_type="paid")
    waiting = register(event, 2, ticket_type="paid")
    assert (holder.status, waiting.status) == ("awaiting_payment", "waitlisted")
    hold_ends = holder.hold_expires_at
    holder_id, waiting_id = holder.id, waiting.id

    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert _status(holder_id) == "awaiting_payment"  # its time has not come yet

    with time_machine.travel(hold_ends + timedelta(seconds=5), tick=False):
        result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert _status(holder_id) == "expired"
    assert _status(waiting_id) == "offered"


def test_a_round_of_the_worker_sends_the_reminders_that_are_due(
    app, runner, make_event, register, mailbox
):
    event = make_event(days=3)
    register(event, 1)
    mailbox.clear()
    with time_machine.travel(event.starts_at - timedelta(hours=2), tick=False):
        result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert mailbox.last_to("guest1@example.com")


def test_the_manage_page_never_shows_a_lapsed_hold_as_pending(client, make_event, register):
    """Between the end of a hold and the worker's next round, the page says the time is up and
    offers no payment."""
    from community.events import services

    event = make_event(tickets=[TicketTypeData(slug="paid", name_en="Paid", price_minor=3000)])
    holder = register(event, 1, ticket_type="paid")
    path = f"/registrations/{holder.id}/{services.manage_token(holder)}"
    assert "Waiting for payment until" in client.get(path).get_data(as_text=True)
    with time_machine.travel(holder.hold_expires_at + timedelta(seconds=5), tick=False):
        html = client.get(path).get_data(as_text=True)
    assert "Waiting for payment until" not in html
    assert "The time to pay ran out at" in html
    assert "/pay" not in html
    assert _status(holder.id) == "awaiting_payment"  # the worker ends it, not the page


def test_the_running_worker_yields_the_cpu_to_the_web_processes_and_once_keeps_it(
    make_app, smtp_server, mailbox
):
    app = make_app(MAIL_DELIVERY="worker")
    with app.app_context():
        send_mail("niced@example.com", "Hello", "accounts/confirm", "en", **MAIL_CONTEXT)
    environment = worker_environment(app, smtp_server)
    own = os.getpriority(os.PRIO_PROCESS, 0)
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--nice", "7"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        mailbox.last_to("niced@example.com", wait=30)  # it runs, and sends
        assert os.getpriority(os.PRIO_PROCESS, worker.pid) == min(own + 7, 19)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert os.getpriority(os.PRIO_PROCESS, 0) == own  # one round (cron, tests) is not niced
