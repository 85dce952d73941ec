"""axe-core on every public, account and organiser page, in Japanese and English, on a phone and on
a desktop: a serious or critical violation fails the test, naming the rule, its impact and the
elements; lesser findings are printed, not failed. The same pass fails a page that scrolls
sideways on a phone, and a stylesheet, image or icon that does not load.

One live server, one browser, a context per language; each page is loaded once and checked at both
widths by resizing the window. axe is injected with a script tag, which the site's CSP (no inline
scripts) would refuse: these contexts bypass the CSP, which other tests check.
"""

from __future__ import annotations

import io
import os
import re
import time
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import (
    TIMEOUT_MS,
    add_staff,
    artifact_name,
    choice_questions,
    save_screenshot,
)
from tests.browser.conftest import sign_in as signing_in
from tests.conftest import link_in, text_of

pytestmark = pytest.mark.browser

LANGUAGES = {"ja": "ja-JP", "en": "en-US"}
VIEWPORTS = {"phone": {"width": 375, "height": 740}, "desktop": {"width": 1280, "height": 900}}
FAILING_IMPACTS = ("serious", "critical")
PASSWORD = "a long enough axe password"
# AXE_SCREENSHOTS=1 keeps a screenshot of every page checked (else only of pages that fail).
SCREENSHOT_EVERY_PAGE = os.environ.get("AXE_SCREENSHOTS") == "1"
# AXE_ONLY=attendees,order checks only the pages whose names contain one of these (while fixing).
ONLY = [name for name in os.environ.get("AXE_ONLY", "").split(",") if name]

# Everything but the results' long HTML excerpts, to keep the transfer small.
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map((violation) => ({
    id: violation.id,
    impact: violation.impact,
    help: violation.help,
    nodes: violation.nodes.map((node) => ({
      target: node.target.join(" "),
      summary: node.failureSummary || "",
    })),
  }));
}"""

# WCAG 1.4.10 (reflow), which axe does not check: on a phone nothing makes the page scroll sideways.
# Wide tables scroll inside their own box (.table-scroll). Names the outermost elements too wide.
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width) return "";
  const wide = [...document.querySelectorAll("body *")].filter((element) => {
    const box = element.getBoundingClientRect();
    if (box.right <= width + 1) return false;
    for (let parent = element.parentElement; parent; parent = parent.parentElement) {
      if (getComputedStyle(parent).overflowX !== "visible") return false;
    }
    return true;
  });
  // Else something positioned outside its scrolling box, such as a visually hidden label.
  const positioned = [...document.querySelectorAll("body *")].filter((element) =>
    element.getBoundingClientRect().right > width + 1
    && ["absolute", "fixed"].includes(getComputedStyle(element).position));
  const outermost = wide.filter((element) => !wide.includes(element.parentElement));
  if (!outermost.length) outermost.push(...positioned);
  const describe = (element) => element.tagName.toLowerCase()
    + (element.id ? "#" + element.id : "")
    + (element.className && typeof element.className === "string"
       ? "." + element.className.trim().split(/\\s+/).join(".") : "");
  const culprits = outermost.slice(0, 5).map(describe).join(", ");
  return `${document.documentElement.scrollWidth}px wide: ${culprits}`;
}"""


@dataclass
class Site:
    """What the seeded live server holds, as paths to visit."""

    free_event: str
    paid_event: str
    past_event: str
    manage_free: str
    manage_paid: str
    manage_waiting: str
    manage_cancelled: str
    manage_bought: str
    manage_payment_failed: str
    full_event: str
    cancelled_event: str
    checkout: str
    order: str
    partner: str  # the admins' company's page
    sponsorship_invoiced: str
    sponsorship_paid: str
    tier_edit: str
    membership_receipts: dict[str, str]  # language → the admin's own receipt
    member_page: str
    plan_edit: str
    # Donations: a campaign, gifts' private pages (one-off, monthly), a receipt, a statement.
    campaign: str
    campaign_ended: str
    gift_one_off: str
    gift_monthly: str
    gift_receipt: str
    gift_statement: str
    gift_admin: str
    campaign_edit: str
    admins: dict[str, str] = field(default_factory=dict)  # language → e-mail address


