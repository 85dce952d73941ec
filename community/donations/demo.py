"""Donations' demo data for `make run`: a campaign matched by a partner company and one without
a match, and a few gifts on the donor wall (written as confirmed rows, without payments in the
ledger: their money is only for show). Any visitor can give more in the payment sandbox and see
the bars move. Idempotent: a second run changes nothing."""

from __future__ import annotations

import secrets
from datetime import timedelta

from community.accounts.partners import partner_names
from community.core.db import db, utcnow
from community.donations import services
from community.donations.models import Campaign, Donation, DonationPayment

CAMPAIGNS = [
    # slug, ja, en, goal, days left, matched, story ja, story en
    (
        "workshop-scholarships",
        "ワークショップ奨学金",
        "Workshop scholarships",
        500_000,
        45,
        200_000,
        "学生や仕事に復帰する人が、有料のワークショップに無料で参加できるようにします。"
        "パートナー企業が寄付と同額を上乗せします。",
        "Free places at paid workshops for students and people returning to work. A partner "
        "company matches every gift.",
    ),
    (
        "mentoring-2027",
        "メンタリングプログラム2027",
        "Mentoring programme 2027",
        300_000,
        90,
        0,
        "メンターとメンティーの出会いの場、会場、軽食の費用にあてます。",
        "Venues, food and the meetings where mentors and mentees find each other.",
    ),
]
GIFTS = [
    # campaign slug or None, name, wall, amount, monthly, hours ago
    ("workshop-scholarships", "佐藤 花子", "name_amount", 10_000, False, 30),
    ("workshop-scholarships", "", "anonymous", 5_000, False, 20),
    ("workshop-scholarships", "Emma Wilson", "name", 3_000, True, 12),
    (None, "田中 美咲", "name_amount", 3_000, False, 5),
    ("mentoring-2027", "", "anonymous", 20_000, False, 2),
]


def seed() -> bool:
    if services.campaign_by_slug(CAMPAIGNS[0][0]) is not None:
        return False
    moment = utcnow()
    partners = partner_names()
    for slug, name_ja, name_en, goal, days, matched, story_ja, story_en in CAMPAIGNS:
        partner = partners[0] if matched and partners else None
        db.session.add(
            Campaign(
                slug=slug,
                name_ja=name_ja,
                name_en=name_en,
                story_ja=story_ja,
                story_en=story_en,
                goal_minor=goal,
                currency="JPY",
                starts_at=moment - timedelta(days=10),
                ends_at=moment + timedelta(days=days),
                match_partner_id=partner.id if partner else None,
                match_partner_name=partner.name if partner else "",
                match_cap_minor=matched if partner else 0,
            )
        )
    db.session.flush()
    for number, (slug, name, wall, amount, monthly, hours) in enumerate(GIFTS, start=1):
        campaign = services.campaign_by_slug(slug) if slug else None
        at = moment - timedelta(hours=hours)
        email = f"demo-donor-{number}@example.org"
        donation = Donation(
            kind="monthly" if monthly else "one_off",
            status="active" if monthly else "paid",
            amount_minor=amount,
            currency="JPY",
            campaign_id=campaign.id if campaign else None,
            email=email,
            email_key=email,
            donor_key=f"email:{email}",
            donor_name=name,
            wall=wall,
            language="ja",
            manage_nonce=secrets.token_hex(16),
            created_at=at,
            updated_at=at,
            confirmed_at=at,
        )
        donation.payments.append(
            DonationPayment(
                counted_campaign_id=campaign.id if campaign else None,
                amount_minor=amount,
                currency="JPY",
                refunded_minor=0,
                paid_at=at,
            )
        )
        db.session.add(donation)
    db.session.commit()
    return True
