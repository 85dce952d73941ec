"""One-off gifts through the real pages, the real Stripe SDK and the fake Stripe: a suggested or a
typed amount charged at Stripe's checkout, the gift confirmed only by Stripe's signed webhook
(pending and counted nowhere until then), its message and wall choice kept, given with or
without an account (a signed-in person's gift is theirs, on `/donate/mine`), a repeated webhook
that counts nothing twice, the receipt e-mail in the donor's language with its PDF and the
private link, and the receipt's page and PDF behind that link."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader
from sqlalchemy import select

from community.core.db import db
from community.core.money import format_money
from community.core.outbox import OutboxItem
from community.donations import mail, services
from community.payments.models import Payment
from tests.conftest import text_of
from tests.donations.conftest import (
    fresh,
    gift_of,
    give,
    mails_to,
    manage_url_of,
    page_text,
    payments_of,
    pdf_attachments,
    session_id_of,
)
from tests.membership.conftest import in_japanese

DONOR = "donor@example.com"
RECEIPT_NUMBER = re.compile(r"RCP-\d{4}-\d{4,}")


def checkout_asked(fake_stripe) -> dict:
    """What the app last asked Stripe's Checkout for."""
    return fake_stripe.last_request("POST", "/v1/checkout/sessions").params


def notices_of(donation) -> list[str]:
    """The kinds of the e-mails written to the outbox about this gift, oldest first (exact,
    whenever they are delivered)."""
    db.session.rollback()
    rows = db.session.scalars(
        select(OutboxItem).where(OutboxItem.kind == "donation").order_by(OutboxItem.id)
    )
    return [row.payload["kind"] for row in rows if row.payload.get("donation_id") == donation.id]


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "".join("".join(page.extract_text().split()) for page in reader.pages)


def paid_gift(browser, pay, **form):
    """A one-off gift given through `/donate` (or a campaign's page) and paid at Stripe."""
    response = give(browser, **form)
    pay(response)
    return fresh(gift_of(form.get("email", DONOR).lower()))


# --- the amount ----------------------------------------------------------------------------------


def test_a_suggested_amount_is_what_stripes_checkout_charges(
    frozen, app, browser, pay, stripe_delivers, mailbox
):
    donor = browser()

    response = give(donor, amount="3000", other_amount="")

    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"{stripe_delivers.url}/pay/")
    asked = checkout_asked(stripe_delivers)
    assert asked["mode"] == "payment"
    assert asked["customer_email"] == DONOR
    assert asked["metadata"]["purpose"] == "donation"
    [line] = asked["line_items"]
    assert line["price_data"]["currency"] == "jpy"
    assert line["price_data"]["unit_amount"] == "3000"
    assert line["quantity"] == "1"
    gift = gift_of(DONOR)
    assert (gift.kind, gift.amount_minor, gift.currency) == ("one_off", 3000, "JPY")
    pay(response)
    gift = fresh(gift)
    assert gift.status == "paid"
    assert [(row.amount_minor, row.currency) for row in payments_of(gift)] == [(3000, "JPY")]


def test_a_typed_amount_with_full_width_digits_and_a_comma_is_what_is_charged(
    frozen, app, browser, pay, stripe_delivers, mailbox
):
    donor = browser()

    response = give(donor, amount="other", other_amount="７,５００")

    assert response.status_code == 303
    [line] = checkout_asked(stripe_delivers)["line_items"]
    assert line["price_data"]["unit_amount"] == "7500"
    pay(response)
    gift = fresh(gift_of(DONOR))
    assert (gift.status, gift.amount_minor, gift.given_minor) == ("paid", 7500, 7500)
    assert [row.amount_minor for row in payments_of(gift)] == [7500]


def test_a_typed_amount_is_read_even_when_a_suggested_one_stays_chosen(
    frozen, app, browser, pay, stripe_delivers, mailbox
):
    donor = browser()

    give(donor, amount="3000", other_amount="12000")

    [line] = checkout_asked(stripe_delivers)["line_items"]
    assert line["price_data"]["unit_amount"] == "12000"
    assert gift_of(DONOR).amount_minor == 12000


# --- confirmed by the webhook only ---------------------------------------------------------------