@dataclass(frozen=True)
class Finding:
    where: str
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]


@pytest.fixture
def site(live_server) -> Site:
    from sqlalchemy import select

    from community.accounts.models import User
    from community.core.db import db, utcnow
    from community.events import services
    from community.events.models import Category
    from community.events.services import EventData, QuestionData, TicketTypeData
    from community.payments import sandbox
    from community.payments.models import Order

    app = live_server.app
    with app.app_context(), app.test_request_context(base_url=live_server.url):
        admins = {
            language: person.email
            for language, person in add_staff("admin", "admin", PASSWORD, LANGUAGES).items()
        }
        db.session.add(Category(slug="career", name_ja="キャリア", name_en="Career"))
        db.session.commit()
        organiser = db.session.scalar(select(User).where(User.email == "admin-en@example.com"))

        def event(slug: str, days: int, **changes):
            start = utcnow().replace(microsecond=0) + timedelta(days=days)
            values = {
                "slug": slug,
                "kind": "event",
                "title_ja": f"{slug} の夕べ",
                "title_en": f"{slug} evening",
                "summary_ja": "メンターとスポンサーに出会う夜。",
                "summary_en": "An evening to meet mentors and sponsors.",
                "description_ja": "**初めての方も歓迎**\n\n- 交流\n- [資料](https://example.com)",
                "description_en": "**Newcomers welcome**\n\n- Meet\n- [Slides](https://example.com)",
                "category_slug": "career",
                "starts_at": start,
                "ends_at": start + timedelta(hours=2),
                "capacity": 20,
                "venue_name": "Shibuya Hall",
                "venue_address": "1-2-3 Shibuya, Tokyo",
                "map_url": "https://example.com/map",
                "ticket_types": [TicketTypeData(slug="general", name_ja="一般", name_en="General")],
                **changes,
            }
            made = services.create_event(EventData(**values), organiser)
            services.publish_event(made)
            return made

        free = event(
            "free-night",
            5,
            questions=[
                QuestionData(kind="short_text", label_ja="会社", label_en="Company", required=True),
                QuestionData(kind="long_text", label_ja="ご質問", label_en="Questions"),
                *choice_questions(),
            ],
        )
        paid = event(
            "paid-workshop",
            9,
            kind="workshop",
            prerequisites_ja="ノートPCを持参",
            prerequisites_en="Bring a laptop",
            ticket_types=[
                TicketTypeData(slug="seat", name_ja="席", name_en="Seat", price_minor=3000),
            ],
        )
        past = event("past-meetup", 1)
        # An event that has happened: published while it was upcoming, then moved to last week.
        past.starts_at = utcnow().replace(microsecond=0) - timedelta(days=7)
        past.ends_at = past.starts_at + timedelta(hours=2)
        db.session.commit()

        full = event("full-night", 3, capacity=1)
        services.register_for_event(
            full.slug, name="First Come", email="first@example.com", language="en"
        )
        waiting = services.register_for_event(
            full.slug, name="Wendy Waiting", email="wendy@example.com", language="en"
        )
        cancelled = event("cancelled-talk", 6)
        services.cancel_event(cancelled, "The speaker is ill.")
        draft = EventData(
            slug="draft-idea",
            kind="event",
            title_ja="下書き",
            title_en="Draft idea",
            starts_at=utcnow().replace(microsecond=0) + timedelta(days=30),
            ends_at=utcnow().replace(microsecond=0) + timedelta(days=30, hours=1),
            capacity=5,
            venue_name="To be decided",
            ticket_types=[TicketTypeData(slug="general", name_en="General")],
        )
        services.create_event(draft, organiser)

        confirmed = services.register_for_event(
            free.slug,
            name="Gina Guest",
            email="gina@example.com",
            answers={str(free.questions[0].id): "Acme"},
            language="en",
        )
        arrived = services.register_for_event(
            free.slug,
            name="Ken Early",
            email="ken@example.com",
            answers={str(free.questions[0].id): "Example KK"},
            language="ja",
        )
        services.check_in(free, arrived.ticket_code)
        left = services.register_for_event(
            free.slug,
            name="Lena Left",
            email="lena@example.com",
            answers={str(free.questions[0].id): "Gone KK"},
            language="en",
        )
        services.cancel_registration(left.id)
        awaiting = services.register_for_event(
            paid.slug, name="Paula Payer", email="paula@example.com", language="en"
        )
        checkout = services.payment_page_for(awaiting)
        # The admins' "My events" (on their profile): a place to pay, a waiting place, a place.
        for admin_email in admins.values():
            me = db.session.scalar(select(User).where(User.email == admin_email))
            for slug in (paid.slug, full.slug, free.slug):
                services.register_for_event(
                    slug,
                    name=me.name,
                    email=me.email,
                    answers={str(free.questions[0].id): "Admin KK"} if slug == free.slug else None,
                    user=me,
                    language=me.locale,
                )
        buyer = services.register_for_event(
            paid.slug, name="Bea Buyer", email="bea@example.com", language="en"
        )
        paid_checkout = services.payment_page_for(buyer)
        sandbox.pay(re.search(r"/checkout/([^/?#]+)", paid_checkout).group(1))
        db.session.commit()
        # A payment that failed: the place is still held, to try again.
        unlucky = services.register_for_event(
            paid.slug, name="Fay Failed", email="fay@example.com", language="en"
        )
        failed_checkout = services.payment_page_for(unlucky)
        sandbox.fail(re.search(r"/checkout/([^/?#]+)", failed_checkout).group(1))
        db.session.commit()
        order = db.session.scalar(
            select(Order).where(Order.purpose == "ticket", Order.reference == str(buyer.id))
        )

        sponsored = sponsorship_site(organiser, admins, free.slug)
        members = membership_site(admins)
        gifts = donations_site(admins)

        def manage(registration) -> str:
            return f"/registrations/{registration.id}/{services.manage_token(registration)}"

        return Site(
            free_event=f"/events/{free.slug}",
            paid_event=f"/events/{paid.slug}",
            past_event=f"/events/{past.slug}",
            manage_free=manage(confirmed),
            manage_paid=manage(awaiting),
            manage_waiting=manage(waiting),
            manage_cancelled=manage(left),
            manage_bought=manage(buyer),
            manage_payment_failed=manage(unlucky),
            full_event=f"/events/{full.slug}",
            cancelled_event=f"/events/{cancelled.slug}",
            checkout=urlsplit(checkout).path,
            order=f"/organiser/orders/{order.id}",
            **sponsored,
            **members,
            **gifts,
            admins=admins,
        )


