"""What a registration costs, and what a voucher gives: the hooks that the domains above events
fill (membership's prices, sponsorship's vouchers), and the engine's use of them.

- `price_rule`: each rule may name a lower price for a person and ticket type (a member's
  price is events' own rule, asked of accounts' membership hook: the benefits `MEMBER_PRICES`
  and `MEMBERS_ONLY`, which events names there); the lowest price wins.
- `voucher_kind`: a domain that gives voucher codes a meaning registers how to redeem one and
  how to release it. Redeeming happens inside the registration's transaction, under the event's
  lock, so that a voucher with a limited number of uses (counted with core/capacity.claim) holds
  under any concurrency; a voucher may set the price (a free seat) and give a place outside the
  ticket type's quota, which still counts against the event's capacity. A registration that
  ends (cancelled, expired) releases its voucher in the transaction that ends it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from flask_babel import lazy_gettext as _l

from community.accounts.membership import has_benefit, join_url
from community.accounts.models import User
from community.core.errors import DomainError
from community.core.hooks import Hook
from community.core.text import is_single_line
from community.events.facts import EventFacts, TicketFacts
from community.events.models import Registration

VOUCHER_CODE_MAX = 64
# The benefits of membership that events gives (named in accounts' member_benefit hook).
MEMBER_PRICES = "member_prices"
MEMBERS_ONLY = "members_only"


class MembersOnly(DomainError):
    """A members-only ticket asked for by someone who is not a member (now)."""

    code = "members_only"


def members_only_message():
    where = join_url()
    if where is None:
        return _l("This ticket is for members only.")
    return _l("This ticket is for members only. You can become a member at %(url)s", url=where)


@dataclass(frozen=True)
class PriceQuestion:
    """Whom a price is for: the event and ticket type as registering reads them (facts.py)."""

    event: EventFacts
    ticket_type: TicketFacts
    user: User | None
    email: str


# A lower price (in the ticket's minor unit) for this person, or None.
PriceRule = Callable[[PriceQuestion], int | None]
price_rule: Hook[PriceRule] = Hook("events.price_rule")


@dataclass(frozen=True)
class VoucherUse:
    """What a redeemed voucher gives: a price (None: the ticket's own) and whether the place
    lies outside the ticket type's quota (it still counts against the event's capacity)."""

    price_minor: int | None = None
    outside_quota: bool = False


class VoucherKind(Protocol):
    def redeem(self, code: str, registration: Registration) -> VoucherUse | None:
        """Inside the registration's transaction (the registration has its id, not yet its
        place): None if the code is not one of this kind's; a DomainError (field "voucher") if
        it is but cannot be used (used up, another event, expired)."""

    def release(self, registration: Registration) -> None:
        """The registration ended: give the use back (in the transaction that ended it)."""


voucher_kind: Hook[VoucherKind] = Hook("events.voucher_kind")


def price_for(event: EventFacts, ticket_type: TicketFacts, user: User | None, email: str) -> int:
    """The price of this ticket for this person before any voucher; members-only tickets are
    refused to others."""
    if ticket_type.members_only and not has_benefit(user, MEMBERS_ONLY):
        raise MembersOnly(members_only_message(), field="ticket_type")
    prices = [ticket_type.price_minor]
    if ticket_type.member_price_minor is not None and has_benefit(user, MEMBER_PRICES):
        prices.append(ticket_type.member_price_minor)
    question = PriceQuestion(event, ticket_type, user, email)
    for rule in price_rule.values():
        price = rule(question)
        if price is not None and price >= 0:
            prices.append(price)
    return min(prices)


def clean_voucher_code(code: str | None) -> str | None:
    """The code as typed, trimmed; None when there is none. A code no voucher could have is
    refused here, before any lock is taken."""
    code = (code or "").strip()
    if not code:
        return None
    if len(code) > VOUCHER_CODE_MAX or not is_single_line(code):
        raise DomainError(_l("There is no such voucher."), field="voucher")
    return code


def redeem_voucher(code: str, registration: Registration) -> VoucherUse:
    """Redeem `code` for this registration (see VoucherKind.redeem); the first kind that knows
    the code decides. Unknown to all of them: DomainError."""
    for name, kind in voucher_kind.items():
        use = kind.redeem(code, registration)
        if use is not None:
            registration.voucher_kind = name
            registration.voucher_code = code
            registration.outside_quota = use.outside_quota
            if use.price_minor is not None:
                registration.price_minor = max(0, min(use.price_minor, registration.price_minor))
            return use
    raise DomainError(_l("There is no such voucher."), field="voucher")


def release_voucher(registration: Registration) -> None:
    if registration.voucher_kind is None:
        return
    kind = voucher_kind.get(registration.voucher_kind)
    if kind is not None:
        kind.release(registration)
