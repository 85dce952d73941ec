"""Who counts as a member, for members-only tickets and member prices.

The membership domain does not exist yet; when it does, it registers its check here at start-up
(`set_membership_check`). Until then nobody is a member. Events never import membership.
"""

from __future__ import annotations

from collections.abc import Callable

from community.accounts.models import User

MembershipCheck = Callable[[User | None, str], bool]

_check: MembershipCheck | None = None


def set_membership_check(check: MembershipCheck | None) -> None:
    global _check
    _check = check


def is_member(user: User | None, email: str) -> bool:
    return bool(_check is not None and _check(user, email))