def a_png_logo() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (240, 80), "#2d7d46").save(buffer, format="PNG")
    return buffer.getvalue()


def membership_site(admins: dict[str, str]) -> dict[str, str]:
    """Three plans (free, paid once a year, a yearly subscription, and a retired one); each admin
    holds the paid one, bought in the sandbox, with its end near (so that its page offers the
    renewal), and a former member has an expired membership."""
    from datetime import timedelta

    from sqlalchemy import select

    from community.accounts.models import User
    from community.core.db import db, utcnow
    from community.membership import services
    from community.payments import sandbox

    def plan(slug, name_ja, name_en, price, renewal, position):
        return services.create_plan(
            services.PlanFields(
                slug=slug,
                name_ja=name_ja,
                name_en=name_en,
                description_ja=f"{name_ja}のご案内です。",
                description_en=f"About the {name_en} plan.",
                price_minor=price,
                currency="JPY",
                renewal=renewal,
                benefits=("member_prices", "members_only"),
                position=position,
            )
        )

    plan("community", "コミュニティ会員", "Community", 0, "one_off", 0)
    student = plan("student", "学生会員", "Student", 2000, "one_off", 1)
    plan("individual", "個人会員", "Individual", 6000, "subscription", 2)
    old = plan("founding", "創立会員", "Founding", 10000, "one_off", 3)
    services.set_plan_status(old.id, "retired")
    receipts = {}
    first = None
    for language, email in admins.items():
        admin = db.session.scalar(select(User).where(User.email == email))
        joined = services.join(admin, student.slug)
        url = services.checkout_for(
            joined.membership.id, admin, success_url="http://x/ok", cancel_url="http://x/no"
        )
        sandbox.pay(re.search(r"/checkout/([^/?#]+)", url).group(1))
        db.session.commit()
        membership = services.current_membership(admin)
        services.set_end(membership, utcnow() + timedelta(days=20))
        db.session.commit()
        payment_id = next(e.payment_id for e in membership.history if e.payment_id)
        receipts[language] = f"/membership/{membership.id}/receipts/{payment_id}"
        first = first or membership
    return {
        "membership_receipts": receipts,
        "member_page": f"/organiser/membership/members/{first.user_id}",
        "plan_edit": f"/organiser/membership/plans/{student.id}/edit",
    }


