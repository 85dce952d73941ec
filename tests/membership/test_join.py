"""Joining through the real pages: a free plan makes a member at once; a paid plan goes to the fake
Stripe and only its signed webhook makes the member (never the browser coming back); the welcome
e-mail in the member's language, with the receipt PDF of a paid join; the payments and receipts
on `/membership`, seen by their owner only; the profile page's membership section; and a full
refund of a join, asked by us or made in Stripe's dashboard, that ends the membership."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader

from community.accounts.membership import has_benefit, is_member
from community.core.db import db
from community.membership import mail, services
from community.payments import services as payments
from community.payments.models import Order, Payment
from tests.conftest import text_of
from tests.membership.conftest import (
    fresh,
    in_japanese,
    join,
    kinds,
    page_text,
    session_id_of,
)

RECEIPT_NUMBER = re.compile(r"RCP-\d{4}-\d{4,}")


def receipt_paths(membership) -> list[str]:
    """The paths of the receipts of the membership's payments (newest first)."""
    return [
        f"/membership/{membership.id}/receipts/{event.payment_id}"
        for event in reversed(fresh(membership).history)
        if event.payment_id is not None
    ]


def db_order(membership) -> Order:
    return payments.order_by_id(fresh(membership).order_id)


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "".join("".join(page.extract_text().split()) for page in reader.pages)


def attachments_of(message) -> list:
    return list(message.iter_attachments())


# --- a free plan ---------------------------------------------------------------------------------


def test_joining_a_free_plan_makes_a_member_at_once_welcomed_without_a_receipt(
    frozen, app, make_plan, make_user, browser_of, mailbox, fake_stripe
):
    plan = make_plan(price_minor=0, name_en="Community", name_ja="コミュニティ")
    user = make_user(name="Emma English", locale="en")
    browser = browser_of(user)
    assert not is_member(user)

    response = join(browser, plan)

    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].endswith("/membership")
    membership = services.current_membership(user)
    assert (membership.status, membership.terms, membership.price_minor) == ("active", 1, 0)
    assert membership.ends_at == services.one_year_after(membership.starts_at)
    assert is_member(user)
    assert has_benefit(user, "member_prices")
    assert kinds(membership) == ["joined"]
    assert fake_stripe.requests == []  # nothing to pay: Stripe is not asked
    page = page_text(browser.get("/membership"))
    assert "Welcome: you are a member now." in page
    assert "Community" in page and "Active" in page
    message = mailbox.last_to(user.email)
    assert message["Subject"] == "Welcome: you are a member"
    assert message["Content-Language"] == "en"
    body = text_of(message)
    assert "Hello Emma English," in body
    assert "you are a member (Community) until" in body
    assert "http://localhost/membership" in body
    assert attachments_of(message) == []
    assert "receipt" not in body.lower()
    assert len(mailbox.to(user.email)) == 1


def test_the_welcome_e_mail_is_in_the_japanese_members_language(
    frozen, app, make_plan, make_user, browser_of, mailbox
):
    plan = make_plan(price_minor=0, name_en="Community", name_ja="コミュニティ")
    user = make_user(name="山田 花子", locale="ja")
    browser = browser_of(user, "ja")

    assert join(browser, plan).status_code == 302

    message = mailbox.last_to(user.email)
    assert message["Content-Language"] == "ja"
    assert message["Subject"] == in_japanese(mail.SUBJECTS["welcome"])
    body = text_of(message)
    assert "山田 花子さん、こんにちは。" in body  # the catalog's greeting
    assert "コミュニティ" in body  # the plan's Japanese name
    assert "Community" not in body
    assert "2031年5月10日" in body  # the end, as a Japanese reader writes a day
    assert attachments_of(message) == []


def test_the_profile_page_shows_the_membership_section(
    frozen, app, make_plan, make_user, browser_of, mailbox
):
    plan = make_plan(price_minor=0, name_en="Community")
    user = make_user()
    browser = browser_of(user)
    before = page_text(browser.get("/account/profile"))
    assert 'id="membership-heading"' in before
    assert "You are not a member." in before

    join(browser, plan)

    page = page_text(browser.get("/account/profile"))
    section = page[page.index('id="membership-heading"') :]
    assert "You are not a member." not in section
    assert "Community: Active" in section
    assert "until" in section
    assert 'href="/membership"' in section


# --- a paid plan ---------------------------------------------------------------------------------


