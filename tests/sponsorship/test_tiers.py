"""Sponsorship tiers as administrators keep them (/organiser/sponsorship/): the tier form in both
languages, prices typed as people type them, places per sponsorship year that cannot go below what
a year has sold, retiring and deleting, bad input refused without a 500, who may see the pages,
and the CSV export."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from community.core.db import db
from community.core.errors import DomainError
from community.core.transaction import write_transaction
from community.payments import services as payments
from community.sponsorship import services, years
from community.sponsorship.models import Sponsorship, SponsorshipTier, TierYear
from tests.conftest import csrf_token_from, submit

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_TIER = "/organiser/sponsorship/tiers/new"
PIPELINE = "/organiser/sponsorship/"


def tier_form(**changes) -> dict:
    """The tier form as a browser sends it (an unticked box is not sent)."""
    data = {
        "slug": "gold",
        "name_ja": "ゴールド",
        "name_en": "Gold",
        "benefits_ja": "ロゴの掲載\n講演枠",
        "benefits_en": "Your logo on our site\nA talk at one event",
        "currency": "JPY",
        "price": "500,000",
        "tax_rate": "10",
        "places": "3",
        "complimentary_tickets": "2",
        "logo_size": "large",
        "posts": "1",
        "position": "0",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def tier(slug: str) -> SponsorshipTier | None:
    return db.session.scalar(
        select(SponsorshipTier)
        .where(SponsorshipTier.slug == slug)
        .execution_options(populate_existing=True)
    )


def tier_count() -> int:
    return db.session.scalar(select(func.count()).select_from(SponsorshipTier))


def fresh(model):
    return db.session.get(type(model), model.id, populate_existing=True)


def text(response) -> str:
    return response.get_data(as_text=True)


def paid(sponsorship):
    """The sponsorship paid by bank transfer, through the real fulfilment."""
    order = payments.order_by_id(sponsorship.order_id)
    payments.record_bank_transfer(
        order.id, amount_minor=order.amount_minor, received_on=years.today(), recorded_by_id=None
    )
    return fresh(sponsorship)


@pytest.fixture
def sign_in_admin(make_user, login):
    """sign_in_admin(): an administrator signed in on `client` now (inside a frozen time, where
    a session opened at the real time would have expired)."""
    user = make_user(role="admin", name="Ada Admin", email="ada@example.com")
    return lambda: login(user)


def post_action(client, path: str, page: str = PIPELINE):
    """A button on the pipeline page: its CSRF token is all it sends."""
    token = csrf_token_from(text(client.get(page)))
    return client.post(path, data={"csrf_token": token})


# --- creating and showing a tier -----------------------------------------------------------------


def test_an_admin_creates_a_tier_in_both_languages_with_a_full_width_price(client, admin):
    response = submit(client, NEW_TIER, tier_form(price="１，０００，０００"))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(PIPELINE)
    made = tier("gold")
    assert (made.name_ja, made.name_en) == ("ゴールド", "Gold")
    assert made.price_minor == 1_000_000
    assert made.currency == "JPY"
    assert made.places == 3
    assert made.tax_rate == 10
    assert made.price_includes_tax is False
    assert made.status == "active"
    assert "The tier is saved." in text(client.get(PIPELINE))


def test_a_price_typed_with_commas_is_read_as_yen(client, admin):
    response = submit(client, NEW_TIER, tier_form(price="500,000", price_includes_tax="y"))
    assert response.status_code == 302
    made = tier("gold")
    assert made.price_minor == 500_000
    assert made.price_includes_tax is True
    page = text(client.get("/partners"))
    assert "¥500,000" in page
    assert "a year, consumption tax (10%) included" in page


def test_a_tier_shows_on_the_partners_page_with_price_tax_benefits_and_places(
    client, sign_in_admin, make_partner, buy
):
    with time_machine.travel(datetime(2030, 6, 1, 10, tzinfo=TOKYO), tick=False):
        sign_in_admin()
        submit(client, NEW_TIER, tier_form(price="500,000", places="3"))
        gold = tier("gold")
        buy(make_partner(), gold)  # one place of 2030 held by an invoice
        page = text(client.get("/partners"))
    assert 'id="tier-gold"' in page
    card = page[page.index('id="tier-gold"') : page.index("See our current partners")]
    assert "Gold" in card
    assert "¥500,000" in card
    assert "a year, plus consumption tax (10%)" in card
    assert "Your logo on our site" in card
    assert "A talk at one event" in card
    assert "2 complimentary tickets for every event" in card
    assert "Large logo on the sponsors' page" in card
    # 2030 (April 2030 to March 2031) has one place sold; 2031 has all three.
    assert re.search(r"2030.*?</dt>\s*<dd>2 places left</dd>", card, re.DOTALL)
    assert re.search(r"2031.*?</dt>\s*<dd>3 places left</dd>", card, re.DOTALL)
    assert '/partners/buy?tier=gold"' in card


def test_the_partners_page_shows_names_in_japanese(client, make_tier):
    make_tier(slug="gold", price_minor=500_000)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ja"
    page = text(client.get("/partners"))
    assert "ゴールド" in page
    assert "ロゴの掲載" in page
    assert "￥500,000" in page


def test_a_tier_with_no_limit_is_open_to_every_partner(client, admin):
    submit(client, NEW_TIER, tier_form(places=""))
    assert tier("gold").places is None
    assert "Open to every partner" in text(client.get("/partners"))


def test_a_sold_out_year_says_no_place_left(client, make_tier, make_partner, buy):
    with time_machine.travel(datetime(2030, 6, 1, 10, tzinfo=TOKYO), tick=False):
        single = make_tier(places=1, slug="single")
        buy(make_partner(), single)
        page = text(client.get("/partners"))
    assert re.search(r"2030.*?</dt>\s*<dd>No place left</dd>", page, re.DOTALL)
    assert re.search(r"2031.*?</dt>\s*<dd>1 place left</dd>", page, re.DOTALL)


def test_tiers_on_the_partners_page_follow_their_position(client, make_tier):
    make_tier(slug="bronze", name_en="Bronze", position=3)
    make_tier(slug="platinum", name_en="Platinum", position=1)
    make_tier(slug="silver", name_en="Silver", position=2)
    page = text(client.get("/partners"))
    assert page.index("tier-platinum") < page.index("tier-silver") < page.index("tier-bronze")


# --- editing -------------------------------------------------------------------------------------


def test_an_admin_edits_a_tier(client, admin, make_tier):
    silver = make_tier(slug="silver", name_en="Silver", price_minor=300_000)
    path = f"/organiser/sponsorship/tiers/{silver.id}/edit"
    page = text(client.get(path))
    assert 'value="300000"' in page  # the price shown as typed, in yen
    response = submit(
        client,
        path,
        tier_form(slug="silver", name_en="Silver Plus", price="350,000", places="5", position="2"),
    )
    assert response.status_code == 302
    edited = fresh(silver)
    assert edited.name_en == "Silver Plus"
    assert edited.price_minor == 350_000
    assert edited.places == 5
    assert edited.position == 2


def test_editing_a_tier_changes_the_places_of_its_years_too(
    client, admin, make_tier, buy, make_partner
):
    silver = make_tier(slug="silver", places=2)
    buy(make_partner(), silver)
    response = submit(
        client,
        f"/organiser/sponsorship/tiers/{silver.id}/edit",
        tier_form(slug="silver", places="4"),
    )
    assert response.status_code == 302
    row = db.session.scalar(
        select(TierYear)
        .where(TierYear.tier_id == silver.id)
        .execution_options(populate_existing=True)
    )
    assert row.places == 4
    assert services.places_left([silver.id], row.year) == {silver.id: 3}


def test_what_was_bought_keeps_its_price_when_the_tier_changes(
    client, admin, make_tier, buy, make_partner
):
    silver = make_tier(slug="silver", price_minor=300_000)
    bought = buy(make_partner(), silver)
    submit(
        client,
        f"/organiser/sponsorship/tiers/{silver.id}/edit",
        tier_form(slug="silver", price="900,000"),
    )
    assert fresh(bought).price_minor == 300_000
    assert payments.order_by_id(bought.order_id).amount_minor == 330_000


def test_a_tier_cannot_get_fewer_places_than_a_year_has_sold(
    client, admin, make_tier, make_partner, buy
):
    silver = make_tier(slug="silver", places=3)
    buy(make_partner(), silver)
    buy(make_partner(), silver)
    path = f"/organiser/sponsorship/tiers/{silver.id}/edit"
    response = submit(client, path, tier_form(slug="silver", places="1", name_en="Changed"))
    assert response.status_code == 422
    assert "2 partners already hold this tier in one year: it cannot have fewer places." in text(
        response
    )
    unchanged = fresh(silver)
    assert unchanged.places == 3
    assert unchanged.name_en == "Gold"
    assert db.session.scalar(select(TierYear.places).where(TierYear.tier_id == silver.id)) == 3
    # As many as were sold is fine.
    assert submit(client, path, tier_form(slug="silver", places="2")).status_code == 302
    assert fresh(silver).places == 2


def test_a_past_year_sold_out_does_not_stop_fewer_places_for_the_years_to_come(
    client, sign_in_admin, make_tier, make_partner, buy
):
    with time_machine.travel(datetime(2030, 6, 1, 10, tzinfo=TOKYO), tick=False):
        silver = make_tier(slug="silver", places=3)
        for _ in range(3):
            paid(buy(make_partner(), silver))
    with time_machine.travel(datetime(2031, 5, 1, 10, tzinfo=TOKYO), tick=False):
        sign_in_admin()
        path = f"/organiser/sponsorship/tiers/{silver.id}/edit"
        response = submit(client, path, tier_form(slug="silver", places="1"))
        assert response.status_code in (302, 422), f"answered {response.status_code}"
        assert response.status_code == 302
        assert fresh(silver).places == 1
        # The year gone by keeps what it sold.
        past = db.session.scalar(
            select(TierYear)
            .where(TierYear.tier_id == silver.id, TierYear.year == 2030)
            .execution_options(populate_existing=True)
        )
        assert past.taken == 3


def test_editing_to_another_tiers_slug_is_refused(client, admin, make_tier):
    make_tier(slug="gold")
    silver = make_tier(slug="silver")
    response = submit(
        client, f"/organiser/sponsorship/tiers/{silver.id}/edit", tier_form(slug="gold")
    )
    assert response.status_code == 422
    assert "Another tier has this short name." in text(response)
    assert fresh(silver).slug == "silver"


def test_editing_a_tier_that_does_not_exist_is_not_found(client, admin):
    assert client.get("/organiser/sponsorship/tiers/999/edit").status_code == 404
    assert client.get("/organiser/sponsorship/tiers/99999999999/edit").status_code == 404


def test_buying_on_the_last_day_of_a_year_is_not_refused_as_a_duplicate(
    make_tier, make_partner, buy
):
    # The year's last day (31 March in Tokyo) still offers that year; a partner with no
    # sponsorship must not be told it already has one.
    with time_machine.travel(datetime(2031, 3, 31, 12, tzinfo=TOKYO), tick=False):
        assert years.offered_years(years.today()) == (2030, 2031)
        gold = make_tier(slug="gold", places=1)
        partner = make_partner()
        try:
            bought = buy(partner, gold, year=2030)
        except DomainError as refused:
            assert str(refused) != str(services.ALREADY_HOLDS)
            assert refused.field == "year"
            assert services.places_left([gold.id], 2030) == {gold.id: 1}
        else:
            assert bought.starts_on == bought.ends_on == date(2031, 3, 31)
            assert bought.status == "invoiced"


# --- retiring and deleting -----------------------------------------------------------------------


def test_a_tier_in_use_can_only_be_retired(client, admin, make_tier, make_partner, buy):
    gold = make_tier(slug="gold")
    partner = make_partner()
    buy(partner, gold)
    response = post_action(client, f"/organiser/sponsorship/tiers/{gold.id}/delete")
    assert response.status_code == 302
    assert "This tier has been bought: retire it instead." in text(client.get(PIPELINE))
    assert tier("gold") is not None

    response = post_action(client, f"/organiser/sponsorship/tiers/{gold.id}/retire")
    assert response.status_code == 302
    assert "The tier is retired: it is no longer sold." in text(client.get(PIPELINE))
    assert tier("gold").status == "retired"
    # Those who hold it keep it.
    assert db.session.scalar(select(Sponsorship.status)) == "invoiced"


def test_a_retired_tier_is_not_offered_and_cannot_be_bought(
    client, admin, make_tier, make_partner, buy
):
    gold = make_tier(slug="gold", name_en="Gold")
    make_tier(slug="silver", name_en="Silver")
    post_action(client, f"/organiser/sponsorship/tiers/{gold.id}/retire")
    page = text(client.get("/partners"))
    assert "tier-gold" not in page
    assert "tier-silver" in page

    partner = make_partner()
    with pytest.raises(DomainError) as refused:
        buy(partner, gold)
    assert refused.value.field == "tier"
    assert str(refused.value) == "This tier is no longer offered."
    assert db.session.scalar(select(func.count()).select_from(Sponsorship)) == 0


def test_the_buy_form_offers_neither_a_retired_tier_nor_a_sold_out_one(
    client, make_tier, make_partner, buy, login
):
    with time_machine.travel(datetime(2030, 6, 1, 10, tzinfo=TOKYO), tick=False):
        retired = make_tier(slug="retired", name_en="Retired")
        services.retire_tier(retired.id)
        full = make_tier(slug="full", name_en="Full", places=1)
        buy(make_partner(), full)
        partner = make_partner()
        login(partner.contacts[0].user)
        page = text(client.get("/partners/buy"))
        assert 'value="retired"' not in page
        assert "2030: no place left" in page
        data = {"partner": partner.id, "year": "2030", "method": "invoice"}
        response = submit(client, "/partners/buy", {**data, "tier": "retired"})
        assert response.status_code == 422
        page = text(response)
        assert "Not a valid choice" in page or "This tier is no longer offered." in page
        response = submit(client, "/partners/buy", {**data, "tier": "full"})
        assert response.status_code == 409
        assert "This tier has no place left for that year." in text(response)
        assert services.sponsorships_of(partner.id) == []
        # The next year still has its place.
        response = submit(client, "/partners/buy", {**data, "tier": "full", "year": "2031"})
        assert response.status_code == 302
        assert [s.year for s in services.sponsorships_of(partner.id)] == [2031]


def test_a_retired_tier_can_be_offered_again(client, admin, make_tier):
    gold = make_tier(slug="gold")
    post_action(client, f"/organiser/sponsorship/tiers/{gold.id}/retire")
    post_action(client, f"/organiser/sponsorship/tiers/{gold.id}/restore")
    assert tier("gold").status == "active"
    assert "tier-gold" in text(client.get("/partners"))


def test_a_tier_bought_once_and_released_still_cannot_be_deleted(
    client, admin, make_tier, make_partner, buy
):
    gold = make_tier(slug="gold")
    bought = buy(make_partner(), gold)
    with write_transaction():
        services.end_sponsorship(services.locked_sponsorship(bought.id), "cancelled")
    post_action(client, f"/organiser/sponsorship/tiers/{gold.id}/delete")
    assert tier("gold") is not None


def test_a_tier_nobody_bought_can_be_deleted(client, admin, make_tier):
    gold = make_tier(slug="gold")
    response = post_action(client, f"/organiser/sponsorship/tiers/{gold.id}/delete")
    assert response.status_code == 302
    assert "The tier is deleted." in text(client.get(PIPELINE))
    assert tier("gold") is None


def test_a_tier_action_without_the_csrf_token_is_refused(client, admin, make_tier):
    gold = make_tier(slug="gold")
    assert client.post(f"/organiser/sponsorship/tiers/{gold.id}/delete").status_code == 400
    assert tier("gold") is not None


def test_an_action_on_a_tier_that_does_not_exist_is_not_found(client, admin):
    assert post_action(client, "/organiser/sponsorship/tiers/999/retire").status_code == 404


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"places": "99999999999999999999999"}, "Number must be between 0 and 10000."),
        ({"places": "-1"}, "Number must be between 0 and 10000."),
        ({"places": "three"}, "Not a valid integer value."),
        ({"position": "99999999999999999999999"}, "Number must be between 0 and 10000."),
        ({"complimentary_tickets": "99999999999999999999999"}, "Number must be between"),
        ({"price": "-5000"}, "Give an amount such as 1500"),
        ({"price": ""}, "Give the price."),
        ({"price": "abc"}, "Give an amount such as 1500"),
        ({"slug": "Gold Tier"}, "Use lower-case letters, digits and hyphens."),
        ({"slug": "GOLD"}, "Use lower-case letters, digits and hyphens."),
        ({"slug": ""}, "Give a short name."),
        ({"name_ja": "", "name_en": ""}, "Give the tier&#39;s name."),
        ({"name_ja": "  ", "name_en": " "}, "Give the tier&#39;s name."),
        ({"tax_rate": "101"}, "Number must be between 0 and 100."),
        ({"tax_rate": "-1"}, "Number must be between 0 and 100."),
        ({"name_en": "Gold\x01"}, "Remove the control characters from this field."),
        ({"logo_size": "huge"}, "Not a valid choice"),
        ({"currency": "XXX"}, "Not a valid choice"),
    ],
)
def test_bad_input_on_the_tier_form_is_refused_with_a_message(client, admin, changes, message):
    response = submit(client, NEW_TIER, tier_form(**changes))
    assert response.status_code == 422
    assert message in text(response)
    assert tier_count() == 0


@pytest.mark.parametrize("price", ["999999999999", "3000000000", "2147483647"])
def test_a_price_too_large_for_the_ledger_is_refused_on_the_form(client, admin, price):
    response = submit(client, NEW_TIER, tier_form(price=price))
    assert response.status_code == 422, f"answered {response.status_code}"
    assert 'class="error"' in text(response)
    assert tier_count() == 0


def test_a_nul_byte_on_the_tier_form_is_refused_before_the_form(client, admin):
    # Every route refuses NUL (core.views) with 400 and a message, before any database sees it.
    response = submit(client, NEW_TIER, tier_form(name_en="Gold\x00"))
    assert response.status_code == 400
    assert "The request holds characters that are not allowed" in text(response)
    assert tier_count() == 0


def test_a_duplicate_slug_is_refused_on_the_field(client, admin, make_tier):
    make_tier(slug="gold", name_en="Original")
    response = submit(client, NEW_TIER, tier_form(slug="gold", name_en="Copy"))
    assert response.status_code == 422
    page = text(response)
    assert "Another tier has this short name." in page
    assert 'id="slug-error"' in page
    assert tier_count() == 1
    assert tier("gold").name_en == "Original"


def test_a_name_in_one_language_is_enough(client, admin):
    assert submit(client, NEW_TIER, tier_form(name_en="")).status_code == 302
    assert tier("gold").name_ja == "ゴールド"


def test_a_refused_tier_form_shows_what_was_typed(client, admin):
    response = submit(client, NEW_TIER, tier_form(price="１，０００，０００", tax_rate="101"))
    assert response.status_code == 422
    assert 'value="１，０００，０００"' in text(response)


def test_bad_input_on_the_edit_form_changes_nothing(client, admin, make_tier):
    silver = make_tier(slug="silver", name_en="Silver", places=2)
    path = f"/organiser/sponsorship/tiers/{silver.id}/edit"
    for changes in (
        {"places": "99999999999999999999999"},
        {"tax_rate": "101"},
        {"slug": "Not A Slug"},
        {"name_ja": "", "name_en": ""},
        {"price": "-1"},
    ):
        response = submit(
            client, path, tier_form(**{"slug": "silver", "name_en": "Changed", **changes})
        )
        assert response.status_code == 422, changes
    unchanged = fresh(silver)
    assert (unchanged.slug, unchanged.name_en, unchanged.places) == ("silver", "Silver", 2)


# --- who may see the pages -----------------------------------------------------------------------

ADMIN_PAGES = [
    PIPELINE,
    NEW_TIER,
    "/organiser/sponsorship/sponsorships.csv",
    "/organiser/sponsorship/tiers/{tier}/edit",
]
ADMIN_POSTS = [
    NEW_TIER,
    "/organiser/sponsorship/tiers/{tier}/edit",
    "/organiser/sponsorship/tiers/{tier}/retire",
    "/organiser/sponsorship/tiers/{tier}/restore",
    "/organiser/sponsorship/tiers/{tier}/delete",
    "/organiser/sponsorship/event-sponsors",
    "/organiser/sponsorship/event-sponsors/1/remove",
]


@pytest.mark.parametrize("role", ["member", "organiser"])
def test_only_administrators_see_the_sponsorship_pages(client, make_user, login, make_tier, role):
    gold = make_tier(slug="gold")
    login(make_user(role=role))
    token = csrf_token_from(text(client.get("/partners/companies/new")))
    for path in ADMIN_PAGES:
        assert client.get(path.format(tier=gold.id)).status_code == 403, path
    for path in ADMIN_POSTS:
        response = client.post(
            path.format(tier=gold.id), data={"csrf_token": token, **tier_form(slug="hacked")}
        )
        assert response.status_code == 403, path
    assert tier("gold").status == "active"
    assert tier("hacked") is None


def test_anonymous_visitors_are_sent_to_sign_in(client, make_tier):
    gold = make_tier(slug="gold")
    for path in ADMIN_PAGES:
        response = client.get(path.format(tier=gold.id))
        assert response.status_code == 302, path
        assert "/account/login" in response.headers["Location"]
    for path in ADMIN_POSTS:
        response = client.post(path.format(tier=gold.id), data=tier_form(slug="hacked"))
        assert response.status_code in (302, 400), path
    assert tier("gold").status == "active"
    assert tier("hacked") is None


def test_the_pipeline_lists_the_tiers_and_the_places_left(
    client, admin, make_tier, make_partner, buy
):
    gold = make_tier(slug="gold", name_en="Gold", places=2)
    buy(make_partner(name_en="Acme K.K."), gold)
    page = text(client.get(PIPELINE))
    assert "Gold" in page
    assert "1 / 2" in page
    assert "Acme K.K." in page  # invoiced, awaiting the transfer


# --- the CSV export ------------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))


def test_the_csv_export_has_a_header_and_a_row_for_each_sponsorship(
    client, sign_in_admin, make_tier, make_partner, buy
):
    with time_machine.travel(datetime(2030, 6, 1, 10, tzinfo=TOKYO), tick=False):
        sign_in_admin()
        gold = make_tier(slug="gold", name_en="Gold", price_minor=100_000)
        first = paid(buy(make_partner(name_en="Acme K.K."), gold))
        second = buy(make_partner(name_en="Beta K.K."), gold, year=2031)
        response = client.get("/organiser/sponsorship/sponsorships.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    rows = _csv(response)
    assert rows[0] == [
        "id",
        "company",
        "tier",
        "year",
        "starts_on",
        "ends_on",
        "status",
        "method",
        "amount_minor",
        "currency",
        "invoice_number",
        "due_on",
        "paid_at",
    ]
    assert len(rows) == 3
    by_id = {row[0]: row for row in rows[1:]}
    acme = by_id[str(first.id)]
    assert acme[1:10] == [
        "Acme K.K.",
        "Gold",
        "2030",
        "2030-06-01",
        "2031-03-31",
        "paid",
        "invoice",
        "110000",
        "JPY",
    ]
    assert acme[10]  # the invoice's number
    assert acme[12]  # when it was paid
    beta = by_id[str(second.id)]
    assert beta[1] == "Beta K.K."
    assert beta[3:7] == ["2031", "2031-04-01", "2032-03-31", "invoiced"]
    assert beta[11] == "2030-06-15"
    assert beta[12] == ""


@pytest.mark.parametrize("name", ['=HYPERLINK("http://evil.example")', "+1+1", "-2", "@SUM(A1)"])
def test_a_company_name_that_would_be_a_formula_is_neutralised_in_the_csv(
    client, admin, make_tier, make_partner, buy, name
):
    gold = make_tier(slug="gold", name_en="=Gold")
    buy(make_partner(name_en=name, name_ja=name), gold)
    rows = _csv(client.get("/organiser/sponsorship/sponsorships.csv"))
    assert rows[1][1] == "'" + name
    assert rows[1][2] == "'=Gold"
