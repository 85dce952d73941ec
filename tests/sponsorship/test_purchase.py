"""Buying a sponsorship: against an invoice (reserved, paid by a recorded bank transfer, or lapsed
after its due date; reminded before it), by card end to end through the real pages, the real
Stripe SDK and the fake Stripe server (paid, expired, refunded), renewal reminders and the
one-step renewal, and bad input through the buy form (a 4xx with a message, nothing changed)."""

from __future__ import annotations

import html
import io
import re
import urllib.error
import urllib.parse
import urllib.request
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask_babel import force_locale, gettext
from PIL import Image
from sqlalchemy import func, select

from community.core.db import db
from community.core.errors import Conflict
from community.payments import services as payments
from community.payments.models import Order, Payment
from community.sponsorship import jobs, services, years
from community.sponsorship.logos import check_logo
from community.sponsorship.models import Sponsorship, TierYear
from tests.conftest import PASSWORD, IsolatedClient, csrf_token_from, link_in, submit, text_of
from tests.payments import conftest as payments_fixtures
from tests.payments.fake_stripe import flask_client_sender
from tests.sponsorship.conftest import contact_of

TOKYO = ZoneInfo("Asia/Tokyo")
# A day in the 2030 sponsorship year (April 2030 to March 2031): 2030 and 2031 are on sale.
MOMENT = datetime(2030, 5, 10, 10, 0, tzinfo=TOKYO)
TODAY = date(2030, 5, 10)
DUE = TODAY + timedelta(days=14)
YEAR_ENDS = date(2031, 3, 31)
# The default tier: 100,000 yen before 10 % consumption tax.
AMOUNT = 110_000
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")

# The payments tests' fake Stripe (one server a session, reset for each test).
fake_stripe_server = payments_fixtures.fake_stripe_server
fake_stripe = payments_fixtures.fake_stripe

SUBJECT_INVOICED = "Your sponsorship is reserved: the invoice"
SUBJECT_PAID = "Thank you: your sponsorship is active"
SUBJECT_LAPSED = "Your invoice was not paid and the sponsorship's place is released"
SUBJECT_REMINDER = "Reminder: your sponsorship invoice is due soon"
SUBJECT_RENEWAL = "Your sponsorship ends soon: renew it in one step"
SUBJECT_EXPIRED = "Your sponsorship was not paid and its place is released"
SUBJECT_CANCELLED = "Your sponsorship is cancelled"
SOLD_OUT = "This tier has no place left for that year. Choose another tier or year."
ALREADY_HOLDS = (
    "This company already has a sponsorship for that year: see it on the company's page."
)


@pytest.fixture
def app(make_app, fake_stripe):
    """The real Stripe gateway, pointed at the fake Stripe (as the payments tests' app)."""
    app = make_app(
        STRIPE_SECRET_KEY="sk_test_fake",
        STRIPE_API_BASE=fake_stripe.url,
        STRIPE_WEBHOOK_SECRET=fake_stripe.webhook_secret,
    )
    with app.app_context():
        yield app


@pytest.fixture
def frozen():
    """Time stands still on MOMENT (move it with `frozen.move_to(...)`)."""
    with time_machine.travel(MOMENT, tick=False) as traveller:
        yield traveller


@pytest.fixture
def stripe_delivers(app, client, fake_stripe):
    """The fake Stripe's signed webhooks reach the app through a browser of their own (not the
    contact's, whose cookies they must not carry)."""
    app.test_client_class = IsolatedClient
    webhooks = app.test_client()
    fake_stripe.webhook_sender = flask_client_sender(webhooks)
    return fake_stripe


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=TOKYO)


def signed_in(app, user):
    """Another browser, signed in as `user` (the `client` fixture may be an administrator's)."""
    app.test_client_class = IsolatedClient
    browser = app.test_client()
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = submit(browser, "/account/login", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    return browser


def fresh(sponsorship) -> Sponsorship:
    db.session.rollback()
    return db.session.get(Sponsorship, sponsorship.id, populate_existing=True)


def order_of(sponsorship) -> Order:
    db.session.rollback()
    return db.session.get(Order, fresh(sponsorship).order_id, populate_existing=True)


def taken(tier, year: int) -> int:
    db.session.rollback()
    return db.session.scalar(
        select(TierYear.taken).where(TierYear.tier_id == tier.id, TierYear.year == year)
    )


def places_left(tier, year: int):
    db.session.rollback()
    return services.places_left([tier.id], year)[tier.id]


def subjects(mailbox, user) -> list[str]:
    return [message["Subject"] for message in mailbox.to(user.email)]


def in_japanese(message) -> str:
    """A message (lazy, or an English msgid) as a Japanese reader gets it."""
    with force_locale("ja"):
        return gettext(message) if isinstance(message, str) else str(message)


def record_transfer(sponsorship, day: date | None = None):
    return payments.record_bank_transfer(
        fresh(sponsorship).order_id,
        amount_minor=AMOUNT,
        received_on=day or years.today(),
        recorded_by_id=None,
    )


def buy_form(browser, partner, tier, *, year: int, method: str = "invoice", changes=None):
    """The buy form as a browser submits it (GET for its token, then POST)."""
    data = {"partner": partner.id, "tier": tier.slug, "year": year, "method": method}
    return submit(browser, "/partners/buy", {**data, **(changes or {})})


def page_text(response) -> str:
    """The page's HTML with its character references read (an apostrophe is &#39; in it)."""
    return html.unescape(response.get_data(as_text=True))


def field_errors(html: str) -> dict[str, str]:
    return dict(re.findall(r'<p class="error" id="([\w-]+)-error">([^<]*)</p>', html))


def holding(partner=None) -> int:
    db.session.rollback()
    query = select(func.count()).select_from(Sponsorship)
    query = query.where(Sponsorship.status.in_(("awaiting_payment", "invoiced", "paid")))
    if partner is not None:
        query = query.where(Sponsorship.partner_id == partner.id)
    return db.session.scalar(query)


def state() -> tuple:
    """What a refused purchase must leave as it was."""
    db.session.rollback()
    return (
        db.session.scalar(select(func.count()).select_from(Sponsorship)),
        db.session.scalar(select(func.count()).select_from(Order)),
        db.session.scalar(select(func.coalesce(func.sum(TierYear.taken), 0))),
        tuple(db.session.scalars(select(Sponsorship.status).order_by(Sponsorship.id))),
    )


def a_logo() -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (120, 60), "navy").save(output, "PNG")
    return output.getvalue()


