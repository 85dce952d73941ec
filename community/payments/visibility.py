"""Who may see which orders in the back office, without payments knowing what was bought.

Each domain registers from its `init_app`, for its purpose, a SQL condition on `Order` that
picks the orders an organiser may see (for tickets: those of the events they run), a label, and
optionally a link to where the thing bought is managed. Admins see every order; an order whose
purpose has no rule is shown to admins only. The rules are SQL conditions, not Python checks, so
that a list of orders is filtered by the database in one query whatever its length.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask_babel import LazyString
from sqlalchemy import ColumnElement, and_, false, or_, true

from community.core.hooks import Hook
from community.payments.models import Order

if TYPE_CHECKING:
    from community.accounts.models import User


@dataclass(frozen=True)
class Visibility:
    # The orders of this purpose that `user` (an organiser, not an admin) may see: a condition
    # on Order's columns, typically `Order.reference IN (a subquery)`.
    visible_to: Callable[[User], ColumnElement[bool]]
    label: str | LazyString
    # Where the thing bought is managed, for the order's page: (text, url), or None.
    link: Callable[[Order], tuple[str, str] | None] | None = None


# Keyed by purpose, as fulfilment is.
visibility_rule: Hook[Visibility] = Hook("payments.visibility")


def visibility_for(purpose: str) -> Visibility | None:
    return visibility_rule.get(purpose)


def registered_purposes() -> list[str]:
    return sorted(visibility_rule.keys())


def purpose_label(purpose: str) -> str:
    rule = visibility_rule.get(purpose)
    return str(rule.label) if rule is not None else purpose


def visible_orders(user: User) -> ColumnElement[bool]:
    """A condition on `Order`: the orders `user` may see."""
    if user.is_admin:
        return true()
    if not user.is_organiser:
        return false()
    # or_() of nothing is deprecated: false() keeps it defined when no domain registered a rule.
    return or_(
        false(),
        *(
            and_(Order.purpose == purpose, rule.visible_to(user))
            for purpose, rule in sorted(visibility_rule.items())
        ),
    )
