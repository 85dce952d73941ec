"""Donations' e-mails, rendered from the outbox's notices when they are delivered (so the
transaction that wrote them stays short): each in the donor's language, to the address the gift
was made from, with the receipt of the payment it reports attached as a PDF (its number is
given then, once), and the gift's private link.
"""

from __future__ import annotations

from email.message import EmailMessage

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from community.core.db import db
from community.core.mail import Attachment, build_message
from community.core.money import format_money
from community.core.urls import external_url
from community.donations import documents, services
from community.donations.models import Donation
from community.payments.documents import render_pdf

SUBJECTS = {
    "thanks": _l("Thank you for your donation"),
    "monthly_started": _l("Thank you: your monthly donation has started"),
    "monthly_paid": _l("Your monthly donation: receipt"),
    "past_due": _l("Your monthly donation could not be charged"),
    "amount_changed": _l("Your monthly donation's amount has changed"),
    "paused": _l("Your monthly donation is paused"),
    "resumed": _l("Your monthly donation continues"),
    "cancelled": _l("Your monthly donation has stopped"),
    "ended": _l("Your monthly donation has ended"),
    "refunded": _l("Your donation is being refunded"),
    "statement": None,  # the year is in it (below)
}


def render_notices(payloads: list[dict]) -> list[EmailMessage]:
    messages = []
    for payload in payloads:
        message = _message(payload)
        if message is not None:
            messages.append(message)
    return messages


def _message(payload: dict) -> EmailMessage | None:
    kind = payload.get("kind")
    donation = db.session.get(Donation, int(payload.get("donation_id") or 0))
    if kind not in SUBJECTS or donation is None or donation.email.endswith("@invalid"):
        return None
    language = donation.language
    attachments: tuple[Attachment, ...] = ()
    receipt = None
    payment_id = payload.get("payment_id")
    if payment_id:
        receipt = documents.receipt_of(donation, int(payment_id), language)
        if receipt is not None:
            attachments = (
                Attachment(
                    filename=f"{receipt.number}.pdf",
                    content=render_pdf(receipt),
                    maintype="application",
                    subtype="pdf",
                ),
            )
    year = payload.get("year")

    def money(minor: int) -> str:
        return format_money(minor, donation.currency, language)

    with force_locale(language):
        subject = (
            SUBJECTS[kind]
            if kind != "statement"
            else _l("Your statement of donations for %(year)s", year=year)
        )
        manage_url = services.manage_url(donation)
        return build_message(
            donation.email,
            subject,
            f"donations/{kind}",
            language,
            attachments,
            donation=donation,
            campaign=donation.campaign,
            receipt=receipt,
            amount=money(receipt.total_minor if receipt else donation.amount_minor),
            previous=money(payload["previous_minor"]) if payload.get("previous_minor") else None,
            refunded=money(payload["amount_minor"]) if payload.get("amount_minor") else None,
            year=year,
            manage_url=manage_url,
            statement_url=f"{manage_url}/statement/{year}" if year else None,
            donate_url=external_url("donations.donate"),
        )