def donations_site(admins: dict[str, str]) -> dict[str, str]:
    """A running campaign matched by a partner, an ended one, a guest's one-off gift and a
    monthly gift, both paid in the sandbox, and a gift by each admin while signed in."""
    from datetime import timedelta

    from sqlalchemy import select

    from community.accounts.models import User
    from community.core.db import db, utcnow
    from community.donations import services
    from community.donations.models import Campaign
    from community.payments import sandbox

    now = utcnow()
    running = Campaign(
        slug="scholarships",
        name_ja="奨学金",
        name_en="Scholarships",
        story_ja="ワークショップの**無料**の席です。",
        story_en="Free places at **workshops**.",
        goal_minor=300_000,
        currency="JPY",
        starts_at=now - timedelta(days=3),
        ends_at=now + timedelta(days=30),
        match_partner_name="Accessible K.K.",
        match_cap_minor=50_000,
    )
    ended = Campaign(
        slug="last-year",
        name_ja="昨年の会場費",
        name_en="Last year's venues",
        goal_minor=100_000,
        currency="JPY",
        starts_at=now - timedelta(days=400),
        ends_at=now - timedelta(days=30),
    )
    db.session.add_all([running, ended])
    db.session.commit()

    def paid_gift(kind: str, email: str, user=None, **fields):
        gift = services.give(
            services.GiftRequest(
                amount="5,000", kind=kind, email=email, campaign_slug="scholarships", **fields
            ),
            user,
        )
        url = services.checkout_for(gift, success_url="http://x/ok", cancel_url="http://x/no")
        sandbox.pay(re.search(r"/checkout/([^/?#]+)", url).group(1))
        db.session.commit()
        return db.session.get(type(gift), gift.id, populate_existing=True)

    one_off = paid_gift("one_off", "guest-donor@example.com", wall="name_amount", donor_name="Gina")
    monthly = paid_gift("monthly", "monthly-donor@example.com", language="en")
    for email in admins.values():
        admin = db.session.scalar(select(User).where(User.email == email))
        paid_gift("one_off", email, admin)
    manage = services.manage_url(one_off)
    manage = manage[manage.index("/donate/") :]
    monthly_page = services.manage_url(monthly)
    return {
        "campaign": "/donate/campaigns/scholarships",
        "campaign_ended": "/donate/campaigns/last-year",
        "gift_one_off": manage,
        "gift_monthly": monthly_page[monthly_page.index("/donate/") :],
        "gift_receipt": f"{manage}/receipts/{one_off.payments[0].payment_id}",
        "gift_statement": f"{manage}/statement/{one_off.payments[0].paid_at.year}",
        "gift_admin": f"/organiser/donations/gifts/{one_off.id}",
        "campaign_edit": f"/organiser/donations/campaigns/{running.id}/edit",
    }


