"""The partner companies, for the domains that name one without owning them: a donation
campaign's matching partner, and the domains to come.

The sponsorship domain owns partner companies and answers by registering a directory
(`partner_directory.register(app, "sponsorship", directory)` from its `init_app`); until one is
registered there are none. A name given here is the company's name in the reader's language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from community.core.hooks import Hook


@dataclass(frozen=True)
class PartnerName:
    id: int
    name: str


# () → every partner company, by name.
PartnerDirectory = Callable[[], list[PartnerName]]

partner_directory: Hook[PartnerDirectory] = Hook("accounts.partner_directory")


def partner_names() -> list[PartnerName]:
    names: list[PartnerName] = []
    for directory in partner_directory.values():
        names.extend(directory())
    return sorted(names, key=lambda partner: (partner.name.casefold(), partner.id))


def partner_name(partner_id: int) -> PartnerName | None:
    return next((p for p in partner_names() if p.id == partner_id), None)