# --- against an invoice --------------------------------------------------------------------------


def test_an_invoice_purchase_reserves_a_place_issues_the_invoice_and_mails_each_contact(
    frozen, app, client, make_tier, make_partner, make_user, mailbox
):
    tier = make_tier(places=2)
    partner = make_partner()
    buyer = contact_of(partner)
    colleague = make_user(name="Second Contact", email="second@example.com")
    services.add_contact(partner.id, buyer, colleague.email)
    assert places_left(tier, 2030) == 2
    browser = signed_in(app, buyer)

    response = buy_form(browser, partner, tier, year=2030)

    assert response.status_code == 302, response.get_data(as_text=True)
    sponsorship = db.session.scalar(select(Sponsorship))
    assert response.headers["Location"].endswith(f"/partners/sponsorships/{sponsorship.id}")
    assert (sponsorship.status, sponsorship.method, sponsorship.year) == (
        "invoiced",
        "invoice",
        2030,
    )
    assert (sponsorship.starts_on, sponsorship.ends_on) == (TODAY, YEAR_ENDS)
    assert sponsorship.due_on == DUE
    assert sponsorship.bought_by_id == buyer.id
    assert taken(tier, 2030) == 1
    assert places_left(tier, 2030) == 1
    order = order_of(sponsorship)
    assert (order.purpose, order.reference) == ("sponsorship", str(sponsorship.id))
    assert order.amount_minor == AMOUNT
    assert re.fullmatch(r"INV-2030-\d{4,}", order.invoice_number)
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert order.invoice_number in page
    assert "Invoiced, due" in page
    for contact in (buyer, colleague):
        [message] = mailbox.to(contact.email)
        assert message["Subject"] == SUBJECT_INVOICED
        body = text_of(message)
        assert order.invoice_number in body
        assert "110,000" in body
        assert f"/partners/sponsorships/{sponsorship.id}" in body


def test_the_invoice_e_mail_is_in_japanese_for_a_japanese_contact(
    frozen, app, make_tier, make_partner, make_user, buy, mailbox
):
    japanese = make_user(name="山田 花子", email="hanako@example.com", locale="ja")
    partner = make_partner(contact=japanese)
    english = make_user(name="Second Contact", email="second@example.com")
    services.add_contact(partner.id, japanese, english.email)

    sponsorship = buy(partner, make_tier())

    order = order_of(sponsorship)
    [in_english] = mailbox.to(english.email)
    assert in_english["Subject"] == SUBJECT_INVOICED
    [message] = mailbox.to(japanese.email)
    assert order.invoice_number in text_of(message)
    subject = in_japanese(services.SUBJECTS["invoiced"])
    assert JAPANESE.search(subject), f"the subject has no Japanese translation: {subject!r}"
    assert message["Subject"] == subject
    body = text_of(message)
    assert "Please transfer" not in body, "the Japanese contact's e-mail is in English"
    assert JAPANESE.search(body.replace("山田 花子", "").replace(partner.name_ja, ""))


def test_a_recorded_bank_transfer_makes_the_sponsorship_paid_active_and_on_the_wall(
    frozen, app, client, admin, make_tier, make_partner, buy, mailbox
):
    tier = make_tier()
    partner = make_partner(name_en="Kaisha Partners K.K.")
    sponsorship = buy(partner, tier)
    order = order_of(sponsorship)
    assert "Kaisha Partners K.K." not in client.get("/sponsors").get_data(as_text=True)
    mailbox.clear()

    response = submit(
        client,
        f"/organiser/orders/{order.id}/bank-transfer",
        {"amount": "110,000", "received_on": TODAY.isoformat(), "reference": "カイシャ"},
    )

    assert response.status_code == 303, response.get_data(as_text=True)
    paid = fresh(sponsorship)
    assert paid.status == "paid"
    assert paid.paid_at is not None
    assert paid.is_active_on(TODAY)
    assert order_of(sponsorship).status == "paid"
    assert taken(tier, 2030) == 1  # still held, now paid
    assert services.wall() == [(paid.tier, [paid.partner])]
    wall = client.get("/sponsors").get_data(as_text=True)
    assert "Kaisha Partners K.K." in wall
    assert subjects(mailbox, contact_of(partner)) == [SUBJECT_PAID]
    assert "110,000" in text_of(mailbox.last_to(contact_of(partner).email))
    page = signed_in(app, contact_of(partner)).get(f"/partners/sponsorships/{sponsorship.id}")
    assert "Active" in page.get_data(as_text=True)


