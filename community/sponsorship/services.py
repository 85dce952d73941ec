"""Sponsorship's rules: tiers and their places each year, partner companies and who may manage
them, buying a tier by card or against an invoice, and what the wall shows.

A purchase takes one of the tier's places in its year with core/capacity.claim on the year's
counter, written first in the purchase's transaction, so that two companies racing for the last
place cannot both get it (a CHECK backs the counter); a partner holds at most one tier a year (a
partial unique index). Money goes through payments: the "sponsorship" purpose's handlers
(fulfilment.py) make a sponsorship paid when its money arrives and give its place back when its
checkout expires or its money goes back. Lapsing invoices, reminders and renewals are jobs.py's;
complimentary ticket codes are codes.py's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError

from community.accounts.models import User
from community.accounts.partners import PartnerName
from community.core.capacity import claim, release
from community.core.db import db, read_rows, utcnow
from community.core.errors import Conflict, DomainError, Forbidden, NotFound
from community.core.mail import send_mail
from community.core.money import format_money
from community.core.transaction import lock_row, write_transaction
from community.core.urls import external_url
from community.core.versions import content_version
from community.events.models import Event
from community.payments import services as payments
from community.payments.registration_number import (
    check_registration_number,
    passes_corporate_check,
)
from community.sponsorship import years
from community.sponsorship.documents import amount_due
from community.sponsorship.models import (
    EVENT_ROLES,
    EventSponsorship,
    Partner,
    PartnerContact,
    Sponsorship,
    SponsorshipTier,
    TierYear,
)

PURPOSE = "sponsorship"
SOLD_OUT = _l("This tier has no place left for that year. Choose another tier or year.")
RETIRED = _l("This tier is no longer offered.")
ALREADY_HOLDS = _l(
    "This company already has a sponsorship for that year: see it on the company's page."
)
NOT_A_CONTACT = _l("Only the company's contacts may manage it.")
# A card checkout at Stripe lasts at least this long; its place is held meanwhile.
CARD_HOLD = timedelta(minutes=60)


# --- tiers ---------------------------------------------------------------------------------------


def tiers(*, with_retired: bool = False) -> list[SponsorshipTier]:
    query = select(SponsorshipTier).order_by(SponsorshipTier.position, SponsorshipTier.id)
    if not with_retired:
        query = query.where(SponsorshipTier.status == "active")
    return list(db.session.scalars(query))


def tier_by_id(tier_id: int) -> SponsorshipTier | None:
    return db.session.get(SponsorshipTier, tier_id)


def tier_by_slug(slug: str) -> SponsorshipTier | None:
    return db.session.scalar(select(SponsorshipTier).where(SponsorshipTier.slug == slug))


def places_left(tier_ids: list[int], year: int) -> dict[int, int | None]:
    """Each tier's places left in `year` (None: no limit)."""
    if not tier_ids:
        return {}
    taken = dict(
        db.session.execute(
            select(TierYear.tier_id, TierYear.taken).where(
                TierYear.tier_id.in_(tier_ids), TierYear.year == year
            )
        ).all()
    )
    limits = dict(
        db.session.execute(
            select(SponsorshipTier.id, SponsorshipTier.places).where(
                SponsorshipTier.id.in_(tier_ids)
            )
        ).all()
    )
    return {
        tier_id: None
        if limits[tier_id] is None
        else max(limits[tier_id] - taken.get(tier_id, 0), 0)
        for tier_id in tier_ids
    }


@dataclass(frozen=True)
class TierFields:
    slug: str
    name_ja: str
    name_en: str
    benefits_ja: str
    benefits_en: str
    price_minor: int
    currency: str
    price_includes_tax: bool
    tax_rate: int
    places: int | None
    complimentary_tickets: int
    logo_size: str
    mention_at_openings: bool
    posts: int
    position: int


# Prices live in 32-bit integer columns (with the tax added, in the order's amount): anything
# near their limit is a typing mistake, as for events' tickets.
MAX_PRICE_MINOR = 100_000_000


def _check_price(fields: TierFields) -> None:
    if fields.price_minor < 0:
        raise DomainError(_l("A price cannot be negative."), field="price")
    if fields.price_minor > MAX_PRICE_MINOR:
        raise DomainError(_l("The price is too large."), field="price")


