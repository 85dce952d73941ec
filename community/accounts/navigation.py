"""Who sees a navigation entry, by role: for the entries of the back office that accounts,
events and payments add to the main menu (core.navigation knows nothing of roles)."""

from __future__ import annotations

from typing import Any


def organisers(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_organiser)


def admins(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_admin)
