"""The sponsors' wall: active partners (paid, within their dates in Tokyo) grouped by tier in tier
order on /sponsors, the home page and event pages, and in the JSON API for the community's other
sites; logos come and go with the sponsorship's dates; nothing personal is ever on them."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from PIL import Image

from community.core.db import db, utcnow
from community.core.transaction import write_transaction
from community.payments import services as payments
from community.sponsorship import services, years
from community.sponsorship.logos import check_logo
from tests.sponsorship.conftest import contact_of

TOKYO = ZoneInfo("Asia/Tokyo")
# A day inside sponsorship year 2030 (April 2030 to March 2031).
IN_2030 = datetime(2030, 6, 1, 10, tzinfo=TOKYO)


def text(response) -> str:
    return response.get_data(as_text=True)


def fresh(model):
    return db.session.get(type(model), model.id, populate_existing=True)


def paid(sponsorship):
    """The sponsorship paid by bank transfer today, through the real fulfilment."""
    order = payments.order_by_id(sponsorship.order_id)
    payments.record_bank_transfer(
        order.id, amount_minor=order.amount_minor, received_on=years.today(), recorded_by_id=None
    )
    return fresh(sponsorship)


def png(colour="red") -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (120, 60), colour).save(output, "PNG")
    return output.getvalue()


def give_logo(partner) -> str:
    checked = check_logo(png())
    services.set_logo(partner.id, contact_of(partner), checked.content, checked.media_type)
    partner = fresh(partner)
    return f"/partners/logos/{partner.id}-{partner.logo_version}.png"


def wall_section(page: str) -> str:
    """The part of /sponsors between its heading and the event sponsors (or the end)."""
    start = page.index("<h1>Our partners</h1>")
    end = page.find("Become a partner</a>", start)
    return page[start:end]


def on_wall(client, partner) -> bool:
    return partner.name_en in wall_section(text(client.get("/sponsors")))


@pytest.fixture
def sponsor(make_tier, make_partner, buy):
    """sponsor(tier=None, year=None, **partner fields): a partner with a paid sponsorship."""
    default_tier = []

    def factory(tier=None, *, year=None, **fields):
        if tier is None:
            if not default_tier:
                default_tier.append(
                    make_tier(slug="gold", name_en="Gold", name_ja="ゴールド", places=None)
                )
            tier = default_tier[0]
        partner = make_partner(**fields)
        return partner, paid(buy(partner, tier, year=year))

    return factory


# --- /sponsors -----------------------------------------------------------------------------------


def test_the_wall_groups_active_partners_by_tier_in_tier_order(client, make_tier, sponsor):
    with time_machine.travel(IN_2030, tick=False):
        silver = make_tier(slug="silver", name_en="Silver", position=3, logo_size="small")
        platinum = make_tier(slug="platinum", name_en="Platinum", position=1, logo_size="large")
        gold = make_tier(slug="gold", name_en="Gold", position=2, logo_size="medium")
        make_tier(slug="bronze", name_en="Bronze", position=0)  # nobody holds it: not shown
        sponsor(silver, name_en="Silver One K.K.")
        sponsor(platinum, name_en="Platinum One K.K.")
        sponsor(gold, name_en="Gold One K.K.")
        sponsor(gold, name_en="Gold Two K.K.")
        page = wall_section(text(client.get("/sponsors")))
    assert "Bronze" not in page
    positions = [
        page.index(marker)
        for marker in (
            'id="wall-platinum"',
            "Platinum One K.K.",
            'id="wall-gold"',
            "Gold One K.K.",
            "Gold Two K.K.",
            'id="wall-silver"',
            "Silver One K.K.",
        )
    ]
    assert positions == sorted(positions)
    assert 'class="wall-tier wall-large"' in page
    assert 'class="wall-tier wall-small"' in page


def test_each_logo_on_the_wall_is_named_and_links_to_the_partners_site(client, sponsor):
    with time_machine.travel(IN_2030, tick=False):
        with_logo, _ = sponsor(name_en="Logo K.K.", website="https://logo.example.com")
        src = give_logo(with_logo)
        sponsor(name_en="Plain K.K.", website="https://plain.example.com")
        sponsor(name_en="Offline K.K.", website="")
        page = wall_section(text(client.get("/sponsors")))
    assert re.search(
        rf'<a href="https://logo.example.com" rel="noopener">\s*<img src="{src}" '
        r'alt="Logo K.K." loading="lazy">\s*</a>',
        page,
    )
    assert re.search(
        r'<a href="https://plain.example.com" rel="noopener">\s*'
        r'<span class="wall-name">Plain K.K.</span>\s*</a>',
        page,
    )
    assert '<span class="wall-name">Offline K.K.</span>' in page
    assert re.search(r'<a href=""', page) is None
    # The logo's address answers.
    assert client.get(src).status_code == 200


def test_the_wall_shows_names_in_the_visitors_language(client, sponsor):
    with time_machine.travel(IN_2030, tick=False):
        sponsor(name_en="Sample K.K.", name_ja="株式会社サンプル")
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ja"
        page = text(client.get("/sponsors"))
    assert "株式会社サンプル" in page
    assert "ゴールド" in page


def test_a_partner_with_an_unpaid_invoice_is_not_on_the_wall(
    client, make_tier, make_partner, buy, sponsor
):
    with time_machine.travel(IN_2030, tick=False):
        gold = make_tier(slug="gold", name_en="Gold", places=None)
        unpaid = make_partner(name_en="Unpaid K.K.")
        buy(unpaid, gold)
        card = make_partner(name_en="Card K.K.")
        buy(card, gold, method="card")  # awaiting its card payment
        sponsor(gold, name_en="Paying K.K.")
        page = wall_section(text(client.get("/sponsors")))
    assert "Unpaid K.K." not in page
    assert "Card K.K." not in page
    assert "Paying K.K." in page


def test_nobody_on_the_wall_says_so(client, make_tier):
    make_tier(slug="gold")
    page = text(client.get("/sponsors"))
    assert "No partner yet this year." in page
    assert "wall-tier" not in page


def test_a_sponsorship_for_next_year_is_on_the_wall_from_the_first_day_of_its_year(client, sponsor):
    with time_machine.travel(IN_2030, tick=False):
        partner, bought = sponsor(name_en="Next Year K.K.", year=2031)
        assert (bought.starts_on.isoformat(), bought.ends_on.isoformat()) == (
            "2031-04-01",
            "2032-03-31",
        )
        assert bought.status == "paid"
        assert not on_wall(client, partner)
    # The year starts at midnight in Tokyo (15:00 UTC the day before).
    with time_machine.travel(datetime(2031, 3, 31, 23, 59, 59, tzinfo=TOKYO), tick=False):
        assert not on_wall(client, partner)
    with time_machine.travel(datetime(2031, 4, 1, 0, 0, tzinfo=TOKYO), tick=False):
        assert on_wall(client, partner)


def test_logos_leave_the_wall_when_a_sponsorship_ends(client, sponsor):
    with time_machine.travel(IN_2030, tick=False):
        partner, bought = sponsor(name_en="Ending K.K.")
        give_logo(partner)
        assert bought.ends_on.isoformat() == "2031-03-31"
        assert on_wall(client, partner)
        assert "/partners/logos/" in wall_section(text(client.get("/sponsors")))
    with time_machine.travel(datetime(2031, 3, 31, 23, 59, 59, tzinfo=TOKYO), tick=False):
        assert on_wall(client, partner)
    with time_machine.travel(datetime(2031, 4, 1, 0, 0, tzinfo=TOKYO), tick=False):
        page = text(client.get("/sponsors"))
        assert "Ending K.K." not in page
        assert "/partners/logos/" not in page
        assert "No partner yet this year." in page
        assert "Ending K.K." not in text(client.get("/"))
        assert client.get("/api/v1/sponsors").get_json() == {"tiers": []}


def test_a_sponsorship_bought_during_its_year_is_on_the_wall_from_the_day_it_is_paid(
    client, make_tier, make_partner, buy
):
    with time_machine.travel(IN_2030, tick=False):
        gold = make_tier(slug="gold")
        partner = make_partner(name_en="Late K.K.")
        bought = buy(partner, gold)
        assert bought.starts_on.isoformat() == "2030-06-01"
        assert not on_wall(client, partner)
    with time_machine.travel(IN_2030 + timedelta(days=3), tick=False):
        paid(bought)
        assert on_wall(client, partner)


def test_a_cancelled_sponsorship_leaves_the_wall(client, sponsor):
    with time_machine.travel(IN_2030, tick=False):
        partner, bought = sponsor(name_en="Cancelled K.K.")
        assert on_wall(client, partner)
        with write_transaction():
            services.end_sponsorship(services.locked_sponsorship(bought.id), "cancelled")
        assert not on_wall(client, partner)


def test_a_partners_name_is_escaped_wherever_it_is_shown(client, make_event, sponsor):
    name = '<script>alert(1)</script>"><b onmouseover=alert(2)>'
    with time_machine.travel(IN_2030, tick=False):
        partner, _ = sponsor(name_en=name, website="https://escaped.example.com")
        give_logo(partner)
        event = make_event()
        services.add_event_sponsor(event.slug, partner.id, "venue")
        pages = [text(client.get(path)) for path in ("/sponsors", "/", f"/events/{event.slug}")]
    for page in pages:
        assert "<script>alert(1)" not in page
        assert "<b onmouseover" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# --- the home page and event pages ---------------------------------------------------------------


def test_the_home_page_shows_the_wall(client, sponsor):
    assert "Our partners" not in text(client.get("/"))
    with time_machine.travel(IN_2030, tick=False):
        partner, _ = sponsor(name_en="Home K.K.", website="https://home.example.com")
        src = give_logo(partner)
        page = text(client.get("/"))
    assert 'id="our-partners"' in page
    section = page[page.index('id="our-partners"') :]
    assert '<h3 id="wall-gold" class="wall-tier-name">Gold</h3>' in section
    assert re.search(
        rf'<a href="https://home.example.com" rel="noopener">\s*<img src="{src}" alt="Home K.K."',
        section,
    )


def test_an_event_page_shows_the_partners_and_the_events_own_sponsors(
    client, make_event, make_partner, sponsor
):
    with time_machine.travel(IN_2030, tick=False):
        sponsor(name_en="Wall K.K.")
        venue = make_partner(name_en="Venue K.K.", website="https://venue.example.com")
        venue_logo = give_logo(venue)
        food = make_partner(name_en="Food K.K.", website="")
        event = make_event()
        services.add_event_sponsor(event.slug, venue.id, "venue")
        services.add_event_sponsor(event.slug, food.id, "food")
        page = text(client.get(f"/events/{event.slug}"))
        other = make_event()
        other_page = text(client.get(f"/events/{other.slug}"))
    assert 'class="event-partners"' in page
    section = page[page.index('class="event-partners"') :]
    section = section[: section.index("</section>\n", section.index("event-sponsors"))]
    assert "With the support of" in section
    assert re.search(
        rf'<a href="https://venue.example.com" rel="noopener"><img src="{venue_logo}" '
        r'alt="Venue K.K." class="sponsor-logo" loading="lazy"></a>',
        section,
    )
    assert re.search(r'Venue K.K.".*?<span class="sponsor-role">venue</span>', section, re.S)
    assert re.search(r'Food K.K.\s*<span class="sponsor-role">food and drinks</span>', section)
    full = page[page.index('class="event-partners"') :]
    assert "Wall K.K." in full  # the wall, after the event's own sponsors
    assert full.index("Venue K.K.") < full.index("Wall K.K.")
    # Another event shows the wall but not this event's sponsors.
    assert "Wall K.K." in other_page
    assert "Venue K.K." not in other_page


def test_an_event_page_without_partners_has_no_partners_section(client, make_event):
    event = make_event()
    assert 'class="event-partners"' not in text(client.get(f"/events/{event.slug}"))


def test_the_event_sponsors_are_listed_on_the_sponsors_page(client, make_event, make_partner):
    venue = make_partner(name_en="Venue K.K.")
    event = make_event(title_en="Spring Meetup")
    services.add_event_sponsor(event.slug, venue.id, "venue")
    page = text(client.get("/sponsors"))
    assert "Event sponsors" in page
    assert re.search(rf'<a href="/events/{event.slug}">Spring Meetup</a>', page)
    assert "Venue K.K. (venue)" in page


def test_the_sponsors_page_shows_each_change_at_once(client, make_event, make_partner):
    """Rendered once per version of what it shows: an event sponsor added or removed, an
    event's new title, an event that ends each show on the next request."""
    venue = make_partner(name_en="Venue K.K.")
    soon = make_event(title_en="Soon Meetup", days=1)
    later = make_event(title_en="Later Meetup", days=5)
    assert "Event sponsors" not in text(client.get("/sponsors"))
    first = services.add_event_sponsor(soon.slug, venue.id, "venue")
    services.add_event_sponsor(later.slug, venue.id, "venue")
    page = text(client.get("/sponsors"))
    assert "Soon Meetup" in page and "Later Meetup" in page
    soon.title_en, soon.updated_at = "Renamed Meetup", utcnow()
    db.session.commit()
    assert "Renamed Meetup" in text(client.get("/sponsors"))
    # The same day (the wall's key has the day): only the event's end moves the page on.
    with time_machine.travel(soon.ends_at - timedelta(seconds=1), tick=False):
        assert "Renamed Meetup" in text(client.get("/sponsors"))
    with time_machine.travel(soon.ends_at + timedelta(seconds=1), tick=False):
        page = text(client.get("/sponsors"))
        assert "Renamed Meetup" not in page and "Later Meetup" in page
    services.remove_event_sponsor(first.id)
    with time_machine.travel(soon.starts_at - timedelta(hours=1), tick=False):
        assert "Renamed Meetup" not in text(client.get("/sponsors"))