def test_an_unpaid_invoice_lapses_after_its_due_date_freeing_the_place_with_an_e_mail(
    frozen, app, make_tier, make_partner, buy, mailbox
):
    tier = make_tier(places=1)
    partner = make_partner()
    sponsorship = buy(partner, tier)
    assert places_left(tier, 2030) == 0
    mailbox.clear()

    frozen.move_to(at(DUE, 23))
    assert jobs.lapse_unpaid_invoices() == 0  # the due day itself is still in time
    assert fresh(sponsorship).status == "invoiced"

    frozen.move_to(at(DUE + timedelta(days=1), 0))
    assert jobs.lapse_unpaid_invoices() == 1
    assert jobs.lapse_unpaid_invoices() == 0

    lapsed = fresh(sponsorship)
    assert lapsed.status == "lapsed"
    assert lapsed.closed_at is not None
    assert taken(tier, 2030) == 0
    assert places_left(tier, 2030) == 1
    assert subjects(mailbox, contact_of(partner)) == [SUBJECT_LAPSED]
    assert order_of(sponsorship).invoice_number in text_of(mailbox.to(contact_of(partner).email)[0])
    # The freed place can be bought by another company.
    other = make_partner()
    assert buy(other, tier).status == "invoiced"


def test_a_transfer_recorded_after_the_lapse_is_refused_and_nothing_changes(
    frozen, app, client, admin, make_tier, make_partner, buy, mailbox
):
    tier = make_tier(places=1)
    partner = make_partner()
    sponsorship = buy(partner, tier)
    frozen.move_to(at(DUE + timedelta(days=1)))
    assert jobs.lapse_unpaid_invoices() == 1
    mailbox.clear()
    before = state()
    order_before = order_of(sponsorship).status

    with pytest.raises(Conflict):
        record_transfer(sponsorship)
    response = submit(
        client,
        f"/organiser/orders/{fresh(sponsorship).order_id}/bank-transfer",
        {"amount": "110,000", "received_on": years.today().isoformat(), "reference": "late"},
    )

    assert response.status_code == 409, response.get_data(as_text=True)
    assert "can no longer be given" in response.get_data(as_text=True)
    assert state() == before
    assert fresh(sponsorship).status == "lapsed"
    assert order_of(sponsorship).status == order_before
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
    assert taken(tier, 2030) == 0
    assert mailbox.to(contact_of(partner).email) == []


def test_the_payment_reminder_goes_three_days_before_the_due_date_once_even_if_run_twice(
    frozen, app, make_tier, make_partner, make_user, buy, mailbox
):
    partner = make_partner()
    colleague = make_user(email="second@example.com")
    services.add_contact(partner.id, contact_of(partner), colleague.email)
    sponsorship = buy(partner, make_tier())
    mailbox.clear()

    frozen.move_to(at(DUE - timedelta(days=4)))
    assert jobs.remind_unpaid_invoices() == 0
    frozen.move_to(at(DUE - timedelta(days=3)))
    assert jobs.remind_unpaid_invoices() == 1
    assert jobs.remind_unpaid_invoices() == 0
    frozen.move_to(at(DUE))
    assert jobs.remind_unpaid_invoices() == 0

    for contact in (contact_of(partner), colleague):
        assert subjects(mailbox, contact) == [SUBJECT_REMINDER]
    assert order_of(sponsorship).invoice_number in text_of(mailbox.to(colleague.email)[0])


def test_a_paid_invoice_is_not_reminded(frozen, app, make_tier, make_partner, buy, mailbox):
    sponsorship = buy(make_partner(), make_tier())
    record_transfer(sponsorship)
    frozen.move_to(at(DUE - timedelta(days=2)))
    assert jobs.remind_unpaid_invoices() == 0
    frozen.move_to(at(DUE + timedelta(days=2)))
    assert jobs.lapse_unpaid_invoices() == 0
    assert fresh(sponsorship).status == "paid"


# --- renewals ------------------------------------------------------------------------------------


def paid_sponsorship(buy, partner, tier, **kwargs):
    sponsorship = buy(partner, tier, **kwargs)
    record_transfer(sponsorship)
    return fresh(sponsorship)


