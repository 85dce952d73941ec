"""/donate and a campaign's page are rendered once per key of what they show and served from it:
a paid gift, a donor's choice for the wall and an administrator's change to a campaign show on
the very next request; a campaign that starts or ends does so at that moment; two signed-in
people never see each other's address (nor a signed-in person's gifts anyone else's); a flashed
message shows once, to its own reader; each language gets its own page; and a page served from
its key reads nothing of the donations but their version."""

from __future__ import annotations

from datetime import timedelta

import pytest

from community.core.db import utcnow
from community.donations import campaigns, services
from tests.conftest import PASSWORD, count_queries, submit
from tests.donations.conftest import MOMENT, fresh, gift_of, give, manage_url_of, page_text
from tests.donations.test_campaigns import progress_shown

DONATION_TABLES = ("donation_campaigns", "donations", "donation_payments")


def _fields(campaign, **changes) -> campaigns.CampaignFields:
    values = {
        "slug": campaign.slug,
        "name_ja": campaign.name_ja,
        "name_en": campaign.name_en,
        "story_ja": campaign.story_ja,
        "story_en": campaign.story_en,
        "goal_minor": campaign.goal_minor,
        "currency": campaign.currency,
        "starts_at": campaign.starts_at,
        "ends_at": campaign.ends_at,
        "match_partner_name": campaign.match_partner_name,
        "match_cap_minor": campaign.match_cap_minor,
    }
    values.update(changes)
    return campaigns.CampaignFields(**values)


def _both_pages(browser, campaign) -> tuple[str, str]:
    donate = browser.get("/donate")
    own = browser.get(f"/donate/campaigns/{campaign.slug}")
    assert (donate.status_code, own.status_code) == (200, 200)
    return page_text(donate), page_text(own)


# --- freshness -----------------------------------------------------------------------------------


def test_a_paid_gift_shows_at_once_on_donate_and_the_campaign_page(
    app, browser, make_campaign, pay, mailbox
):
    campaign = make_campaign(goal_minor=100_000)
    reader, donor = browser(), browser()
    for _ in range(2):  # rendered, then served from its key
        assert progress_shown(reader.get("/donate"), campaign)["total"] == "¥0"
        own_page = reader.get(f"/donate/campaigns/{campaign.slug}")
        assert progress_shown(own_page, campaign)["total"] == "¥0"
    assert "Hanako Giver" not in "".join(_both_pages(reader, campaign))

    pay(
        give(
            donor,
            campaign=campaign.slug,
            other_amount="30000",
            wall="name_amount",
            donor_name="Hanako Giver",
        )
    )

    for response in (reader.get("/donate"), reader.get(f"/donate/campaigns/{campaign.slug}")):
        shown = progress_shown(response, campaign)
        assert (shown["total"], shown["percent"], shown["donors"]) == ("¥30,000", 30, 1)
        assert "Hanako Giver" in page_text(response)  # on the wall, with the amount


def test_a_donors_choice_for_the_wall_shows_at_once(app, browser, make_campaign, pay, mailbox):
    campaign = make_campaign()
    pay(give(browser(), campaign=campaign.slug, wall="name", donor_name="Taro Shown"))
    reader = browser()
    assert all("Taro Shown" in page for page in _both_pages(reader, campaign))

    services.set_wall(fresh(gift_of("donor@example.com")), "anonymous", "")

    assert not any("Taro Shown" in page for page in _both_pages(reader, campaign))


def test_an_administrators_change_to_a_campaign_shows_at_once(app, browser, make_campaign):
    campaign = make_campaign(name_en="Venue fund", goal_minor=100_000)
    reader = browser()
    for _ in range(2):
        donate, own = _both_pages(reader, campaign)
        assert "Venue fund" in donate and "Venue fund" in own

    campaigns.update(
        campaign.id,
        _fields(
            campaign,
            name_en="Scholarship fund",
            goal_minor=400_000,
            match_partner_name="Acme KK",
            match_cap_minor=50_000,
        ),
    )

    for page in _both_pages(reader, campaign):
        assert "Scholarship fund" in page and "Venue fund" not in page
        assert "of ¥400,000" in page
        assert "Acme KK matches every gift up to ¥50,000" in page

    campaigns.set_status(campaign.id, "archived")

    assert "Scholarship fund" not in page_text(reader.get("/donate"))
    assert reader.get(f"/donate/campaigns/{campaign.slug}").status_code == 404

    campaigns.set_status(campaign.id, "active")

    assert all("Scholarship fund" in page for page in _both_pages(reader, campaign))