def create_tier(fields: TierFields) -> SponsorshipTier:
    _check_price(fields)
    if tier_by_slug(fields.slug) is not None:
        raise DomainError(_l("Another tier has this short name."), field="slug")
    tier = SponsorshipTier(**vars(fields), status="active")
    with write_transaction():
        db.session.add(tier)
    return tier


def update_tier(tier_id: int, fields: TierFields) -> SponsorshipTier:
    """Change a tier. Its places may not go below what a year has already sold; what a
    sponsorship bought (its price, its tax) stays as it was bought."""
    _check_price(fields)
    current_year = years.year_of(years.today())
    with write_transaction():
        tier = _locked_tier(tier_id)
        other = tier_by_slug(fields.slug)
        if other is not None and other.id != tier.id:
            raise DomainError(_l("Another tier has this short name."), field="slug")
        if fields.places is not None:
            most = db.session.scalar(
                select(func.max(TierYear.taken)).where(
                    TierYear.tier_id == tier.id, TierYear.year >= current_year
                )
            )
            if most is not None and most > fields.places:
                raise DomainError(
                    _l(
                        "%(count)s partners already hold this tier in one year: it cannot have "
                        "fewer places.",
                        count=most,
                    ),
                    field="places",
                )
        for name, value in vars(fields).items():
            setattr(tier, name, value)
        tier.updated_at = utcnow()
        # The years gone by keep the places they were sold with (a CHECK holds their counter
        # within them).
        db.session.execute(
            update(TierYear)
            .where(TierYear.tier_id == tier.id, TierYear.year >= current_year)
            .values(places=fields.places)
            .execution_options(synchronize_session=False)
        )
    return tier


def retire_tier(tier_id: int, *, retired: bool = True) -> SponsorshipTier:
    """A retired tier is no longer sold; those who hold it keep it."""
    with write_transaction():
        tier = _locked_tier(tier_id)
        tier.status = "retired" if retired else "active"
        tier.updated_at = utcnow()
    return tier


def delete_tier(tier_id: int) -> None:
    """Only a tier nobody ever bought goes: one in use can only be retired."""
    with write_transaction():
        tier = _locked_tier(tier_id)
        used = db.session.scalar(
            select(func.count()).select_from(Sponsorship).where(Sponsorship.tier_id == tier.id)
        )
        if used:
            raise Conflict(_l("This tier has been bought: retire it instead."))
        db.session.delete(tier)


def _locked_tier(tier_id: int) -> SponsorshipTier:
    tier = lock_row(SponsorshipTier, tier_id, SponsorshipTier.updated_at)
    if tier is None:
        raise NotFound(_l("There is no such tier."))
    return tier


# --- partner companies and their contacts --------------------------------------------------------


@dataclass(frozen=True)
class PartnerFields:
    name_ja: str
    name_en: str
    website: str
    description_ja: str
    description_en: str
    billing_name: str
    billing_address: str
    billing_department: str
    billing_contact: str
    registration_number: str | None
    registration_number_confirmed: bool


def is_contact(partner_id: int, user: User | None) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return (
        db.session.get(PartnerContact, {"partner_id": partner_id, "user_id": user.id}) is not None
    )


def partner_for(partner_id: int, user: User | None) -> Partner:
    """The company, for one of its contacts or an administrator; Forbidden for anyone else."""
    partner = db.session.get(Partner, partner_id)
    if partner is None:
        raise NotFound(_l("There is no such company."))
    if not (is_contact(partner_id, user) or (user is not None and user.is_admin)):
        raise Forbidden(NOT_A_CONTACT)
    return partner


def partner_directory() -> list[PartnerName]:
    """Every partner company by name (accounts' directory, for the domains that name one)."""
    return [
        PartnerName(partner.id, partner.name or partner.billing_name)
        for partner in db.session.scalars(select(Partner).order_by(Partner.id))
    ]


def partners_of(user: User) -> list[Partner]:
    return list(
        db.session.scalars(
            select(Partner)
            .join(PartnerContact, PartnerContact.partner_id == Partner.id)
            .where(PartnerContact.user_id == user.id)
            .order_by(Partner.id)
        )
    )


def _checked(fields: PartnerFields) -> PartnerFields:
    """The fields with the company's name required and its registration number normalised; a
    number that fails the corporate number's check digit is refused unless confirmed."""
    if not (fields.name_ja or fields.name_en):
        raise DomainError(_l("Give the company's name."), field="name_en")
    number, confirmed = fields.registration_number, False
    if number:
        number = check_registration_number(number, confirmed=fields.registration_number_confirmed)
        confirmed = not passes_corporate_check(number)
    return replace(
        fields, registration_number=number or None, registration_number_confirmed=confirmed
    )


