"""Bad input to the giving form gets a clear message in the donor's language (Japanese and
English) and creates no gift, no order and no checkout at Stripe: an amount below the minimum or
above the maximum, one that is not a number, a huge integer, a currency not offered, a campaign
that has ended, has not started or does not exist, and NUL bytes anywhere (a 400 that says so).
Amounts as a Japanese keyboard types them (full-width digits, separators, the yen sign) are
taken. A gift's private pages answer 404 to any link but its own."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import func, select

from community.core.db import db, utcnow
from community.core.money import format_money
from community.donations.models import Donation
from community.payments.models import Order
from tests.donations.conftest import (
    GIFT_DEFAULTS,
    form_token,
    fresh,
    gift_of,
    give,
    manage_url_of,
    page_text,
    payments_of,
)

LANGUAGES = ["en", "ja"]
MINIMUM = "Gifts start at %(amount)s."
MAXIMUM = "A gift online is at most %(amount)s. For a larger one, please write to us."
NOT_A_NUMBER = "Give the amount as a number, such as 5000."


def said(language: str, message: str, **params) -> str:
    """The message as a reader of `language` gets it; in Japanese, it must be translated."""
    with force_locale(language):
        text = gettext(message, **params)
    if language == "ja":
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text), f"not translated: {message!r}"
    return text


def yen(amount_minor: int, language: str) -> str:
    return format_money(amount_minor, "JPY", language)


def nothing_created(stripe) -> bool:
    db.session.rollback()
    donations = db.session.scalar(select(func.count()).select_from(Donation))
    orders = db.session.scalar(select(func.count()).select_from(Order))
    checkouts = stripe.requests_to("POST", "/v1/checkout/sessions")
    return (donations, orders, checkouts) == (0, 0, [])


def errors_shown(response) -> list[str]:
    """The messages the page shows on its fields and in its flashes."""
    page = page_text(response)
    return re.findall(r'<p class="error"[^>]*>(.*?)</p>', page) + re.findall(
        r'<p class="flash flash-error">(.*?)</p>', page
    )


def post_to_donate(browser, **form):
    """The /donate form posted with these values as they are (a campaign's slug included)."""
    data = {**GIFT_DEFAULTS, **form, "csrf_token": form_token(browser, "/donate")}
    return browser.post("/donate", data=data)


# --- amounts -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["５０００", "5,000", "５，０００", "￥5,000", "¥5000", "5000円", " 5000 ", "5,000円"],
)
def test_an_amount_as_a_japanese_keyboard_types_it_is_taken(app, browser, stripe_delivers, typed):
    response = give(browser("ja"), other_amount=typed)

    assert response.status_code == 303, errors_shown(response)
    assert gift_of("donor@example.com").amount_minor == 5000
    [session] = stripe_delivers.sessions()
    assert (session["amount_total"], session["currency"]) == (5000, "jpy")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("form", "message", "amount_minor"),
    [
        ({"other_amount": "499"}, MINIMUM, 500),
        ({"other_amount": "１"}, MINIMUM, 500),
        ({"other_amount": "0"}, MINIMUM, 500),
        ({"other_amount": "1000001"}, MAXIMUM, 1_000_000),
        ({"other_amount": "１，０００，００１"}, MAXIMUM, 1_000_000),
        ({"other_amount": "9" * 40}, MAXIMUM, 1_000_000),  # a huge integer
        ({"amount": "9" * 30, "other_amount": ""}, MAXIMUM, 1_000_000),  # a tampered choice
        ({"other_amount": "five thousand"}, NOT_A_NUMBER, None),
        ({"other_amount": "5000.5"}, NOT_A_NUMBER, None),
        ({"other_amount": "-5000"}, NOT_A_NUMBER, None),
        ({"other_amount": "5e3"}, NOT_A_NUMBER, None),
        ({"other_amount": "٥٠٠٠"}, NOT_A_NUMBER, None),  # digits, but not ours
        ({"amount": "other", "other_amount": ""}, "Choose or give an amount.", None),
        ({"other_amount": "5" * 60}, NOT_A_NUMBER, None),  # longer than any amount
    ],
    ids=[
        "below-minimum",
        "full-width-below-minimum",
        "zero",
        "above-maximum",
        "full-width-above-maximum",
        "huge-integer",
        "huge-suggested-amount",
        "words",
        "decimals",
        "negative",
        "exponent",
        "arabic-indic-digits",
        "nothing",
        "longer-than-any-amount",
    ],
)
def test_an_amount_out_of_bounds_or_not_a_number_is_refused_in_the_donors_language(
    app, browser, stripe_delivers, language, form, message, amount_minor
):
    params = {"amount": yen(amount_minor, language)} if amount_minor else {}

    response = give(browser(language), **form)

    assert response.status_code == 422
    assert said(language, message, **params) in errors_shown(response)
    assert nothing_created(stripe_delivers)


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_amount_too_long_to_be_typed_is_refused(app, browser, stripe_delivers, language):
    response = give(browser(language), other_amount="9" * 5000)

    assert response.status_code == 422
    assert len(errors_shown(response)) == 1
    assert nothing_created(stripe_delivers)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("currency", ["USD", "jpy ", "XXX", "円", "J" * 300])