def test_renewal_reminders_go_30_and_7_days_before_the_end_once_each_with_a_renew_link(
    frozen, app, make_tier, make_partner, buy, mailbox
):
    partner = make_partner()
    sponsorship = paid_sponsorship(buy, partner, make_tier())
    mailbox.clear()
    contact = contact_of(partner)

    frozen.move_to(at(YEAR_ENDS - timedelta(days=31)))
    assert jobs.send_renewal_reminders() == 0
    frozen.move_to(at(YEAR_ENDS - timedelta(days=30)))
    assert jobs.send_renewal_reminders() == 1
    assert jobs.send_renewal_reminders() == 0
    frozen.move_to(at(YEAR_ENDS - timedelta(days=8)))
    assert jobs.send_renewal_reminders() == 0
    frozen.move_to(at(YEAR_ENDS - timedelta(days=7)))
    assert jobs.send_renewal_reminders() == 1
    assert jobs.send_renewal_reminders() == 0
    frozen.move_to(at(YEAR_ENDS))
    assert jobs.send_renewal_reminders() == 0

    assert subjects(mailbox, contact) == [SUBJECT_RENEWAL, SUBJECT_RENEWAL]
    for message in mailbox.to(contact.email):
        link = link_in(message, "/renew")
        assert urllib.parse.urlsplit(link).path == f"/partners/sponsorships/{sponsorship.id}/renew"


def test_a_sponsorship_bought_a_week_before_its_end_gets_one_renewal_reminder(
    frozen, app, make_tier, make_partner, buy, mailbox
):
    frozen.move_to(at(YEAR_ENDS - timedelta(days=5)))
    partner = make_partner()
    paid_sponsorship(buy, partner, make_tier(), year=2030)
    mailbox.clear()
    assert jobs.send_renewal_reminders() == 1
    assert jobs.send_renewal_reminders() == 0
    assert subjects(mailbox, contact_of(partner)) == [SUBJECT_RENEWAL]


def test_no_renewal_reminder_once_the_partner_has_renewed(
    frozen, app, make_tier, make_partner, buy, mailbox
):
    partner = make_partner()
    sponsorship = paid_sponsorship(buy, partner, make_tier())
    renewed = services.renew_sponsorship(sponsorship.id, contact_of(partner))
    assert renewed.year == 2031
    mailbox.clear()

    for days in (30, 7):
        frozen.move_to(at(YEAR_ENDS - timedelta(days=days)))
        assert jobs.send_renewal_reminders() == 0
    assert subjects(mailbox, contact_of(partner)) == []


def test_the_renew_page_renews_in_one_step_for_the_next_year_with_the_same_tier_and_method(
    frozen, app, make_tier, make_partner, buy, mailbox
):
    tier = make_tier(places=3)
    partner = make_partner()
    sponsorship = paid_sponsorship(buy, partner, tier)
    frozen.move_to(at(YEAR_ENDS - timedelta(days=30)))
    assert jobs.send_renewal_reminders() == 1
    link = link_in(mailbox.last_to(contact_of(partner).email), "/renew")
    path = urllib.parse.urlsplit(link).path
    browser = signed_in(app, contact_of(partner))
    mailbox.clear()

    page = browser.get(path)
    assert page.status_code == 200
    assert "Gold" in page.get_data(as_text=True)
    response = browser.post(path, data={"csrf_token": csrf_token_from(page.get_data(as_text=True))})

    assert response.status_code == 302, response.get_data(as_text=True)
    renewed = db.session.scalar(select(Sponsorship).where(Sponsorship.id != sponsorship.id))
    assert response.headers["Location"].endswith(f"/partners/sponsorships/{renewed.id}")
    assert renewed.renewal_of_id == sponsorship.id
    assert (renewed.tier_id, renewed.method, renewed.year) == (tier.id, "invoice", 2031)
    assert renewed.status == "invoiced"
    assert (renewed.starts_on, renewed.ends_on) == (date(2031, 4, 1), date(2032, 3, 31))
    assert order_of(renewed).invoice_number is not None
    assert taken(tier, 2031) == 1
    assert taken(tier, 2030) == 1
    assert subjects(mailbox, contact_of(partner)) == [SUBJECT_INVOICED]
    # The same step twice is refused: the company holds that year already.
    again = browser.post(path, data={"csrf_token": csrf_token_from(page.get_data(as_text=True))})
    assert again.status_code == 422
    assert ALREADY_HOLDS in page_text(again)
    assert holding(partner) == 2


