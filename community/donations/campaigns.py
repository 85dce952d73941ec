"""Keeping the campaigns: what a campaign says (its name and story in Japanese and English), its
goal in one of the currencies gifts are taken in, when it runs, and the partner company that
matches its gifts up to an amount; and archiving one (it no longer takes gifts nor shows, its
payments stay counted).

Administrators keep them: a goal is a promise to the community, a match one made by a partner.
Once gifts were confirmed for a campaign its currency stays (its totals are sums in it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from community.accounts.partners import partner_name
from community.core.db import db, utcnow
from community.core.errors import Conflict, DomainError, NotFound
from community.core.text import is_single_line
from community.core.transaction import lock_row, write_transaction
from community.core.urls import MAX_ID
from community.donations import services
from community.donations.models import (
    NAME_MAX,
    PARTNER_NAME_MAX,
    SLUG_MAX,
    Campaign,
    DonationPayment,
)

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
STORY_MAX = 8000
# What a goal or a match may be, in minor units: what the database's integer holds.
AMOUNT_MAX_MINOR = 2_000_000_000
SLUG_TAKEN = _l("Another campaign has this address name.")


@dataclass(frozen=True)
class CampaignFields:
    slug: str
    name_ja: str
    name_en: str
    story_ja: str
    story_en: str
    goal_minor: int | None
    currency: str
    starts_at: datetime | None
    ends_at: datetime | None
    # A partner company from the directory (its id), or a name typed (a company that is not a
    # partner in the directory); neither when the campaign is not matched.
    match_partner_id: int | None = None
    match_partner_name: str = ""
    match_cap_minor: int | None = None


def _check(fields: CampaignFields) -> tuple[int | None, str]:
    """The rules a campaign keeps; its matching partner (id and name) as it will be stored."""
    if not SLUG.fullmatch(fields.slug or "") or len(fields.slug) > SLUG_MAX:
        raise DomainError(
            _l("Use lower-case letters, digits and hyphens for the address name."), field="slug"
        )
    if not (fields.name_ja or fields.name_en):
        raise DomainError(_l("Give the campaign a name in Japanese or English."), field="name_ja")
    for name in ("name_ja", "name_en"):
        value = getattr(fields, name)
        if len(value) > NAME_MAX or not is_single_line(value):
            raise DomainError(_l("Keep the name on one line, under 120 characters."), field=name)
    for name in ("story_ja", "story_en"):
        value = getattr(fields, name)
        if len(value) > STORY_MAX or "\x00" in value:
            raise DomainError(_l("Keep the story under 8,000 characters."), field=name)
    if fields.currency not in services.currencies():
        raise DomainError(services.NOT_OFFERED, field="currency")
    if fields.goal_minor is None or not 0 < fields.goal_minor <= AMOUNT_MAX_MINOR:
        raise DomainError(_l("Give the goal: an amount above zero."), field="goal")
    if fields.starts_at is None:
        raise DomainError(_l("Give the day and time the campaign starts."), field="starts_at")
    if fields.ends_at is None:
        raise DomainError(_l("Give the day and time the campaign ends."), field="ends_at")
    if fields.ends_at <= fields.starts_at:
        raise DomainError(_l("The campaign must end after it starts."), field="ends_at")
    cap = fields.match_cap_minor or 0
    if not 0 <= cap <= AMOUNT_MAX_MINOR:
        raise DomainError(_l("Give the most the partner matches, or leave it empty."), field="cap")
    partner_id, name = None, (fields.match_partner_name or "").strip()
    if fields.match_partner_id is not None:
        partner = (
            partner_name(fields.match_partner_id) if 0 < fields.match_partner_id <= MAX_ID else None
        )
        if partner is None:
            raise DomainError(_l("Choose a partner company from the list."), field="partner")
        partner_id, name = partner.id, partner.name[:PARTNER_NAME_MAX]
    if len(name) > PARTNER_NAME_MAX or not is_single_line(name):
        raise DomainError(
            _l("Keep the partner's name on one line, under 200 characters."),
            field="partner_name",
        )
    if cap and not name:
        raise DomainError(_l("Name the partner company that matches the gifts."), field="partner")
    if name and not cap:
        raise DomainError(
            _l("Give the most the partner matches: an amount above zero."), field="cap"
        )
    return partner_id, name


def _apply(campaign: Campaign, fields: CampaignFields, partner: tuple[int | None, str]) -> None:
    campaign.slug = fields.slug
    campaign.name_ja, campaign.name_en = fields.name_ja, fields.name_en
    campaign.story_ja, campaign.story_en = fields.story_ja, fields.story_en
    campaign.goal_minor, campaign.currency = fields.goal_minor, fields.currency
    campaign.starts_at, campaign.ends_at = fields.starts_at, fields.ends_at
    campaign.match_partner_id, campaign.match_partner_name = partner
    campaign.match_cap_minor = fields.match_cap_minor or 0
    campaign.updated_at = utcnow()


def create(fields: CampaignFields) -> Campaign:
    partner = _check(fields)
    campaign = Campaign(status="active")
    _apply(campaign, fields, partner)
    try:
        with write_transaction():
            db.session.add(campaign)
    except IntegrityError as error:
        raise Conflict(SLUG_TAKEN, field="slug") from error
    return campaign


def has_payments(campaign_id: int) -> bool:
    return bool(
        db.session.scalar(
            select(exists().where(DonationPayment.counted_campaign_id == campaign_id))
        )
    )


def update(campaign_id: int, fields: CampaignFields) -> Campaign:
    """What a campaign says, aims at and runs from now on. Its payments stay counted toward it;
    so its currency cannot change once one was."""
    partner = _check(fields)
    try:
        with write_transaction():
            campaign = lock_row(Campaign, campaign_id, Campaign.status)
            if campaign is None:
                raise NotFound(services.NO_SUCH_CAMPAIGN)
            if fields.currency != campaign.currency and has_payments(campaign.id):
                raise DomainError(
                    _l("Gifts were received in this campaign's currency: it cannot change."),
                    field="currency",
                )
            _apply(campaign, fields, partner)
    except IntegrityError as error:
        raise Conflict(SLUG_TAKEN, field="slug") from error
    return campaign


def set_status(campaign_id: int, status: str) -> Campaign:
    """Archive a campaign (it no longer shows nor takes gifts; what it raised stays) or show it
    again."""
    if status not in ("active", "archived"):
        raise DomainError(_l("Choose active or archived."), field="status")
    with write_transaction():
        campaign = lock_row(Campaign, campaign_id, Campaign.status)
        if campaign is None:
            raise NotFound(services.NO_SUCH_CAMPAIGN)
        campaign.status = status
        campaign.updated_at = utcnow()
    return campaign
