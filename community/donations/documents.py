"""A gift's documents: the receipt (領収書) of each payment, numbered in the receipts' series,
and a donor's statement of a calendar year's gifts (each payment, and the total). What a
document must carry and its rendering are payments/documents.py's; here is what a gift puts on
it. Gifts are not subject to consumption tax: every line is at rate 0.
"""

from __future__ import annotations

from datetime import date

from flask import current_app
from flask_babel import force_locale

from community.core.dates import format_day
from community.donations.models import Donation, DonationPayment
from community.donations.services import local_day
from community.payments import documents
from community.payments import services as payments


def _what(donation: Donation, language: str) -> str:
    campaign = donation.campaign
    ja = language == "ja"
    if donation.is_monthly:
        what = "毎月の寄付" if ja else "Monthly donation"
    else:
        what = "寄付" if ja else "Donation"
    if campaign is None:
        return what
    name = (campaign.name_ja or campaign.name_en) if ja else (campaign.name_en or campaign.name_ja)
    return f"{what}（{name}）" if ja else f"{what}: {name}"


def _buyer(donation: Donation, language: str) -> documents.Party:
    name = donation.donor_name or donation.email
    return documents.Party(name=name, person=True)


def receipt_of(donation: Donation, payment_id: int, language: str) -> documents.Document | None:
    """The receipt of one of this gift's payments, numbered the first time it is asked for
    (None when the payment is not one of this gift's)."""
    row = next((p for p in donation.payments if p.payment_id == payment_id), None)
    if row is None:
        return None
    payment = payments.issue_receipt(payment_id)
    day = local_day(row.paid_at)
    return documents.build_receipt(
        number=payment.receipt_number,
        issuer=documents.issuer_from_config(current_app.config),
        buyer=_buyer(donation, language),
        lines=[
            documents.Line(
                description=_what(donation, language),
                quantity=1,
                unit_price_minor=row.amount_minor,
                tax_rate=0,
            )
        ],
        currency=row.currency,
        language=language,
        issued_on=payment.receipt_issued_on,
        supplied_on=day,
        paid_on=day,
        payment_method="card",
        prices_include_tax=True,
    )


def statement_number(year: int, rows: list[DonationPayment]) -> str:
    """The same number whenever the statement is asked for: the year and the donor's first gift."""
    first = min(row.donation_id for row in rows)
    return f"DS-{year}-{first:06d}"


def statement(rows: list[DonationPayment], year: int, language: str) -> documents.Document | None:
    """The statement of a year's gifts (services.statement_payments), None when there are none.
    Several currencies on one statement are not added up: the statement is of the first one's,
    and the others are left off (gifts are taken in yen unless configured otherwise)."""
    if not rows:
        return None
    currency = rows[0].currency
    rows = [row for row in rows if row.currency == currency]
    lines = []
    with force_locale(language):
        for row in rows:
            day = format_day(local_day(row.paid_at))
            lines.append(
                documents.Line(
                    description=f"{day} {_what(row.donation, language)}",
                    quantity=1,
                    unit_price_minor=row.net_minor,
                    tax_rate=0,
                )
            )
    latest = max(rows, key=lambda row: row.paid_at)
    today = documents.community_today()
    return documents.build_statement(
        number=statement_number(year, rows),
        issuer=documents.issuer_from_config(current_app.config),
        buyer=_buyer(latest.donation, language),
        lines=lines,
        currency=currency,
        language=language,
        issued_on=max(today, local_day(latest.paid_at)),
        period_start=date(year, 1, 1),
        period_end=date(year, 12, 31),
        payment_method="card",
    )