def test_a_gift_is_pending_and_counted_nowhere_until_stripes_webhook_confirms_it(
    frozen, app, browser, pay, stripe_delivers, make_campaign, mailbox
):
    campaign = make_campaign(name_en="Venue fund")
    donor = browser()
    response = give(
        donor,
        campaign=campaign.slug,
        other_amount="8000",
        wall="name_amount",
        donor_name="Hana Donor",
    )
    gift = gift_of(DONOR)

    # Before the payment: pending, nothing counted, nothing on the wall, no e-mail.
    assert (gift.status, gift.confirmed_at, gift.campaign_id) == ("pending", None, campaign.id)
    assert payments_of(gift) == []
    assert services.progress(campaign).raised_minor == 0
    assert services.wall(campaign) == []
    page = page_text(donor.get(manage_url_of(gift)))
    assert "Waiting for the payment's confirmation." in page
    assert "Given so far</dt>\n      <dd>¥0</dd>" in page
    # A browser claiming to come back paid is not believed: Stripe says it is not.
    back = donor.get(manage_url_of(gift) + "?paid=1")
    assert back.status_code == 200
    assert "Waiting for the payment's confirmation." in page_text(back)
    assert fresh(gift).status == "pending"
    assert payments_of(gift) == []

    # Paid at Stripe, but its webhook not delivered yet: still nothing.
    stripe_delivers.hold_deliveries()
    pay(response)
    assert fresh(gift).status == "pending"
    assert payments_of(gift) == []
    assert services.progress(campaign).raised_minor == 0
    assert notices_of(gift) == []

    # The signed webhook arrives: paid, counted toward the campaign, on the wall, thanked.
    [delivery] = stripe_delivers.release()
    assert delivery.type == "checkout.session.completed" and delivery.ok
    gift = fresh(gift)
    assert gift.status == "paid" and gift.confirmed_at is not None
    [payment] = payments_of(gift)
    assert (payment.amount_minor, payment.counted_campaign_id) == (8000, campaign.id)
    progress = services.progress(campaign)
    assert (progress.raised_minor, progress.donors) == (8000, 1)
    [entry] = services.wall(campaign)
    assert (entry.name, entry.amount_minor) == ("Hana Donor", 8000)
    assert notices_of(gift) == ["thanks"]
    assert "Received. Thank you!" in page_text(donor.get(manage_url_of(gift)))


def test_a_checkout_left_unpaid_counts_nothing(
    frozen, app, browser, stripe_delivers, make_campaign, mailbox
):
    campaign = make_campaign()
    donor = browser()
    response = give(donor, campaign=campaign.slug)

    stripe_delivers.complete(session_id_of(response), paid=False)

    gift = fresh(gift_of(DONOR))
    assert gift.status == "pending"
    assert payments_of(gift) == []
    assert services.progress(campaign).raised_minor == 0
    assert notices_of(gift) == []


# --- what the donor says and how they appear -----------------------------------------------------


def test_the_message_and_the_wall_choice_are_stored_with_the_gift(
    frozen, app, browser, pay, mailbox
):
    donor = browser()

    gift = paid_gift(
        donor,
        pay,
        other_amount="4000",
        wall="name",
        donor_name="  Hana Donor ",
        message="  For the venue, with thanks.\nSee you in June!  ",
    )

    assert gift.wall == "name"
    assert gift.donor_name == "Hana Donor"
    assert gift.message == "For the venue, with thanks.\nSee you in June!"
    # The wall shows the name without the amount; the message is for the organisers only.
    [entry] = services.wall()
    assert (entry.name, entry.amount_minor, entry.monthly) == ("Hana Donor", None, False)
    page = page_text(browser().get("/donate"))
    assert "Hana Donor" in page
    assert "For the venue" not in page
    assert DONOR not in page


def test_an_anonymous_gift_with_no_message_stores_neither(frozen, app, browser, pay, mailbox):
    gift = paid_gift(browser(), pay, wall="anonymous", donor_name="", message="")

    assert (gift.wall, gift.donor_name, gift.message) == ("anonymous", "", "")
    [entry] = services.wall()
    assert (entry.name, entry.amount_minor) == (None, None)


# --- with or without an account ------------------------------------------------------------------


def test_no_account_is_needed_to_give(frozen, app, browser, pay, mailbox):
    guest = browser()

    gift = paid_gift(guest, pay, email="Guest.Giver@Example.com")

    assert gift.status == "paid"
    assert gift.user_id is None
    assert gift.email == "guest.giver@example.com"
    assert gift.donor_key.startswith("email:")
    page = guest.get(manage_url_of(gift))
    assert page.status_code == 200
    assert "Received. Thank you!" in page_text(page)


def test_a_guest_without_an_e_mail_address_is_asked_for_one(frozen, app, browser, stripe_delivers):
    response = give(browser(), email="")

    assert response.status_code == 422
    assert "Enter your e-mail address for the receipt." in page_text(response)
    assert gift_of("") is None
    assert stripe_delivers.requests_to("POST", "/v1/checkout/sessions") == []


