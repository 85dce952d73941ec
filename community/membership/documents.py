"""A membership's receipts (領収書): one for each payment of it (the join, each renewal), in
Japanese or English. What a receipt must carry, its tax and its rendering are
payments/documents.py's; here is what a membership puts on it: the member as the buyer, the
plan and its term as what was supplied, the price with the consumption tax included
(MEMBERSHIP_TAX_RATE).
"""

from __future__ import annotations

from datetime import date

from flask import current_app
from flask_babel import force_locale

from community.core.dates import format_day, zone
from community.membership.models import Membership, MembershipEvent
from community.membership.services import one_year_before
from community.payments import documents
from community.payments import services as payments
from community.payments.models import Payment


def paid_events(membership: Membership) -> list[MembershipEvent]:
    """The steps of the membership's history that brought a payment, newest first."""
    return [
        event
        for event in reversed(membership.history)
        if event.payment_id is not None and (event.amount_minor or 0) > 0
    ]


def _event_of(membership: Membership, payment_id: int) -> MembershipEvent | None:
    return next((e for e in paid_events(membership) if e.payment_id == payment_id), None)


def _local_day(moment) -> date:
    return moment.astimezone(zone()).date()


def receipt_of(membership: Membership, payment_id: int, language: str) -> documents.Document | None:
    """The receipt of one of this membership's payments, numbered the first time it is asked
    for (None when the payment is not one of this membership's)."""
    event = _event_of(membership, payment_id)
    if event is None:
        return None
    payment = payments.issue_receipt(payment_id)
    return _receipt(membership, event, payment, language)


def _receipt(
    membership: Membership, event: MembershipEvent, payment: Payment, language: str
) -> documents.Document:
    plan = event.plan
    name = (plan.name_ja or plan.name_en) if language == "ja" else (plan.name_en or plan.name_ja)
    last = event.ends_at or membership.ends_at
    first = one_year_before(last) if last is not None else event.at
    # The document's own language, whatever the reader's (documents.py renders it so).
    with force_locale(language):
        first_day, last_day = format_day(_local_day(first)), format_day(_local_day(last))
    if language == "ja":
        description = f"会費（{name}、{first_day}〜{last_day}）"
    else:
        description = f"Membership dues: {name} ({first_day} to {last_day})"
    line = documents.Line(
        description=description,
        quantity=1,
        unit_price_minor=payment.amount_minor,
        tax_rate=current_app.config.get("MEMBERSHIP_TAX_RATE", 10),
    )
    user = membership.user
    return documents.build_receipt(
        number=payment.receipt_number,
        issuer=documents.issuer_from_config(current_app.config),
        buyer=documents.Party(name=user.name or user.email, person=True),
        lines=[line],
        currency=payment.currency,
        language=language,
        issued_on=payment.receipt_issued_on,
        supplied_on=_local_day(event.at),
        paid_on=_local_day(payment.created_at),
        payment_method="card",
        prices_include_tax=True,
    )
