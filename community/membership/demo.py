"""Membership's demo data for `make run`: a free community plan, an individual plan renewed by a
yearly card subscription and a student plan paid once a year, and the demo member holding the
free plan (so that their profile shows a membership; any other account can join a paid plan in
the payment sandbox). Idempotent: a second run changes nothing."""

from __future__ import annotations

from community.accounts.models import User
from community.membership import services

BOTH = ("member_prices", "members_only")
PLANS = [
    # slug, ja, en, price (JPY a year), renewal, benefits, description ja, description en
    (
        "community",
        "コミュニティメンバー",
        "Community member",
        0,
        "one_off",
        ("members_only",),
        "無料のメンバーです。メンバー限定のイベントに参加できます。",
        "Free membership: come to our members-only events.",
    ),
    (
        "individual",
        "個人メンバー",
        "Individual",
        6000,
        "subscription",
        BOTH,
        "コミュニティを支える個人のメンバーです。イベントのメンバー価格とメンバー限定の枠があります。",
        "Support the community: member prices at events and members-only places.",
    ),
    (
        "student",
        "学生メンバー",
        "Student",
        2000,
        "one_off",
        BOTH,
        "学生の方のためのメンバーです。年に一度のお支払いで、イベントのメンバー価格が使えます。",
        "For students: paid once a year, with member prices at events.",
    ),
]


def seed(member: User) -> bool:
    created = False
    for position, (slug, name_ja, name_en, price, renewal, benefits, text_ja, text_en) in enumerate(
        PLANS
    ):
        if services.plan_by_slug(slug) is not None:
            continue
        services.create_plan(
            services.PlanFields(
                slug=slug,
                name_ja=name_ja,
                name_en=name_en,
                description_ja=text_ja,
                description_en=text_en,
                price_minor=price,
                currency="JPY",
                renewal=renewal,
                benefits=benefits,
                position=position,
            )
        )
        created = True
    if services.current_membership(member) is None and not services.memberships_of(member):
        services.join(member, "community")
        created = True
    return created
