"""Who counts as a member, and what being one gives, for every domain that asks (members-only
tickets, member prices, and the domains to come).

Accounts only offers the questions. A domain that gives something to members names it once
(`member_benefit.register(app, "member_prices", Benefit(...))` from its `init_app`: events
names member prices and members-only tickets, mentoring its own), so that the plans of the
membership domain can say which of them each plan gives. The membership domain answers the
questions by registering a check (`membership_check.register(app, "membership", check)`); a
person has a benefit when any registered check says so, and until one is registered nobody has.

A member is always a signed-in person: an e-mail address typed into a form proves nothing
about who typed it, so a guest never gets what members get.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app

from community.accounts.models import User
from community.core.hooks import Hook
from community.core.urls import external_url

# (the signed-in user, the benefit's name, or None for "any membership at all") → does it hold?
MembershipCheck = Callable[[User, str | None], bool]

membership_check: Hook[MembershipCheck] = Hook("accounts.membership_check")


@dataclass(frozen=True)
class Benefit:
    """Something a membership plan can give: its label (lazily translated) for the plans' pages."""

    label: object


member_benefit: Hook[Benefit] = Hook("accounts.member_benefit")


def _signed_in(user: User | None) -> bool:
    return user is not None and bool(getattr(user, "is_authenticated", False)) and user.id


def is_member(user: User | None, email: str = "") -> bool:
    """Whether this signed-in person holds a membership now (`email` is ignored: see above)."""
    if not _signed_in(user):
        return False
    return any(check(user, None) for check in membership_check.values())


def has_benefit(user: User | None, benefit: str) -> bool:
    """Whether this signed-in person's membership gives `benefit` now."""
    if not _signed_in(user):
        return False
    return any(check(user, benefit) for check in membership_check.values())


def join_url() -> str | None:
    """Where a person becomes a member (None while no domain offers joining)."""
    if "membership.join" not in current_app.view_functions:
        return None
    return external_url("membership.join")
