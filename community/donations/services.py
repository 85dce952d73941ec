"""The donations rules: giving (an amount checked on the server against the configured limits, a
campaign that runs, how to appear on the wall), the donor's private link and what it lets them
change (a monthly gift's amount, a pause, its end, their place on the wall), campaigns and
their progress, the wall, and the e-mails each step sends (as outbox notices, in the donor's
language).

Money goes through payments: a gift is an order of the "donation" purpose (a Stripe
subscription when monthly), and fulfilment.py records each payment that payments confirms.
Totals are sums of those payments, never counters (see models.py).

What the public pages show changes with the content version "donations" (bumped by the
database with any change to campaigns, gifts and payments) and with the clock, only when a
campaign starts or ends: `page_version` and `shown_campaigns` tell the views both.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, distinct, exists, func, select

from community.accounts.models import User
from community.core.dates import zone
from community.core.db import db, read_rows, utcnow
from community.core.errors import DomainError, NotFound
from community.core.i18n import current_language, localized
from community.core.money import MoneyError, exponent, format_money, parse_amount
from community.core.outbox import enqueue_notice
from community.core.text import (
    AMOUNT_TEXT_MAX,
    email_key,
    half_width,
    normalise_email,
    one_line,
)
from community.core.transaction import lock_row, write_transaction
from community.core.urls import MAX_ID, external_url
from community.core.versions import content_version
from community.donations.models import (
    KINDS,
    MESSAGE_MAX,
    RUNNING,
    WALL_CHOICES,
    Campaign,
    Donation,
    DonationPayment,
)
from community.payments import services as payments
from community.payments.gateway import MINIMUM_CHARGE

PURPOSE = "donation"
NOTICE = "donation"
# A checkout at Stripe lasts at least this long; a gift still pending after it is abandoned.
CHECKOUT_HOLD = timedelta(minutes=60)
WALL_SIZE = 20
DONOR_NAME_MAX = 80

NOT_A_NUMBER = _l("Give the amount as a number, such as 5000.")
CAMPAIGN_ENDED = _l("This campaign has ended: it no longer takes gifts.")
CAMPAIGN_NOT_STARTED = _l("This campaign has not started yet.")
NO_SUCH_CAMPAIGN = _l("There is no such campaign.")
NO_SUCH_GIFT = _l("There is no such gift.")
NOT_OFFERED = _l("Gifts are not taken in this currency.")
NAME_NEEDED = _l("Give the name to show on the donor wall, or choose to appear anonymously.")
NOT_RUNNING = _l("This monthly gift has ended: there is nothing to change.")
NOT_MONTHLY = _l("Only a monthly gift can be changed, paused or cancelled.")


# --- limits and amounts --------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    currency: str
    minimum_minor: int
    maximum_minor: int
    suggested_minor: tuple[int, ...]


def currencies() -> tuple[str, ...]:
    return tuple(current_app.config.get("DONATION_CURRENCIES") or ("JPY",))


def limits(currency: str | None = None) -> Limits:
    """The smallest and largest gift and the suggested amounts, in the currency's minor units
    (the configuration gives them in major units). Never below Stripe's smallest charge."""
    code = (currency or currencies()[0]).upper()
    if code not in currencies():
        raise DomainError(NOT_OFFERED, field="currency")
    scale = 10 ** exponent(code)
    config = current_app.config
    minimum = max(config.get("DONATION_MINIMUM", 500) * scale, MINIMUM_CHARGE.get(code, 50))
    maximum = config.get("DONATION_MAXIMUM", 1_000_000) * scale
    suggested = tuple(amount * scale for amount in config.get("DONATION_SUGGESTED", ()))
    return Limits(code, minimum, maximum, suggested)


def parse_gift_amount(text: str | None, currency: str) -> int:
    """The amount as typed ("5000", "5,000", "５０００", "￥5,000円") in minor units, within the
    limits; a DomainError on the amount field otherwise."""
    bounds = limits(currency)
    text = (text or "").strip()
    if not text:
        raise DomainError(_l("Choose or give an amount."), field="amount")
    if len(text) > AMOUNT_TEXT_MAX:
        raise DomainError(NOT_A_NUMBER, field="amount")
    language = current_language()
    try:
        amount = parse_amount(text, bounds.currency)
    except MoneyError as error:
        whole = half_width(text).replace(",", "").strip()
        if not (whole.isascii() and whole.isdigit()):
            raise DomainError(NOT_A_NUMBER, field="amount") from error
        amount = bounds.maximum_minor + 1  # a whole number too long to read: too large
    if amount < bounds.minimum_minor:
        raise DomainError(
            _l(
                "Gifts start at %(amount)s.",
                amount=format_money(bounds.minimum_minor, bounds.currency, language),
            ),
            field="amount",
        )
    if amount > bounds.maximum_minor:
        raise DomainError(
            _l(
                "A gift online is at most %(amount)s. For a larger one, please write to us.",
                amount=format_money(bounds.maximum_minor, bounds.currency, language),
            ),
            field="amount",
        )
    return amount