def test_the_sponsors_page_lists_the_first_twenty_events_to_come(client, make_event, make_partner):
    venue = make_partner(name_en="Venue K.K.")
    for number in range(22):
        event = make_event(title_en=f"Meetup number {number:02d}", days=number + 1)
        services.add_event_sponsor(event.slug, venue.id, "venue")
    page = text(client.get("/sponsors"))
    assert "Meetup number 19" in page and "Meetup number 20" not in page


def test_the_same_event_sponsor_twice_is_refused(make_event, make_partner):
    from community.core.errors import Conflict, DomainError

    venue = make_partner()
    event = make_event()
    services.add_event_sponsor(event.slug, venue.id, "venue")
    with pytest.raises(Conflict):
        services.add_event_sponsor(event.slug, venue.id, "venue")
    with pytest.raises(DomainError) as refused:
        services.add_event_sponsor(event.slug, venue.id, "catering")
    assert refused.value.field == "role"
    with pytest.raises(DomainError) as refused:
        services.add_event_sponsor("no-such-event", venue.id, "venue")
    assert refused.value.field == "event"


# --- the API -------------------------------------------------------------------------------------


def test_the_api_lists_the_sponsors_by_tier_in_both_languages(client, make_tier, sponsor):
    with time_machine.travel(IN_2030, tick=False):
        gold = make_tier(slug="gold", name_en="Gold", name_ja="ゴールド", position=2)
        platinum = make_tier(
            slug="platinum", name_en="Platinum", name_ja="プラチナ", position=1, logo_size="large"
        )
        with_logo, _ = sponsor(
            gold, name_en="Logo K.K.", name_ja="株式会社ロゴ", website="https://logo.example.com"
        )
        src = give_logo(with_logo)
        sponsor(gold, name_en="Plain K.K.", name_ja="株式会社プレーン", website="")
        sponsor(platinum, name_en="Top K.K.", name_ja="", website="https://top.example.com")
        english = client.get("/api/v1/sponsors?lang=en")
        japanese = client.get("/api/v1/sponsors?lang=ja")
        default = client.get("/api/v1/sponsors")
    assert english.status_code == 200
    assert english.mimetype == "application/json"
    assert english.get_json() == {
        "tiers": [
            {
                "slug": "platinum",
                "name": "Platinum",
                "logo_size": "large",
                "sponsors": [
                    {"name": "Top K.K.", "logo_url": None, "website": "https://top.example.com"}
                ],
            },
            {
                "slug": "gold",
                "name": "Gold",
                "logo_size": "medium",
                "sponsors": [
                    {
                        "name": "Logo K.K.",
                        "logo_url": f"http://localhost{src}",
                        "website": "https://logo.example.com",
                    },
                    {"name": "Plain K.K.", "logo_url": None, "website": ""},
                ],
            },
        ]
    }
    ja = japanese.get_json()
    assert [tier["name"] for tier in ja["tiers"]] == ["プラチナ", "ゴールド"]
    # A name missing in Japanese is given in English.
    assert [s["name"] for s in ja["tiers"][0]["sponsors"]] == ["Top K.K."]
    assert [s["name"] for s in ja["tiers"][1]["sponsors"]] == ["株式会社ロゴ", "株式会社プレーン"]
    assert default.get_json() == english.get_json()