def test_a_signed_in_persons_gift_is_linked_to_their_account_and_listed_as_theirs(
    frozen, app, make_user, browser_of, pay, stripe_delivers, mailbox
):
    user = make_user(email="member@example.com", name="Mina Member")
    signed_in = browser_of(user)
    form = page_text(signed_in.get("/donate"))
    assert "Your receipt goes to member@example.com" in form

    # Whatever address a tampered form carries, the account's is the gift's.
    response = give(signed_in, other_amount="6000", email="someone.else@example.com")

    assert gift_of("someone.else@example.com") is None
    gift = gift_of(user.email)
    assert gift.user_id == user.id
    assert gift.donor_key == f"user:{user.id}"
    assert checkout_asked(stripe_delivers)["customer_email"] == user.email
    # Not listed while its payment is awaited.
    assert "You have not given while signed in yet." in page_text(signed_in.get("/donate/mine"))

    pay(response)

    mine = signed_in.get("/donate/mine")
    assert mine.status_code == 200
    page = page_text(mine)
    assert "¥6,000" in page
    assert manage_url_of(gift) in page
    assert "2030" in page  # its yearly statement
    mails_to(mailbox, user.email)


def test_another_persons_gifts_page_does_not_list_someone_elses_gift(
    frozen, app, make_user, browser_of, pay, mailbox
):
    giver = make_user(email="giver@example.com")
    paid_gift(browser_of(giver), pay, email=giver.email, other_amount="6000")
    stranger = browser_of(make_user(email="stranger@example.com"))

    page = page_text(stranger.get("/donate/mine"))

    assert "You have not given while signed in yet." in page
    assert "¥6,000" not in page


def test_the_gifts_page_asks_a_guest_to_sign_in(app, browser):
    response = browser().get("/donate/mine")

    assert response.status_code == 302
    assert "/account/login" in response.headers["Location"]


# --- a repeated webhook --------------------------------------------------------------------------


def test_a_repeated_webhook_records_the_payment_once_and_thanks_once(
    frozen, app, browser, pay, stripe_delivers, make_campaign, mailbox
):
    campaign = make_campaign()
    donor = browser()
    response = give(donor, campaign=campaign.slug, other_amount="5000")
    [completed] = pay(response)

    again = stripe_delivers.deliver(completed, times=3, concurrently=True)
    again += stripe_delivers.deliver(completed)
    # The donor's browser coming back from Stripe asks Stripe too: nothing more either.
    back = donor.get(manage_url_of(gift_of(DONOR)) + "?paid=1")

    assert all(delivery.ok for delivery in again), again
    assert back.status_code == 200
    gift = fresh(gift_of(DONOR))
    assert gift.status == "paid"
    assert [row.amount_minor for row in payments_of(gift)] == [5000]
    assert gift.given_minor == 5000
    assert services.progress(campaign).raised_minor == 5000
    assert notices_of(gift) == ["thanks"]
    paid = db.session.scalars(select(Payment).where(Payment.order_id == gift.order_id)).all()
    assert [payment.status for payment in paid] == ["paid"]
    assert len(mails_to(mailbox, DONOR)) == 1


# --- the receipt e-mail --------------------------------------------------------------------------


def test_the_receipt_e_mail_in_english_gives_the_amount_the_receipt_and_the_private_link(
    frozen, app, browser, pay, mailbox
):
    gift = paid_gift(browser("en"), pay, other_amount="5000", donor_name="Hana Donor", wall="name")

    [message] = mails_to(mailbox, DONOR)

    assert gift.language == "en"
    assert message["Subject"] == "Thank you for your donation"
    body = text_of(message)
    assert "Hello," in body
    assert "Thank you for your donation of ¥5,000 to the community." in body
    [number] = RECEIPT_NUMBER.findall(body)
    assert f"Your receipt ({number}) is attached." in body
    assert services.manage_url(gift) in body
    [attachment] = pdf_attachments(message)
    assert attachment.get_filename() == f"{number}.pdf"
    content = attachment.get_content()
    assert content.startswith(b"%PDF-")
    text = pdf_text(content)
    assert number in text and "HanaDonor" in text and "Donation" in text
    [payment] = payments_of(gift)
    assert db.session.get(Payment, payment.payment_id).receipt_number == number