def test_a_currency_not_offered_is_refused_in_the_donors_language(
    app, browser, stripe_delivers, language, currency
):
    response = give(browser(language), currency=currency)

    assert response.status_code == 422
    assert said(language, "Gifts are not taken in this currency.") in errors_shown(response)
    assert nothing_created(stripe_delivers)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_minimum_in_the_hint_is_the_one_enforced(app, browser, stripe_delivers, language):
    donor = browser(language)
    page = page_text(donor.get("/donate"))
    assert yen(500, language) in page and yen(1_000_000, language) in page

    assert give(donor, other_amount="500").status_code == 303
    assert give(donor, other_amount="1000000").status_code == 303


# --- campaigns -----------------------------------------------------------------------------------


def ended(make_campaign):
    now = utcnow().replace(microsecond=0)
    return make_campaign(starts_at=now - timedelta(days=30), ends_at=now - timedelta(minutes=1))


def not_started(make_campaign):
    now = utcnow().replace(microsecond=0)
    return make_campaign(starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=30))


CAMPAIGN_ENDED = "This campaign has ended: it no longer takes gifts."
CAMPAIGN_NOT_STARTED = "This campaign has not started yet."


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("through", ["its page", "/donate"])
@pytest.mark.parametrize(
    ("make", "message"),
    [(ended, CAMPAIGN_ENDED), (not_started, CAMPAIGN_NOT_STARTED)],
    ids=["ended", "not-started"],
)
def test_a_campaign_that_does_not_run_refuses_the_gift_in_the_donors_language(
    app, browser, make_campaign, stripe_delivers, language, through, make, message
):
    campaign = make(make_campaign)
    donor = browser(language)

    if through == "its page":
        response = give(donor, campaign=campaign.slug)
    else:
        response = post_to_donate(donor, campaign=campaign.slug)

    assert response.status_code == 422
    assert said(language, message) in errors_shown(response)
    assert nothing_created(stripe_delivers)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    "slug", ["no-such-campaign", "CAMPAIGN-1", "ｃａｍｐａｉｇｎ-1", "a" * 500]
)
def test_an_unknown_campaign_is_refused_in_the_donors_language(
    app, browser, make_campaign, stripe_delivers, language, slug
):
    make_campaign()  # campaign-1, running: its choice is on the form
    donor = browser(language)

    response = post_to_donate(donor, campaign=slug)

    assert response.status_code == 404
    assert said(language, "There is no such campaign.") in errors_shown(response)
    assert nothing_created(stripe_delivers)


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_unknown_campaign_is_refused_even_when_no_campaign_runs(
    app, browser, stripe_delivers, language
):
    response = post_to_donate(browser(language), campaign="no-such-campaign")

    assert response.status_code == 404
    assert said(language, "There is no such campaign.") in errors_shown(response)
    assert nothing_created(stripe_delivers)


def test_an_unknown_campaigns_page_is_not_found(app, browser, make_campaign, stripe_delivers):
    archived = make_campaign(status="archived")
    donor = browser()
    token = form_token(donor, "/donate")
    for slug in ("no-such-campaign", archived.slug, "a" * 500, "%E2%80%AE"):
        assert donor.get(f"/donate/campaigns/{slug}").status_code == 404
        posted = donor.post(
            f"/donate/campaigns/{slug}", data={**GIFT_DEFAULTS, "csrf_token": token}
        )
        assert posted.status_code == 404
    assert nothing_created(stripe_delivers)


