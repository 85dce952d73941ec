"""The mail outbox: every e-mail is written in the transaction of the change it reports and sent
by a worker, with retries; SMTP down for minutes, a crash between commit and sending, and two
workers at once neither lose a message nor send one twice."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from datetime import timedelta

import pytest
import time_machine
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from community.core import outbox, smtp
from community.core.db import db, utcnow
from community.core.mail import build_message, pretend_to_send_mail, send_mail
from community.core.outbox import OutboxItem, deliver_due, enqueue_notice, notice_renderer
from community.core.transaction import write_transaction
from tests.conftest import Mailbox, free_port, worker_environment

CONTEXT = {
    "user": type("Person", (), {"name": "Hanako"})(),
    "confirm_url": "http://localhost/account/confirm/abc",
    "hours": 48,
}


def _statuses() -> list[tuple[str, str, int]]:
    db.session.rollback()
    return [
        (item.recipient, item.status, item.attempts)
        for item in db.session.scalars(
            select(OutboxItem).where(OutboxItem.kind == "message").order_by(OutboxItem.id)
        )
    ]


def _send(address: str) -> None:
    assert send_mail(address, "Hello", "accounts/confirm", "en", **CONTEXT)


def test_mail_waits_in_the_outbox_while_smtp_is_down_and_arrives_once_when_it_returns(make_app):
    port = free_port()
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_TIMEOUT=2, MAIL_DELIVERY="worker")
    addresses = [f"person{n}@example.com" for n in range(3)]
    with app.app_context():
        for address in addresses:
            _send(address)
        start = utcnow()
        assert [status for _, status, _ in _statuses()] == ["pending"] * 3
        # Down for several minutes: each round fails, and the next attempt waits longer.
        for minutes in (0, 1, 3, 7):
            with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
                assert deliver_due() == 0
        assert [(status, attempts) for _, status, attempts in _statuses()] == [("pending", 4)] * 3
        mailbox = Mailbox()
        server = Controller(mailbox, hostname="127.0.0.1", port=port)
        server.start()
        try:
            with time_machine.travel(start + timedelta(minutes=9), tick=False):
                assert deliver_due() == 0  # the fourth pause (4 minutes) is not over yet
            with time_machine.travel(start + timedelta(minutes=12), tick=False):
                assert deliver_due() == 3
            with time_machine.travel(start + timedelta(hours=2), tick=False):
                assert deliver_due() == 0  # sent is sent: nothing goes twice
        finally:
            server.stop()
        assert sorted(m["To"] for m in mailbox.messages) == addresses
        assert [status for _, status, _ in _statuses()] == ["sent"] * 3


def test_a_failed_attempt_waits_longer_each_time_and_the_outbox_gives_up_in_the_end(make_app):
    assert [outbox.pause_after(n).total_seconds() for n in (1, 2, 3, 8, 20)] == [
        30,
        60,
        120,
        3600,
        3600,
    ]
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_DELIVERY="worker")
    moment = utcnow()
    with app.app_context():
        _send("unlucky@example.com")
        for _ in range(outbox.MAX_ATTEMPTS):
            moment += timedelta(hours=2)
            with time_machine.travel(moment, tick=False):
                deliver_due()
        assert _statuses() == [("unlucky@example.com", "failed", outbox.MAX_ATTEMPTS)]


CRASHING_PROCESS = textwrap.dedent(
    """
    import os, sys
    from community import create_app
    from community.core import smtp
    from community.core.mail import send_mail

    config = {
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": sys.argv[1], "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": int(sys.argv[2]), "MAIL_DELIVERY": "in_process",
        "SECRET_KEY": "a-test-secret-that-is-long-enough-for-the-checks",
    }
    app = create_app(config)

    def crash(self, message, recipient):
        os._exit(3)  # the process dies after the commit, as the SMTP conversation starts

    smtp.Connection.send = crash
    with app.app_context():
        send_mail(
            "survivor@example.com", "Hello", "accounts/confirm", "en",
            user=type("Person", (), {"name": "Hanako"})(), confirm_url="http://x/", hours=1,
        )
    sys.exit(0)  # never reached: delivery comes right after the commit
    """
)


def test_a_crash_between_the_commit_and_sending_loses_no_mail(app, smtp_server, mailbox):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    crashed = subprocess.run(
        [sys.executable, "-c", CRASHING_PROCESS, url, str(smtp_server.port)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert crashed.returncode == 3, crashed.stderr
    assert _statuses() == [("survivor@example.com", "pending", 1)]  # claimed, never recorded
    assert deliver_due() == 0  # its claim has not run out: the dead worker might still send it
    with time_machine.travel(utcnow() + timedelta(seconds=outbox.CLAIM_SECONDS + 1), tick=False):
        assert deliver_due() == 1
    assert [m["To"] for m in mailbox.messages] == ["survivor@example.com"]


def test_two_workers_at_once_send_each_message_exactly_once(make_app, smtp_server, mailbox):
    app = make_app(MAIL_DELIVERY="worker")
    addresses = [f"crowd{n:02d}@example.com" for n in range(24)]
    with app.app_context():
        for address in addresses:
            _send(address)
    start = threading.Barrier(2, timeout=10)
    sent: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with app.app_context():
                start.wait()
                sent.append(deliver_due())
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sum(sent) == len(addresses)
    assert sorted(m["To"] for m in mailbox.messages) == addresses


def test_two_worker_processes_send_each_message_exactly_once(make_app, smtp_server, mailbox):
    app = make_app(MAIL_DELIVERY="worker")
    addresses = [f"many{n:03d}@example.com" for n in range(80)]
    with app.app_context():
        for address in addresses:
            _send(address)
    environment = worker_environment(app, smtp_server)
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--once"],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(2)
    ]
    for worker in workers:
        output, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0, output.decode()
    assert sorted(m["To"] for m in mailbox.messages) == addresses
    with app.app_context():
        assert {status for _, status, _ in _statuses()} == {"sent"}


def test_mail_written_in_a_transaction_that_rolls_back_is_never_sent(app, mailbox):
    class Refused(Exception):
        pass

    try:
        with write_transaction():
            _send("never@example.com")
            raise Refused
    except Refused:
        pass
    deliver_due()
    assert _statuses() == []
    assert mailbox.messages == []


def test_a_message_made_for_nobody_is_handled_like_the_others_and_never_sent(app, mailbox):
    assert pretend_to_send_mail("nobody@example.invalid", "Hi", "accounts/confirm", "en", **CONTEXT)
    deliver_due()
    assert _statuses() == [(None, "discarded", 1)]
    assert mailbox.messages == []


def _render_greetings(payloads: list[dict]):
    names = ", ".join(payload["name"] for payload in payloads)
    return [
        build_message("batch@example.com", f"Hello {names}", "accounts/confirm", "en", **CONTEXT)
    ]


def test_notices_of_one_batch_wait_for_its_end_and_are_rendered_together(make_app, mailbox):
    app = make_app(MAIL_DELIVERY="worker")
    notice_renderer.register(app, "greetings", _render_greetings)
    with app.app_context():
        with outbox.batch():
            enqueue_notice("greetings", {"name": "Aiko"})
            deliver_due()
            assert mailbox.messages == []  # held while the action goes on
            with write_transaction():
                enqueue_notice("greetings", {"name": "Ben"})
        assert deliver_due() == 1
    assert [m["Subject"] for m in mailbox.messages] == ["Hello Aiko, Ben"]


def test_a_batch_left_by_a_dead_process_is_sent_after_a_while(make_app, mailbox):
    app = make_app(MAIL_DELIVERY="worker")
    notice_renderer.register(app, "greetings", _render_greetings)
    with app.app_context():
        with write_transaction():
            db.session.add(
                OutboxItem(
                    kind="greetings",
                    payload={"name": "Chika"},
                    batch="left-behind",
                    held_until=utcnow() + outbox.BATCH_HOLD,
                )
            )
        assert deliver_due() == 0
        with time_machine.travel(utcnow() + outbox.BATCH_HOLD + timedelta(seconds=1), tick=False):
            assert deliver_due() == 1
    assert [m["Subject"] for m in mailbox.messages] == ["Hello Chika"]


def test_a_notice_nobody_can_render_fails_alone_and_the_rest_goes(app, mailbox):
    notice_renderer.register(app, "greetings", _render_greetings)
    enqueue_notice("no-such-kind", {"name": "?"})
    enqueue_notice("greetings", {"name": "Daiki"})
    deliver_due()
    db.session.rollback()
    kinds = dict(
        db.session.execute(
            select(OutboxItem.kind, OutboxItem.status).where(OutboxItem.kind != "message")
        ).all()
    )
    assert kinds == {"no-such-kind": "failed", "greetings": "rendered"}
    assert [m["Subject"] for m in mailbox.messages] == ["Hello Daiki"]


def test_a_registration_writes_its_email_in_its_own_transaction_and_the_worker_sends_it(
    app, make_event, register, mailbox, runner
):
    app.config["MAIL_DELIVERY"] = "worker"  # as in production: no sending in the request
    event = make_event()
    mailbox.clear()
    register(event, 1)
    assert mailbox.messages == []
    assert db.session.scalar(select(func.count()).select_from(OutboxItem)) == 1
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert [m["To"] for m in mailbox.messages] == ["guest1@example.com"]


class CountingServer:
    """An SMTP server that counts its conversations, refuses one address, and keeps the bytes
    exactly as they came over the wire."""

    def __init__(self, refused: str) -> None:
        self.refused = refused
        self.conversations = 0
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.conversations += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.refused:
            return "550 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope.mail_from, envelope.rcpt_tos, envelope.original_content))
        return "250 OK"


def test_a_round_sends_its_messages_over_few_connections_and_a_refusal_fails_alone(make_app):
    handler = CountingServer(refused="nosuch07@example.com")
    server = Controller(handler, hostname="127.0.0.1", port=free_port())
    server.start()
    app = make_app(
        MAIL_PORT=server.port,
        MAIL_DELIVERY="worker",
        MAIL_DEFAULT_SENDER="コミュニティ <hello@community.example>",
    )
    addresses = [f"nosuch{n:02d}@example.com" for n in range(outbox.SEND_CHUNK + 5)]
    try:
        with app.app_context():
            for address in addresses:
                _send(address)
            assert deliver_due() == len(addresses) - 1
            statuses = _statuses()
    finally:
        server.stop()
    # One conversation per chunk of messages, not one per message.
    assert handler.conversations == 2
    assert sorted(to for _, [to], _ in handler.received) == [
        a for a in addresses if a != "nosuch07@example.com"
    ]
    refused = [(status, attempts) for to, status, attempts in statuses if to == handler.refused]
    assert refused == [("pending", 1)]  # tried again later, like any failure
    assert {status for to, status, _ in statuses if to != handler.refused} == {"sent"}
    # The envelope comes from the configured sender; the bytes are the stored ones, in CRLF.
    assert {mail_from for mail_from, _, _ in handler.received} == {"hello@community.example"}
    for _, _, content in handler.received:
        assert b"\r\n" in content and b"\n" not in content.replace(b"\r\n", b"")
        assert content.startswith(b"Subject: Hello\r\n")


def test_a_message_whose_claim_may_have_run_out_is_not_sent_but_given_back(make_app, mailbox):
    app = make_app(MAIL_DELIVERY="worker")
    with app.app_context():
        for n in range(3):
            _send(f"slow{n}@example.com")
        original = smtp.Connection.send

        def slow_send(self, message, recipient):
            time.sleep(0.35)  # longer than half the (shortened) claim
            original(self, message, recipient)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(outbox, "CLAIM_SECONDS", 0.6)
            patch.setattr(smtp.Connection, "send", slow_send)
            assert deliver_due(limit=3) == 1
        assert [m["To"] for m in mailbox.messages] == ["slow0@example.com"]
        assert _statuses() == [
            ("slow0@example.com", "sent", 1),
            ("slow1@example.com", "pending", 0),
            ("slow2@example.com", "pending", 0),
        ]
        assert deliver_due() == 2  # given back untried: due again at once, attempts unchanged
