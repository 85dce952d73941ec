"""The mail outbox: every e-mail is a row written in the same transaction as the change it
reports, and a worker delivers it later, with retries and backoff. A request never waits for SMTP,
and neither a crash after the commit nor an SMTP server that is down loses a message.

Two kinds of row:
- a message, built at once (a sign-up link, an organiser's announcement): its bytes are stored;
- a notice (`kind` names a renderer, `payload` says what happened): built only when delivered,
  by the renderer the domain registered (`notice_renderer`), so that the transaction that
  writes it stays short. Notices written under `batch()` are held until the batch ends (or, if
  its process died, until `BATCH_HOLD` has passed) and are then rendered together, so that the
  renderer can make one e-mail per person of one action. A kind may also say what its renderer
  will read for a round's notices (`notice_prefetch`), so that it is read in one go.

`deliver_due()` does one round: it renders the due notices into messages, then sends each due
message. A worker claims a message before sending it (a conditional UPDATE whose row count
decides, committed first), so that several workers never send one message twice; if a worker
dies between sending and recording, the claim runs out after `CLAIM_SECONDS` and the message is
sent again (at least once, never lost). A failed attempt is tried again after a growing pause, up
to `MAX_ATTEMPTS` times.

With MAIL_DELIVERY = "in_process" (development and tests), each commit that wrote mail also
delivers it in this process: after the response, or at once outside a request. In production
("worker") only `flask worker` delivers. Templates and SMTP are in mail.py.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from flask import after_this_request, current_app, g, has_request_context
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from community.core import smtp
from community.core.db import UTCDateTime, db, utcnow
from community.core.hooks import Hook
from community.core.smtp import MailError
from community.core.status import status_type
from community.core.transaction import current_unit, write_transaction

log = logging.getLogger(__name__)

MESSAGE = "message"
STATUSES = ("pending", "sent", "rendered", "failed", "discarded")
MAX_ATTEMPTS = 12
FIRST_PAUSE_SECONDS = 30
LONGEST_PAUSE_SECONDS = 3600
CLAIM_SECONDS = 120
BATCH_HOLD = timedelta(minutes=10)
ROUND_SIZE = 200
# Messages claimed and sent together, over one SMTP connection.
SEND_CHUNK = 25
# Seconds after the answer by which a request's mail leaves at the latest (in_process delivery).
AFTER_RESPONSE_AT_THE_LATEST = 1.0


class OutboxItem(db.Model):
    """One e-mail to send (`message`) or one notice to render into e-mails (`kind`, `payload`)."""

    __tablename__ = "mail_outbox"
    __table_args__ = (
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        CheckConstraint("(kind = 'message') = (message IS NOT NULL)", name="message_or_notice"),
        Index("ix_mail_outbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    message: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # None: a message made only so that two answers do the same work; it is never sent.
    recipient: Mapped[str | None] = mapped_column(String(320), nullable=True)
    subject: Mapped[str] = mapped_column(String(300), default="")
    batch: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    status: Mapped[str] = mapped_column(status_type(STATUSES, length=16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


# --- writing -------------------------------------------------------------------------------------

# A notice renderer: the payloads of one batch (or one notice alone) → the messages to send.
# Keyed by the notices' kind (events registers "events").
Renderer = Callable[[list[dict]], Iterable[EmailMessage]]
notice_renderer: Hook[Renderer] = Hook("outbox.notice_renderer")
# What a kind's renderer will read for a round's notices (all of that kind, every group), read
# in one go before the round is rendered: the rows it returns stay in the session meanwhile.
# Optional, keyed like the renderers (events reads a round's registrations and their events).
Prefetch = Callable[[list[dict]], Iterable[object]]
notice_prefetch: Hook[Prefetch] = Hook("outbox.notice_prefetch")
_batch: ContextVar[str | None] = ContextVar("outbox_batch", default=None)


def enqueue_message(message: EmailMessage, *, to_nobody: bool = False) -> None:
    """Write a built message to the outbox, in the caller's unit of work (or one of its own).

    `to_nobody`: the message is written and later handled like any other, but never sent (an
    answer that must do the same work whether or not an account exists)."""
    recipient = None if to_nobody else str(message["To"])
    _write(
        {
            "kind": MESSAGE,
            "message": bytes(message),
            "recipient": recipient,
            "subject": str(message["Subject"] or "")[:300],
        }
    )


def enqueue_notice(kind: str, payload: dict) -> None:
    """Write a notice to the outbox, to be rendered by `kind`'s renderer when it is delivered."""
    batch = _batch.get()
    _write(
        {
            "kind": kind,
            "payload": payload,
            "batch": batch,
            "held_until": utcnow() + BATCH_HOLD if batch else None,
        }
    )


