"""The benchmark harness waits for the mail outbox to drain before it counts e-mails, and fails a
burst whose e-mails do not all arrive (bench/burst.py, bench/server.py)."""

from __future__ import annotations

import os
import smtplib
import threading
import time
from email.message import EmailMessage

import pytest

from bench.burst import BurstResult, MailSink, _judge, wait_for_mail
from bench.errors import BenchError
from bench.server import GunicornServer, OutboxWorker


@pytest.fixture
def sink():
    sink = MailSink()
    sink.start()
    yield sink
    sink.stop()


def _send(sink: MailSink, count: int, pause: float = 0.0) -> threading.Thread:
    def send() -> None:
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as smtp:
            for number in range(count):
                time.sleep(pause)
                message = EmailMessage()
                message["From"] = "events@example.org"
                message["To"] = f"person{number}@example.com"
                message["Subject"] = "You are registered"
                message.set_content("See you there.")
                smtp.send_message(message)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def _result(mails: int | None, registrations: int = 5) -> BurstResult:
    return BurstResult(
        via="api",
        endpoint="POST /api/v1/events/x/registrations (JSON)",
        people=registrations,
        places=2,
        errors=0,
        error_examples=[],
        answered_statuses={"confirmed": 2, "waitlisted": registrations - 2},
        seconds=1.0,
        registrations_per_second=float(registrations),
        latency_p50_ms=1.0,
        latency_p99_ms=1.0,
        database={
            "statuses": {"confirmed": 2, "waitlisted": registrations - 2},
            "tickets": [{"slug": "general", "quota": 2, "taken": 2}],
            "places_taken": 2,
            "holding_rows": 2,
            "capacity": 2,
            "first_in_queue_hold": True,
        },
        mails_received=mails,
    )


def test_waits_until_every_mail_of_the_burst_arrived(sink):
    answered_at = time.perf_counter()
    _send(sink, 5, pause=0.1)  # still arriving when the wait starts
    arrived, drain_seconds = wait_for_mail(sink, 0, 5, answered_at, timeout=10, settle=0)
    assert arrived == 5
    assert drain_seconds is not None and 0.4 <= drain_seconds < 10


def test_gives_up_after_the_timeout_and_says_so(sink):
    _send(sink, 2).join(timeout=10)
    arrived, drain_seconds = wait_for_mail(sink, 0, 3, time.perf_counter(), timeout=0.5, settle=0)
    assert (arrived, drain_seconds) == (2, None)


def test_counts_only_the_mail_after_the_burst_began(sink):
    _send(sink, 2).join(timeout=10)
    before = sink.received
    _send(sink, 3)
    arrived, _ = wait_for_mail(sink, before, 3, time.perf_counter(), timeout=10, settle=0.2)
    assert arrived == 3


def test_a_stopped_sender_ends_the_wait(sink):
    def stopped() -> None:
        raise BenchError("the outbox worker (flask worker) exited with 1")

    with pytest.raises(BenchError, match="exited"):
        wait_for_mail(sink, 0, 1, time.perf_counter(), stopped, timeout=10, settle=0)


def test_a_burst_fails_unless_each_registration_got_one_mail():
    assert _judge(_result(mails=5), good_answers=5) == []
    assert _judge(_result(mails=None), good_answers=5) == []  # no sink: nothing to count
    for wrong in (4, 6):
        failures = _judge(_result(mails=wrong), good_answers=5)
        assert failures == [
            f"{wrong} e-mails arrived for 5 registrations (one each, after waiting up to "
            "180s for the outbox)"
        ]


def test_the_server_leaves_sending_to_a_worker_beside_it(tmp_path):
    with_worker = GunicornServer({}, 2, tmp_path / "gunicorn.log", mail_worker=True)
    assert with_worker.environment["MAIL_DELIVERY"] == "worker"
    assert with_worker.mail_worker.log_path == tmp_path / "worker.log"
    assert "flask worker" in with_worker.description
    alone = GunicornServer({}, 2, tmp_path / "gunicorn.log")
    assert alone.environment["MAIL_DELIVERY"] == "in_process"
    assert alone.mail_worker is None


def test_a_worker_that_exits_is_reported_with_its_log(tmp_path):
    # A configuration the app refuses: the real `flask worker` stops at start-up.
    environment = dict(os.environ) | {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bench.db'}",
        "COMMUNITY_ENV": "development",
        "MAIL_DELIVERY": "by-pigeon",
    }
    worker = OutboxWorker(environment, tmp_path / "worker.log")
    worker.start()
    try:
        worker.process.wait(timeout=60)
        with pytest.raises(BenchError, match="exited with") as raised:
            worker.check_running()
        assert "MAIL_DELIVERY" in str(raised.value)
    finally:
        worker.stop()
