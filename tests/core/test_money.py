"""Money as people read and type it: the yen sign of each language (full-width ￥ in Japanese,
half-width ¥ in English) on pages and in e-mails, amounts typed with a Japanese input method, and
machines' formats (the JSON API) that keep minor units and codes."""

from __future__ import annotations

import pytest
from flask import render_template_string
from flask_babel import force_locale

from community.core.money import MoneyError, format_money, parse_amount
from community.events.services import TicketTypeData


@pytest.mark.parametrize(
    ("amount", "currency", "language", "shown"),
    [
        (3000, "JPY", "ja", "\uffe53,000"),
        (3000, "JPY", "en", "\u00a53,000"),
        (0, "JPY", "ja", "\uffe50"),
        (-1500, "JPY", "ja", "-\uffe51,500"),
        (1234, "USD", "en", "$12.34"),
        (1234, "USD", "ja", "$12.34"),
    ],
)
def test_each_language_has_its_own_yen_sign(amount, currency, language, shown):
    assert format_money(amount, currency, language) == shown


def test_an_unknown_language_reads_the_english_form():
    assert format_money(3000, "JPY", "fr") == "\u00a53,000"


def test_a_huge_amount_keeps_its_last_digits():
    # Through a float, 10**17 + 1 cents would lose the cent.
    assert format_money(10**17 + 1, "USD", "en") == "$1,000,000,000,000,000.01"


@pytest.mark.parametrize(
    "typed",
    [
        "3000",
        "3,000",
        "￥3,000",
        "¥3,000",
        "3000円",
        "３０００",
        "３，０００",
        "￥３，０００円",
        "\u30003000",
    ],
)
def test_amounts_typed_with_a_japanese_input_method_are_read(typed):
    assert parse_amount(typed, "JPY") == 3000


@pytest.mark.parametrize(
    ("typed", "currency"),
    [
        ("٣٠٠٠", "JPY"),  # Arabic-Indic digits look like junk to a person checking the price
        ("३०००", "JPY"),
        ("3000円", "USD"),  # another currency's sign is a mistake, not decoration
        ("$30", "JPY"),
        ("-3000", "JPY"),
        ("12.345", "USD"),
        ("", "JPY"),
    ],
)
def test_junk_amounts_are_refused(typed, currency):
    with pytest.raises(MoneyError):
        parse_amount(typed, currency)


def test_a_dollar_amount_may_carry_its_sign():
    assert parse_amount("$12.50", "USD") == 1250


def test_pages_show_the_yen_sign_of_their_language(client, make_event):
    event = make_event(tickets=[TicketTypeData(slug="seat", name_en="Seat", price_minor=3000)])
    english = client.get(f"/events/{event.slug}").get_data(as_text=True)
    assert "\u00a53,000" in english and "\uffe5" not in english
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ja"
    japanese = client.get(f"/events/{event.slug}").get_data(as_text=True)
    assert "\uffe53,000" in japanese and "\u00a5" not in japanese


def test_e_mails_show_the_yen_sign_of_their_readers_language(app):
    # E-mails are rendered in their reader's language (core.mail), whatever the request's.
    with app.test_request_context(headers={"Accept-Language": "en"}):
        for language, sign in (("ja", "\uffe5"), ("en", "\u00a5")):
            with force_locale(language):
                assert render_template_string("{{ 3000|money('JPY') }}") == f"{sign}3,000"


def test_the_api_gives_minor_units_and_codes_not_formatted_amounts(client, make_event):
    event = make_event(tickets=[TicketTypeData(slug="seat", name_en="Seat", price_minor=3000)])
    for language in ("en", "ja"):
        body = client.get(f"/api/v1/events?lang={language}").get_json()
        [listed] = [found for found in body["events"] if found["slug"] == event.slug]
        [ticket] = listed["ticket_types"]
        assert ticket["price_minor"] == 3000 and ticket["currency"] == "JPY"
        assert "\u00a5" not in str(body) and "\uffe5" not in str(body)