def create_partner(user: User, fields: PartnerFields) -> Partner:
    """A new company, with the person who made it as its first contact."""
    partner = Partner(**vars(_checked(fields)))
    with write_transaction():
        db.session.add(partner)
        db.session.flush()
        db.session.add(PartnerContact(partner_id=partner.id, user_id=user.id))
    return partner


def update_partner(partner_id: int, user: User, fields: PartnerFields) -> Partner:
    partner = partner_for(partner_id, user)
    fields = _checked(fields)
    with write_transaction():
        for name, value in vars(fields).items():
            setattr(partner, name, value)
        partner.updated_at = utcnow()
    return partner


def set_logo(partner_id: int, user: User, content: bytes | None, media_type: str | None) -> None:
    """Store a logo already checked by logos.check_logo (or remove it, with None)."""
    partner = partner_for(partner_id, user)
    with write_transaction():
        partner.logo = content
        partner.logo_type = media_type if content is not None else None
        partner.logo_version = partner.logo_version + 1
        partner.updated_at = utcnow()


def logo_of(partner_id: int) -> tuple[bytes, str, int] | None:
    """A partner's logo, its media type and its version (public: it is on the wall)."""
    row = db.session.execute(
        select(Partner.logo, Partner.logo_type, Partner.logo_version).where(
            Partner.id == partner_id, Partner.logo_type.is_not(None)
        )
    ).first()
    return None if row is None else (row.logo, row.logo_type, row.logo_version)


def add_contact(partner_id: int, by: User, email: str) -> User:
    """Another person who may manage the company: they need an account already."""
    partner_for(partner_id, by)
    address = (email or "").strip().lower()
    user = db.session.scalar(
        select(User).where(func.lower(User.email) == address, User.deleted_at.is_(None))
    )
    if user is None:
        raise DomainError(
            _l("Nobody has an account with this address: ask them to sign up first."),
            field="email",
        )
    try:
        with write_transaction():
            db.session.add(PartnerContact(partner_id=partner_id, user_id=user.id))
    except IntegrityError as error:
        raise Conflict(
            _l("This person is already a contact of the company."), field="email"
        ) from error
    return user


def remove_contact(partner_id: int, by: User, user_id: int) -> None:
    """A contact goes; the last one cannot (somebody must be able to manage the company)."""
    partner_for(partner_id, by)
    with write_transaction():
        contacts = list(
            db.session.scalars(
                select(PartnerContact).where(PartnerContact.partner_id == partner_id)
            )
        )
        target = next((contact for contact in contacts if contact.user_id == user_id), None)
        if target is None:
            raise NotFound(_l("This person is not a contact of the company."))
        if len(contacts) == 1:
            raise Conflict(_l("A company keeps at least one contact."))
        db.session.delete(target)


# --- buying a tier -------------------------------------------------------------------------------