def test_joining_a_paid_plan_goes_to_stripe_and_only_its_signed_webhook_makes_a_member(
    frozen, app, make_plan, make_user, browser_of, stripe_delivers, mailbox
):
    plan = make_plan(price_minor=5000, name_en="Individual")
    user = make_user()
    browser = browser_of(user)

    response = join(browser, plan)

    assert response.status_code == 303, response.get_data(as_text=True)
    location = response.headers["Location"]
    assert location.startswith(f"{stripe_delivers.url}/pay/cs_test_")
    session = stripe_delivers.get(session_id_of(location))
    assert (session["mode"], session["amount_total"], session["currency"]) == (
        "payment",
        5000,
        "jpy",
    )
    assert session["success_url"] == "http://localhost/membership?paid=1"
    membership = services.current_membership(user)
    assert membership.status == "pending"
    assert not is_member(user)

    # Back from Stripe without paying: the page asks Stripe, which says it is still open.
    page = page_text(browser.get("/membership?paid=1"))
    assert "Waiting for the payment" in page
    assert fresh(membership).status == "pending"
    assert not is_member(user)
    assert mailbox.to(user.email) == []

    deliveries = stripe_delivers.complete(session_id_of(location))

    assert [d.type for d in deliveries] == ["checkout.session.completed"]
    assert all(d.ok for d in deliveries)
    membership = fresh(membership)
    assert (membership.status, membership.terms) == ("active", 1)
    assert membership.ends_at == services.one_year_after(membership.starts_at)
    assert is_member(user)
    assert has_benefit(user, "members_only")
    [joined] = fresh(membership).history
    assert (joined.kind, joined.amount_minor, joined.currency) == ("joined", 5000, "JPY")
    assert joined.payment_id is not None
    order = db_order(membership)
    assert (order.status, order.purpose, order.reference) == (
        "paid",
        "membership",
        str(membership.id),
    )


def test_a_webhook_with_a_wrong_signature_makes_nobody_a_member(
    frozen, app, make_plan, make_user, browser_of, stripe_delivers, mailbox
):
    plan = make_plan()
    user = make_user()
    location = join(browser_of(user), plan).headers["Location"]
    stripe_delivers.hold_deliveries()
    stripe_delivers.complete(session_id_of(location))
    [event] = stripe_delivers.held

    [forged] = stripe_delivers.deliver(event, secret="whsec_not_the_right_one")

    assert forged.status == 400
    assert services.current_membership(user).status == "pending"
    assert not is_member(user)
    stripe_delivers.release()
    assert services.current_membership(user).status == "active"


def test_the_welcome_e_mail_of_a_paid_join_attaches_its_receipt_pdf(
    frozen, app, make_plan, member, mailbox
):
    plan = make_plan(price_minor=5000, name_en="Individual")

    user, _, membership = member(plan, name="Paula Payer")

    [message] = mailbox.to(user.email)
    assert message["Subject"] == "Welcome: you are a member"
    body = text_of(message)
    [number] = RECEIPT_NUMBER.findall(body)
    assert f"Thank you for your payment of ¥5,000. Your receipt ({number}) is attached." in body
    [attachment] = attachments_of(message)
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"{number}.pdf"
    content = attachment.get_content()
    assert content.startswith(b"%PDF-")
    text = pdf_text(content)
    assert number in text
    assert "PaulaPayer" in text
    [payment_id] = [e.payment_id for e in fresh(membership).history]
    assert payments_receipt_number(payment_id) == number


def payments_receipt_number(payment_id: int) -> str | None:
    return fresh_payment(payment_id).receipt_number


def fresh_payment(payment_id: int) -> Payment:
    db.session.rollback()
    return db.session.get(Payment, payment_id, populate_existing=True)


def test_the_membership_page_lists_the_payment_with_its_receipt_links(
    frozen, app, make_plan, member, mailbox
):
    plan = make_plan(price_minor=5000, name_en="Individual")
    _, browser, membership = member(plan)

    page = page_text(browser.get("/membership"))

    assert "Payments and receipts" in page
    assert "¥5,000" in page
    [path] = receipt_paths(membership)
    for language in ("ja", "en"):
        assert f'href="{path}?lang={language}"' in page
        assert f'href="{path}.pdf?lang={language}"' in page


def test_a_receipt_page_and_pdf_work_for_their_owner(frozen, app, make_plan, member, mailbox):
    plan = make_plan(price_minor=5000, name_ja="個人会員", name_en="Individual")
    _, browser, membership = member(plan, name="Paula Payer")
    [path] = receipt_paths(membership)
    number = RECEIPT_NUMBER.search(text_of(mailbox.messages[-1])).group()

    in_japanese_page = browser.get(f"{path}?lang=ja")
    in_english_pdf = browser.get(f"{path}.pdf?lang=en")

    assert in_japanese_page.status_code == 200
    assert in_japanese_page.headers["Cache-Control"] == "no-store"
    page = page_text(in_japanese_page)
    assert "領収書" in page and number in page and "個人会員" in page
    assert in_english_pdf.status_code == 200
    assert in_english_pdf.mimetype == "application/pdf"
    assert in_english_pdf.data.startswith(b"%PDF-")
    text = pdf_text(in_english_pdf.data)
    assert number in text and "Individual" in text