def sponsorship_site(admin, admins: dict[str, str], event_slug: str) -> dict[str, str]:
    """Three tiers (one sold out this year, one with places left and complimentary tickets, one
    without a limit), the admins' company (with a logo, contact of both admins: paid this year,
    invoiced for the next), another partner without a logo, and an event sponsor. Paid as
    partners pay by bank transfer (an invoice, then the transfer recorded)."""
    from community.accounts.models import User
    from community.core.db import db
    from community.payments import services as payments
    from community.sponsorship import codes, services, years
    from community.sponsorship.logos import check_logo

    def tier(slug, name_ja, name_en, position, *, places, tickets, size, included=False):
        return services.create_tier(
            services.TierFields(
                slug=slug,
                name_ja=name_ja,
                name_en=name_en,
                benefits_ja="基調講演の枠（年1回）\nイベント会場でのブース",
                benefits_en="A keynote slot once a year\nA booth at our events",
                price_minor=55_000 if included else 500_000,
                currency="JPY",
                price_includes_tax=included,
                tax_rate=10,
                places=places,
                complimentary_tickets=tickets,
                logo_size=size,
                mention_at_openings=size != "small",
                posts=2,
                position=position,
            )
        )

    def company(contact, name_ja: str, name_en: str):
        return services.create_partner(
            contact,
            services.PartnerFields(
                name_ja=name_ja,
                name_en=name_en,
                website=f"https://{name_en.split()[0].lower()}.example.com",
                description_ja="",
                description_en="",
                billing_name=name_ja,
                billing_address="東京都千代田区丸の内1-1-1",
                billing_department="総務部",
                billing_contact="山田 太郎",
                registration_number=None,
                registration_number_confirmed=False,
            ),
        )

    def invoiced(partner, contact, tier, year):
        return services.buy_sponsorship(
            partner.id, contact, tier_slug=tier.slug, year=year, method="invoice"
        )

    def paid(partner, contact, tier, year):
        bought = invoiced(partner, contact, tier, year)
        order = payments.order_by_id(bought.order_id)
        payments.record_bank_transfer(
            order.id,
            amount_minor=order.amount_minor,
            received_on=years.today(),
            recorded_by_id=admin.id,
            reference="AXE",
        )
        return bought

    this_year, next_year = years.offered_years(years.today())
    platinum = tier("platinum", "プラチナ", "Platinum", 0, places=1, tickets=0, size="large")
    gold = tier("gold", "ゴールド", "Gold", 1, places=5, tickets=2, size="medium")
    supporter = tier(
        "supporter",
        "サポーター",
        "Supporter",
        2,
        places=None,
        tickets=0,
        size="small",
        included=True,
    )
    ours = company(admin, "株式会社アクセシブル", "Accessible K.K.")
    for email in admins.values():
        if email != admin.email:
            services.add_contact(ours.id, admin, email)
    logo = check_logo(a_png_logo(), "logo.png")
    services.set_logo(ours.id, admin, logo.content, logo.media_type)
    active = paid(ours, admin, gold, this_year)
    coming = invoiced(ours, admin, supporter, next_year)
    # A partner without a logo holds the one place of Platinum: sold out this year.
    other_contact = User(email="soft@example.com", name="Soft Contact", locale="ja")
    db.session.add(other_contact)
    db.session.commit()
    other = company(other_contact, "東京ソフト合同会社", "Tokyo Soft LLC")
    paid(other, other_contact, platinum, this_year)
    services.add_event_sponsor(event_slug, ours.id, "venue")
    services.add_event_sponsor(event_slug, other.id, "food")
    codes.issue_codes()
    return {
        "partner": f"/partners/companies/{ours.id}",
        "sponsorship_invoiced": f"/partners/sponsorships/{coming.id}",
        "sponsorship_paid": f"/partners/sponsorships/{active.id}",
        "tier_edit": f"/organiser/sponsorship/tiers/{gold.id}/edit",
    }