def buy_sponsorship(
    partner_id: int, user: User, *, tier_slug: str, year: int, method: str
) -> Sponsorship:
    """Reserve a tier's place for the company in `year`: awaiting its card payment (held while
    the checkout lasts), or invoiced (held until the invoice's due date). Raises Forbidden (not
    a contact), DomainError (a tier that is retired or unknown, a year not on sale), Conflict
    (no place left, or the company already holds a tier that year)."""
    partner = partner_for(partner_id, user)
    if method not in ("card", "invoice"):
        raise DomainError(_l("Choose to pay by card or by bank transfer."), field="method")
    tier = tier_by_slug(tier_slug or "")
    if tier is None:
        raise DomainError(_l("Choose one of the tiers."), field="tier")
    if not tier.is_active:
        raise DomainError(RETIRED, field="tier")
    day = years.today()
    if year not in years.offered_years(day):
        raise DomainError(_l("Choose this sponsorship year or the next."), field="year")
    starts_on, ends_on = years.period_of(year, day)
    if method == "invoice" and not (partner.billing_name or partner.name):
        raise DomainError(_l("Give the name the invoice is addressed to."), field="billing_name")
    moment = utcnow()
    with write_transaction():
        _ensure_tier_year(tier, year)
        # Written first: from here this transaction holds one of the year's places, or none.
        if not claim(
            TierYear.taken, TierYear.places, TierYear.tier_id == tier.id, TierYear.year == year
        ):
            raise Conflict(SOLD_OUT, field="tier")
        due_on = (
            day + timedelta(days=current_app.config["SPONSORSHIP_INVOICE_DAYS"])
            if method == "invoice"
            else None
        )
        sponsorship = Sponsorship(
            partner_id=partner.id,
            tier_id=tier.id,
            year=year,
            starts_on=starts_on,
            ends_on=ends_on,
            status="invoiced" if method == "invoice" else "awaiting_payment",
            method=method,
            price_minor=tier.price_minor,
            currency=tier.currency,
            price_includes_tax=tier.price_includes_tax,
            tax_rate=tier.tax_rate,
            due_on=due_on,
            bought_by_id=user.id,
            created_at=moment,
        )
        try:
            # A savepoint: the partial unique index speaks as a refusal. The row is added inside
            # it, so that its rollback also takes the row out of the session (else the next
            # query's autoflush, such as the message's locale, would insert it again).
            with write_transaction():
                db.session.add(sponsorship)
                db.session.flush()
        except IntegrityError as error:
            raise Conflict(ALREADY_HOLDS, field="year") from error
        order = payments.open_order(
            purpose=PURPOSE,
            reference=str(sponsorship.id),
            amount_minor=amount_due(tier.price_minor, tier.tax_rate, tier.price_includes_tax),
            currency=tier.currency,
            email=user.email,
            description=f"{tier.name_en or tier.name_ja} {year}",
            expires_at=moment + CARD_HOLD if method == "card" else None,
            user_id=user.id,
        )
        sponsorship.order_id = order.id
        if method == "invoice":
            payments.issue_invoice(order.id)
            tell_contacts(sponsorship, "invoiced")
    return sponsorship


def renew_sponsorship(sponsorship_id: int, user: User) -> Sponsorship:
    """The same tier for the year after, paid the same way (the renewal e-mail's one step)."""
    previous = sponsorship_for(sponsorship_id, user)
    if previous.status != "paid":
        raise DomainError(_l("Only a paid sponsorship can be renewed."))
    renewed = buy_sponsorship(
        previous.partner_id,
        user,
        tier_slug=previous.tier.slug,
        year=previous.year + 1,
        method=previous.method,
    )
    with write_transaction():
        db.session.get(Sponsorship, renewed.id).renewal_of_id = previous.id
    return renewed


def _ensure_tier_year(tier: SponsorshipTier, year: int) -> None:
    """The year's counter row, made by the first purchase of that year (a simultaneous first
    purchase's row is as good: the unique key keeps one)."""
    exists = db.session.scalar(
        select(TierYear.id).where(TierYear.tier_id == tier.id, TierYear.year == year)
    )
    if exists is not None:
        return
    try:
        with write_transaction():
            db.session.add(TierYear(tier_id=tier.id, year=year, places=tier.places, taken=0))
            db.session.flush()
    except IntegrityError:
        pass


def release_place(sponsorship: Sponsorship) -> None:
    """Give the sponsorship's place back to its tier's year (in the transaction that ends it)."""
    release(
        TierYear.taken, TierYear.tier_id == sponsorship.tier_id, TierYear.year == sponsorship.year
    )


def end_sponsorship(sponsorship: Sponsorship, status: str) -> None:
    """Expired, lapsed or cancelled: its place goes back, in the caller's transaction."""
    held = sponsorship.holds_place
    sponsorship.transition(status, utcnow())
    if held:
        release_place(sponsorship)


def checkout_for(sponsorship_id: int, user: User, *, success_url: str, cancel_url: str) -> str:
    """Where the contact pays a sponsorship awaiting its card payment."""
    sponsorship = db.session.get(Sponsorship, sponsorship_id)
    if sponsorship is None:
        raise NotFound(_l("There is no such sponsorship."))
    partner_for(sponsorship.partner_id, user)
    if sponsorship.status != "awaiting_payment" or sponsorship.order_id is None:
        raise DomainError(_l("There is nothing to pay for this sponsorship."))
    order = payments.order_by_id(sponsorship.order_id)
    try:
        return payments.start_checkout(order, success_url=success_url, cancel_url=cancel_url)
    except DomainError:
        # No payment page: the place goes back at once rather than when the hold runs out.
        with write_transaction():
            locked = locked_sponsorship(sponsorship_id)
            if locked is not None and locked.status == "awaiting_payment":
                end_sponsorship(locked, "expired")
        raise


