"""Who counts as a member, for every domain that asks (members-only tickets, member prices, and
the domains to come).

Accounts only offers the question. The membership domain answers it by registering a check from
its `init_app` (`membership_check.register(app, "membership", check)`); a person is a member
when any registered check says so, and until one is registered nobody is.
"""

from __future__ import annotations

from collections.abc import Callable

from community.accounts.models import User
from community.core.hooks import Hook

# (the signed-in user, or None for a guest; the e-mail address given) → a member?
MembershipCheck = Callable[[User | None, str], bool]

membership_check: Hook[MembershipCheck] = Hook("accounts.membership_check")


def is_member(user: User | None, email: str) -> bool:
    return any(check(user, email) for check in membership_check.values())