# --- campaigns -----------------------------------------------------------------------------------


def campaign_by_slug(slug: str) -> Campaign | None:
    if not slug or len(slug) > 60:
        return None
    return db.session.scalar(select(Campaign).where(Campaign.slug == slug))


def campaign_by_id(campaign_id: int) -> Campaign | None:
    if not 0 < campaign_id <= MAX_ID:
        return None
    return db.session.get(Campaign, campaign_id)


def running_campaigns(moment: datetime | None = None) -> list[Campaign]:
    moment = moment or utcnow()
    return list(
        db.session.scalars(
            select(Campaign)
            .where(
                Campaign.status == "active",
                Campaign.starts_at <= moment,
                Campaign.ends_at > moment,
            )
            .order_by(Campaign.ends_at, Campaign.id)
        )
    )


def page_version() -> int:
    """The version of everything the public pages show but the clock (content version
    "donations": campaigns, gifts and their payments): one small read, shared by all contents,
    once per request."""
    return content_version("donations")


@dataclass(frozen=True)
class CampaignTimes:
    """When a campaign that shows (an active one) runs: all that its page's and /donate's
    markup owe to the clock."""

    id: int
    starts_at: datetime
    ends_at: datetime

    def phase(self, moment: datetime) -> str:
        """ "coming", "running" or "over" at `moment`."""
        if moment < self.starts_at:
            return "coming"
        return "running" if moment < self.ends_at else "over"


_SHOWN = "donations_shown_campaigns"


def shown_campaigns() -> dict[str, CampaignTimes]:
    """The active campaigns' times by slug, read once per version of the donations in this
    app's process (any change to a campaign bumps it): the pages learn from it, without a
    query, which campaigns run now and whether a slug is one that shows."""
    version = page_version()
    held = current_app.extensions.get(_SHOWN)
    if held is None or held[0] != version:
        rows = read_rows(
            select(Campaign.slug, Campaign.id, Campaign.starts_at, Campaign.ends_at).where(
                Campaign.status == "active"
            )
        )
        # Read after the version: never older than it (at worst newer, which a next version
        # replaces).
        held = (version, {slug: CampaignTimes(id_, start, end) for slug, id_, start, end in rows})
        current_app.extensions[_SHOWN] = held
    return held[1]


def running_campaign_ids(moment: datetime) -> tuple[int, ...]:
    """The campaigns running at `moment`, in /donate's order (as `running_campaigns`)."""
    running = [t for t in shown_campaigns().values() if t.phase(moment) == "running"]
    return tuple(t.id for t in sorted(running, key=lambda t: (t.ends_at, t.id)))


def all_campaigns() -> list[Campaign]:
    return list(db.session.scalars(select(Campaign).order_by(Campaign.starts_at.desc())))