def test_only_a_paid_sponsorship_can_be_renewed(frozen, app, make_tier, make_partner, buy):
    partner = make_partner()
    sponsorship = buy(partner, make_tier())
    browser = signed_in(app, contact_of(partner))
    path = f"/partners/sponsorships/{sponsorship.id}/renew"
    page = browser.get(path).get_data(as_text=True)
    response = browser.post(path, data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 422
    assert "Only a paid sponsorship can be renewed." in response.get_data(as_text=True)
    assert holding(partner) == 1


def test_someone_elses_sponsorship_cannot_be_seen_or_renewed(
    frozen, app, make_tier, make_partner, buy
):
    sponsorship = paid_sponsorship(buy, make_partner(), make_tier())
    stranger = signed_in(app, contact_of(make_partner()))
    assert stranger.get(f"/partners/sponsorships/{sponsorship.id}").status_code == 403
    assert stranger.get(f"/partners/sponsorships/{sponsorship.id}/renew").status_code == 403
    assert stranger.get("/partners/sponsorships/999999").status_code == 404
    assert holding() == 1


# --- by card, end to end -------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def pay_at_stripe(checkout_url: str, action: str = "pay") -> str:
    """The buyer presses Pay on the fake Stripe's hosted page; where it sends them back."""
    db.session.rollback()  # no read transaction of the test's in the webhook's way
    opener = urllib.request.build_opener(_NoRedirect)
    body = urllib.parse.urlencode({"action": action}).encode()
    try:
        opener.open(urllib.request.Request(checkout_url, data=body, method="POST"), timeout=30)
    except urllib.error.HTTPError as answer:
        assert answer.code == 303, answer.read()
        return answer.headers["Location"]
    raise AssertionError("the fake Stripe did not redirect")


def session_of(location: str) -> str:
    return re.search(r"/pay/(cs_[A-Za-z0-9_]+)", location).group(1)


@pytest.fixture
def card_purchase(app, client, make_tier, make_partner, fake_stripe):
    """card_purchase(places=1) → (tier, partner, browser, sponsorship, checkout URL): a contact
    signed in has bought by card on /partners/buy and been sent to the fake Stripe."""

    def make(places: int = 1, **partner_fields):
        tier = make_tier(places=places)
        partner = make_partner(**partner_fields)
        browser = signed_in(app, contact_of(partner))
        year = years.year_of(years.today())
        response = buy_form(browser, partner, tier, year=year, method="card")
        assert response.status_code == 303, response.get_data(as_text=True)
        location = response.headers["Location"]
        assert location.startswith(f"{fake_stripe.url}/pay/cs_")
        sponsorship = db.session.scalar(select(Sponsorship).where(Sponsorship.tier_id == tier.id))
        return tier, partner, browser, sponsorship, location

    return make


def test_a_card_purchase_paid_at_stripe_makes_the_sponsorship_paid_with_its_logo_on_the_wall(
    app, card_purchase, stripe_delivers, mailbox
):
    tier, partner, browser, sponsorship, checkout = card_purchase(name_en="Card Paying K.K.")
    services.set_logo(partner.id, contact_of(partner), *_checked_logo())
    year = years.year_of(years.today())
    assert fresh(sponsorship).status == "awaiting_payment"
    assert fresh(sponsorship).due_on is None
    assert taken(tier, year) == 1
    sent = stripe_delivers.last_request("POST", "/v1/checkout/sessions")
    assert sent.params["metadata"]["purpose"] == "sponsorship"
    assert sent.params["metadata"]["reference"] == str(sponsorship.id)
    item = sent.params["line_items"][0]
    assert item["price_data"]["unit_amount"] == str(AMOUNT)
    assert item["price_data"]["currency"] == "jpy"

    back = pay_at_stripe(checkout)

    assert urllib.parse.urlsplit(back).path == f"/partners/sponsorships/{sponsorship.id}"
    assert urllib.parse.urlsplit(back).query == "paid=1"
    deliveries = [d for d in stripe_delivers.deliveries if d.type == "checkout.session.completed"]
    assert [d.status for d in deliveries] == [200]
    paid = fresh(sponsorship)
    assert paid.status == "paid"
    assert order_of(sponsorship).status == "paid"
    assert taken(tier, year) == 1
    wall = browser.get("/sponsors").get_data(as_text=True)
    assert f'src="/partners/logos/{partner.id}-' in wall
    assert 'alt="Card Paying K.K."' in wall
    page = browser.get(urllib.parse.urlsplit(back).path + "?paid=1").get_data(as_text=True)
    assert "Active" in page
    assert "Pay by card" not in page
    assert subjects(mailbox, contact_of(partner)) == [SUBJECT_PAID]


def _checked_logo():
    checked = check_logo(a_logo(), "logo.png")
    return checked.content, checked.media_type


def test_coming_back_from_stripe_before_the_webhook_shows_the_sponsorship_paid(
    app, card_purchase, stripe_delivers, mailbox
):
    _tier, partner, browser, sponsorship, checkout = card_purchase()
    path = f"/partners/sponsorships/{sponsorship.id}"
    assert "Awaiting card payment" in browser.get(path + "?paid=1").get_data(as_text=True)
    assert fresh(sponsorship).status == "awaiting_payment"  # the browser's word proves nothing
    stripe_delivers.hold_deliveries()  # the webhook is late

    back = pay_at_stripe(checkout)
    page = browser.get(urllib.parse.urlsplit(back).path + "?paid=1").get_data(as_text=True)

    assert fresh(sponsorship).status == "paid"
    assert "Active" in page
    [late] = stripe_delivers.release()
    assert late.status == 200
    assert fresh(sponsorship).status == "paid"
    assert subjects(mailbox, contact_of(partner)) == [SUBJECT_PAID]


def test_an_expired_checkout_frees_the_place(app, card_purchase, stripe_delivers, mailbox):
    tier, partner, _browser, sponsorship, checkout = card_purchase(places=1)
    year = years.year_of(years.today())
    assert places_left(tier, year) == 0

    [delivery] = stripe_delivers.expire(session_of(checkout))

    assert delivery.status == 200
    assert fresh(sponsorship).status == "expired"
    assert taken(tier, year) == 0
    assert places_left(tier, year) == 1
    assert subjects(mailbox, contact_of(partner)) == [SUBJECT_EXPIRED]
    # The company may start again, and gets the place.
    again = buy_form(_browser, partner, tier, year=year, method="invoice")
    assert again.status_code == 302, again.get_data(as_text=True)
    assert holding(partner) == 1


def test_a_card_hold_stripe_never_expired_is_closed_at_stripe_and_its_place_freed(
    app, card_purchase, stripe_delivers, mailbox
):
    tier, partner, _browser, sponsorship, checkout = card_purchase(places=1)
    year = years.year_of(years.today())
    created = fresh(sponsorship).created_at
    with time_machine.travel(created + services.CARD_HOLD + timedelta(minutes=5), tick=False):
        assert jobs.release_overdue_card_holds() == 0  # within the grace
    with time_machine.travel(created + services.CARD_HOLD + timedelta(minutes=11), tick=False):
        assert jobs.release_overdue_card_holds() == 1
        assert jobs.release_overdue_card_holds() == 0
    assert stripe_delivers.requests_to(
        "POST", f"/v1/checkout/sessions/{session_of(checkout)}/expire"
    )
    assert fresh(sponsorship).status == "expired"
    assert taken(tier, year) == 0
    stripe_delivers.flush()  # Stripe's word of the expiry comes after: nothing more happens
    assert fresh(sponsorship).status == "expired"
    assert subjects(mailbox, contact_of(partner)) == [SUBJECT_EXPIRED]


def test_a_full_refund_cancels_the_sponsorship_frees_the_place_and_takes_it_off_the_wall(
    app, card_purchase, stripe_delivers, mailbox
):
    tier, partner, browser, sponsorship, checkout = card_purchase(places=1, name_en="Refunded K.K.")
    year = years.year_of(years.today())
    pay_at_stripe(checkout)
    assert fresh(sponsorship).status == "paid"
    assert "Refunded K.K." in browser.get("/sponsors").get_data(as_text=True)
    mailbox.clear()

    payments.refund_order(order_of(sponsorship), reason="changed their mind", tell_buyer=False)
    deliveries = stripe_delivers.flush()

    assert [d.status for d in deliveries if d.type == "charge.refunded"] == [200]
    assert order_of(sponsorship).status == "refunded"
    assert fresh(sponsorship).status == "cancelled"
    assert taken(tier, year) == 0
    assert places_left(tier, year) == 1
    assert "Refunded K.K." not in browser.get("/sponsors").get_data(as_text=True)
    assert SUBJECT_CANCELLED in subjects(mailbox, contact_of(partner))


def test_pay_by_card_on_the_sponsorship_page_reuses_the_same_checkout(
    app,
    card_purchase,
    fake_stripe,
):
    _tier, _partner, browser, sponsorship, checkout = card_purchase()
    path = f"/partners/sponsorships/{sponsorship.id}"
    page = browser.get(path).get_data(as_text=True)
    assert "Pay by card" in page
    response = browser.post(path + "/pay", data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 303
    assert response.headers["Location"] == checkout
    assert len(fake_stripe.requests_to("POST", "/v1/checkout/sessions")) == 1


def test_when_stripe_cannot_open_the_checkout_the_place_is_released_with_a_message(
    app,
    make_tier,
    make_partner,
    fake_stripe,
    mailbox,
):
    tier = make_tier(places=1)
    partner = make_partner()
    browser = signed_in(app, contact_of(partner))
    year = years.year_of(years.today())
    fake_stripe.fail_next("POST", "/v1/checkout/sessions", status=500, times=5)

    response = buy_form(browser, partner, tier, year=year, method="card")

    assert response.status_code == 302
    sponsorship = db.session.scalar(select(Sponsorship))
    assert response.headers["Location"].endswith(f"/partners/sponsorships/{sponsorship.id}")
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "The payment page could not be opened." in page
    assert fresh(sponsorship).status == "expired"
    assert taken(tier, year) == 0
    assert holding(partner) == 0


def test_a_payment_made_at_the_last_moment_wins_over_the_hold_release(
    app, card_purchase, stripe_delivers, mailbox
):
    tier, partner, _browser, sponsorship, checkout = card_purchase(places=1)
    year = years.year_of(years.today())
    stripe_delivers.hold_deliveries()  # the webhook is late
    stripe_delivers.complete(session_of(checkout))
    created = fresh(sponsorship).created_at
    with time_machine.travel(created + services.CARD_HOLD + timedelta(minutes=11), tick=False):
        assert jobs.release_overdue_card_holds() == 0
    assert fresh(sponsorship).status == "paid"
    assert taken(tier, year) == 1
    [late] = stripe_delivers.release()
    assert late.status == 200
    assert fresh(sponsorship).status == "paid"
    assert subjects(mailbox, contact_of(partner)) == [SUBJECT_PAID]


def test_renewing_a_card_sponsorship_sends_the_contact_to_pay_the_next_year_by_card(
    app, card_purchase, stripe_delivers
):
    tier, _partner, browser, sponsorship, checkout = card_purchase(places=2)
    pay_at_stripe(checkout)
    path = f"/partners/sponsorships/{sponsorship.id}/renew"
    page = browser.get(path).get_data(as_text=True)
    assert "by card" in page

    response = browser.post(path, data={"csrf_token": csrf_token_from(page)})

    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"].startswith(f"{stripe_delivers.url}/pay/cs_")
    renewed = db.session.scalar(select(Sponsorship).where(Sponsorship.id != sponsorship.id))
    assert (renewed.status, renewed.method, renewed.year) == (
        "awaiting_payment",
        "card",
        sponsorship.year + 1,
    )
    assert renewed.renewal_of_id == sponsorship.id
    assert taken(tier, sponsorship.year + 1) == 1
    pay_at_stripe(response.headers["Location"])
    assert fresh(renewed).status == "paid"


def test_a_partial_refund_keeps_the_sponsorship(app, card_purchase, stripe_delivers):
    tier, _partner, _browser, sponsorship, checkout = card_purchase()
    pay_at_stripe(checkout)
    payments.refund_order(order_of(sponsorship), 10_000, reason="discount", tell_buyer=False)
    stripe_delivers.flush()
    assert order_of(sponsorship).status == "partially_refunded"
    assert fresh(sponsorship).status == "paid"
    assert taken(tier, years.year_of(years.today())) == 1


@pytest.mark.parametrize(
    ("price", "includes_tax", "rate", "due"),
    [(100_000, False, 10, 110_000), (99_999, False, 10, 109_998), (110_000, True, 10, 110_000),
     (50_000, False, 8, 54_000), (50_000, False, 0, 50_000)],
)  # fmt: skip
def test_the_invoice_is_for_the_price_with_the_consumption_tax_added_once_rounded_down(
    frozen, app, make_tier, make_partner, buy, price, includes_tax, rate, due
):
    tier = make_tier(price_minor=price, price_includes_tax=includes_tax, tax_rate=rate)
    sponsorship = buy(make_partner(), tier)
    assert order_of(sponsorship).amount_minor == due
    stored = fresh(sponsorship)
    assert (stored.price_minor, stored.price_includes_tax, stored.tax_rate) == (
        price,
        includes_tax,
        rate,
    )


def test_a_tiers_new_price_does_not_change_what_was_bought(
    frozen, app, make_tier, make_partner, buy
):
    from dataclasses import fields

    tier = make_tier()
    sponsorship = buy(make_partner(), tier)
    values = {field.name: getattr(tier, field.name) for field in fields(services.TierFields)}
    services.update_tier(tier.id, services.TierFields(**{**values, "price_minor": 300_000}))
    assert fresh(sponsorship).price_minor == 100_000
    assert order_of(sponsorship).amount_minor == AMOUNT
    assert buy(make_partner(), tier).price_minor == 300_000


# --- bad input through the buy form --------------------------------------------------------------


@pytest.fixture
def buyer(frozen, app, make_tier, make_partner):
    """(partner, tier, browser): a contact signed in, on the buy form, with a tier on sale."""
    partner = make_partner()
    tier = make_tier(places=2)
    return partner, tier, signed_in(app, contact_of(partner))


def test_a_sold_out_tier_is_refused_with_a_message_and_nothing_changes(
    buyer, make_tier, make_partner, buy
):
    partner, _tier, browser = buyer
    tier = make_tier(places=1)
    buy(make_partner(), tier)
    before = state()

    response = buy_form(browser, partner, tier, year=2030)

    assert response.status_code == 409, response.get_data(as_text=True)
    assert SOLD_OUT in page_text(response)
    assert state() == before
    page = browser.get("/partners/buy").get_data(as_text=True)
    assert "no place left" in page


def test_a_sold_out_tier_is_refused_in_japanese_for_a_japanese_contact(
    frozen, app, make_tier, make_partner, make_user, buy
):
    japanese = make_user(name="山田 花子", email="hanako@example.com", locale="ja")
    partner = make_partner(contact=japanese)
    tier = make_tier(places=1)
    buy(make_partner(), tier)
    browser = signed_in(app, japanese)
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ja"
    before = state()

    response = buy_form(browser, partner, tier, year=2030)

    assert response.status_code == 409
    assert state() == before
    shown = page_text(response)
    message = in_japanese(services.SOLD_OUT)
    assert JAPANESE.search(message), f"no Japanese translation of {message!r}"
    assert message in shown
    assert SOLD_OUT not in shown
    assert "no place left" not in browser.get("/partners/buy").get_data(as_text=True)


def test_a_second_purchase_for_the_same_year_is_refused_with_a_clear_message(buyer, make_tier):
    partner, tier, browser = buyer
    assert buy_form(browser, partner, tier, year=2030).status_code == 302
    before = state()

    response = buy_form(browser, partner, make_tier(places=2), year=2030)

    assert response.status_code == 409, response.get_data(as_text=True)
    assert ALREADY_HOLDS in page_text(response)
    assert state() == before
    # The next year is another matter.
    assert buy_form(browser, partner, tier, year=2031).status_code == 302
    assert holding(partner) == 2


def test_a_second_purchase_of_the_same_tier_and_year_is_refused(buyer):
    partner, tier, browser = buyer
    assert buy_form(browser, partner, tier, year=2030, method="card").status_code == 303
    before = state()
    response = buy_form(browser, partner, tier, year=2030)
    assert response.status_code == 409
    assert ALREADY_HOLDS in page_text(response)
    assert state() == before
    assert taken(tier, 2030) == 1


def test_a_retired_tier_is_refused_with_a_message(buyer, make_tier):
    partner, _tier, browser = buyer
    tier = make_tier()
    page = browser.get("/partners/buy")  # the form as it was before the tier was retired
    services.retire_tier(tier.id)
    before = state()
    response = browser.post(
        "/partners/buy",
        data={
            "csrf_token": csrf_token_from(page.get_data(as_text=True)),
            "partner": partner.id,
            "tier": tier.slug,
            "year": 2030,
            "method": "invoice",
        },
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    assert field_errors(response.get_data(as_text=True)).get("tier")
    assert state() == before


def test_a_tier_retired_while_the_form_was_open_says_it_is_no_longer_offered(buyer, make_tier):
    # The service's own message (RETIRED), not the form's "Not a valid choice.": the person
    # chose it from the page a moment ago and deserves to know why it is gone.
    partner, _tier, browser = buyer
    tier = make_tier()
    page = browser.get("/partners/buy").get_data(as_text=True)
    services.retire_tier(tier.id)
    response = browser.post(
        "/partners/buy",
        data={
            "csrf_token": csrf_token_from(page),
            "partner": partner.id,
            "tier": tier.slug,
            "year": 2030,
            "method": "invoice",
        },
    )
    assert response.status_code == 422
    assert field_errors(page_text(response)).get("tier") == str(services.RETIRED)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"tier": "no-such-tier"}, "tier"),
        ({"tier": ""}, "tier"),
        ({"year": 2032}, "year"),
        ({"year": 1900}, "year"),
        ({"year": 2029}, "year"),
        ({"year": 10**30}, "year"),
        ({"year": "-1"}, "year"),
        ({"year": "twenty"}, "year"),
        ({"method": "bitcoin"}, "method"),
        ({"method": ""}, "method"),
        ({"partner": "abc"}, "partner"),
    ],
)
def test_bad_input_through_the_buy_form_is_refused_on_its_field_and_changes_nothing(
    buyer, changes, field
):
    partner, tier, browser = buyer
    before = state()
    response = buy_form(browser, partner, tier, year=2030, changes=changes)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert field_errors(response.get_data(as_text=True)).get(field), field_errors(
        response.get_data(as_text=True)
    )
    assert state() == before


