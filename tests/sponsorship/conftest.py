"""Fixtures for the sponsorship tests: tiers, partner companies with their contact, and buying.

`make_tier(**fields)` makes a tier through the service (as an administrator would);
`make_partner(contact=None, **fields)` a company whose first contact is `contact` (a new user by
default); `buy(partner, contact, tier, method="invoice", year=None)` reserves through the service.
`admin` is an administrator, signed in on `client`.
"""

from __future__ import annotations

import pytest

from community.sponsorship import services, years

TIER_DEFAULTS = {
    "name_ja": "ゴールド",
    "name_en": "Gold",
    "benefits_ja": "ロゴの掲載",
    "benefits_en": "Your logo on our site",
    "price_minor": 100_000,
    "currency": "JPY",
    "price_includes_tax": False,
    "tax_rate": 10,
    "places": 2,
    "complimentary_tickets": 2,
    "logo_size": "medium",
    "mention_at_openings": False,
    "posts": 0,
    "position": 0,
}


@pytest.fixture
def make_tier(app):
    counter = iter(range(1, 10_000))

    def factory(**fields):
        number = next(counter)
        values = {**TIER_DEFAULTS, "slug": f"tier-{number}", **fields}
        return services.create_tier(services.TierFields(**values))

    return factory


PARTNER_DEFAULTS = {
    "name_ja": "株式会社テスト",
    "name_en": "Test K.K.",
    "website": "https://test.example.com",
    "description_ja": "",
    "description_en": "",
    "billing_name": "株式会社テスト",
    "billing_address": "東京都千代田区1-1",
    "billing_department": "総務部",
    "billing_contact": "山田 太郎",
    "registration_number": None,
    "registration_number_confirmed": False,
}


@pytest.fixture
def make_partner(app, make_user):
    counter = iter(range(1, 10_000))

    def factory(contact=None, **fields):
        number = next(counter)
        contact = contact or make_user(name=f"Contact {number}")
        values = {
            **PARTNER_DEFAULTS,
            "name_en": f"Test {number} K.K.",
            "name_ja": f"株式会社テスト{number}",
            **fields,
        }
        return services.create_partner(contact, services.PartnerFields(**values))

    return factory


def contact_of(partner):
    """The partner's first contact (a User)."""
    return partner.contacts[0].user


@pytest.fixture
def buy(app):
    def do_buy(partner, tier, *, contact=None, method: str = "invoice", year: int | None = None):
        contact = contact or contact_of(partner)
        return services.buy_sponsorship(
            partner.id,
            contact,
            tier_slug=tier.slug,
            year=year if year is not None else years.year_of(years.today()),
            method=method,
        )

    return do_buy


@pytest.fixture
def admin(make_user, login):
    user = make_user(role="admin", name="Ada Admin", email="ada@example.com")
    login(user)
    return user
