"""What event cards and the event page show at a glance: the cover, a date badge on the event's own
date, its format and its price on each card; on the event page one primary action whose label
says, without JavaScript, what pressing it leads to."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from community.core.db import utcnow
from community.events.services import TicketTypeData, set_cover_image
from tests.conftest import submit

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def uploads(app, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")


def card_of(html: str, slug: str) -> str:
    """The card whose title links to /events/<slug>."""
    for card in re.findall(r'<article class="event-card.*?</article>', html, re.S):
        if f'href="/events/{slug}"' in card:
            return card
    raise AssertionError(f"no card for {slug}")


def text(fragment: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


def _next_new_year_in_tokyo() -> datetime:
    """00:30 on 1 January in Tokyo, which is still 31 December in UTC."""
    year = utcnow().year + 1
    return datetime(year - 1, 12, 31, 15, 30, tzinfo=UTC)


def test_a_card_shows_its_cover_a_date_badge_in_the_events_zone_its_format_and_price(
    client, make_event, uploads
):
    starts = _next_new_year_in_tokyo()
    event = make_event(
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        format="hybrid",
        online_url="https://meet.example/x",
        tickets=[TicketTypeData(slug="seat", name_en="Seat", price_minor=3000)],
    )
    set_cover_image(event, PNG)
    card = card_of(client.get("/events").get_data(as_text=True), event.slug)
    assert f'<img src="/events/{event.slug}/cover" alt=""' in card  # decorative: the title says it
    badge = re.search(r'<p class="date-badge" aria-hidden="true">(.*?)</p>', card).group(1)
    assert text(badge) == "Jan 1 " + datetime(starts.year + 1, 1, 1).strftime("%a")
    assert '<li class="tag tag-format">Hybrid</li>' in card
    assert '<li class="tag tag-price">\u00a53,000</li>' in card

    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ja"
    card = card_of(client.get("/events").get_data(as_text=True), event.slug)
    badge = re.search(r'<p class="date-badge" aria-hidden="true">(.*?)</p>', card).group(1)
    weekday = "月火水木金土日"[datetime(starts.year + 1, 1, 1).weekday()]
    assert text(badge) == f"1月 1 {weekday}"
    assert '<li class="tag tag-price">\uffe53,000</li>' in card
    assert '<li class="tag tag-format">ハイブリッド</li>' in card


def test_a_card_without_a_cover_keeps_its_shape_without_an_image(client, make_event):
    event = make_event()
    card = card_of(client.get("/").get_data(as_text=True), event.slug)
    assert "<img" not in card and 'class="card-media no-cover"' in card


@pytest.mark.parametrize(
    ("tickets", "english", "japanese"),
    [
        ([TicketTypeData(slug="a", name_en="A")], "Free", "無料"),
        (
            [
                TicketTypeData(slug="a", name_en="A", price_minor=1000),
                TicketTypeData(slug="b", name_en="B", price_minor=3000),
            ],
            "From \u00a51,000",
            "\uffe51,000〜",
        ),
        (
            [
                TicketTypeData(slug="a", name_en="A"),
                TicketTypeData(slug="b", name_en="B", price_minor=2000),
            ],
            "Free or from \u00a52,000",
            "無料または\uffe52,000〜",
        ),
        (
            # A members-only price is no price for everyone else.
            [
                TicketTypeData(slug="a", name_en="A", price_minor=500, members_only=True),
                TicketTypeData(slug="b", name_en="B", price_minor=2000),
            ],
            "\u00a52,000",
            "\uffe52,000",
        ),
    ],
)
def test_a_cards_price_is_free_one_price_or_from_the_cheapest(
    client, make_event, tickets, english, japanese
):
    event = make_event(tickets=tickets)
    card = card_of(client.get("/events").get_data(as_text=True), event.slug)
    assert f'<li class="tag tag-price">{english}</li>' in card
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ja"
    card = card_of(client.get("/events").get_data(as_text=True), event.slug)
    assert f'<li class="tag tag-price">{japanese}</li>' in card


def primary_buttons(html: str) -> list[str]:
    main = html[html.index("<main") : html.index("</main>")]
    return [
        text(label)
        for label in re.findall(r'<[^>]*class="[^"]*\bbutton-primary\b[^"]*"[^>]*>(.*?)</', main)
    ]


@pytest.mark.parametrize(
    ("tickets", "label"),
    [
        ([TicketTypeData(slug="a", name_en="A")], "Register"),
        (
            [TicketTypeData(slug="a", name_en="A", price_minor=3000)],
            "Continue to payment — \u00a53,000",
        ),
        (
            [
                TicketTypeData(slug="a", name_en="A", price_minor=3000),
                TicketTypeData(slug="b", name_en="B", price_minor=3000),
            ],
            "Continue to payment — \u00a53,000",
        ),
        (
            [
                TicketTypeData(slug="a", name_en="A", price_minor=1000),
                TicketTypeData(slug="b", name_en="B", price_minor=3000),
            ],
            "Continue to payment",
        ),
        (
            # A member would pay less than the amount the label would name.
            [TicketTypeData(slug="a", name_en="A", price_minor=3000, member_price_minor=2000)],
            "Continue to payment",
        ),
        (
            # Whether it leads to payment depends on the ticket chosen, which a label cannot
            # follow without JavaScript.
            [
                TicketTypeData(slug="a", name_en="A"),
                TicketTypeData(slug="b", name_en="B", price_minor=3000),
            ],
            "Register",
        ),
    ],
)
def test_the_event_pages_one_primary_action_says_where_it_leads(client, make_event, tickets, label):
    event = make_event(tickets=tickets)
    html = client.get(f"/events/{event.slug}").get_data(as_text=True)
    assert primary_buttons(html) == [label]


def test_a_ticket_no_longer_on_sale_does_not_change_the_label(client, make_event):
    event = make_event(
        tickets=[
            TicketTypeData(
                slug="early", name_en="Early", sale_ends_at=utcnow() + timedelta(seconds=2)
            ),
            TicketTypeData(slug="seat", name_en="Seat", price_minor=3000),
        ]
    )
    event.ticket_types[0].sale_ends_at = utcnow() - timedelta(minutes=1)
    html = client.get(f"/events/{event.slug}").get_data(as_text=True)
    assert primary_buttons(html) == ["Continue to payment — \u00a53,000"]


def test_a_full_event_offers_the_waiting_list_as_its_primary_action(client, make_event, register):
    event = make_event(
        capacity=1, tickets=[TicketTypeData(slug="seat", name_en="Seat", price_minor=3000)]
    )
    register(event, 1)
    html = client.get(f"/events/{event.slug}").get_data(as_text=True)
    assert primary_buttons(html) == ["Join the waiting list"]


def test_the_payment_label_is_japanese_on_japanese_pages(client, make_event):
    event = make_event(tickets=[TicketTypeData(slug="seat", name_en="Seat", price_minor=3000)])
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ja"
    html = client.get(f"/events/{event.slug}").get_data(as_text=True)
    assert primary_buttons(html) == ["お支払いへ進む（\uffe53,000）"]


def test_a_refused_registration_keeps_the_one_primary_action(client, make_event):
    event = make_event(tickets=[TicketTypeData(slug="seat", name_en="Seat", price_minor=3000)])
    refused = submit(
        client,
        f"/events/{event.slug}",
        {"name": "", "email": "x", "ticket_type": "seat"},
        post_path=f"/events/{event.slug}/register",
    )
    assert refused.status_code == 422
    assert primary_buttons(refused.get_data(as_text=True)) == ["Continue to payment — \u00a53,000"]


def test_a_closed_event_has_no_primary_action(client, make_event):
    event = make_event(registration_closes_at=utcnow() + timedelta(seconds=2))
    event.registration_closes_at = utcnow() - timedelta(minutes=1)
    html = client.get(f"/events/{event.slug}").get_data(as_text=True)
    assert primary_buttons(html) == []
