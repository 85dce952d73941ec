"""Membership's rules: plans and what they give, joining, renewing (by subscription or by a
payment each year), stopping automatic renewal, and "does this person have this benefit now".

A person holds one membership at a time (a partial unique index backs it, so that two joins at
once keep one). A free plan makes a member at once: only a signed-in person joins, and signing
in needs a confirmed e-mail address. A paid plan makes a pending membership and an order in one
transaction; the verified webhook makes it active (fulfilment.py), never the browser coming
back. Renewing by a payment opens an order for the next term (its reference names the term and
the plan), so that a second payment of the same term is refunded, not counted twice. E-mails are
outbox notices written in the transaction of the change (mail.py renders them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, exists, func, select
from sqlalchemy.exc import IntegrityError

from community.accounts.membership import member_benefit
from community.accounts.models import User
from community.core.dates import format_day, zone
from community.core.db import db, read_rows, utcnow
from community.core.errors import Conflict, DomainError, NotFound
from community.core.i18n import current_language
from community.core.money import format_money, is_known_currency
from community.core.outbox import enqueue_notice
from community.core.text import is_single_line
from community.core.transaction import lock_row, write_transaction
from community.core.urls import MAX_ID
from community.membership.models import (
    BENEFITING,
    DESCRIPTION_MAX,
    HOLDING,
    NAME_MAX,
    RENEWALS,
    SLUG_MAX,
    Membership,
    MembershipEvent,
    MembershipPlan,
    PlanBenefit,
)
from community.payments import services as payments
from community.payments.gateway import MINIMUM_CHARGE

PURPOSE = "membership"
NOTICE = "membership"
# A checkout at Stripe lasts at least this long; a pending join older than this (and a margin)
# is closed by the job.
CHECKOUT_HOLD = timedelta(minutes=60)
# Renewing by a payment is offered this long before the end (and all through the grace).
RENEWAL_WINDOW = timedelta(days=60)
# A year's price fits any database's integer, with room to spare.
PRICE_MAX_MINOR = 100_000_000
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

RETIRED = _l("This plan is no longer offered. Choose another plan.")
NO_SUCH_PLAN = _l("There is no such plan.")
NO_SUCH_MEMBERSHIP = _l("There is no such membership.")


def already_member(membership: Membership):
    return _l(
        "You are already a member (%(plan)s, until %(day)s). Renew it, or change to another "
        "plan when you renew, from your membership page.",
        plan=membership.plan.name,
        day=_day(membership.ends_at),
    )


def _day(moment: datetime | None) -> str:
    return format_day(moment)


# --- dates ---------------------------------------------------------------------------------------


def one_year_after(moment: datetime) -> datetime:
    """The same moment a year later (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year + 1)
    except ValueError:
        return moment.replace(year=moment.year + 1, day=28)


def one_year_before(moment: datetime) -> datetime:
    try:
        return moment.replace(year=moment.year - 1)
    except ValueError:
        return moment.replace(year=moment.year - 1, day=28)


def grace() -> timedelta:
    return timedelta(days=current_app.config.get("MEMBERSHIP_GRACE_DAYS", 14))


def set_end(membership: Membership, ends_at: datetime) -> None:
    if membership.ends_at != ends_at:
        membership.reminders_sent = 0
    membership.ends_at = ends_at
    membership.grace_ends_at = ends_at + grace()


# --- plans ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanFields:
    slug: str
    name_ja: str
    name_en: str
    description_ja: str
    description_en: str
    price_minor: int
    currency: str
    renewal: str
    benefits: tuple[str, ...]
    position: int = 0


def benefit_choices() -> list[tuple[str, str]]:
    """The benefits a plan can give: those the domains named (accounts' member_benefit)."""
    return [(name, str(benefit.label)) for name, benefit in member_benefit.items()]