def public_pages(site: Site) -> list[tuple[str, str, int]]:
    """(name, path, expected status) of the pages anyone can open."""
    return [
        ("home", "/", 200),
        ("events", "/events", 200),
        ("events-filtered", "/events?kind=workshop&format=in_person", 200),
        ("past-events", "/events/past", 200),
        ("event-free", site.free_event, 200),
        ("event-paid", site.paid_event, 200),
        ("event-past", site.past_event, 200),
        ("manage-confirmed", site.manage_free, 200),
        ("manage-awaiting-payment", site.manage_paid, 200),
        ("manage-waitlisted", site.manage_waiting, 200),
        ("manage-cancelled", site.manage_cancelled, 200),
        ("manage-paid-ticket", site.manage_bought, 200),
        ("manage-payment-failed", site.manage_payment_failed, 200),
        ("event-full", site.full_event, 200),
        ("event-cancelled", site.cancelled_event, 200),
        ("sandbox-checkout", site.checkout, 200),
        ("calendar", "/calendar", 200),
        ("calendar-help", "/calendar/help", 200),
        ("partners", "/partners", 200),
        ("sponsors", "/sponsors", 200),
        ("join", "/join", 200),
        ("join-plan", "/join/student", 200),
        ("join-retired-plan", "/join/founding", 200),
        ("donate", "/donate", 200),
        ("donate-campaign", site.campaign, 200),
        ("donate-campaign-ended", site.campaign_ended, 200),
        ("donate-gift", site.gift_one_off, 200),
        ("donate-monthly-gift", site.gift_monthly, 200),
        ("donate-receipt", site.gift_receipt, 200),
        ("donate-statement", site.gift_statement, 200),
        ("donate-statement-request", "/donate/statement", 200),
        ("login", "/account/login", 200),
        ("signup", "/account/signup", 200),
        ("reset-request", "/account/reset", 200),
        ("resend-confirmation", "/account/confirm/resend", 200),
        ("check-inbox", "/account/check-inbox", 200),
        ("resend-links", "/events/my-links", 200),
        ("manage-link-not-working", "/registrations/1/not-a-token", 404),
        ("bad-reset-link", "/account/reset/not-a-token", 400),
        ("not-found", "/no-such-page", 404),
    ]


def signed_in_pages(site: Site, language: str) -> list[tuple[str, str, int]]:
    """(name, path, expected status) of the account and organiser pages, for the admin who
    reads `language`."""
    free = site.free_event.removeprefix("/events/")
    paid = site.paid_event.removeprefix("/events/")
    return [
        ("profile", "/account/profile", 200),
        ("delete-account", "/account/delete", 200),
        ("calendar-signed-in", "/calendar", 200),
        ("event-as-organiser", site.free_event, 200),
        ("dashboard", "/organiser/", 200),
        ("event-new", "/organiser/events/new", 200),
        ("event-edit", f"/organiser/events/{free}/edit", 200),
        ("attendees", f"/organiser/events/{free}/attendees", 200),
        ("check-in", f"/organiser/events/{free}/check-in", 200),
        ("check-in-search", f"/organiser/events/{free}/check-in?q=Gina", 200),
        ("cancel-event", f"/organiser/events/{free}/cancel", 200),
        ("cancel-paid-event", f"/organiser/events/{paid}/cancel", 200),
        ("orders", "/organiser/orders/", 200),
        ("order", site.order, 200),
        ("users", "/organiser/users/", 200),
        ("partner-dashboard", site.partner, 200),
        ("partner-edit", f"{site.partner}/edit", 200),
        ("partner-new", "/partners/companies/new", 200),
        ("partner-buy", "/partners/buy", 200),
        ("sponsorship-invoiced", site.sponsorship_invoiced, 200),
        ("sponsorship-paid", site.sponsorship_paid, 200),
        ("sponsorship-renew", f"{site.sponsorship_paid}/renew", 200),
        ("sponsorship-invoice", f"{site.sponsorship_invoiced}/invoice", 200),
        ("sponsorship-receipt", f"{site.sponsorship_paid}/receipt", 200),
        ("sponsorship-pipeline", "/organiser/sponsorship/", 200),
        ("tier-new", "/organiser/sponsorship/tiers/new", 200),
        ("tier-edit", site.tier_edit, 200),
        ("membership", "/membership", 200),
        ("membership-plan-held", "/join/student", 200),
        ("membership-receipt", site.membership_receipts[language], 200),
        ("membership-members", "/organiser/membership/members", 200),
        ("membership-member", site.member_page, 200),
        ("membership-plans", "/organiser/membership/plans", 200),
        ("membership-plan-new", "/organiser/membership/plans/new", 200),
        ("membership-plan-edit", site.plan_edit, 200),
        ("membership-reports", "/organiser/membership/reports", 200),
        ("donations-mine", "/donate/mine", 200),
        ("donations-gifts", "/organiser/donations/gifts", 200),
        ("donations-gift", site.gift_admin, 200),
        ("donations-donors", "/organiser/donations/donors", 200),
        ("donations-reports", "/organiser/donations/reports", 200),
        ("donations-campaigns", "/organiser/donations/campaigns", 200),
        ("donations-campaign-new", "/organiser/donations/campaigns/new", 200),
        ("donations-campaign-edit", site.campaign_edit, 200),
    ]


