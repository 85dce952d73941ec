"""Sponsorship's demo data for `make run`: four tiers, and three partner companies with logos,
bought the way partners buy (one by card in the payment sandbox, the others against an invoice
whose transfer an administrator recorded), so that the wall, the home page and the event pages
show them. Idempotent: a second run changes nothing."""

from __future__ import annotations

from sqlalchemy import select

from community.accounts.models import User
from community.core.db import db
from community.core.text import normalise_email
from community.payments import sandbox
from community.payments import services as payments
from community.payments.models import Payment
from community.sponsorship import services, years
from community.sponsorship.logos import check_logo
from community.sponsorship.models import Partner

TIERS = [
    # slug, ja, en, price (JPY), tax included, places, tickets, logo size, mention, posts
    ("platinum", "プラチナ", "Platinum", 1_000_000, False, 2, 5, "large", True, 12),
    ("gold", "ゴールド", "Gold", 500_000, False, 4, 3, "medium", True, 6),
    ("silver", "シルバー", "Silver", 200_000, False, 8, 2, "small", False, 2),
    ("community", "コミュニティ", "Community", 55_000, True, None, 1, "small", False, 0),
]
BENEFITS = {
    "platinum": (
        "基調講演の枠（年1回）\nイベント会場でのブース",
        "A keynote slot once a year\nA booth at our events",
    ),
    "gold": ("ライトニングトークの枠（年2回）", "Two lightning-talk slots a year"),
    "silver": ("ニュースレターでのご紹介", "A mention in our newsletter"),
    "community": ("コミュニティへのご支援に感謝します", "Our thanks for supporting the community"),
}
# name_ja, name_en, website, contact e-mail, tier, how it paid, logo colour
PARTNERS = [
    ("株式会社サンプルクラウド", "Sample Cloud K.K.", "https://cloud.example.com",
     "partner-cloud@example.org", "platinum", "card", "#1f6feb"),
    ("データ工房株式会社", "Data Kobo Inc.", "https://data.example.com",
     "partner-data@example.org", "gold", "invoice", "#b35900"),
    ("東京ソフト合同会社", "Tokyo Soft LLC", "https://soft.example.com",
     "partner-soft@example.org", "silver", "invoice", "#2d7d46"),
]  # fmt: skip


def _logo(name: str, colour: str) -> tuple[bytes, str]:
    initials = "".join(word[0] for word in name.split()[:2]).upper()
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="240" height="80" viewBox="0 0 240 80">'
        f"<title>{name}</title>"
        f'<rect width="240" height="80" rx="12" fill="{colour}"/>'
        '<text x="120" y="52" font-family="sans-serif" font-size="32" fill="#ffffff" '
        f'text-anchor="middle">{initials}</text></svg>'
    )
    checked = check_logo(svg.encode(), "logo.svg")
    return checked.content, checked.media_type


def seed(user_for) -> bool:
    """`user_for(email, name)` gives the demo contact's account (made by the caller's seed)."""
    created = False
    for position, row in enumerate(TIERS):
        slug, name_ja, name_en, price, included, places, tickets, size, mention, posts = row
        if services.tier_by_slug(slug) is not None:
            continue
        benefits_ja, benefits_en = BENEFITS[slug]
        services.create_tier(
            services.TierFields(
                slug=slug,
                name_ja=name_ja,
                name_en=name_en,
                benefits_ja=benefits_ja,
                benefits_en=benefits_en,
                price_minor=price,
                currency="JPY",
                price_includes_tax=included,
                tax_rate=10,
                places=places,
                complimentary_tickets=tickets,
                logo_size=size,
                mention_at_openings=mention,
                posts=posts,
                position=position,
            )
        )
        created = True
    admin = db.session.scalar(select(User).where(User.role == "admin").order_by(User.id))
    for name_ja, name_en, website, email, tier, method, colour in PARTNERS:
        if db.session.scalar(select(Partner.id).where(Partner.name_en == name_en)):
            continue
        contact = user_for(normalise_email(email), f"{name_en} contact")
        partner = services.create_partner(
            contact,
            services.PartnerFields(
                name_ja=name_ja,
                name_en=name_en,
                website=website,
                description_ja="",
                description_en="",
                billing_name=name_ja,
                billing_address="東京都千代田区丸の内1-1-1",
                billing_department="総務部",
                billing_contact=f"{name_en} contact",
                registration_number=None,
                registration_number_confirmed=False,
            ),
        )
        services.set_logo(partner.id, contact, *_logo(name_en, colour))
        year = years.year_of(years.today())
        card = method == "card" and payments.gateway() is not None and _is_sandbox()
        sponsorship = services.buy_sponsorship(
            partner.id, contact, tier_slug=tier, year=year, method="card" if card else "invoice"
        )
        if card:
            services.checkout_for(
                sponsorship.id,
                contact,
                success_url="http://127.0.0.1/",
                cancel_url="http://127.0.0.1/",
            )
            session_id = db.session.scalar(
                select(Payment.session_id).where(Payment.order_id == sponsorship.order_id)
            )
            sandbox.pay(session_id)
        else:
            order = payments.order_by_id(sponsorship.order_id)
            payments.record_bank_transfer(
                order.id,
                amount_minor=order.amount_minor,
                received_on=years.today(),
                recorded_by_id=admin.id if admin else None,
                reference="DEMO",
            )
        created = True
    return created


def _is_sandbox() -> bool:
    return isinstance(payments.gateway(), sandbox.SandboxGateway)