def plans(*, active_only: bool = True) -> list[MembershipPlan]:
    query = select(MembershipPlan).order_by(
        MembershipPlan.position, MembershipPlan.price_minor, MembershipPlan.id
    )
    if active_only:
        query = query.where(MembershipPlan.status == "active")
    return list(db.session.scalars(query))


def plan_by_slug(slug: str) -> MembershipPlan | None:
    if not isinstance(slug, str) or len(slug) > SLUG_MAX:
        return None
    return db.session.scalar(select(MembershipPlan).where(MembershipPlan.slug == slug))


def plan_by_id(plan_id: int) -> MembershipPlan | None:
    if not 0 < plan_id <= MAX_ID:
        return None
    return db.session.get(MembershipPlan, plan_id)


def _check_plan(fields: PlanFields) -> None:
    if not SLUG.fullmatch(fields.slug or "") or len(fields.slug) > SLUG_MAX:
        raise DomainError(
            _l("Use lower-case letters, digits and hyphens for the address name."), field="slug"
        )
    if not (fields.name_ja or fields.name_en):
        raise DomainError(_l("Give the plan a name in Japanese or English."), field="name_ja")
    for name in ("name_ja", "name_en"):
        value = getattr(fields, name)
        if len(value) > NAME_MAX or not is_single_line(value):
            raise DomainError(_l("Keep the name on one line, under 120 characters."), field=name)
    for name in ("description_ja", "description_en"):
        value = getattr(fields, name)
        if len(value) > DESCRIPTION_MAX or "\x00" in value:
            raise DomainError(_l("Keep the description under 4,000 characters."), field=name)
    if not 0 <= fields.price_minor <= PRICE_MAX_MINOR:
        raise DomainError(
            _l("Enter a price from zero to 100,000,000 (in the currency's smallest unit)."),
            field="price",
        )
    if not is_known_currency(fields.currency):
        raise DomainError(_l("This currency is not accepted."), field="currency")
    if fields.renewal not in RENEWALS:
        raise DomainError(_l("Choose how the plan is renewed."), field="renewal")
    if fields.renewal == "subscription" and fields.price_minor == 0:
        raise DomainError(
            _l("A free plan is renewed with a click, not by a card subscription."),
            field="renewal",
        )
    if fields.price_minor and fields.price_minor < MINIMUM_CHARGE.get(fields.currency, 50):
        raise DomainError(
            _l(
                "Card payments start at %(amount)s.",
                amount=format_money(
                    MINIMUM_CHARGE.get(fields.currency, 50),
                    fields.currency,
                    current_language(),
                ),
            ),
            field="price",
        )
    known = {name for name, _ in benefit_choices()}
    if not set(fields.benefits) <= known:
        raise DomainError(_l("Choose benefits from the list."), field="benefits")
    if not -1000 <= fields.position <= 1000:
        raise DomainError(_l("Enter a position from -1000 to 1000."), field="position")


def _apply_plan(plan: MembershipPlan, fields: PlanFields) -> None:
    plan.slug = fields.slug
    plan.name_ja, plan.name_en = fields.name_ja, fields.name_en
    plan.description_ja, plan.description_en = fields.description_ja, fields.description_en
    plan.price_minor, plan.currency = fields.price_minor, fields.currency
    plan.renewal, plan.position = fields.renewal, fields.position
    wanted = set(fields.benefits)
    plan.benefit_rows = [row for row in plan.benefit_rows if row.benefit in wanted]
    have = {row.benefit for row in plan.benefit_rows}
    plan.benefit_rows.extend(PlanBenefit(benefit=name) for name in sorted(wanted - have))
    plan.updated_at = utcnow()


def create_plan(fields: PlanFields) -> MembershipPlan:
    _check_plan(fields)
    plan = MembershipPlan(status="active")
    _apply_plan(plan, fields)
    try:
        with write_transaction():
            db.session.add(plan)
    except IntegrityError as error:
        raise Conflict(_l("Another plan has this address name."), field="slug") from error
    return plan


