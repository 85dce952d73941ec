"""The number of SQL statements a page runs does not grow with the data: every page a visitor, a
member, an organiser or an admin can open is read with 10 events (and their registrations) and
again with 1,000, and runs the same statements both times.

The pages are every GET route of the app without arguments, and those with arguments filled
from the data (an event, its attendees, a plan, a campaign, an order, a member, a partner); each
is read twice in each state, first with the fragment caches emptied (everything rendered), then
warm. The demo data (community/demo.py) gives every domain something to show; bench/dataset.py
adds the events and registrations, as the benchmark does.
"""

from __future__ import annotations

import pytest
from flask import url_for
from sqlalchemy import select

from bench import dataset
from community.core.db import db
from community.core.fragments import fragments
from community.demo import DEMO_LOGINS, seed_demo
from community.donations.models import Campaign, Donation
from community.membership.models import Membership, MembershipPlan
from community.payments.models import Order
from community.sponsorship.models import Partner
from tests.conftest import IsolatedClient, count_queries, submit

# Not pages: files, the health check, redirects to elsewhere.
SKIPPED_ENDPOINTS = {"static", "core.healthz", "core.favicon", "core.robots"}


def _world_pages(app, detail_slug: str) -> list[str]:
    """Every GET page: the routes without arguments, and the ones with arguments filled in."""
    with app.test_request_context():
        paths = []
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint in SKIPPED_ENDPOINTS:
                continue
            if not rule.arguments:
                paths.append(url_for(rule.endpoint))
        plan = db.session.scalar(select(MembershipPlan.slug).order_by(MembershipPlan.id))
        campaign = db.session.scalar(select(Campaign.slug).order_by(Campaign.id))
        order = db.session.scalar(select(Order.id).order_by(Order.id))
        member = db.session.scalar(select(Membership.user_id).order_by(Membership.id))
        partner = db.session.scalar(select(Partner.id).order_by(Partner.id))
        gift = db.session.scalar(select(Donation.id).order_by(Donation.id))
        paths += [
            url_for("events.detail", slug=detail_slug),
            url_for("events.attendees", slug=detail_slug),
            url_for("events.check_in", slug=detail_slug),
            url_for("events.edit", slug=detail_slug),
            url_for("api.get_event", slug=detail_slug),
            url_for("api.attendees", slug=detail_slug),
            url_for("calendar.event_ics", slug=detail_slug),
            url_for("membership.plan", slug=plan),
            url_for("donations.campaign", slug=campaign),
            url_for("payments_admin.order", order_id=order),
            url_for("membership_admin.member", user_id=member),
            url_for("sponsorship.dashboard", partner_id=partner),
            url_for("donations_admin.gift", donation_id=gift),
            url_for("calendar.scoped_feed", name="workshops"),
        ]
    return sorted(set(paths))


def _client(app, who: str | None):
    app.test_client_class = IsolatedClient
    client = app.test_client()
    if who is not None:
        email, password = DEMO_LOGINS[who]
        response = submit(client, "/account/login", {"email": email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        client.get(response.headers["Location"])  # the welcome message, shown once
    return client


def _forget_fragments(app) -> None:
    """Empty the rendered fragments' caches: the next read renders everything."""
    fragments.clear()
    app.extensions["page_blocks"].clear()
    app.extensions["site_chrome"].clear()


def _counts(app, clients: dict, paths: list[str]) -> dict:
    """(who, path, cold or warm) → (status, number of statements)."""
    found = {}
    for who, client in clients.items():
        for path in paths:
            _forget_fragments(app)
            for visit in ("cold", "warm"):
                with app.app_context(), count_queries() as statements:
                    response = client.get(path)
                found[who, path, visit] = (response.status_code, len(statements))
    return found


@pytest.fixture
def world(make_app):
    app = make_app(PAGE_CACHE_SECONDS=0)
    with app.app_context():
        seed_demo()
        db.session.commit()
        few = dataset.generate(10, 100, "qa", seed=2026)
    return app, few["detail_slug"]


def _grow(app) -> None:
    """990 more events with 9,900 registrations (which change what every list shows, so that
    the first read of each page after is with cold fragment caches again)."""
    with app.app_context():
        dataset.generate(990, 9_900, "qb", seed=2027)


def test_no_page_runs_more_statements_with_more_events(world):
    app, detail_slug = world
    paths = _world_pages(app, detail_slug)
    clients = {who: _client(app, who) for who in (None, "member", "organiser", "admin")}

    few = _counts(app, clients, paths)
    _grow(app)
    many = _counts(app, clients, paths)

    errors = {key: status for key, (status, _) in many.items() if status >= 500}
    assert not errors, errors
    grown = {key: (few[key][1], many[key][1]) for key in few if many[key][1] > few[key][1]}
    assert not grown, "statements per page grew (10 events → 1,000): " + ", ".join(
        f"{who or 'visitor'} {path} ({visit}): {before} → {after}"
        for (who, path, visit), (before, after) in sorted(grown.items(), key=str)
    )
    # The pages were really read: most answer 200 to someone.
    assert sum(status == 200 for status, _ in many.values()) > len(paths)
