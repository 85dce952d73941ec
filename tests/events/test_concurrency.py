"""Nothing is sold twice: many people registering at the same moment, through the real HTTP
interface, served by several gunicorn processes, on SQLite and on PostgreSQL."""

from __future__ import annotations

import http.cookiejar
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from community.core.db import db
from community.events.models import Event, Registration, TicketType
from community.events.services import TicketTypeData
from tests.serving import gunicorn_serving

PEOPLE = 110
PLACES = 10


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def served(app, smtp_server, tmp_path):
    """The app served by gunicorn (4 processes × 4 threads) on this test's database."""
    with gunicorn_serving(app, smtp_server, tmp_path, workers=4, threads=4) as base:
        yield base


def _person(base: str, slug: str, number: int, barrier: threading.Barrier) -> int:
    """One browser: open the event page (cookie, CSRF token), wait for everyone, register."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    with opener.open(f"{base}/events/{slug}", timeout=60) as page:
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.read().decode()).group(1)
    body = urllib.parse.urlencode(
        {
            "csrf_token": token,
            "name": f"Person {number}",
            "email": f"rush{number}@example.com",
            "ticket_type": "general",
        }
    ).encode()
    barrier.wait(timeout=120)
    request = urllib.request.Request(f"{base}/events/{slug}/register", data=body, method="POST")
    try:
        with opener.open(request, timeout=120) as response:
            return response.status
    except urllib.error.HTTPError as answer:
        return answer.code


def test_simultaneous_registrations_never_oversell(app, make_event, served, mailbox):
    event = make_event(
        capacity=PLACES, tickets=[TicketTypeData(slug="general", name_en="General", quota=PLACES)]
    )
    barrier = threading.Barrier(PEOPLE)
    with ThreadPoolExecutor(max_workers=PEOPLE) as pool:
        futures = [pool.submit(_person, served, event.slug, n, barrier) for n in range(PEOPLE)]
        statuses = [future.result(timeout=300) for future in futures]

    assert statuses == [302] * PEOPLE  # every answer is a redirect to the manage page
    db.session.rollback()  # end this test's read transaction: see what the servers wrote
    counts = dict(
        db.session.execute(
            select(Registration.status, func.count())
            .where(Registration.event_id == event.id)
            .group_by(Registration.status)
        ).all()
    )
    assert counts == {"confirmed": PLACES, "waitlisted": PEOPLE - PLACES}
    stored = db.session.get(Event, event.id, populate_existing=True)
    ticket = db.session.scalar(select(TicketType).where(TicketType.event_id == event.id))
    assert stored.places_taken == PLACES
    assert ticket.taken == PLACES
    # The first ten in the queue are the ten confirmed: first come, first served.
    order = db.session.scalars(
        select(Registration.status)
        .where(Registration.event_id == event.id)
        .order_by(Registration.queued_at, Registration.id)
    ).all()
    assert order[:PLACES] == ["confirmed"] * PLACES