def update_plan(plan_id: int, fields: PlanFields) -> MembershipPlan:
    """What a plan says and costs from now on; memberships already held keep what they
    bought (their price and renewal were copied when they joined)."""
    _check_plan(fields)
    try:
        with write_transaction():
            plan = lock_row(MembershipPlan, plan_id, MembershipPlan.status)
            if plan is None:
                raise NotFound(NO_SUCH_PLAN)
            _apply_plan(plan, fields)
    except IntegrityError as error:
        raise Conflict(_l("Another plan has this address name."), field="slug") from error
    return plan


def set_plan_status(plan_id: int, status: str) -> MembershipPlan:
    """Retire a plan (nobody joins it any more; its members keep it to their end) or offer it
    again."""
    if status not in ("active", "retired"):
        raise DomainError(_l("Choose active or retired."), field="status")
    with write_transaction():
        plan = lock_row(MembershipPlan, plan_id, MembershipPlan.status)
        if plan is None:
            raise NotFound(NO_SUCH_PLAN)
        plan.status = status
        plan.updated_at = utcnow()
    return plan


# --- who is a member -----------------------------------------------------------------------------


def holds_benefit(user: User, benefit: str | None) -> bool:
    """The membership check (accounts' hook): a membership of this person that gives its
    benefits now (and, with `benefit`, whose plan gives that one)."""
    query = select(Membership.id).where(
        Membership.user_id == user.id,
        Membership.status.in_(BENEFITING),
        Membership.grace_ends_at > utcnow(),
    )
    if benefit is not None:
        query = query.where(
            exists().where(
                PlanBenefit.plan_id == Membership.plan_id, PlanBenefit.benefit == benefit
            )
        )
    return db.session.scalar(query.limit(1)) is not None


def current_membership(user: User) -> Membership | None:
    """The membership this person holds (pending, active, past due or in grace), if any."""
    return db.session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.status.in_(HOLDING))
    )


def memberships_of(user: User) -> list[Membership]:
    return list(
        db.session.scalars(
            select(Membership).where(Membership.user_id == user.id).order_by(Membership.id.desc())
        )
    )


def membership_for(membership_id: int, user: User) -> Membership:
    """The person's own membership; another person's is not found (404), as one that does not
    exist, so that its existence is not told either."""
    membership = db.session.get(Membership, membership_id) if 0 < membership_id <= MAX_ID else None
    if membership is None or membership.user_id != user.id:
        raise NotFound(NO_SUCH_MEMBERSHIP)
    return membership


def locked_membership(membership_id: int) -> Membership | None:
    return lock_row(Membership, membership_id, Membership.status)


# --- what the pages show of a person's memberships, read light ------------------------------------
# The facts below are what the membership pages show of a person's own memberships, and nothing
# that names them: a page is cached by them (core/pages.py), shared by everyone whose facts are
# the same, and given each person's own ids (in its links and forms) per request.


@dataclass(frozen=True)
class Held:
    """The membership a person holds, as the plans' pages and the profile show it."""

    plan_id: int
    status: str
    ends_on: date | None


@dataclass(frozen=True)
class PaidLine:
    """One payment of a membership, as its member's page lists it."""

    paid_on: date
    plan_id: int
    amount_minor: int
    currency: str


@dataclass(frozen=True)
class MembershipLine:
    """One membership, as its member's page shows it."""

    plan_id: int
    status: str
    renewal: str
    auto_renew: bool
    price_minor: int
    currency: str
    starts_on: date | None
    ends_on: date | None
    grace_ends_on: date | None
    paid: tuple[PaidLine, ...]


@dataclass(frozen=True)
class OwnMemberships:
    """A person's memberships, newest first: `lines` is what their page shows (and its key),
    `ids` and `payment_ids` (line by line) are theirs alone, put in its links per request."""

    lines: tuple[MembershipLine, ...]
    ids: tuple[int, ...]
    payment_ids: tuple[tuple[int, ...], ...]
    # The line of the membership held now, if any, and whether it can be renewed now.
    current: int | None
    renewable: bool