def test_someone_elses_company_cannot_be_bought_for(buyer, make_partner):
    _partner, tier, browser = buyer
    other = make_partner()
    before = state()
    response = buy_form(browser, other, tier, year=2030)
    assert response.status_code in (403, 422), response.get_data(as_text=True)
    if response.status_code == 422:
        assert field_errors(response.get_data(as_text=True)).get("partner")
    assert state() == before
    assert browser.get(f"/partners/companies/{other.id}").status_code == 403


@pytest.mark.parametrize("name", ["tier", "method", "partner", "year"])
def test_nul_bytes_in_the_buy_form_are_refused_and_change_nothing(buyer, name):
    partner, tier, browser = buyer
    before = state()
    values = {"partner": partner.id, "tier": tier.slug, "year": 2030, "method": "invoice"}
    values[name] = f"{values[name]}\x00"
    page = browser.get("/partners/buy").get_data(as_text=True)
    response = browser.post("/partners/buy", data={"csrf_token": csrf_token_from(page), **values})
    assert response.status_code == 400
    assert "characters that are not allowed" in page_text(response)
    assert state() == before


def test_the_buy_form_without_its_csrf_token_is_refused(buyer):
    partner, tier, browser = buyer
    before = state()
    response = browser.post(
        "/partners/buy",
        data={"partner": partner.id, "tier": tier.slug, "year": 2030, "method": "invoice"},
    )
    assert 400 <= response.status_code < 500
    assert state() == before