def test_a_receipt_is_not_found_for_another_person_and_asks_a_guest_to_sign_in(
    frozen, app, make_plan, member, make_user, browser_of, client, mailbox
):
    plan = make_plan(price_minor=5000)
    _, _, membership = member(plan)
    [path] = receipt_paths(membership)
    stranger = browser_of(make_user(name="Sam Stranger"))

    for target in (f"{path}?lang=en", f"{path}.pdf?lang=en"):
        assert stranger.get(target).status_code == 404
        guest = client.get(target)
        assert guest.status_code == 302
        assert "/account/login" in guest.headers["Location"]


def test_a_stranger_with_their_own_membership_still_cannot_read_anothers_receipt(
    frozen, app, make_plan, member, mailbox
):
    plan = make_plan(price_minor=5000)
    _, _, first = member(plan)
    _, stranger, second = member(plan)
    [first_path] = receipt_paths(first)
    first_payment = first_path.rsplit("/", 1)[-1]

    # Their own membership's address with the other person's payment: not theirs either.
    mixed = f"/membership/{second.id}/receipts/{first_payment}"

    assert stranger.get(first_path).status_code == 404
    assert stranger.get(mixed).status_code == 404
    assert stranger.get(f"{mixed}.pdf").status_code == 404


def test_coming_back_from_stripe_after_paying_asks_stripe_and_makes_a_member_before_the_webhook(
    frozen, app, make_plan, make_user, browser_of, stripe_delivers, mailbox
):
    plan = make_plan()
    user = make_user()
    browser = browser_of(user)
    location = join(browser, plan).headers["Location"]
    stripe_delivers.hold_deliveries()
    stripe_delivers.complete(session_id_of(location))  # its webhook is lost for now
    assert services.current_membership(user).status == "pending"

    page = page_text(browser.get("/membership?paid=1"))

    assert "Active" in page
    membership = services.current_membership(user)
    assert membership.status == "active"
    assert stripe_delivers.requests_to("GET", "/v1/checkout/sessions/cs_test_*")
    stripe_delivers.release()  # the late webhook finds it done
    assert kinds(membership) == ["joined"]
    assert len(mailbox.to(user.email)) == 1


# --- a refund of the join ------------------------------------------------------------------------


def test_a_full_refund_of_a_join_ends_the_membership_and_records_the_money_back(
    frozen, app, make_plan, member, stripe_delivers, mailbox
):
    plan = make_plan(price_minor=5000)
    user, _, membership = member(plan)
    mailbox.clear()

    payments.refund_order(db_order(membership), reason="asked by the member")
    assert stripe_delivers.last_request("POST", "/v1/refunds").params["amount"] == "5000"
    assert fresh(membership).status == "active"  # until Stripe confirms it
    stripe_delivers.flush()  # charge.refunded

    membership = fresh(membership)
    assert membership.status == "cancelled"
    assert membership.ended_at is not None
    assert not is_member(user)
    refunded = [e for e in membership.history if e.kind == "refunded"]
    assert [(e.amount_minor, e.currency) for e in refunded] == [(-5000, "JPY")]
    assert kinds(membership) == ["joined", "refunded", "cancelled"]
    assert mailbox.last_to(user.email)["Subject"] == "Your membership has ended"


def test_a_refund_made_in_stripes_dashboard_ends_the_membership_too(
    frozen, app, make_plan, member, stripe_delivers, mailbox
):
    plan = make_plan(price_minor=5000)
    user, _, membership = member(plan)
    [intent] = stripe_delivers.objects("payment_intent")

    stripe_delivers.refund_from_dashboard(intent["id"])

    membership = fresh(membership)
    assert membership.status == "cancelled"
    assert not is_member(user)
    assert [(e.kind, e.amount_minor) for e in membership.history] == [
        ("joined", 5000),
        ("refunded", -5000),
        ("cancelled", None),
    ]


def test_a_partial_refund_records_the_money_back_and_keeps_the_membership(
    frozen, app, make_plan, member, stripe_delivers, mailbox
):
    plan = make_plan(price_minor=5000)
    user, _, membership = member(plan)
    [intent] = stripe_delivers.objects("payment_intent")

    stripe_delivers.refund_from_dashboard(intent["id"], amount=2000)

    membership = fresh(membership)
    assert membership.status == "active"
    assert is_member(user)
    assert [(e.kind, e.amount_minor) for e in membership.history] == [
        ("joined", 5000),
        ("refunded", -2000),
    ]