def _local_day(moment: datetime | None) -> date | None:
    return moment.astimezone(zone()).date() if moment is not None else None


_HELD = select(Membership.plan_id, Membership.status, Membership.ends_at).where(
    Membership.user_id == bindparam("user_id"), Membership.status.in_(HOLDING)
)


def held_by(user_id: int) -> Held | None:
    """What the pages show of the membership this person holds (one light read), if any."""
    row = read_rows(_HELD, {"user_id": user_id}).first()
    if row is None:
        return None
    return Held(row.plan_id, row.status, _local_day(row.ends_at))


_OWN = (
    select(
        Membership.id,
        Membership.plan_id,
        Membership.status,
        Membership.renewal,
        Membership.auto_renew,
        Membership.price_minor,
        Membership.currency,
        Membership.starts_at,
        Membership.ends_at,
        Membership.grace_ends_at,
        MembershipEvent.at.label("paid_at"),
        MembershipEvent.plan_id.label("paid_plan_id"),
        MembershipEvent.amount_minor.label("paid_minor"),
        MembershipEvent.currency.label("paid_currency"),
        MembershipEvent.payment_id,
    )
    .outerjoin(
        MembershipEvent,
        and_(
            MembershipEvent.membership_id == Membership.id,
            MembershipEvent.payment_id.is_not(None),
            MembershipEvent.amount_minor > 0,
        ),
    )
    .where(Membership.user_id == bindparam("user_id"))
    .order_by(Membership.id.desc(), MembershipEvent.id.desc())
)


def own_memberships(user_id: int, moment: datetime | None = None) -> OwnMemberships:
    """Everything the member's page shows of their memberships and payments (the steps of
    each one's history that brought money, as `documents.paid_events`), in one light read."""
    moment = moment or utcnow()
    rows = read_rows(_OWN, {"user_id": user_id}).all()
    grouped: dict[int, list] = {}
    for row in rows:
        grouped.setdefault(row.id, []).append(row)
    lines, payment_ids = [], []
    current, renewable = None, False
    for index, group in enumerate(grouped.values()):
        first = group[0]
        paid = [row for row in group if row.payment_id is not None]
        lines.append(
            MembershipLine(
                plan_id=first.plan_id,
                status=first.status,
                renewal=first.renewal,
                auto_renew=bool(first.auto_renew),
                price_minor=first.price_minor,
                currency=first.currency,
                starts_on=_local_day(first.starts_at),
                ends_on=_local_day(first.ends_at),
                grace_ends_on=_local_day(first.grace_ends_at),
                paid=tuple(
                    PaidLine(
                        _local_day(row.paid_at), row.paid_plan_id, row.paid_minor, row.paid_currency
                    )
                    for row in paid
                ),
            )
        )
        payment_ids.append(tuple(row.payment_id for row in paid))
        if first.status in HOLDING:
            # can_renew reads the row's columns by their names, as a Membership's.
            current, renewable = index, can_renew(first, moment)
    return OwnMemberships(tuple(lines), tuple(grouped), tuple(payment_ids), current, renewable)


# --- history and notices -------------------------------------------------------------------------


def record(
    membership: Membership,
    kind: str,
    moment: datetime,
    *,
    amount_minor: int | None = None,
    payment_id: int | None = None,
    order_id: int | None = None,
) -> None:
    db.session.add(
        MembershipEvent(
            membership_id=membership.id,
            kind=kind,
            at=moment,
            plan_id=membership.plan_id,
            amount_minor=amount_minor,
            currency=membership.currency if amount_minor is not None else None,
            ends_at=membership.ends_at,
            payment_id=payment_id,
            order_id=order_id,
        )
    )


def tell(membership: Membership, kind: str, **details) -> None:
    """An e-mail to the member about this change, written to the outbox in the caller's
    transaction (mail.py renders it when it is delivered)."""
    enqueue_notice(NOTICE, {"kind": kind, "membership_id": membership.id, **details})