def test_buying_needs_a_signed_in_contact(frozen, app, client, make_tier, make_partner):
    tier = make_tier()
    make_partner()
    response = client.post(
        "/partners/buy", data={"tier": tier.slug, "year": 2030, "method": "invoice"}
    )
    assert response.status_code in (302, 400, 401)
    assert state()[0] == 0


def test_the_buy_page_shows_the_places_left_each_year(buyer, make_tier, make_partner, buy):
    _partner, _tier, browser = buyer
    tier = make_tier(places=3, name_en="Silver")
    buy(make_partner(), tier)
    page = browser.get("/partners/buy").get_data(as_text=True)
    assert "2030: 2 places left" in page
    assert "2031: 3 places left" in page


def test_the_current_year_bought_on_its_last_day_is_not_refused_as_already_held(
    frozen, app, make_tier, make_partner
):
    # 31 March: the 2030 sponsorship year's last day, still on sale; the company holds nothing.
    frozen.move_to(at(YEAR_ENDS))
    partner = make_partner()
    tier = make_tier()
    browser = signed_in(app, contact_of(partner))
    before = state()

    response = buy_form(browser, partner, tier, year=2030)

    assert response.status_code != 500
    assert ALREADY_HOLDS not in page_text(response)
    if response.status_code == 302:
        sponsorship = db.session.scalar(select(Sponsorship))
        assert (sponsorship.starts_on, sponsorship.ends_on) == (YEAR_ENDS, YEAR_ENDS)
    else:
        assert response.status_code == 422
        assert state() == before