# Forms sent empty once, to check the page with its error messages: (name, path, form selector).
EMPTY_FORMS = [
    ("signup-errors", "/account/signup", "main form"),
    ("login-errors", "/account/login", "main form"),
    ("resend-links-errors", "/events/my-links", "main form"),
    ("donate-errors", "/donate", "main form.gift-form"),
    ("statement-request-errors", "/donate/statement", "main form"),
]
# The same, for an admin (and contact of a company) once signed in.
SIGNED_IN_EMPTY_FORMS = [
    ("event-new-errors", "/organiser/events/new", "form.event-form"),
    ("partner-buy-errors", "/partners/buy", "main form[action$='/partners/buy']"),
    ("tier-new-errors", "/organiser/sponsorship/tiers/new", "main form"),
    ("plan-new-errors", "/organiser/membership/plans/new", "main form"),
    ("campaign-new-errors", "/organiser/donations/campaigns/new", "main form"),
]


class Auditor:
    """Runs axe on pages and keeps what it finds."""

    def __init__(self, script: str, report_stem: str) -> None:
        self.script = script
        self.report_stem = report_stem
        self.findings: list[Finding] = []
        self.pages_checked = 0
        self.seconds_in_axe = 0.0
        self.missing: set[str] = set()
        self.too_wide: list[str] = []

    def note_missing(self, response) -> None:
        """A stylesheet, image or icon a page asked for and did not get."""
        if response.request.resource_type != "document" and response.status >= 400:
            self.missing.add(f"{response.status} {response.url}")

    @staticmethod
    def wanted(language: str, name: str) -> bool:
        places = [f"{language}-{width}/{name}" for width in VIEWPORTS]
        return not ONLY or any(part in place for part in ONLY for place in places)

    def check(self, page, language: str, name: str) -> None:
        """axe on the loaded page at each width in turn: one load, one injection, two runs."""
        if not self.wanted(language, name):
            return
        started = time.monotonic()
        page.add_script_tag(path=self.script)
        self.seconds_in_axe += time.monotonic() - started
        for width, viewport in VIEWPORTS.items():
            where = f"{language}-{width}/{name}"
            page.set_viewport_size(viewport)
            started = time.monotonic()
            violations = page.evaluate(AXE_RUN)
            self.seconds_in_axe += time.monotonic() - started
            self.pages_checked += 1
            wide = page.evaluate(OVERFLOWING)
            if wide:
                self.too_wide.append(f"{where}: {wide}")
            for violation in violations:
                self.findings.append(
                    Finding(
                        where=where,
                        rule=violation["id"],
                        impact=violation["impact"] or "unknown",
                        help=violation["help"],
                        targets=tuple(node["target"] for node in violation["nodes"]),
                    )
                )
            if SCREENSHOT_EVERY_PAGE or any(v["impact"] in FAILING_IMPACTS for v in violations):
                save_screenshot(page, f"{self.report_stem}-{artifact_name(where)}")

    def visit(self, page, language: str, name: str, path: str, status: int) -> None:
        if not self.wanted(language, name):
            return
        response = page.goto(path)
        assert response is not None and response.status == status, (
            f"{language}/{name}: {path} answered"
            f" {response.status if response else 'nothing'}, not {status}"
        )
        self.check(page, language, name)

    def submit_empty(self, page, language: str, name: str, path: str, form: str) -> None:
        if not self.wanted(language, name):
            return
        page.goto(path)
        page.locator(form).locator("button[type=submit]").last.click()
        page.wait_for_load_state()
        # A refused input is marked invalid; a refused group of options (the buy form's tier, a
        # fieldset, which the forms macro does not mark) is described by its error message.
        refused = page.locator("[aria-invalid=true], fieldset[aria-describedby$='-error']").count()
        assert refused > 0, f"{language}/{name}: no field was refused"
        self.check(page, language, name)

    def report(self, failing: bool) -> str:
        lines = []
        for finding in self.findings:
            if (finding.impact in FAILING_IMPACTS) == failing:
                lines.append(f"{finding.where}: {finding.rule} [{finding.impact}] {finding.help}")
                lines.extend(f"    {target}" for target in finding.targets[:10])
        return "\n".join(lines)