# --- joining -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Joined:
    membership: Membership
    needs_payment: bool


def join(user: User, plan_slug: str) -> Joined:
    """Join a plan: a member at once when it is free, else a pending membership whose payment
    comes next (`checkout_for`). Joining the plan of one's pending membership again resumes it;
    another plan replaces the pending one. Refused while a membership is held."""
    plan = plan_by_slug(plan_slug)
    if plan is None:
        raise NotFound(NO_SUCH_PLAN)
    if not plan.is_active:
        raise DomainError(RETIRED, field="plan")
    held = current_membership(user)
    if held is not None and held.status != "pending":
        raise Conflict(already_member(held))
    if held is not None:
        if held.plan_id == plan.id and held.price_minor == plan.price_minor:
            return Joined(held, True)
        abandon_pending(held.id)
    try:
        if plan.is_free:
            return Joined(_join_free(user, plan), False)
        return Joined(_join_paid(user, plan), True)
    except IntegrityError as error:
        # A second join at the same moment: the partial unique index kept the first.
        db.session.rollback()
        held = current_membership(user)
        if held is not None and held.status == "pending" and held.plan_id == plan.id:
            return Joined(held, True)
        if held is not None:
            raise Conflict(already_member(held)) from error
        raise


def _new_membership(user: User, plan: MembershipPlan, status: str) -> Membership:
    moment = utcnow()
    return Membership(
        user_id=user.id,
        plan_id=plan.id,
        status=status,
        renewal=plan.renewal,
        price_minor=plan.price_minor,
        currency=plan.currency,
        auto_renew=False,
        terms=0,
        reminders_sent=0,
        created_at=moment,
        updated_at=moment,
    )


def _join_free(user: User, plan: MembershipPlan) -> Membership:
    with write_transaction():
        membership = _new_membership(user, plan, "active")
        moment = membership.created_at
        membership.starts_at = moment
        set_end(membership, one_year_after(moment))
        membership.terms = 1
        db.session.add(membership)
        db.session.flush()
        record(membership, "joined", moment, amount_minor=0)
        tell(membership, "welcome")
    return membership


def _join_paid(user: User, plan: MembershipPlan) -> Membership:
    with write_transaction():
        membership = _new_membership(user, plan, "pending")
        membership.auto_renew = plan.renewal == "subscription"
        db.session.add(membership)
        db.session.flush()
        order = payments.open_order(
            purpose=PURPOSE,
            reference=str(membership.id),
            amount_minor=plan.price_minor,
            currency=plan.currency,
            email=user.email,
            description=_description(plan),
            expires_at=membership.created_at + CHECKOUT_HOLD,
            user_id=user.id,
            mode="subscription" if plan.renewal == "subscription" else "payment",
            interval="year" if plan.renewal == "subscription" else None,
        )
        membership.order_id = order.id
    return membership


def _description(plan: MembershipPlan) -> str:
    return f"Membership: {plan.name_en or plan.name_ja}"


def checkout_for(membership_id: int, user: User, *, success_url: str, cancel_url: str) -> str:
    """Where to pay for this pending membership (the same page on a second click)."""
    membership = membership_for(membership_id, user)
    if membership.status != "pending" or membership.order_id is None:
        raise DomainError(_l("There is nothing to pay for this membership."))
    order = payments.order_by_id(membership.order_id)
    if order is None or order.status != "pending":
        raise DomainError(_l("There is nothing to pay for this membership."))
    return payments.start_checkout(order, success_url=success_url, cancel_url=cancel_url)


def abandon_pending(membership_id: int) -> bool:
    """A pending membership given up (another plan chosen, its checkout outlived): its checkout
    is closed at Stripe first, so that it cannot be paid afterwards (a payment made meanwhile
    makes it active instead). True if it was abandoned."""
    if payments.close_checkouts(PURPOSE, str(membership_id)) == "unknown":
        raise DomainError(
            _l(
                "The payment provider could not be reached to close your payment page, so "
                "nothing has changed. Please try again in a moment."
            )
        )
    with write_transaction():
        membership = locked_membership(membership_id)
        if membership is None or membership.status != "pending":
            return False
        moment = utcnow()
        membership.transition("abandoned", moment)
        record(membership, "abandoned", moment)
    return True