def confirm_if_paid(sponsorship: Sponsorship) -> bool:
    """The contact is back from the payment page: ask Stripe (not the browser) whether it was
    paid; the webhook would say the same a moment later."""
    if sponsorship.status != "awaiting_payment":
        return False
    return payments.sync_checkouts(PURPOSE, str(sponsorship.id))


def locked_sponsorship(sponsorship_id: int) -> Sponsorship | None:
    """The sponsorship, re-read once its row is locked by a write (None if there is none)."""
    return lock_row(Sponsorship, sponsorship_id, Sponsorship.status)


def sponsorships_of(partner_id: int) -> list[Sponsorship]:
    return list(
        db.session.scalars(
            select(Sponsorship)
            .where(Sponsorship.partner_id == partner_id)
            .order_by(Sponsorship.year.desc(), Sponsorship.id.desc())
        )
    )


def sponsorship_for(sponsorship_id: int, user: User) -> Sponsorship:
    sponsorship = db.session.get(Sponsorship, sponsorship_id)
    if sponsorship is None:
        raise NotFound(_l("There is no such sponsorship."))
    partner_for(sponsorship.partner_id, user)
    return sponsorship


# --- telling the contacts ------------------------------------------------------------------------

SUBJECTS = {
    "invoiced": _l("Your sponsorship is reserved: the invoice"),
    "paid": _l("Thank you: your sponsorship is active"),
    "expired": _l("Your sponsorship was not paid and its place is released"),
    "lapsed": _l("Your invoice was not paid and the sponsorship's place is released"),
    "payment_reminder": _l("Reminder: your sponsorship invoice is due soon"),
    "renewal": _l("Your sponsorship ends soon: renew it in one step"),
    "cancelled": _l("Your sponsorship is cancelled"),
}


def tell_contacts(sponsorship: Sponsorship, kind: str, **context) -> None:
    """One e-mail to each contact of the company, in their language, written to the outbox in
    the caller's transaction."""
    contacts = db.session.scalars(
        select(User)
        .join(PartnerContact, PartnerContact.user_id == User.id)
        .where(PartnerContact.partner_id == sponsorship.partner_id, User.deleted_at.is_(None))
        .order_by(User.id)
    )
    order = payments.order_by_id(sponsorship.order_id) if sponsorship.order_id else None
    for contact in contacts:
        send_mail(
            contact.email,
            SUBJECTS[kind],
            f"sponsorship/{kind}",
            contact.locale,
            contact=contact,
            sponsorship=sponsorship,
            partner=sponsorship.partner,
            tier=sponsorship.tier,
            order=order,
            amount=format_money(
                order.amount_minor if order else sponsorship.price_minor,
                sponsorship.currency,
                contact.locale,
            ),
            sponsorship_url=external_url("sponsorship.sponsorship", sponsorship_id=sponsorship.id),
            **context,
        )


# --- the wall ------------------------------------------------------------------------------------


def wall_version() -> tuple:
    """What the wall and the event pages' partners show changes with any change to tiers,
    partners and sponsorships (content version `sponsorship`, bumped by the database) and with
    the day (sponsorships start and end on days): one small read."""
    return (content_version("sponsorship"), years.today())


def active_sponsorships(day: date | None = None) -> list[Sponsorship]:
    day = day or years.today()
    return list(
        db.session.scalars(
            select(Sponsorship)
            .join(SponsorshipTier, SponsorshipTier.id == Sponsorship.tier_id)
            .where(
                Sponsorship.status == "paid",
                Sponsorship.starts_on <= day,
                Sponsorship.ends_on >= day,
            )
            .order_by(SponsorshipTier.position, SponsorshipTier.id, Sponsorship.paid_at)
        )
    )


def wall(day: date | None = None) -> list[tuple[SponsorshipTier, list[Partner]]]:
    """Active partners grouped by tier, in tier order (each partner once: its best tier)."""
    groups: dict[int, tuple[SponsorshipTier, list[Partner]]] = {}
    seen: set[int] = set()
    for sponsorship in active_sponsorships(day):
        if sponsorship.partner_id in seen:
            continue
        seen.add(sponsorship.partner_id)
        groups.setdefault(sponsorship.tier_id, (sponsorship.tier, []))[1].append(
            sponsorship.partner
        )
    return list(groups.values())