def request_reset(page, email: str) -> None:
    page.goto("/account/reset")
    page.locator("main form input[type=email]").fill(email)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"^(?!.*/account/reset$)"))


def reset_link_to(mailbox, email: str, wait: float = 5.0) -> str:
    """The reset link last sent to `email`, waiting a little for it: the admins' sponsorship
    e-mails, written in the setup, may be delivered after it."""
    deadline = time.monotonic() + wait
    while True:
        resets = [m for m in mailbox.to(email) if "/account/reset/" in text_of(m)]
        if resets or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert resets, f"no reset link sent to {email}; got {[m['Subject'] for m in mailbox.to(email)]}"
    return link_in(resets[-1], "/account/reset/")


def sign_in(page, email: str) -> None:
    signing_in(page, email, PASSWORD)


def test_every_page_passes_axe_in_both_languages_on_a_phone_and_a_desktop(
    browser, live_server, site, axe_script, artifact_stem, mailbox
):
    started = time.monotonic()
    auditor = Auditor(str(axe_script), artifact_stem)
    for language, locale in LANGUAGES.items():
        # One context per language; each page is checked at every width by resizing the window.
        context = browser.new_context(
            base_url=live_server.url,
            locale=locale,
            viewport=VIEWPORTS["desktop"],
            bypass_csp=True,
        )
        context.set_default_timeout(TIMEOUT_MS)
        try:
            page = context.new_page()
            page.on("response", auditor.note_missing)
            for name, path, status in public_pages(site):
                auditor.visit(page, language, name, path, status)
            for name, path, form in EMPTY_FORMS:
                auditor.submit_empty(page, language, name, path, form)
            register_form = "main form[action$='/register']"
            auditor.submit_empty(
                page, language, "event-register-errors", site.free_event, register_form
            )
            request_reset(page, site.admins[language])
            auditor.check(page, language, "reset-requested")
            reset_link = reset_link_to(mailbox, site.admins[language])
            auditor.visit(page, language, "reset-password", urlsplit(reset_link).path, 200)
            sign_in(page, site.admins[language])
            assert page.locator("html").get_attribute("lang") == language
            auditor.check(page, language, "signed-in-welcome")
            for name, path, status in signed_in_pages(site, language):
                auditor.visit(page, language, name, path, status)
            for name, path, form in SIGNED_IN_EMPTY_FORMS:
                auditor.submit_empty(page, language, name, path, form)
        finally:
            context.close()
    with browser.new_context(base_url=live_server.url) as context:
        icon = context.request.get("/favicon.ico")
        assert icon.status == 200, f"/favicon.ico answered {icon.status}"
        assert icon.headers["content-type"] == "image/vnd.microsoft.icon"
    elapsed = time.monotonic() - started
    print(
        f"\naxe: {auditor.pages_checked} page views in {elapsed:.1f}s,"
        f" {auditor.seconds_in_axe:.1f}s of them in axe"
    )
    lesser = auditor.report(failing=False)
    if lesser:
        print(f"axe, moderate and minor findings (not failed):\n{lesser}")
    assert not auditor.missing, f"pages asked for what is not there: {sorted(auditor.missing)}"
    failures = auditor.report(failing=True)
    assert not failures, f"axe found serious or critical violations:\n{failures}"
    wide = "\n".join(auditor.too_wide)
    assert not wide, f"pages that scroll sideways (WCAG 1.4.10, reflow):\n{wide}"