def test_the_api_logo_url_is_absolute_and_serves_the_logo(client, sponsor):
    with time_machine.travel(IN_2030, tick=False):
        partner, _ = sponsor(name_en="Logo K.K.")
        give_logo(partner)
        body = client.get("/api/v1/sponsors").get_json()
    url = body["tiers"][0]["sponsors"][0]["logo_url"]
    assert url.startswith("http://localhost/partners/logos/")
    served = client.get(url.removeprefix("http://localhost"))
    assert served.status_code == 200
    assert served.mimetype == "image/png"


def test_the_api_may_be_read_from_the_communitys_other_sites(make_app, sponsor):
    with time_machine.travel(IN_2030, tick=False):
        sponsor(name_en="Shared K.K.")
        other_site = make_app(CORS_ORIGINS="https://blog.example.com").test_client()
        with other_site.get(
            "/api/v1/sponsors", headers={"Origin": "https://blog.example.com"}
        ) as response:
            assert response.status_code == 200
            assert response.headers["Access-Control-Allow-Origin"] == "https://blog.example.com"
            assert "Shared K.K." in response.get_data(as_text=True)


def test_an_unknown_language_on_the_api_is_refused(client):
    response = client.get("/api/v1/sponsors?lang=fr")
    assert response.status_code == 422
    assert response.get_json()["error"]