def test_a_campaign_ends_and_another_starts_at_their_moments(frozen, app, browser, make_campaign):
    now = utcnow()
    ending = make_campaign(name_en="Ending soon", ends_at=now + timedelta(hours=1))
    coming = make_campaign(
        name_en="Coming soon",
        starts_at=now + timedelta(minutes=30),
        ends_at=now + timedelta(days=10),
    )
    reader = browser()
    for _ in range(2):
        donate = page_text(reader.get("/donate"))
        assert "Ending soon" in donate and "Coming soon" not in donate
        coming_page = page_text(reader.get(f"/donate/campaigns/{coming.slug}"))
        assert "This campaign starts on" in coming_page
        assert "Give to this campaign" not in coming_page
        assert "Give to this campaign" in page_text(reader.get(f"/donate/campaigns/{ending.slug}"))

    frozen.move_to(MOMENT + timedelta(minutes=30))  # the coming one starts

    donate = page_text(reader.get("/donate"))
    assert "Ending soon" in donate and "Coming soon" in donate
    assert "Give to this campaign" in page_text(reader.get(f"/donate/campaigns/{coming.slug}"))

    frozen.move_to(MOMENT + timedelta(hours=1))  # the other one ends, to the second

    donate = page_text(reader.get("/donate"))
    assert "Ending soon" not in donate and "Coming soon" in donate
    ended_page = page_text(reader.get(f"/donate/campaigns/{ending.slug}"))
    assert "This campaign ended on" in ended_page
    assert "Give to this campaign" not in ended_page


def test_a_slug_that_is_no_active_campaigns_is_not_found(app, browser, make_campaign):
    make_campaign(slug="old-fund", status="archived")
    reader = browser()
    for slug in ("old-fund", "no-such-fund", "x" * 200):
        assert reader.get(f"/donate/campaigns/{slug}").status_code == 404


# --- privacy -------------------------------------------------------------------------------------


def test_two_signed_in_people_never_see_each_others_address(
    app, make_user, browser, browser_of, make_campaign
):
    campaign = make_campaign()
    ann = make_user(email="ann@example.com", name="Ann Example")
    ben = make_user(email="ben@example.com", name="Ben Example")
    as_ann, as_ben, guest = browser_of(ann), browser_of(ben), browser()
    as_ann.get("/donate")  # the flash of signing in, shown and gone
    as_ben.get("/donate")
    for _ in range(2):
        for reader, own, other in ((as_ann, ann, ben), (as_ben, ben, ann)):
            for page in _both_pages(reader, campaign):
                assert f"Your receipt goes to {own.email}" in page
                assert other.email not in page and other.name not in page
        for page in _both_pages(guest, campaign):
            assert "ann@example.com" not in page and "ben@example.com" not in page
            assert "Your receipt goes to" not in page
            assert 'name="email"' in page  # a guest gives their address


def test_an_address_is_put_in_escaped(app, make_user, browser_of, make_campaign):
    user = make_user(email="o'brien@example.com")
    html = browser_of(user).get("/donate").get_data(as_text=True)
    assert "o&#39;brien@example.com" in html and "o'brien@example.com" not in html


