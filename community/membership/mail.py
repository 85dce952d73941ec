"""Membership's e-mails, rendered from the outbox's notices when they are delivered (so the
transaction that wrote them stays short): each in the member's language, with the receipt of the
payment it reports attached as a PDF (its number is given then, once).
"""

from __future__ import annotations

from email.message import EmailMessage

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from community.core.db import db
from community.core.mail import Attachment, build_message
from community.core.money import format_money
from community.core.urls import external_url
from community.membership import documents
from community.membership.models import Membership
from community.payments.documents import render_pdf

SUBJECTS = {
    "welcome": _l("Welcome: you are a member"),
    "renewed": _l("Your membership is renewed"),
    "past_due": _l("Your membership's renewal could not be charged"),
    "reminder": _l("Your membership ends soon: renew it"),
    "in_grace": _l("Your membership has ended: renew it to keep your benefits"),
    "expired": _l("Your membership has expired"),
    "cancelled": _l("Your membership has ended"),
    "auto_renew_off": _l("Your membership will not renew itself"),
    "auto_renew_on": _l("Your membership renews itself again"),
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
    membership = db.session.get(Membership, int(payload.get("membership_id") or 0))
    if kind not in SUBJECTS or membership is None:
        return None
    user = membership.user
    if user.deleted_at is not None:
        return None
    language = user.locale if user.locale in ("ja", "en") else "ja"
    attachments: tuple[Attachment, ...] = ()
    receipt = None
    payment_id = payload.get("payment_id")
    if payment_id:
        receipt = documents.receipt_of(membership, int(payment_id), language)
        if receipt is not None:
            attachments = (
                Attachment(
                    filename=f"{receipt.number}.pdf",
                    content=render_pdf(receipt),
                    maintype="application",
                    subtype="pdf",
                ),
            )
    with force_locale(language):
        amount = format_money(receipt.total_minor, receipt.currency, language) if receipt else None
    return build_message(
        user.email,
        SUBJECTS[kind],
        f"membership/{kind}",
        language,
        attachments,
        user=user,
        membership=membership,
        plan=membership.plan,
        receipt=receipt,
        amount=amount,
        days=payload.get("days"),
        membership_url=external_url("membership.mine"),
        join_url=external_url("membership.join"),
    )