def test_the_openapi_document_lists_the_sponsors(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    operation = document["paths"]["/api/v1/sponsors"]["get"]
    assert operation["operationId"] == "listSponsors"
    assert "200" in operation["responses"]
    parameters = {parameter["name"] for parameter in operation.get("parameters", [])}
    assert "lang" in parameters


# --- nothing personal ----------------------------------------------------------------------------


def test_nothing_personal_is_on_the_public_pages_or_the_api(client, make_user, make_event, sponsor):
    with time_machine.travel(IN_2030, tick=False):
        contact = make_user(name="Secret Contact", email="secret.contact@example.com")
        partner, bought = sponsor(
            contact=contact,
            name_en="Public K.K.",
            website="https://public.example.com",
            billing_name="Billing Name Secret",
            billing_address="Hidden Street 1, Minato-ku",
            billing_department="Hidden Department",
            billing_contact="Hidden Accountant",
            registration_number="T7000012050002",
        )
        give_logo(partner)
        event = make_event()
        services.add_event_sponsor(event.slug, partner.id, "venue")
        order = payments.order_by_id(bought.order_id)
        pages = {
            "/sponsors": text(client.get("/sponsors")),
            "/": text(client.get("/")),
            "/partners": text(client.get("/partners")),
            f"/events/{event.slug}": text(client.get(f"/events/{event.slug}")),
            "/api/v1/sponsors": text(client.get("/api/v1/sponsors?lang=en")),
            "/api/v1/sponsors?lang=ja": text(client.get("/api/v1/sponsors?lang=ja")),
        }
    secrets = [
        "secret.contact@example.com",
        "Secret Contact",
        "Billing Name Secret",
        "Hidden Street",
        "Hidden Department",
        "Hidden Accountant",
        "T7000012050002",
        "7000012050002",
        order.invoice_number,
    ]
    for path, page in pages.items():
        if path not in ("/partners", "/api/v1/sponsors?lang=ja"):
            assert "Public K.K." in page, path
        for secret in secrets:
            assert secret not in page, (path, secret)