def test_each_signed_in_donor_sees_only_their_own_gifts(
    app, make_user, browser_of, make_campaign, pay, mailbox
):
    campaign = make_campaign(name_en="Venue fund")
    ann = make_user(email="ann@example.com")
    ben = make_user(email="ben@example.com")
    cat = make_user(email="cat@example.com")
    as_ann, as_ben, as_cat = browser_of(ann), browser_of(ben), browser_of(cat)
    pay(give(as_ann, campaign=campaign.slug, other_amount="7000"))
    pay(give(as_ben, other_amount="9000"))
    ann_gift, ben_gift = gift_of(ann.email), gift_of(ben.email)

    for _ in range(2):
        ann_page = page_text(as_ann.get("/donate/mine"))
        ben_page = page_text(as_ben.get("/donate/mine"))
        cat_page = page_text(as_cat.get("/donate/mine"))
        assert manage_url_of(ann_gift) in ann_page and "¥7,000 · Venue fund" in ann_page
        assert manage_url_of(ben_gift) not in ann_page and "¥9,000" not in ann_page
        assert manage_url_of(ben_gift) in ben_page and "¥9,000" in ben_page
        assert manage_url_of(ann_gift) not in ben_page and "¥7,000" not in ben_page
        assert "You have not given while signed in yet." in cat_page
        assert "¥7,000" not in cat_page and "¥9,000" not in cat_page
        assert "/donate/gifts/" not in cat_page


def test_a_gift_shows_at_once_on_its_donors_own_list(app, make_user, browser_of, pay, mailbox):
    user = make_user()
    signed_in = browser_of(user)
    assert "You have not given" in page_text(signed_in.get("/donate/mine"))

    pay(give(signed_in, other_amount="6000"))

    page = page_text(signed_in.get("/donate/mine"))
    assert "¥6,000" in page and manage_url_of(gift_of(user.email)) in page
    assert "/donate/mine/statement/" in page


# --- a flashed message ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/donate", "/donate/campaigns/{slug}", "/donate/mine"])
def test_a_flashed_message_shows_once_to_its_own_reader(
    app, make_user, browser, browser_of, make_campaign, path
):
    path = path.format(slug=make_campaign().slug)
    other = browser_of(make_user(name="Other Person"))
    other.get(path)  # its own welcome, and the page rendered for its key
    ann = make_user(name="Ann Flash")
    new = browser()

    signed_in = submit(
        new, "/account/login", {"email": ann.email, "password": PASSWORD, "next": path}
    )
    assert signed_in.headers["Location"] == path

    first = page_text(new.get(path))
    assert "Welcome back, Ann Flash." in first
    assert f"Your receipt goes to {ann.email}" in first or path == "/donate/mine"
    assert "Welcome back" not in page_text(new.get(path))
    assert "Ann Flash" not in page_text(other.get(path))


# --- languages -----------------------------------------------------------------------------------


def test_each_language_gets_its_own_page(app, make_user, browser, browser_of, make_campaign):
    campaign = make_campaign(name_ja="会場の募金", name_en="Venue fund")
    english, japanese = browser("en"), browser("ja")
    for _ in range(2):
        for page in _both_pages(english, campaign):
            assert '<html lang="en">' in page and "Venue fund" in page and "会場の募金" not in page
        for page in _both_pages(japanese, campaign):
            assert '<html lang="ja">' in page and "会場の募金" in page and "Venue fund" not in page
    member = browser_of(make_user(locale="ja"), language="ja")
    member.get("/donate")
    for _ in range(2):
        page = page_text(member.get("/donate/mine"))
        assert '<html lang="ja">' in page and "Your gifts" not in page


# --- what a page served from its key costs -------------------------------------------------------


def test_a_page_served_from_its_key_reads_nothing_of_the_donations(
    app, make_user, browser_of, make_campaign
):
    campaign = make_campaign()
    reader = browser_of(make_user())
    reader.get("/donate")  # the flash of signing in, shown (that page is not kept)
    for path in ("/donate", f"/donate/campaigns/{campaign.slug}"):
        reader.get(path)  # rendered for its key
        with count_queries() as statements:
            assert reader.get(path).status_code == 200
        read = " ".join(statements)
        assert not any(table in read for table in DONATION_TABLES), statements
        assert len(statements) <= 4, statements