def _write(row: dict) -> None:
    """One INSERT in the caller's unit, at once: the row is never read back as an object."""
    if current_unit() is None:
        with write_transaction():
            _write(row)
        return
    db.session.execute(_INSERT, row)
    _deliver_after_commit()


# A plain INSERT of the table (the ORM's machinery has nothing to add to a row nobody reads
# back), built once: it is run for every e-mail, inside the transaction that writes it.
_INSERT = insert(OutboxItem.__table__)


def _deliver_after_commit() -> None:
    unit = current_unit()
    if _delivery_in_process not in unit.actions:  # once per unit, however many e-mails
        unit.after_commit(_delivery_in_process)


def in_batch() -> bool:
    return _batch.get() is not None


@contextmanager
def batch() -> Iterator[str]:
    """Hold the notices written inside (across several transactions) and render them together
    once the block ends: one action, one e-mail per person. Inside another batch, the outer one
    decides."""
    if _batch.get() is not None:
        yield _batch.get()
        return
    name = secrets.token_hex(16)
    token = _batch.set(name)
    try:
        yield name
    finally:
        _batch.reset(token)
        _release_batch(name)


def _release_batch(name: str) -> None:
    try:
        with write_transaction():
            released = db.session.execute(
                update(OutboxItem)
                .where(OutboxItem.batch == name, OutboxItem.status == "pending")
                .values(held_until=None)
            )
            if released.rowcount:
                _deliver_after_commit()
    except Exception:
        # Never the action's own failure: its notices go once their hold runs out.
        log.exception("outbox batch %s not released; it goes after %s", name, BATCH_HOLD)


# --- delivering ----------------------------------------------------------------------------------


def deliver_due(limit: int = ROUND_SIZE) -> int:
    """One round: render the due notices, then send the due messages. Returns how many were sent."""
    _render_due(limit)
    return _send_due(limit)


def _render_due(limit: int) -> None:
    """Render the due notices, group by group (one batch, or one notice alone), all in one read
    (no lock is held meanwhile, and what the groups share is read once), then swap them for
    their messages in one transaction in which a group taken by another worker is left alone."""
    moment = utcnow()
    due = db.session.scalars(
        select(OutboxItem)
        .where(
            OutboxItem.status == "pending",
            OutboxItem.kind != MESSAGE,
            OutboxItem.next_attempt_at <= moment,
            or_(OutboxItem.held_until.is_(None), OutboxItem.held_until <= moment),
        )
        .order_by(OutboxItem.id)
        .limit(limit)
    ).all()
    groups: dict[str, list[OutboxItem]] = {}
    for item in due:
        groups.setdefault(item.batch or f"#{item.id}", []).append(item)
    rendered: list[tuple[list[int], list[dict]]] = []
    failed: list[tuple[list[int], str]] = []
    # What one group's renderer read (its event, say) stays in the session for the next groups.
    read: dict[int, object] = {}
    for kind, prefetch in notice_prefetch.items():
        payloads = [item.payload or {} for item in due if item.kind == kind]
        if payloads:
            try:
                read.update((id(row), row) for row in prefetch(payloads))
            except Exception:
                # Only a shortcut: each renderer still reads what it needs for itself.
                db.session.rollback()
                log.exception("reading ahead for %s notices failed", kind)
    for items in groups.values():
        ids = [item.id for item in items]
        try:
            rendered.append((ids, _render_group(items)))
        except Exception as error:
            # A notice that cannot be rendered never will be: say so once, keep the others going.
            db.session.rollback()
            log.exception("outbox notices %s could not be rendered", ids)
            failed.append((ids, str(error)[:2000]))
        read.update((id(instance), instance) for instance in db.session.identity_map.values())
    db.session.rollback()
    if rendered or failed:
        _swap(rendered, failed)