def confirm_if_paid(membership: Membership) -> bool:
    """Back from the payment page: ask Stripe (not the browser) whether it was paid."""
    changed = False
    for order in payments.orders_for(PURPOSE, str(membership.id)):
        if order.status == "pending":
            changed = payments.sync_checkouts(PURPOSE, order.reference) or changed
    for reference in _pending_renewal_references(membership):
        changed = payments.sync_checkouts(PURPOSE, reference) or changed
    return changed


# --- renewing ------------------------------------------------------------------------------------


def renewal_reference(membership_id: int, term: int, plan_id: int) -> str:
    return f"{membership_id}.{term}.{plan_id}"


def parse_reference(reference: str) -> tuple[int, int | None, int | None] | None:
    """(membership id, term, plan id) of an order's reference: a join's is the membership's id
    alone, a renewal's names the term it pays and the plan. None for anything else."""
    parts = reference.split(".")
    if len(parts) not in (1, 3) or not all(p.isascii() and p.isdigit() for p in parts):
        return None
    numbers = [int(p) for p in parts]
    if not all(0 < n <= MAX_ID for n in numbers):
        return None
    if len(numbers) == 1:
        return numbers[0], None, None
    return numbers[0], numbers[1], numbers[2]


def _pending_renewal_references(membership: Membership) -> list[str]:
    """The references of the next term's renewal orders still waiting for their payment."""
    references = []
    for plan in renewal_plans(membership):
        reference = renewal_reference(membership.id, membership.terms + 1, plan.id)
        if any(o.status == "pending" for o in payments.orders_for(PURPOSE, reference)):
            references.append(reference)
    return references


def can_renew(membership: Membership, moment: datetime | None = None) -> bool:
    """Renewing by a payment (or a click) is offered near the end and through the grace; a
    subscription that renews itself is not renewed by hand."""
    moment = moment or utcnow()
    if membership.status not in BENEFITING or membership.ends_at is None:
        return False
    if membership.renewal == "subscription" and membership.auto_renew:
        return False
    return membership.ends_at - RENEWAL_WINDOW <= moment < membership.grace_ends_at


def renewal_plans(membership: Membership | MembershipLine) -> list[MembershipPlan]:
    """The plans a membership can be renewed into by a payment: every offered plan renewed
    once a year (a subscription plan is joined when the membership has ended)."""
    return [plan for plan in plans() if plan.renewal == "one_off"]


def renew(user: User, membership_id: int, plan_slug: str) -> Joined:
    """Renew for another year, on this plan or another one renewed once a year: at once when it
    is free, else through a payment (`renewal_checkout`)."""
    membership = membership_for(membership_id, user)
    plan = plan_by_slug(plan_slug)
    if plan is None:
        raise NotFound(NO_SUCH_PLAN)
    if not plan.is_active:
        raise DomainError(RETIRED, field="plan")
    if plan.renewal != "one_off":
        raise DomainError(
            _l(
                "A plan renewed by a yearly card subscription is joined once this membership "
                "has ended. Choose a plan renewed once a year."
            ),
            field="plan",
        )
    moment = utcnow()
    if not can_renew(membership, moment):
        if membership.status in BENEFITING and membership.auto_renew:
            raise DomainError(_l("This membership renews itself: there is nothing to do."))
        if membership.status in BENEFITING:
            raise DomainError(
                _l(
                    "This membership runs until %(day)s: you can renew it from %(from)s.",
                    day=_day(membership.ends_at),
                    **{"from": _day(membership.ends_at - RENEWAL_WINDOW)},
                )
            )
        raise DomainError(
            _l("This membership has ended: join again from the membership page."),
        )
    term = membership.terms + 1
    if plan.is_free:
        with write_transaction():
            locked = locked_membership(membership.id)
            if locked.terms + 1 != term or not can_renew(locked, moment):
                raise Conflict(_l("This membership was renewed meanwhile."))
            extend(locked, plan, moment, amount_minor=0)
        return Joined(locked, False)
    order = payments.open_order(
        purpose=PURPOSE,
        reference=renewal_reference(membership.id, term, plan.id),
        amount_minor=plan.price_minor,
        currency=plan.currency,
        email=user.email,
        description=_description(plan),
        expires_at=moment + CHECKOUT_HOLD,
        user_id=user.id,
    )
    return Joined(membership, order.status == "pending")


