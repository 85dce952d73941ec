"""Which ticket orders an organiser may see in the payments back office: those of the events they
run. A ticket order's reference is its registration's id, as text.

Registered with payments' `visibility_rule` hook from the events' `init_app` (payments never
imports events).
"""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, cast, select

from community.accounts.models import User
from community.core.db import db
from community.core.i18n import localized
from community.events.models import Event, Registration, event_organisers
from community.payments.models import Order
from community.payments.visibility import Visibility


def ticket_orders_visible_to(user: User):
    # The registration id is cast to text (not the reference to a number): a reference that is
    # not a number would make PostgreSQL's cast fail for the whole query.
    registrations_run_by_user = (
        select(cast(Registration.id, String))
        .join(event_organisers, event_organisers.c.event_id == Registration.event_id)
        .where(event_organisers.c.user_id == user.id)
    )
    return Order.reference.in_(registrations_run_by_user)


def ticket_order_link(order: Order) -> tuple[str, str] | None:
    # A reference too long for an integer column cannot be a registration (and SQLite would fail).
    if not (order.reference.isascii() and order.reference.isdigit()) or len(order.reference) > 18:
        return None
    found = db.session.execute(
        select(Event.slug, Event.title_ja, Event.title_en, Registration.email)
        .join(Registration, Registration.event_id == Event.id)
        .where(Registration.id == int(order.reference))
    ).first()
    if found is None:
        return None
    url = url_for("events.attendees", slug=found.slug, q=found.email)
    return str(_l("Attendees of %(event)s", event=localized(found, "title"))), url


TICKET_VISIBILITY = Visibility(ticket_orders_visible_to, _l("Tickets"), ticket_order_link)