def _render_group(items: list[OutboxItem]) -> list[dict]:
    """The messages of one group of notices, as rows for the outbox."""
    rows = []
    for kind in sorted({item.kind for item in items}):
        renderer = notice_renderer.get(kind)
        if renderer is None:
            raise LookupError(f"no renderer for outbox notices of kind {kind!r}")
        for message in renderer([item.payload or {} for item in items if item.kind == kind]):
            rows.append(
                {
                    "kind": MESSAGE,
                    "message": bytes(message),
                    "recipient": str(message["To"]),
                    "subject": str(message["Subject"] or "")[:300],
                }
            )
    return rows


def _swap(
    rendered: list[tuple[list[int], list[dict]]], failed: list[tuple[list[int], str]]
) -> None:
    moment = utcnow()
    with write_transaction():
        wanted = [item_id for ids, _ in rendered for item_id in ids]
        taken: set[int] = set()
        if wanted:
            taken.update(
                db.session.scalars(
                    update(OutboxItem)
                    .where(OutboxItem.id.in_(wanted), OutboxItem.status == "pending")
                    .values(status="rendered", sent_at=moment)
                    .returning(OutboxItem.id)
                    .execution_options(synchronize_session=False)
                )
            )
        messages, given_back = [], []
        for ids, rows in rendered:
            if taken.issuperset(ids):
                messages += rows
            else:  # another worker has part of this group: it stays whole for the next round
                given_back += [item_id for item_id in ids if item_id in taken]
        if given_back:
            db.session.execute(
                update(OutboxItem)
                .where(OutboxItem.id.in_(given_back))
                .values(status="pending", sent_at=None)
                .execution_options(synchronize_session=False)
            )
        if messages:
            db.session.execute(insert(OutboxItem), messages)
        for ids, error in failed:
            db.session.execute(
                update(OutboxItem)
                .where(OutboxItem.id.in_(ids), OutboxItem.status == "pending")
                .values(status="failed", last_error=error)
                .execution_options(synchronize_session=False)
            )


def _send_due(limit: int) -> int:
    """Send up to `limit` due messages, a chunk at a time, each chunk over one SMTP connection."""
    sent = 0
    while limit > 0:
        chunk = _claim(min(SEND_CHUNK, limit))
        if not chunk:
            break
        limit -= len(chunk)
        sent += _send_chunk(chunk)
    return sent


@dataclass
class _Claimed:
    id: int
    message: bytes
    recipient: str | None
    attempts: int


def _claim(count: int) -> list[_Claimed]:
    """Take up to `count` due messages for this worker for CLAIM_SECONDS, in one conditional
    UPDATE: a message another worker holds (or has just sent) is not taken again."""
    moment = utcnow()
    not_claimed = or_(OutboxItem.claimed_until.is_(None), OutboxItem.claimed_until <= moment)
    due = (
        select(OutboxItem.id)
        .where(
            OutboxItem.status == "pending",
            OutboxItem.kind == MESSAGE,
            OutboxItem.next_attempt_at <= moment,
            not_claimed,
        )
        .order_by(OutboxItem.id)
        .limit(count)
    )
    with write_transaction():
        rows = db.session.execute(
            update(OutboxItem)
            .where(OutboxItem.id.in_(due.scalar_subquery()), OutboxItem.status == "pending")
            .where(not_claimed)
            .values(
                claimed_until=moment + timedelta(seconds=CLAIM_SECONDS),
                attempts=OutboxItem.attempts + 1,
            )
            .returning(OutboxItem.id, OutboxItem.message, OutboxItem.recipient, OutboxItem.attempts)
            .execution_options(synchronize_session=False)
        ).all()
    return sorted((_Claimed(*row) for row in rows), key=lambda claimed: claimed.id)