def renewal_checkout(
    user: User, membership_id: int, plan_slug: str, *, success_url: str, cancel_url: str
) -> str:
    membership = membership_for(membership_id, user)
    plan = plan_by_slug(plan_slug)
    if plan is None:
        raise NotFound(NO_SUCH_PLAN)
    reference = renewal_reference(membership.id, membership.terms + 1, plan.id)
    order = next(
        (o for o in payments.orders_for(PURPOSE, reference) if o.status == "pending"), None
    )
    if order is None:
        raise DomainError(_l("There is nothing to pay for this membership."))
    return payments.start_checkout(order, success_url=success_url, cancel_url=cancel_url)


def extend(
    membership: Membership,
    plan: MembershipPlan,
    moment: datetime,
    *,
    amount_minor: int,
    payment_id: int | None = None,
    order_id: int | None = None,
) -> None:
    """Under the membership's lock: one more term. A membership still held goes on from its
    end (a renewal in the grace keeps it unbroken), one that had expired starts again now."""
    held = membership.status in BENEFITING and membership.grace_ends_at > moment
    base = membership.ends_at if held else moment
    if plan.id != membership.plan_id:
        membership.plan_id = plan.id
        membership.renewal = plan.renewal
        membership.price_minor = plan.price_minor
        membership.currency = plan.currency
        record(membership, "plan_changed", moment)
    if membership.status != "active":
        membership.transition("active", moment)
    set_end(membership, one_year_after(base))
    membership.terms += 1
    membership.updated_at = moment
    record(
        membership,
        "renewed",
        moment,
        amount_minor=amount_minor,
        payment_id=payment_id,
        order_id=order_id,
    )
    tell(membership, "renewed", payment_id=payment_id)


# --- automatic renewal ---------------------------------------------------------------------------


def set_auto_renew(user: User, membership_id: int, *, renew: bool) -> Membership:
    """The member stops (or resumes) their subscription's renewal: it then runs to its end."""
    membership = membership_for(membership_id, user)
    if membership.renewal != "subscription" or membership.order_id is None:
        raise DomainError(_l("This membership is renewed by hand, not by a subscription."))
    if membership.status not in BENEFITING:
        raise DomainError(_l("This membership has ended: there is nothing to renew."))
    if membership.auto_renew == renew:
        return membership
    # Stripe first; its answer is recorded by payments, which tells fulfilment.changed.
    payments.set_subscription_renewal(membership.order_id, renew=renew)
    db.session.expire_all()
    return membership_for(membership_id, user)


def card_page(user: User, membership_id: int) -> str:
    """Stripe's page where a member whose renewal failed pays it with another card."""
    membership = membership_for(membership_id, user)
    if membership.status != "past_due" or membership.order_id is None:
        raise DomainError(_l("Nothing is owed on this membership."))
    url = payments.unpaid_subscription_url(membership.order_id)
    if url is None:
        raise DomainError(
            _l("Nothing is owed on this membership any more, or the payment page is not ready.")
        )
    return url


# --- counts for the pages ------------------------------------------------------------------------


def member_count() -> int:
    return db.session.scalar(
        select(func.count(Membership.id)).where(
            Membership.status.in_(BENEFITING), Membership.grace_ends_at > utcnow()
        )
    )
