"""A sponsorship's documents: the invoice (請求書) of one bought against an invoice, and the
receipt (領収書) of its payment, by card or bank transfer, each in Japanese or English. What a
qualified invoice must carry, its tax per rate and its rendering are payments/documents.py's;
here is what a sponsorship puts on them: the company as the buyer, the tier and its period as
what was supplied, the price as it was bought (with or without tax), the invoice's number (the
order's, quoted with the transfer) and due date.
"""

from __future__ import annotations

from datetime import date

from flask import current_app
from flask_babel import force_locale

from community.core.dates import format_day, zone
from community.payments import documents
from community.payments import services as payments
from community.payments.models import Payment
from community.sponsorship.models import Sponsorship

PAID = ("paid", "partially_refunded", "refunded")


def _buyer(sponsorship: Sponsorship) -> documents.Party:
    partner = sponsorship.partner
    return documents.Party(
        name=partner.billing_name or partner.name,
        address=partner.billing_address,
        department=partner.billing_department,
        contact=partner.billing_contact,
    )


def _line(sponsorship: Sponsorship, language: str) -> documents.Line:
    tier = sponsorship.tier
    name = (tier.name_ja or tier.name_en) if language == "ja" else (tier.name_en or tier.name_ja)
    # The document's own language, whatever the reader's (documents.py renders it so).
    with force_locale(language):
        first, last = format_day(sponsorship.starts_on), format_day(sponsorship.ends_on)
    if language == "ja":
        description = f"協賛（{name}プラン、{first}〜{last}）"
    else:
        description = f"{name} sponsorship ({first} to {last})"
    return documents.Line(
        description=description,
        quantity=1,
        unit_price_minor=sponsorship.price_minor,
        tax_rate=sponsorship.tax_rate,
    )


def _issuer() -> documents.Issuer:
    return documents.issuer_from_config(current_app.config)


def amount_due(price_minor: int, tax_rate: int, price_includes_tax: bool) -> int:
    """What is paid for a price: the total its invoice shows (tax per rate, rounded once as
    INVOICE_TAX_ROUNDING says)."""
    line = documents.Line("sponsorship", 1, price_minor, tax_rate)
    lines = documents.tax_lines(
        [line], prices_include_tax=price_includes_tax, rounding=_issuer().tax_rounding
    )
    return sum(tax_line.including_tax_minor for tax_line in lines)


def invoice_of(sponsorship: Sponsorship, language: str) -> documents.Document | None:
    """The invoice of a sponsorship bought against one (None for a card purchase)."""
    if sponsorship.method != "invoice" or sponsorship.order_id is None:
        return None
    order = payments.order_by_id(sponsorship.order_id)
    if order is None or order.invoice_number is None:
        return None
    issued_on = order.created_at.astimezone(zone()).date()
    return documents.build_invoice(
        number=order.invoice_number,
        issuer=_issuer(),
        buyer=_buyer(sponsorship),
        lines=[_line(sponsorship, language)],
        currency=sponsorship.currency,
        language=language,
        issued_on=issued_on,
        supplied_on=sponsorship.starts_on,
        prices_include_tax=sponsorship.price_includes_tax,
        due_on=sponsorship.due_on,
    )


def paid_payment_of(sponsorship: Sponsorship) -> Payment | None:
    if sponsorship.order_id is None:
        return None
    order = payments.order_by_id(sponsorship.order_id)
    if order is None or order.status not in PAID:
        return None
    return next(
        (p for p in order.payments if p.status == "paid" and p.kind != "renewal"),
        None,
    )


def receipt_of(sponsorship: Sponsorship, language: str) -> documents.Document | None:
    """The receipt of the sponsorship's payment, numbered the first time it is asked for
    (None while nothing is paid)."""
    payment = paid_payment_of(sponsorship)
    if payment is None:
        return None
    payment = payments.issue_receipt(payment.id)
    paid_on: date = payment.received_on or payment.created_at.astimezone(zone()).date()
    return documents.build_receipt(
        number=payment.receipt_number,
        issuer=_issuer(),
        buyer=_buyer(sponsorship),
        lines=[_line(sponsorship, language)],
        currency=sponsorship.currency,
        language=language,
        issued_on=payment.receipt_issued_on,
        supplied_on=sponsorship.starts_on,
        paid_on=paid_on,
        payment_method="bank_transfer" if payment.kind == "bank_transfer" else "card",
        prices_include_tax=sponsorship.price_includes_tax,
    )