def event_sponsors(event_id: int) -> list[EventSponsorship]:
    return list(
        db.session.scalars(
            select(EventSponsorship)
            .where(EventSponsorship.event_id == event_id)
            .order_by(EventSponsorship.role, EventSponsorship.id)
        )
    )


def _sponsored_upcoming(now):
    return (
        select(Event.id)
        .where(
            Event.status == "published",
            Event.ends_at > now,
            Event.id.in_(select(EventSponsorship.event_id)),
        )
        .order_by(Event.starts_at, Event.id)
    )


def upcoming_event_sponsors(limit: int = 20) -> list[tuple[Event, list[EventSponsorship]]]:
    """Published events still to come that partners sponsor, soonest first (the first `limit`),
    with their sponsors."""
    shown = _sponsored_upcoming(utcnow()).limit(limit).scalar_subquery()
    rows = db.session.execute(
        select(Event, EventSponsorship)
        .join(EventSponsorship, EventSponsorship.event_id == Event.id)
        .where(Event.id.in_(shown))
        .order_by(Event.starts_at, Event.id, EventSponsorship.role, EventSponsorship.id)
    ).all()
    grouped: dict[int, tuple[Event, list[EventSponsorship]]] = {}
    for event, sponsor in rows:
        grouped.setdefault(event.id, (event, []))[1].append(sponsor)
    return list(grouped.values())


# When the first of the listed events ends (and leaves the list).
_NEXT_SPONSORED_END = select(func.min(Event.ends_at)).where(
    Event.status == "published",
    Event.ends_at > bindparam("now", type_=Event.ends_at.type),
    Event.id.in_(select(EventSponsorship.event_id)),
)


def sponsors_page_version() -> tuple:
    """What /sponsors shows changes with the sponsorships' version and day (`wall_version`), the
    events' version (their titles, days, status) and the moment the first listed event ends
    (then it leaves the list): the last is one small read."""
    next_end = read_rows(_NEXT_SPONSORED_END, {"now": utcnow()}).scalar()
    return (*wall_version(), content_version("events"), next_end)


def add_event_sponsor(event_slug: str, partner_id: int, role: str) -> EventSponsorship:
    """A partner sponsors one event (its venue, food and drinks, a speaker…)."""
    event = db.session.scalar(select(Event).where(Event.slug == event_slug))
    if event is None:
        raise DomainError(_l("There is no such event."), field="event")
    if db.session.get(Partner, partner_id) is None:
        raise DomainError(_l("There is no such company."), field="partner")
    if role not in EVENT_ROLES:
        raise DomainError(_l("Choose what the company sponsors."), field="role")
    sponsor = EventSponsorship(event_id=event.id, partner_id=partner_id, role=role)
    try:
        with write_transaction():
            db.session.add(sponsor)
    except IntegrityError as error:
        raise Conflict(
            _l("The company already sponsors this of the event."), field="role"
        ) from error
    return sponsor


def remove_event_sponsor(event_sponsorship_id: int) -> None:
    with write_transaction():
        sponsor = db.session.get(EventSponsorship, event_sponsorship_id)
        if sponsor is None:
            raise NotFound(_l("There is no such event sponsorship."))
        db.session.delete(sponsor)


__all__ = [
    "ALREADY_HOLDS",
    "PURPOSE",
    "SOLD_OUT",
    "PartnerFields",
    "TierFields",
    "active_sponsorships",
    "add_contact",
    "add_event_sponsor",
    "amount_due",
    "buy_sponsorship",
    "checkout_for",
    "confirm_if_paid",
    "create_partner",
    "create_tier",
    "delete_tier",
    "end_sponsorship",
    "event_sponsors",
    "is_contact",
    "locked_sponsorship",
    "logo_of",
    "partner_for",
    "partners_of",
    "places_left",
    "release_place",
    "remove_contact",
    "remove_event_sponsor",
    "renew_sponsorship",
    "retire_tier",
    "set_logo",
    "sponsors_page_version",
    "sponsorship_for",
    "sponsorships_of",
    "tell_contacts",
    "tier_by_id",
    "tier_by_slug",
    "tiers",
    "upcoming_event_sponsors",
    "update_partner",
    "update_tier",
    "wall",
    "wall_version",
]