# --- NUL bytes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    "field", ["other_amount", "amount", "email", "donor_name", "message", "currency", "campaign"]
)
def test_a_nul_byte_in_any_field_is_a_400_in_the_donors_language(
    app, browser, make_campaign, stripe_delivers, language, field
):
    campaign = make_campaign()
    value = {"campaign": campaign.slug, "email": "donor@example.com"}.get(field, "5000")

    form = {"wall": "name", "donor_name": "Nul", field: f"{value}\x00"}

    response = post_to_donate(browser(language), **form)

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "NUL" in page
    assert f'<html lang="{language}">' in page
    assert nothing_created(stripe_delivers)


# --- another donor's private link ----------------------------------------------------------------


@pytest.fixture
def two_gifts(app, browser, pay, mailbox):
    """Two paid gifts (one monthly) from two donors, with their browsers."""
    mine, theirs = browser(), browser()
    pay(give(mine, kind="monthly", other_amount="3000", email="me@example.com"))
    pay(give(theirs, other_amount="8000", email="them@example.com", wall="name", donor_name="T"))
    return (mine, gift_of("me@example.com")), (theirs, gift_of("them@example.com"))


def private_paths(gift, prefix: str) -> list[tuple[str, str]]:
    payment_id = payments_of(gift)[0].payment_id
    year = fresh(gift).confirmed_at.year
    return [
        ("GET", prefix),
        ("GET", f"{prefix}/receipts/{payment_id}"),
        ("GET", f"{prefix}/receipts/{payment_id}.pdf"),
        ("GET", f"{prefix}/statement/{year}"),
        ("GET", f"{prefix}/statement/{year}.pdf"),
        ("POST", f"{prefix}/wall"),
        ("POST", f"{prefix}/amount"),
        ("POST", f"{prefix}/pause"),
        ("POST", f"{prefix}/resume"),
        ("POST", f"{prefix}/cancel"),
        ("POST", f"{prefix}/card"),
    ]


def test_another_donors_private_link_is_not_found(app, two_gifts, stripe_delivers):
    (me, my_gift), (_, their_gift) = two_gifts
    mine, theirs = manage_url_of(my_gift), manage_url_of(their_gift)
    my_key, their_key = mine.rsplit("/", 1)[1], theirs.rsplit("/", 1)[1]
    base = mine.rsplit("/", 2)[0]
    token = form_token(me, mine)
    data = {
        "csrf_token": token,
        "wall": "name_amount",
        "donor_name": "Taken Over",
        "amount": "900000",
    }
    wrong_links = [
        f"{base}/{their_gift.id}/{my_key}",  # their gift, my key
        f"{base}/{my_gift.id}/{their_key}",  # my gift, their key
        f"{base}/{my_gift.id}/{'0' * 32}",
        f"{base}/{my_gift.id}/{my_key.upper()}",
        f"{base}/{my_gift.id}/{my_key[:-1]}",
        f"{base}/{my_gift.id}/%E3%82%AD%E3%83%BC",  # not ASCII
        f"{base}/{my_gift.id}/{my_key * 20}",
        f"{base}/99999999999999999999/{my_key}",
    ]
    before = stripe_delivers.requests_to("POST", "/v1/subscriptions/*")

    for link in wrong_links:
        for method, path in private_paths(their_gift, link):
            answer = me.get(path) if method == "GET" else me.post(path, data=data)
            assert answer.status_code == 404, (method, path, answer.status_code)

    assert (fresh(their_gift).wall, fresh(their_gift).donor_name) == ("name", "T")
    assert (fresh(my_gift).status, fresh(my_gift).amount_minor) == ("active", 3000)
    assert stripe_delivers.requests_to("POST", "/v1/subscriptions/*") == before


def test_my_link_does_not_open_another_donors_receipt(app, two_gifts):
    (me, my_gift), (_, their_gift) = two_gifts
    their_payment = payments_of(their_gift)[0].payment_id

    for suffix in ("", ".pdf"):
        answer = me.get(f"{manage_url_of(my_gift)}/receipts/{their_payment}{suffix}")
        assert answer.status_code == 404
    assert me.get(f"{manage_url_of(my_gift)}/receipts/99999999999999999999").status_code == 404
