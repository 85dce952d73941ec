"""The organisers' and administrators' donations pages (/organiser/donations/): who may see which
page, the gifts and the recurring donors with their filters, search, pages and CSV export, one
gift with its payments, the reports' figures (totals by month in Tokyo and by campaign, what
each matching partner owes, the refunds) on a fixed set of gifts, a refund through the order's
page lowering every total, the campaigns as administrators keep them through the form (bad
input refused on its field, changing nothing), and a number of queries that does not grow with
the gifts."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from community.core.db import db, utcnow
from community.core.text import email_key
from community.donations import reports, services
from community.donations.models import Campaign, Donation, DonationPayment
from tests.conftest import count_queries, csrf_token_from, submit
from tests.donations.conftest import TOKYO, gift_of, give, order_of, page_text

BASE = "/organiser/donations"
GIFTS = f"{BASE}/gifts"
GIFTS_CSV = f"{BASE}/gifts.csv"
DONORS = f"{BASE}/donors"
DONORS_CSV = f"{BASE}/donors.csv"
REPORTS = f"{BASE}/reports"
CAMPAIGNS = f"{BASE}/campaigns"
NEW_CAMPAIGN = f"{BASE}/campaigns/new"


@pytest.fixture
def admin(make_user):
    return make_user(role="admin", name="Ada Admin", email="ada@example.com")


@pytest.fixture
def gift_row(app):
    """gift_row(kind="one_off", status="paid", payments=[(amount, refunded, paid_at)], ...): a
    gift and its confirmed payments, written straight to the database (the pages only read
    them)."""

    def factory(
        *,
        kind: str = "one_off",
        status: str | None = None,
        amount_minor: int = 5000,
        currency: str = "JPY",
        campaign: Campaign | None = None,
        email: str = "donor@example.com",
        donor_name: str = "",
        wall: str = "anonymous",
        message: str = "",
        created_at: datetime | None = None,
        payments=None,
    ) -> Donation:
        status = status or ("paid" if kind == "one_off" else "active")
        created_at = created_at or utcnow() - timedelta(days=1)
        confirmed = status not in ("pending", "abandoned")
        if payments is None:
            payments = [(amount_minor, 0, created_at)] if confirmed else []
        donation = Donation(
            kind=kind,
            status=status,
            amount_minor=amount_minor,
            currency=currency,
            campaign_id=campaign.id if campaign else None,
            email=email,
            email_key=email_key(email),
            donor_key=f"email:{email_key(email)}",
            donor_name=donor_name,
            wall=wall,
            message=message,
            language="en",
            manage_nonce=secrets.token_hex(16),
            created_at=created_at,
            updated_at=created_at,
            confirmed_at=created_at if confirmed else None,
        )
        db.session.add(donation)
        db.session.flush()
        for amount, refunded, paid_at in payments:
            db.session.add(
                DonationPayment(
                    donation_id=donation.id,
                    counted_campaign_id=campaign.id if campaign else None,
                    amount_minor=amount,
                    currency=currency,
                    refunded_minor=refunded,
                    paid_at=paid_at,
                )
            )
        db.session.commit()
        return donation

    return factory


def text(response) -> str:
    return response.get_data(as_text=True)


def csv_rows(response) -> list[list[str]]:
    body = text(response)
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))


def campaign_form(**changes) -> dict:
    data = {
        "slug": "new-venue",
        "name_ja": "新しい会場",
        "name_en": "A new venue",
        "story_ja": "会場を借りるための募金です。",
        "story_en": "Raising money to rent a venue.",
        "currency": "JPY",
        "goal": "300,000",
        "starts_at": "2030-06-01T10:00",
        "ends_at": "2030-06-30T23:59",
        "partner": "",
        "partner_name": "",
        "cap": "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def campaign_named(slug: str) -> Campaign | None:
    db.session.rollback()
    return db.session.scalar(
        select(Campaign).where(Campaign.slug == slug).execution_options(populate_existing=True)
    )


def campaign_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Campaign))


# --- who may see which page ----------------------------------------------------------------------


@pytest.fixture
def a_gift(make_campaign, gift_row):
    campaign = make_campaign(slug="venue")
    return campaign, gift_row(campaign=campaign, donor_name="Gina Giver", wall="name")


def _pages(campaign, gift) -> tuple[list[str], list[str]]:
    organiser_pages = [f"{BASE}/", GIFTS, GIFTS_CSV, DONORS, DONORS_CSV, f"{GIFTS}/{gift.id}"]
    organiser_pages.append(REPORTS)
    admin_pages = [CAMPAIGNS, NEW_CAMPAIGN, f"{CAMPAIGNS}/{campaign.id}/edit"]
    return organiser_pages, admin_pages


ADMIN_POSTS = [NEW_CAMPAIGN, f"{CAMPAIGNS}/{{id}}/edit", f"{CAMPAIGNS}/{{id}}/archive"]


def test_guests_are_sent_to_sign_in(app, browser, a_gift):
    campaign, gift = a_gift
    guest = browser()
    organiser_pages, admin_pages = _pages(campaign, gift)
    for path in organiser_pages + admin_pages:
        response = guest.get(path)
        assert response.status_code == 302, path
        assert "/account/login" in response.headers["Location"], path
    for path in ADMIN_POSTS:
        response = guest.post(path.format(id=campaign.id), data=campaign_form(slug="hacked"))
        assert response.status_code in (302, 400), path
    assert campaign_named("venue").status == "active"
    assert campaign_named("hacked") is None


def test_a_member_is_refused_every_page(app, browser_of, make_user, a_gift):
    campaign, gift = a_gift
    client = browser_of(make_user())
    organiser_pages, admin_pages = _pages(campaign, gift)
    for path in organiser_pages + admin_pages:
        assert client.get(path).status_code == 403, path
    token = csrf_token_from(text(client.get("/")))
    for path in ADMIN_POSTS:
        response = client.post(
            path.format(id=campaign.id), data={"csrf_token": token, **campaign_form(slug="x")}
        )
        assert response.status_code == 403, path
    assert campaign_named("venue").status == "active"
    assert campaign_named("x") is None


def test_an_organiser_sees_gifts_and_reports_but_not_the_campaigns(
    app, browser_of, organiser, a_gift
):
    campaign, gift = a_gift
    client = browser_of(organiser)
    organiser_pages, admin_pages = _pages(campaign, gift)
    for path in organiser_pages:
        assert client.get(path).status_code in (200, 302), path
    for path in admin_pages:
        assert client.get(path).status_code == 403, path
    token = csrf_token_from(text(client.get(GIFTS)))
    for path in ADMIN_POSTS:
        response = client.post(
            path.format(id=campaign.id), data={"csrf_token": token, **campaign_form(slug="x")}
        )
        assert response.status_code == 403, path
    assert campaign_named("venue").status == "active"
    assert f'href="{CAMPAIGNS}"' not in text(client.get(GIFTS))
    # The navigation leads organisers here; members are not shown the link.
    assert f'href="{GIFTS}"' in text(client.get("/"))


def test_an_admin_sees_every_page_in_both_languages(app, browser_of, make_user, a_gift):
    campaign, gift = a_gift
    organiser_pages, admin_pages = _pages(campaign, gift)
    for language in ("ja", "en"):
        reader = make_user(role="admin", locale=language, email=f"admin-{language}@example.com")
        client = browser_of(reader, language)
        for path in organiser_pages + admin_pages:
            response = client.get(path)
            assert response.status_code in (200, 302), path
            if response.status_code == 200 and not path.endswith(".csv"):
                assert f'<html lang="{language}">' in text(response), path
    assert client.get(f"{BASE}/").headers["Location"].endswith(GIFTS)


def test_a_gift_that_does_not_exist_is_not_found(app, browser_of, organiser):
    client = browser_of(organiser)
    for path in (f"{GIFTS}/999999", f"{GIFTS}/0", f"{GIFTS}/99999999999999999999"):
        assert client.get(path).status_code == 404, path


def test_the_nav_shows_members_a_link_to_give_but_not_the_back_office(app, browser_of, make_user):
    page = text(browser_of(make_user()).get("/"))
    assert 'href="/donate"' in page
    assert f'href="{GIFTS}"' not in page


# --- the lists -----------------------------------------------------------------------------------


@pytest.fixture
def some_gifts(make_campaign, gift_row):
    venue = make_campaign(slug="venue", name_en="Venue")
    gifts = {
        "gina": gift_row(
            campaign=venue, donor_name="Gina Giver", email="gina@example.com", wall="name"
        ),
        "monthly": gift_row(
            kind="monthly", amount_minor=3000, email="mo@example.com", donor_name="Mo Monthly"
        ),
        "paused": gift_row(kind="monthly", status="paused", email="pa@example.com"),
        "stopped": gift_row(kind="monthly", status="cancelled", email="st@example.com"),
        "pending": gift_row(status="pending", email="pending@example.com"),
    }
    return venue, gifts


def test_the_gift_list_shows_every_gift_with_what_it_gave(app, browser_of, organiser, some_gifts):
    client = browser_of(organiser)
    page = page_text(client.get(GIFTS))
    assert "5 gifts" in page
    for expected in ("Gina Giver", "gina@example.com", "Mo Monthly", "¥3,000 a month", "Venue"):
        assert expected in page, expected
    assert "Waiting for the payment" in page


def test_the_gift_list_is_filtered_by_campaign_kind_status_and_search(
    app, browser_of, organiser, some_gifts
):
    venue, _gifts = some_gifts
    client = browser_of(organiser)

    def shown(**args) -> str:
        return page_text(client.get(GIFTS, query_string=args))

    assert "1 gift" in shown(campaign=venue.id) and "Gina Giver" in shown(campaign=venue.id)
    assert "4 gifts" in shown(campaign="general")
    assert "3 gifts" in shown(kind="monthly")
    assert "1 gift" in shown(status="paused")
    assert "Mo Monthly" in shown(q="mo monthly") and "1 gift" in shown(q="MO@EXAMPLE")
    # An address's part: the search is on what is stored, never a pattern of the person's.
    assert "0 gifts" in shown(q="%")


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ({"campaign": "999999"}, "The campaign you chose is unknown"),
        ({"campaign": "１"}, "The campaign you chose is unknown"),
        ({"kind": "yearly"}, "The kind of gift you chose is unknown"),
        ({"status": "refunded"}, "The status you chose is unknown"),
    ],
)
def test_filters_not_understood_are_ignored_and_said_so(
    app, browser_of, organiser, some_gifts, args, problem
):
    response = browser_of(organiser).get(GIFTS, query_string=args)
    assert response.status_code == 200
    page = page_text(response)
    assert problem in page
    assert "5 gifts" in page


@pytest.mark.parametrize(
    "query",
    ["page=-1", "page=99999999999999999999", "q=" + "あ" * 500, "page=3"],
)
def test_odd_queries_never_fail_the_list(app, browser_of, organiser, some_gifts, query):
    client = browser_of(organiser)
    assert client.get(f"{GIFTS}?{query}").status_code == 200
    assert client.get(f"{DONORS}?{query}").status_code == 200
    assert client.get(f"{GIFTS_CSV}?{query}").status_code == 200


def test_the_list_comes_a_page_at_a_time(app, browser_of, organiser, gift_row, monkeypatch):
    for number in range(7):
        gift_row(donor_name=f"Donor {number}", created_at=utcnow() - timedelta(hours=number))
    monkeypatch.setattr(reports, "PER_PAGE", 3)
    client = browser_of(organiser)
    first = page_text(client.get(GIFTS))
    assert "Page 1 of 3" in first and "Donor 0" in first and "Donor 3" not in first
    last = page_text(client.get(GIFTS, query_string={"page": "3"}))
    assert "Donor 6" in last and "Donor 0" not in last
    # Past the end: the last page.
    assert "Page 3 of 3" in page_text(client.get(GIFTS, query_string={"page": "50"}))


def test_the_recurring_donors_are_the_monthly_gifts_that_still_run(
    app, browser_of, organiser, some_gifts
):
    client = browser_of(organiser)
    page = page_text(client.get(DONORS))
    assert "2 recurring donors" in page
    assert "mo@example.com" in page and "pa@example.com" in page
    for absent in ("st@example.com", "gina@example.com", "pending@example.com"):
        assert absent not in page, absent
    assert "1 recurring donor" in page_text(client.get(DONORS, query_string={"status": "paused"}))
    # A status a recurring gift cannot have is refused there.
    refused = page_text(client.get(DONORS, query_string={"status": "cancelled"}))
    assert "The status you chose is unknown" in refused and "2 recurring donors" in refused
    rows = csv_rows(client.get(DONORS_CSV))
    assert sorted(row[2] for row in rows[1:]) == ["mo@example.com", "pa@example.com"]


def test_the_csv_export_lists_the_filtered_gifts(app, browser_of, organiser, some_gifts):
    client = browser_of(organiser)
    response = client.get(GIFTS_CSV, query_string={"kind": "monthly"})
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Cache-Control"] == "no-store"
    rows = csv_rows(response)
    assert rows[0][:3] == ["Gift", "Donor name", "E-mail address"]
    assert len(rows) == 4
    monthly = next(row for row in rows if row[2] == "mo@example.com")
    assert monthly[3:9] == ["Monthly gift", "Giving each month", "3000", "JPY", "3000", ""]
    everything = csv_rows(client.get(GIFTS_CSV))
    assert len(everything) == 6
    gina = next(row for row in everything if row[2] == "gina@example.com")
    assert gina[8] == "Venue" and gina[9] == "Name only"


def test_what_donors_typed_cannot_run_as_a_formula_in_the_csv(app, browser_of, organiser, gift_row):
    gift_row(donor_name="=HYPERLINK(1)", message="+1+1", wall="name")
    rows = csv_rows(browser_of(organiser).get(GIFTS_CSV))
    assert rows[1][1] == "'=HYPERLINK(1)"
    assert rows[1][10] == "'+1+1"


def test_the_csv_export_speaks_the_readers_language(app, browser_of, make_user, some_gifts):
    reader = make_user(role="organiser", locale="ja", email="ja@example.com")
    rows = csv_rows(browser_of(reader, "ja").get(GIFTS_CSV))
    assert rows[0][2] == "メールアドレス"
    assert {row[3] for row in rows[1:]} == {"一回の寄付", "毎月の寄付"}


def test_a_gifts_page_shows_its_payments_refunds_and_order(
    app, browser_of, organiser, make_campaign, gift_row
):
    campaign = make_campaign(slug="venue", name_en="Venue")
    now = utcnow()
    gift = gift_row(
        kind="monthly",
        campaign=campaign,
        amount_minor=2000,
        donor_name="Mo Monthly",
        message="Keep it up <b>",
        payments=[(2000, 0, now - timedelta(days=40)), (2000, 500, now - timedelta(days=10))],
    )
    page = page_text(browser_of(organiser).get(f"{GIFTS}/{gift.id}"))
    for expected in ("Mo Monthly", "¥2,000 a month", "¥3,500", "Venue", "¥500", "Keep it up <b>"):
        assert expected in page, expected
    assert "Keep it up <b>" not in text(browser_of(organiser).get(f"{GIFTS}/{gift.id}"))


# --- the reports ---------------------------------------------------------------------------------


@pytest.fixture
def report_data(make_campaign, gift_row):
    """Two campaigns, one matched up to 10,000 by Acme; gifts across three Tokyo months, one of
    them refunded in part, one only pending."""
    now = utcnow()
    matched = make_campaign(
        slug="matched", name_en="Matched", match_partner_name="Acme KK", match_cap_minor=10_000
    )
    plain = make_campaign(slug="plain", name_en="Plain", goal_minor=50_000)
    may_start = datetime(2030, 5, 1, tzinfo=TOKYO)
    gift_row(campaign=matched, amount_minor=6000, email="a@example.com", created_at=now)
    gift_row(campaign=matched, amount_minor=7000, email="b@example.com", created_at=now)
    gift_row(
        campaign=plain,
        amount_minor=4000,
        email="a@example.com",
        payments=[(4000, 1000, now)],
    )
    gift_row(status="pending", campaign=plain, amount_minor=90_000, email="c@example.com")
    # Just after midnight on 1 May in Tokyo is still 30 April in UTC: May's.
    gift_row(amount_minor=1000, payments=[(1000, 0, may_start + timedelta(minutes=5))])
    gift_row(amount_minor=2000, payments=[(2000, 0, may_start - timedelta(minutes=5))])
    return matched, plain


def test_campaign_totals_and_matching_are_net_of_refunds(app, report_data):
    totals = {row.campaign.slug: row.progress for row in reports.totals_by_campaign()}
    assert (totals["matched"].raised_minor, totals["matched"].donors) == (13_000, 2)
    assert totals["matched"].matched_minor == 10_000  # capped
    assert totals["matched"].total_minor == 23_000
    assert (totals["plain"].raised_minor, totals["plain"].matched_minor) == (3000, 0)
    owed = reports.matching_owed(reports.totals_by_campaign())
    assert [(row.partner, row.currency, row.owed_minor) for row in owed] == [
        ("Acme KK", "JPY", 10_000)
    ]


def test_totals_by_month_are_counted_in_tokyo(app, report_data):
    months = {
        row.month: row
        for row in reports.totals_by_month(datetime(2030, 5, 20, tzinfo=TOKYO).astimezone(UTC))
    }
    assert months["2030-05"].received_minor == 1000
    assert months["2030-04"].received_minor == 2000


def test_the_reports_page_shows_the_figures(app, browser_of, organiser, report_data):
    page = page_text(browser_of(organiser).get(REPORTS))
    for expected in ("Acme KK", "¥10,000", "¥23,000", "Matched", "Plain", "¥1,000"):
        assert expected in page, expected
    assert "No gift was refunded." not in page


def test_the_reports_page_with_no_gift_says_so(app, browser_of, organiser):
    page = page_text(browser_of(organiser).get(REPORTS))
    assert "No payment in the last twelve months." in page
    assert "No campaign is matched by a partner." in page
    assert "No gift was refunded." in page


def test_a_refund_on_the_orders_page_lowers_every_total(
    app, stripe_delivers, browser, browser_of, admin, make_campaign, pay
):
    campaign = make_campaign(slug="venue", match_partner_name="Acme KK", match_cap_minor=50_000)
    donor = browser()
    pay(give(donor, campaign="venue", other_amount="8000", email="gina@example.com"))
    gift = gift_of("gina@example.com")
    assert services.progress(campaign).raised_minor == 8000
    client = browser_of(admin)
    order = order_of(gift)
    page = text(client.get(f"/organiser/orders/{order.id}"))
    token = csrf_token_from(page)
    # The order's page leads back to the gift.
    assert f"{GIFTS}/{gift.id}" in page
    response = client.post(
        f"/organiser/orders/{order.id}/refund", data={"csrf_token": token, "amount": "3,000"}
    )
    assert response.status_code == 302
    stripe_delivers.flush()
    db.session.rollback()
    progress = services.progress(db.session.get(Campaign, campaign.id))
    assert (progress.raised_minor, progress.matched_minor) == (5000, 5000)
    report = page_text(client.get(REPORTS))
    assert "¥3,000" in report  # the refunds list
    assert "¥5,000" in page_text(client.get(f"{GIFTS}/{gift.id}"))


# --- the campaigns, through their form -----------------------------------------------------------


def test_an_admin_creates_a_campaign_through_the_form(app, browser_of, admin):
    client = browser_of(admin)
    response = submit(client, NEW_CAMPAIGN, campaign_form(goal="３００，０００"))
    assert response.status_code == 302, page_text(response)
    assert response.headers["Location"].endswith(CAMPAIGNS)
    made = campaign_named("new-venue")
    assert (made.name_ja, made.name_en, made.goal_minor, made.currency) == (
        "新しい会場",
        "A new venue",
        300_000,
        "JPY",
    )
    # Typed in Tokyo's time, kept in UTC.
    assert made.starts_at == datetime(2030, 6, 1, 1, 0, tzinfo=UTC)
    assert (made.match_partner_name, made.match_cap_minor) == ("", 0)
    page = page_text(client.get(CAMPAIGNS))
    assert "The campaign is saved." in page and "A new venue" in page


def test_a_campaign_matched_by_a_partner_from_the_directory_or_by_name(
    app, browser_of, admin, make_partner
):
    partner = make_partner(name_en="Acme KK", name_ja="アクメ株式会社")
    client = browser_of(admin)
    chosen = campaign_form(slug="chosen", partner=str(partner.id), cap="50,000")
    assert submit(client, NEW_CAMPAIGN, chosen).status_code == 302
    made = campaign_named("chosen")
    assert (made.match_partner_id, made.match_partner_name, made.match_cap_minor) == (
        partner.id,
        "Acme KK",
        50_000,
    )
    typed = campaign_form(slug="typed", partner="other", partner_name="Friends Ltd", cap="1000")
    assert submit(client, NEW_CAMPAIGN, typed).status_code == 302
    made = campaign_named("typed")
    assert (made.match_partner_id, made.match_partner_name) == (None, "Friends Ltd")


def test_an_admin_edits_a_campaign_and_archives_it(app, browser_of, admin, make_campaign):
    campaign = make_campaign(slug="venue", match_partner_name="Acme", match_cap_minor=1000)
    client = browser_of(admin)
    edit = f"{CAMPAIGNS}/{campaign.id}/edit"
    form = page_text(client.get(edit))
    assert 'value="venue"' in form and 'value="100000"' in form.replace(",", "")
    response = submit(client, edit, campaign_form(slug="venue", goal="200000", partner=""))
    assert response.status_code == 302, page_text(response)
    edited = campaign_named("venue")
    assert (edited.goal_minor, edited.match_cap_minor, edited.match_partner_name) == (
        200_000,
        0,
        "",
    )
    token = csrf_token_from(text(client.get(CAMPAIGNS)))
    assert (
        client.post(f"{CAMPAIGNS}/{campaign.id}/archive", data={"csrf_token": token}).status_code
        == 302
    )
    assert campaign_named("venue").status == "archived"
    assert (
        client.post(f"{CAMPAIGNS}/{campaign.id}/restore", data={"csrf_token": token}).status_code
        == 302
    )
    assert campaign_named("venue").status == "active"
    # Without its token, the button changes nothing.
    assert client.post(f"{CAMPAIGNS}/{campaign.id}/archive").status_code == 400
    assert campaign_named("venue").status == "active"


def test_a_campaign_that_does_not_exist_is_not_found(app, browser_of, admin):
    client = browser_of(admin)
    token = csrf_token_from(text(client.get(CAMPAIGNS)))
    assert client.get(f"{CAMPAIGNS}/999999/edit").status_code == 404
    assert client.post(f"{CAMPAIGNS}/999999/archive", data={"csrf_token": token}).status_code == 404
    assert client.get(f"{CAMPAIGNS}/99999999999999/edit").status_code == 404


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"slug": "Not A Slug"}, "Use lower-case letters, digits and hyphens"),
        ({"slug": ""}, "Give the campaign an address name."),
        ({"name_ja": "", "name_en": ""}, "Give the campaign a name in Japanese or English."),
        ({"goal": ""}, "Give the goal."),
        ({"goal": "0"}, "Give the goal: an amount above zero."),
        ({"goal": "abc"}, "amount"),
        ({"goal": "9" * 30}, "amount"),
        ({"currency": "XYZ"}, "Gifts are not taken in this currency."),
        ({"starts_at": ""}, "date"),
        ({"starts_at": "2030-13-45T10:00"}, "date"),
        ({"ends_at": "2030-05-01T10:00"}, "The campaign must end after it starts."),
        ({"partner": "999999", "cap": "1000"}, "Choose a partner company from the list."),
        ({"partner": "other", "partner_name": "", "cap": "1000"}, "Name the partner company"),
        ({"partner": "other", "partner_name": "Acme", "cap": ""}, "Give the most the partner"),
        ({"story_en": "x" * 9000}, "8000"),
    ],
)
def test_bad_input_on_the_campaign_form_is_refused_on_its_field(
    app, browser_of, admin, changes, message
):
    client = browser_of(admin)
    response = submit(client, NEW_CAMPAIGN, campaign_form(**changes))
    assert response.status_code == 422, (changes, response.status_code)
    page = page_text(response)
    assert message.lower() in page.lower(), (changes, message)
    assert campaign_count() == 0


def test_a_nul_byte_on_the_campaign_form_is_refused_and_changes_nothing(app, browser_of, admin):
    response = submit(browser_of(admin), NEW_CAMPAIGN, campaign_form(name_en="A\x00B"))
    assert response.status_code in (400, 422)
    assert campaign_count() == 0


def test_a_duplicate_address_name_is_refused_on_its_field(app, browser_of, admin, make_campaign):
    make_campaign(slug="new-venue")
    response = submit(browser_of(admin), NEW_CAMPAIGN, campaign_form())
    assert response.status_code == 422
    assert "Another campaign has this address name." in page_text(response)
    assert campaign_count() == 1


def test_a_campaigns_currency_stays_once_it_received_gifts(
    app, browser_of, admin, make_campaign, gift_row
):
    app.config["DONATION_CURRENCIES"] = ("JPY", "USD")
    campaign = make_campaign(slug="venue")
    gift_row(campaign=campaign)
    edit = f"{CAMPAIGNS}/{campaign.id}/edit"
    response = submit(browser_of(admin), edit, campaign_form(slug="venue", currency="USD"))
    assert response.status_code == 422
    assert "cannot change" in page_text(response)
    assert campaign_named("venue").currency == "JPY"


def test_an_archived_campaign_takes_no_gift(app, browser, make_campaign):
    make_campaign(slug="old-drive", name_en="The old drive", status="archived")
    donor = browser()
    assert donor.get("/donate/campaigns/old-drive").status_code == 404
    page = text(donor.get("/donate"))
    assert "/donate/campaigns/old-drive" not in page and "The old drive" not in page


# --- the number of queries -----------------------------------------------------------------------


def test_the_lists_and_reports_run_as_many_queries_for_3_as_for_30_gifts(
    app, browser_of, organiser, make_campaign, gift_row
):
    campaigns = [
        make_campaign(slug="one", match_partner_name="Acme", match_cap_minor=1000),
        make_campaign(slug="two"),
    ]
    client = browser_of(organiser)
    counts: dict[str, list[int]] = {GIFTS: [], DONORS: [], REPORTS: [], GIFTS_CSV: []}
    made = 0
    for total in (3, 30):
        for number in range(made, total):
            gift_row(
                kind=("one_off", "monthly")[number % 2],
                campaign=campaigns[number % 2],
                email=f"donor{number}@example.com",
                payments=[(1000, 100 * (number % 3), utcnow() - timedelta(days=number))],
            )
        made = total
        for path in counts:
            client.get(path)
            with count_queries() as statements:
                assert client.get(path).status_code == 200
            counts[path].append(len(statements))
    for path, found in counts.items():
        assert found[0] == found[1], (path, found)
    assert counts[GIFTS][0] <= 9, counts
    assert counts[REPORTS][0] <= 9, counts