@dataclass(frozen=True)
class Progress:
    goal_minor: int
    raised_minor: int
    donors: int
    matched_minor: int
    currency: str

    @property
    def total_minor(self) -> int:
        """What the campaign raised with its partner's match."""
        return self.raised_minor + self.matched_minor

    @property
    def percent(self) -> int:
        """Of the goal, raised and matched together, for the bar (at most 100)."""
        if self.goal_minor <= 0:
            return 0
        return min(100, self.total_minor * 100 // self.goal_minor)


NET = DonationPayment.amount_minor - DonationPayment.refunded_minor


def _raised_rows(campaign_ids: list[int]):
    if not campaign_ids:
        return {}
    rows = db.session.execute(
        select(
            DonationPayment.counted_campaign_id,
            func.coalesce(
                func.sum(DonationPayment.amount_minor - DonationPayment.refunded_minor), 0
            ),
            func.count(distinct(Donation.donor_key)),
        )
        .join(Donation, Donation.id == DonationPayment.donation_id)
        .where(
            DonationPayment.counted_campaign_id.in_(campaign_ids),
            DonationPayment.amount_minor > DonationPayment.refunded_minor,
        )
        .group_by(DonationPayment.counted_campaign_id)
    )
    return {row[0]: (int(row[1]), int(row[2])) for row in rows}


def progress_of(campaigns: list[Campaign]) -> dict[int, Progress]:
    """Each campaign's progress, in one query whatever their number: what confirmed payments
    gave (less refunds), by how many donors, and the partner's match (one for one, up to its
    cap)."""
    raised = _raised_rows([c.id for c in campaigns])
    result = {}
    for campaign in campaigns:
        total, donors = raised.get(campaign.id, (0, 0))
        result[campaign.id] = Progress(
            goal_minor=campaign.goal_minor,
            raised_minor=total,
            donors=donors,
            matched_minor=min(total, campaign.match_cap_minor),
            currency=campaign.currency,
        )
    return result


def progress(campaign: Campaign) -> Progress:
    return progress_of([campaign])[campaign.id]


# --- giving --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GiftRequest:
    amount: str
    kind: str
    email: str
    currency: str = ""
    campaign_slug: str = ""
    donor_name: str = ""
    message: str = ""
    wall: str = "anonymous"
    language: str = "ja"


def _donor_name(name: str | None) -> str:
    name = one_line(name).strip()
    if len(name) > DONOR_NAME_MAX:
        raise DomainError(
            _l("Keep the name under %(count)d characters.", count=DONOR_NAME_MAX),
            field="donor_name",
        )
    return name


def _wall(choice: str | None, name: str) -> str:
    if choice not in WALL_CHOICES:
        raise DomainError(_l("Choose how to appear on the donor wall."), field="wall")
    if choice != "anonymous" and not name:
        raise DomainError(NAME_NEEDED, field="donor_name")
    return choice


def _campaign_for_gift(slug: str, currency: str, moment: datetime) -> Campaign | None:
    if not slug:
        return None
    campaign = campaign_by_slug(slug)
    if campaign is None or campaign.status != "active":
        raise NotFound(NO_SUCH_CAMPAIGN)
    if moment >= campaign.ends_at:
        raise DomainError(CAMPAIGN_ENDED, field="campaign")
    if moment < campaign.starts_at:
        raise DomainError(CAMPAIGN_NOT_STARTED, field="campaign")
    if campaign.currency != currency:
        raise DomainError(
            _l("This campaign takes gifts in %(currency)s.", currency=campaign.currency),
            field="currency",
        )
    return campaign


def give(request: GiftRequest, user: User | None = None) -> Donation:
    """A pending gift and its order, ready for its checkout (`checkout_for`). Every check is
    made before anything is written: a refused gift changes nothing."""
    currency = (request.currency or currencies()[0]).upper()
    if currency not in currencies():
        raise DomainError(NOT_OFFERED, field="currency")
    if request.kind not in KINDS:
        raise DomainError(_l("Choose a one-off or a monthly gift."), field="kind")
    amount = parse_gift_amount(request.amount, currency)
    address = normalise_email(user.email if user is not None else request.email)
    name = _donor_name(request.donor_name)
    wall = _wall(request.wall, name)
    message = (request.message or "").strip()
    if len(message) > MESSAGE_MAX:
        raise DomainError(
            _l("Keep the message under %(count)d characters.", count=MESSAGE_MAX),
            field="message",
        )
    moment = utcnow()
    campaign = _campaign_for_gift(request.campaign_slug, currency, moment)
    language = request.language if request.language in ("ja", "en") else "ja"
    with write_transaction():
        donation = Donation(
            kind=request.kind,
            status="pending",
            amount_minor=amount,
            currency=currency,
            campaign_id=campaign.id if campaign is not None else None,
            user_id=user.id if user is not None else None,
            email=address,
            email_key=email_key(address),
            donor_key=f"user:{user.id}" if user is not None else f"email:{email_key(address)}",
            donor_name=name,
            message=message,
            wall=wall,
            language=language,
            manage_nonce=secrets.token_hex(16),
            created_at=moment,
            updated_at=moment,
        )
        db.session.add(donation)
        db.session.flush()
        monthly = request.kind == "monthly"
        order = payments.open_order(
            purpose=PURPOSE,
            reference=str(donation.id),
            amount_minor=amount,
            currency=currency,
            email=address,
            description=_description(donation, campaign),
            expires_at=moment + CHECKOUT_HOLD,
            user_id=donation.user_id,
            mode="subscription" if monthly else "payment",
            interval="month" if monthly else None,
        )
        donation.order_id = order.id
    return donation


def _description(donation: Donation, campaign: Campaign | None) -> str:
    ja = donation.language == "ja"
    what = (
        ("毎月の寄付" if ja else "Monthly donation")
        if donation.is_monthly
        else ("寄付" if ja else "Donation")
    )
    if campaign is None:
        return what
    name = (campaign.name_ja or campaign.name_en) if ja else (campaign.name_en or campaign.name_ja)
    return f"{what}（{name}）" if ja else f"{what}: {name}"


def checkout_for(donation: Donation, *, success_url: str, cancel_url: str) -> str:
    """Where to pay for this pending gift (the same page on a second click)."""
    order = payments.order_by_id(donation.order_id) if donation.order_id else None
    if donation.status != "pending" or order is None or order.status != "pending":
        raise DomainError(_l("This gift is already paid, or its payment page has closed."))
    return payments.start_checkout(order, success_url=success_url, cancel_url=cancel_url)


def confirm_if_paid(donation: Donation) -> bool:
    """Back from the payment page: ask Stripe (not the browser) whether it was paid."""
    if donation.status != "pending":
        return False
    return payments.sync_checkouts(PURPOSE, str(donation.id))


def abandon_stale(moment: datetime | None = None) -> int:
    """Gifts whose checkout outlived its hold (and a margin) are abandoned: their checkouts are
    closed at Stripe first, so that none can be paid afterwards (a payment made meanwhile
    confirms the gift instead)."""
    moment = moment or utcnow()
    cutoff = moment - CHECKOUT_HOLD - timedelta(minutes=10)
    stale = list(
        db.session.scalars(
            select(Donation.id)
            .where(Donation.status == "pending", Donation.created_at < cutoff)
            .order_by(Donation.id)
            .limit(200)
        )
    )
    abandoned = 0
    for donation_id in stale:
        if payments.close_checkouts(PURPOSE, str(donation_id)) == "unknown":
            continue  # Stripe did not answer: asked again next round
        with write_transaction():
            donation = locked(donation_id)
            if donation is not None and donation.status == "pending":
                donation.transition("abandoned", utcnow())
                abandoned += 1
    return abandoned


def locked(donation_id: int) -> Donation | None:
    return lock_row(Donation, donation_id, Donation.status)


def parse_reference(reference: str) -> int | None:
    if not (reference.isascii() and reference.isdigit()):
        return None
    value = int(reference)
    return value if 0 < value <= MAX_ID else None


# --- the private link ----------------------------------------------------------------------------


def manage_token(donation: Donation) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    message = f"donation:{donation.id}:{donation.manage_nonce}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def manage_url(donation: Donation) -> str:
    return external_url("donations.manage", donation_id=donation.id, key=manage_token(donation))


def by_token(donation_id: int, token: str | None) -> Donation:
    """The gift this private link is for; NotFound (a 404) for any other link."""
    donation = db.session.get(Donation, donation_id) if 0 < donation_id <= MAX_ID else None
    # Bytes: compare_digest refuses str with non-ASCII characters, which anyone can type.
    if donation is None or not hmac.compare_digest(
        manage_token(donation).encode(), (token or "")[:64].encode()
    ):
        raise NotFound(NO_SUCH_GIFT)
    return donation


@dataclass(frozen=True)
class CampaignName:
    name_ja: str
    name_en: str

    @property
    def name(self) -> str:
        return localized(self, "name")


@dataclass
class OwnGift:
    """A signed-in person's gift as their list shows it (with what it has given so far)."""

    id: int
    manage_nonce: str
    kind: str
    amount_minor: int
    currency: str
    confirmed_at: datetime
    campaign: CampaignName | None
    given_minor: int = 0

    @property
    def is_monthly(self) -> bool:
        return self.kind == "monthly"


@dataclass(frozen=True)
class OwnGifts:
    gifts: list[OwnGift]
    years: list[int]  # with a statement, newest first (as `statement_years`)


_OWN_GIFTS = (
    select(
        Donation.id,
        Donation.manage_nonce,
        Donation.kind,
        Donation.amount_minor,
        Donation.currency,
        Donation.confirmed_at,
        Campaign.name_ja,
        Campaign.name_en,
        DonationPayment.amount_minor,
        DonationPayment.refunded_minor,
        DonationPayment.paid_at,
    )
    .outerjoin(Campaign, Campaign.id == Donation.campaign_id)
    .outerjoin(DonationPayment, DonationPayment.donation_id == Donation.id)
    .where(
        Donation.user_id == bindparam("user_id"),
        Donation.confirmed_at.is_not(None) | DonationPayment.id.is_not(None),
    )
    .order_by(Donation.confirmed_at.desc(), Donation.id.desc(), DonationPayment.id)
)


def own_gifts(user: User) -> OwnGifts:
    """The signed-in person's gifts, newest first (never one still waiting for its payment),
    what each gave, and the years they have a statement for: one query, a row a payment."""
    rows = read_rows(_OWN_GIFTS, {"user_id": user.id})
    gifts: dict[int, OwnGift] = {}
    years = set()
    local = zone()
    for row in rows:
        (gift_id, nonce, kind, amount, currency, confirmed_at, name_ja, name_en) = row[:8]
        paid, refunded, paid_at = row[8:]
        gift = gifts.get(gift_id)
        if gift is None and confirmed_at is not None:
            campaign = CampaignName(name_ja, name_en) if name_ja is not None else None
            gift = gifts[gift_id] = OwnGift(
                gift_id, nonce, kind, amount, currency, confirmed_at, campaign
            )
        if paid is not None and paid > refunded:
            years.add(paid_at.astimezone(local).year)
            if gift is not None:
                gift.given_minor += paid - refunded
    return OwnGifts(list(gifts.values()), sorted(years, reverse=True))


# --- what the donor changes ----------------------------------------------------------------------


def set_wall(donation: Donation, wall: str | None, donor_name: str | None) -> Donation:
    name = _donor_name(donor_name)
    choice = _wall(wall, name)
    with write_transaction():
        row = locked(donation.id)
        row.wall = choice
        row.donor_name = name
        row.updated_at = utcnow()
    return row


def _running_monthly(donation: Donation) -> None:
    if not donation.is_monthly:
        raise DomainError(NOT_MONTHLY)
    if donation.status not in RUNNING or donation.order_id is None:
        raise DomainError(NOT_RUNNING)


def change_amount(donation: Donation, amount_text: str | None) -> Donation:
    """The monthly amount from the next payment on (nothing is charged or refunded now)."""
    _running_monthly(donation)
    amount = parse_gift_amount(amount_text, donation.currency)
    if amount == donation.amount_minor:
        return donation
    payments.change_subscription_amount(donation.order_id, amount)
    return _fresh(donation)


def pause(donation: Donation) -> Donation:
    _running_monthly(donation)
    if donation.status == "paused":
        return donation
    payments.pause_subscription(donation.order_id, paused=True)
    return _fresh(donation)


def resume(donation: Donation) -> Donation:
    _running_monthly(donation)
    if donation.status != "paused":
        return donation
    payments.pause_subscription(donation.order_id, paused=False)
    return _fresh(donation)


def cancel(donation: Donation) -> Donation:
    """No further payments; what was given stays given. Noted first, so that the end Stripe
    reports is told as the donor's cancellation (and undone if Stripe cannot be asked)."""
    _running_monthly(donation)
    with write_transaction():
        row = locked(donation.id)
        row.cancel_requested_at = utcnow()
    try:
        payments.cancel_subscription(donation.order_id)
    except DomainError:
        with write_transaction():
            row = locked(donation.id)
            if row.status in RUNNING:
                row.cancel_requested_at = None
        raise
    return _fresh(donation)


def pay_link(donation: Donation) -> str | None:
    """Stripe's page where a monthly gift's failed payment can be paid with another card."""
    if donation.status != "past_due" or donation.order_id is None:
        return None
    return payments.unpaid_subscription_url(donation.order_id)


def _fresh(donation: Donation) -> Donation:
    return db.session.get(Donation, donation.id, populate_existing=True)


# --- the wall ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WallEntry:
    name: str | None  # None: anonymous
    amount_minor: int | None  # None: not shown
    currency: str
    monthly: bool
    at: datetime


def wall(campaign: Campaign | None = None, limit: int = WALL_SIZE) -> list[WallEntry]:
    """Recent gifts as each donor chose to appear: a name, an amount, or neither; never an
    address or a message. Gifts refunded in full are not shown."""
    given = exists().where(
        DonationPayment.donation_id == Donation.id,
        DonationPayment.amount_minor > DonationPayment.refunded_minor,
    )
    query = select(Donation).where(Donation.confirmed_at.is_not(None), given)
    if campaign is not None:
        query = query.where(Donation.campaign_id == campaign.id)
    rows = db.session.scalars(
        query.order_by(Donation.confirmed_at.desc(), Donation.id.desc()).limit(limit)
    )
    return [
        WallEntry(
            name=row.donor_name if row.wall != "anonymous" else None,
            amount_minor=row.amount_minor if row.wall == "name_amount" else None,
            currency=row.currency,
            monthly=row.is_monthly,
            at=row.confirmed_at,
        )
        for row in rows
    ]


# --- statements ----------------------------------------------------------------------------------


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """A calendar year in the community's zone, as UTC moments [start, end)."""
    local = zone()
    start = datetime(year, 1, 1, tzinfo=local)
    end = datetime(year + 1, 1, 1, tzinfo=local)
    return start, end


def statement_payments(year: int, *, email: str | None = None, user: User | None = None):
    """The confirmed payments of a year, oldest first: the gifts of an address (whoever gave
    them) or of a signed-in person's account. Refunded in full, a payment is not on it."""
    start, end = year_bounds(year)
    if user is not None:
        owner = Donation.user_id == user.id
    else:
        owner = Donation.email_key == email_key(email or "")
    return list(
        db.session.scalars(
            select(DonationPayment)
            .join(Donation, Donation.id == DonationPayment.donation_id)
            .where(
                owner,
                DonationPayment.paid_at >= start,
                DonationPayment.paid_at < end,
                DonationPayment.amount_minor > DonationPayment.refunded_minor,
            )
            .order_by(DonationPayment.paid_at, DonationPayment.id)
        )
    )


def statement_years(*, email: str | None = None, user: User | None = None) -> list[int]:
    """The years (newest first) in which these gifts paid something."""
    owner = (
        Donation.user_id == user.id if user is not None else Donation.email_key == email_key(email)
    )
    moments = db.session.scalars(
        select(DonationPayment.paid_at)
        .join(Donation, Donation.id == DonationPayment.donation_id)
        .where(owner, DonationPayment.amount_minor > DonationPayment.refunded_minor)
    )
    return sorted({m.astimezone(zone()).year for m in moments}, reverse=True)


def request_statement(address: str | None, year: int | None) -> None:
    """E-mail the statement of a year's gifts to the address that gave them, if it gave any.
    The answer is the same either way: nobody learns from it whether an address gave."""
    address = normalise_email(address)
    if year is None or not 2000 <= year <= utcnow().year:
        raise DomainError(_l("Choose a year."), field="year")
    if not statement_payments(year, email=address):
        return
    latest = db.session.scalar(
        select(Donation)
        .where(Donation.email_key == email_key(address), Donation.confirmed_at.is_not(None))
        .order_by(Donation.confirmed_at.desc())
        .limit(1)
    )
    if latest is None:
        return
    with write_transaction():
        tell(latest.id, "statement", year=year)


# --- notices -------------------------------------------------------------------------------------


def tell(donation_id: int, kind: str, **details) -> None:
    """An e-mail to the donor, written to the outbox in the caller's transaction (mail.py
    renders it when it is delivered)."""
    enqueue_notice(NOTICE, {"kind": kind, "donation_id": donation_id, **details})


def local_day(moment: datetime) -> date:
    return moment.astimezone(zone()).date()


def campaign_is_over(campaign: Campaign, moment: datetime | None = None) -> bool:
    return (moment or utcnow()) >= campaign.ends_at


__all__ = [
    "CampaignTimes",
    "Limits",
    "OwnGifts",
    "Progress",
    "WallEntry",
    "abandon_stale",
    "all_campaigns",
    "by_token",
    "campaign_by_id",
    "campaign_by_slug",
    "cancel",
    "change_amount",
    "checkout_for",
    "confirm_if_paid",
    "currencies",
    "give",
    "limits",
    "manage_url",
    "own_gifts",
    "page_version",
    "parse_gift_amount",
    "pause",
    "pay_link",
    "progress",
    "progress_of",
    "request_statement",
    "resume",
    "running_campaign_ids",
    "running_campaigns",
    "set_wall",
    "shown_campaigns",
    "statement_payments",
    "statement_years",
    "wall",
]