def _send_chunk(chunk: list[_Claimed]) -> int:
    """Hand the chunk to SMTP, then record every outcome in one transaction. A message whose
    claim might run out before it goes is not sent: it goes back to the outbox untried."""
    claimed_at = time.monotonic()
    sent: list[int] = []
    discarded = [item.id for item in chunk if item.recipient is None]
    failed: list[tuple[_Claimed, str]] = []
    untried = [item for item in chunk if item.recipient is not None]
    try:
        with smtp.connection() as conversation:
            while untried and time.monotonic() - claimed_at < CLAIM_SECONDS / 2:
                item = untried.pop(0)
                try:
                    conversation.send(item.message, item.recipient)
                except MailError as error:
                    failed.append((item, str(error)))
                    if error.connection_lost:
                        break
                else:
                    sent.append(item.id)
    except MailError as error:
        # No conversation at all, or it broke: what it did not send failed with the same cause.
        failed += [(item, str(error)) for item in untried]
        untried = []
    for item, error in failed:
        smtp.log.error("could not send mail %s to %s: %s", item.id, item.recipient, error)
    with write_transaction():
        _finish(sent, "sent")
        _finish(discarded, "discarded")
        for item, error in failed:
            _failed(item.id, item.attempts, error)
        if untried:
            db.session.execute(
                update(OutboxItem)
                .where(OutboxItem.id.in_([item.id for item in untried]))
                .values(claimed_until=None, attempts=OutboxItem.attempts - 1)
                .execution_options(synchronize_session=False)
            )
    return len(sent)


def _finish(ids: list[int], status: str) -> None:
    if ids:
        db.session.execute(
            update(OutboxItem)
            .where(OutboxItem.id.in_(ids))
            .values(status=status, sent_at=utcnow(), claimed_until=None, last_error=None)
            .execution_options(synchronize_session=False)
        )


def pause_after(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt: 30 s, 1 min, 2 min … up to 1 h."""
    return timedelta(
        seconds=min(FIRST_PAUSE_SECONDS * 2 ** max(attempts - 1, 0), LONGEST_PAUSE_SECONDS)
    )


def _failed(item_id: int, attempts: int, error: str) -> None:
    given_up = attempts >= MAX_ATTEMPTS
    if given_up:
        log.error("e-mail %s given up after %s attempts: %s", item_id, attempts, error)
    db.session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == item_id)
        .values(
            status="failed" if given_up else "pending",
            next_attempt_at=utcnow() + pause_after(attempts),
            claimed_until=None,
            last_error=error[:2000],
        )
        .execution_options(synchronize_session=False)
    )


# --- delivery in this process (development, tests) ----------------------------------------------


def _delivery_in_process() -> None:
    if current_app.config.get("MAIL_DELIVERY", "worker") != "in_process":
        return
    app = current_app._get_current_object()

    def deliver_now() -> None:
        # An app context of its own: its own database session, apart from the caller's.
        with app.app_context():
            try:
                deliver_due()
            except Exception:
                log.exception("delivering the outbox failed; the worker will try again")

    if not has_request_context():
        deliver_now()
        return
    if g.get("_outbox_delivery_planned"):
        return
    g._outbox_delivery_planned = True
    closed = threading.Event()

    def deliver_on_close() -> None:
        # Always: what the request committed after the timer below had fired goes now.
        closed.set()
        deliver_now()

    def deliver_at_the_latest() -> None:
        # Both may run at once: the outbox's claims still send each message once.
        if not closed.is_set():
            deliver_now()

    @after_this_request
    def deliver_when_closed(response):
        response.call_on_close(deliver_on_close)
        return response

    # Werkzeug's development server closes a response only once the browser has let go of the
    # connection, which may be much later, and a commit made after the answer was built (or in
    # a request context that answers nothing) has no answer to wait for: never wait longer
    # than a moment.
    timer = threading.Timer(AFTER_RESPONSE_AT_THE_LATEST, deliver_at_the_latest)
    timer.daemon = True
    with _timers_lock:
        _timers.add(timer)
    timer.start()


_timers: set[threading.Timer] = set()
_timers_lock = threading.Lock()


def finish_deliveries(timeout: float = 10.0) -> None:
    """Let this process's deliveries under way finish, and drop those not begun (their e-mails
    stay in the outbox for the worker): for a process or an app that stops (tests, a server)."""
    with _timers_lock:
        timers = list(_timers)
        _timers.clear()
    for timer in timers:
        timer.cancel()
        timer.join(timeout)