def test_a_japanese_readers_receipt_e_mail_and_its_pdf_are_in_japanese(
    frozen, app, browser, pay, make_campaign, mailbox
):
    campaign = make_campaign(name_ja="会場費", name_en="Venue fund")

    gift = paid_gift(browser("ja"), pay, campaign=campaign.slug, other_amount="5000")

    assert gift.language == "ja"
    [message] = mails_to(mailbox, DONOR)
    assert message["Subject"] == in_japanese(mail.SUBJECTS["thanks"])
    assert message["Subject"] != "Thank you for your donation"
    body = text_of(message)
    assert "こんにちは。" in body
    amount = format_money(5000, "JPY", "ja")
    assert (
        in_japanese("Thank you for your donation of %(amount)s to the community.")
        % {"amount": amount}
        in body
    )
    assert "Thank you for your donation" not in body
    assert "会場費" in body and "Venue fund" not in body
    assert services.manage_url(gift) in body
    [number] = RECEIPT_NUMBER.findall(body)
    assert in_japanese("Your receipt (%(number)s) is attached.") % {"number": number} in body
    [attachment] = pdf_attachments(message)
    text = pdf_text(attachment.get_content())
    assert number in text
    assert "領収書" in text
    assert "寄付（会場費）" in text


# --- the receipt behind the private link ---------------------------------------------------------


def test_the_private_page_lists_the_payment_with_its_receipt_links(
    frozen, app, browser, pay, mailbox
):
    donor = browser()
    gift = paid_gift(donor, pay, other_amount="5000")
    [payment] = payments_of(gift)
    here = manage_url_of(gift)

    page = page_text(donor.get(here))

    assert "Payments and receipts" in page
    assert f'href="{here}/receipts/{payment.payment_id}"' in page
    assert f'href="{here}/receipts/{payment.payment_id}.pdf"' in page


def test_the_receipt_page_and_its_pdf_open_from_the_private_link(
    frozen, app, browser, pay, make_campaign, mailbox
):
    campaign = make_campaign(name_ja="会場費", name_en="Venue fund")
    donor = browser()
    gift = paid_gift(
        donor,
        pay,
        campaign=campaign.slug,
        other_amount="5000",
        donor_name="Hana Donor",
        wall="name",
    )
    number = RECEIPT_NUMBER.search(text_of(mails_to(mailbox, DONOR)[0])).group()
    [payment] = payments_of(gift)
    path = f"{manage_url_of(gift)}/receipts/{payment.payment_id}"
    # Anyone holding the link: another browser, not signed in, reads the same receipt.
    other_browser = browser()

    in_japanese_page = other_browser.get(f"{path}?lang=ja")
    in_english_page = donor.get(f"{path}?lang=en")
    as_pdf = donor.get(f"{path}.pdf?lang=en")

    assert in_japanese_page.status_code == 200
    assert in_japanese_page.headers["Cache-Control"] == "no-store"
    page = page_text(in_japanese_page)
    assert "領収書" in page and number in page and "会場費" in page
    page = page_text(in_english_page)
    assert number in page and "Venue fund" in page and "Hana Donor" in page
    assert ("¥5,000" in page) or ("￥5,000" in page)
    assert as_pdf.status_code == 200
    assert as_pdf.mimetype == "application/pdf"
    assert as_pdf.data.startswith(b"%PDF-")
    text = pdf_text(as_pdf.data)
    assert number in text and "Venuefund" in text
    # Asked again, the receipt keeps its number.
    assert number in page_text(donor.get(f"{path}?lang=en"))
    assert db.session.get(Payment, payment.payment_id).receipt_number == number


def test_a_receipt_is_not_found_with_a_wrong_key_or_another_gifts_payment(
    frozen, app, browser, pay, mailbox
):
    first = paid_gift(browser(), pay, email="first@example.com")
    second = paid_gift(browser(), pay, email="second@example.com")
    [first_payment] = payments_of(first)
    [second_payment] = payments_of(second)
    wrong_key = f"/donate/gifts/{first.id}/{'0' * 32}"
    mixed = f"{manage_url_of(second)}/receipts/{first_payment.payment_id}"

    for target in (
        f"{wrong_key}/receipts/{first_payment.payment_id}",
        f"{wrong_key}/receipts/{first_payment.payment_id}.pdf",
        mixed,
        f"{mixed}.pdf",
        f"{manage_url_of(first)}/receipts/{second_payment.payment_id}",
        f"{manage_url_of(first)}/receipts/999999",
    ):
        assert browser().get(target).status_code == 404, target


def test_a_pending_gift_has_no_receipt(frozen, app, browser, stripe_delivers):
    donor = browser()
    give(donor)
    gift = gift_of(DONOR)

    assert donor.get(f"{manage_url_of(gift)}/receipts/1").status_code == 404
    assert donor.get(f"{manage_url_of(gift)}/receipts/1.pdf").status_code == 404
