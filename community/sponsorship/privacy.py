"""What sponsorship keeps about a person, for their account's export and deletion: which
companies they may manage. The companies themselves (their billing details, their
sponsorships and documents) are the companies' records and stay; a person who deletes their
account stops being one of their contacts."""

from __future__ import annotations

from sqlalchemy import delete, select

from community.accounts.models import User
from community.core.db import db
from community.sponsorship.models import Partner, PartnerContact


def export_contacts(user: User) -> list[dict]:
    rows = db.session.execute(
        select(Partner.name_ja, Partner.name_en, PartnerContact.added_at)
        .join(PartnerContact, PartnerContact.partner_id == Partner.id)
        .where(PartnerContact.user_id == user.id)
        .order_by(Partner.id)
    )
    return [
        {"company_ja": name_ja, "company_en": name_en, "contact_since": added_at.isoformat()}
        for name_ja, name_en, added_at in rows
    ]


def erase_contacts(user: User) -> None:
    db.session.execute(delete(PartnerContact).where(PartnerContact.user_id == user.id))
