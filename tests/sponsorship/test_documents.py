"""A sponsorship's invoice (請求書) and receipt (領収書), as its contacts download them: numbered
from the year's series, with the tier and its period as what was supplied, the tax per rate and
the total the company pays, the company as the buyer, in Japanese or English, as a page and as a
PDF; nobody else's."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from community.core.dates import zone
from community.core.db import db, utcnow
from community.payments import services as payments
from community.payments.models import Order, Payment
from tests.conftest import PASSWORD, submit
from tests.sponsorship.conftest import contact_of


def _year() -> int:
    return utcnow().astimezone(zone("Asia/Tokyo")).year


def _today():
    return utcnow().astimezone(zone("Asia/Tokyo")).date()


def _pay_by_transfer(sponsorship) -> Order:
    order = db.session.get(Order, sponsorship.order_id)
    payments.record_bank_transfer(
        order.id, amount_minor=order.amount_minor, received_on=_today(), recorded_by_id=None
    )
    db.session.rollback()
    return db.session.get(Order, sponsorship.order_id)


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "".join("".join(page.extract_text().split()) for page in reader.pages)


@pytest.fixture
def invoiced(make_tier, make_partner, buy, login, client):
    tier = make_tier(name_ja="ゴールド", name_en="Gold", price_minor=100_000, tax_rate=10)
    partner = make_partner(billing_name="株式会社サンプル", billing_department="総務部")
    sponsorship = buy(partner, tier, method="invoice")
    login(contact_of(partner))
    return sponsorship


def test_the_invoice_is_numbered_from_the_years_series_and_says_what_is_owed(
    client, invoiced, make_tier, make_partner, buy
):
    order = db.session.get(Order, invoiced.order_id)
    assert order.invoice_number == f"INV-{_year()}-0001"
    assert order.amount_minor == 110_000  # ¥100,000 before tax, 10% added once
    second = buy(make_partner(), make_tier(), method="invoice")
    assert db.session.get(Order, second.order_id).invoice_number == f"INV-{_year()}-0002"

    page = client.get(f"/partners/sponsorships/{invoiced.id}/invoice?lang=ja")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    text = _text(page.get_data(as_text=True))
    for expected in (
        "請求書",
        f"INV-{_year()}-0001",
        "株式会社サンプル 御中",
        "総務部",
        "ゴールドプラン",
        "10%対象",
        "￥100,000",
        "￥10,000",
        "￥110,000",
    ):
        assert expected in text, expected

    english = _text(
        client.get(f"/partners/sponsorships/{invoiced.id}/invoice?lang=en").get_data(as_text=True)
    )
    assert "Invoice" in english
    assert "Gold sponsorship" in english
    assert "¥110,000" in english


def test_the_invoice_pdf_says_what_the_page_says(client, invoiced):
    answer = client.get(f"/partners/sponsorships/{invoiced.id}/invoice.pdf?lang=ja")
    assert answer.status_code == 200
    assert answer.mimetype == "application/pdf"
    assert f'filename="INV-{_year()}-0001.pdf"' in answer.headers["Content-Disposition"]
    text = _pdf_text(answer.data)
    for expected in ("請求書", f"INV-{_year()}-0001", "株式会社サンプル", "110,000", "10,000"):
        assert expected in text, expected


def test_a_tax_inclusive_tier_shows_the_tax_taken_out_of_its_price(
    client, make_tier, make_partner, buy, login
):
    tier = make_tier(price_minor=55_000, price_includes_tax=True, tax_rate=10)
    partner = make_partner()
    sponsorship = buy(partner, tier, method="invoice")
    assert db.session.get(Order, sponsorship.order_id).amount_minor == 55_000
    login(contact_of(partner))
    text = _text(
        client.get(f"/partners/sponsorships/{sponsorship.id}/invoice?lang=en").get_data(
            as_text=True
        )
    )
    assert "¥50,000" in text  # before tax
    assert "¥5,000" in text  # the tax inside the price
    assert "¥55,000" in text


def test_the_receipt_exists_once_paid_and_keeps_its_number(client, invoiced):
    assert client.get(f"/partners/sponsorships/{invoiced.id}/receipt").status_code == 404
    _pay_by_transfer(invoiced)

    first = client.get(f"/partners/sponsorships/{invoiced.id}/receipt?lang=ja")
    assert first.status_code == 200
    text = _text(first.get_data(as_text=True))
    assert "領収書" in text
    assert f"RCP-{_year()}-0001" in text
    assert "￥110,000" in text
    assert "但し" in text
    again = client.get(f"/partners/sponsorships/{invoiced.id}/receipt.pdf?lang=en")
    assert f"RCP-{_year()}-0001" in _pdf_text(again.data)
    db.session.rollback()
    numbered = db.session.scalars(
        select(Payment.receipt_number).where(Payment.receipt_number.is_not(None))
    ).all()
    assert numbered == [f"RCP-{_year()}-0001"]  # asking twice took one number


def test_the_sponsorship_page_links_its_documents(client, invoiced):
    page = client.get(f"/partners/sponsorships/{invoiced.id}").get_data(as_text=True)
    assert f"/partners/sponsorships/{invoiced.id}/invoice?lang=ja" in page
    assert f"/partners/sponsorships/{invoiced.id}/invoice.pdf?lang=en" in page
    assert "/receipt" not in page  # nothing paid yet
    _pay_by_transfer(invoiced)
    page = client.get(f"/partners/sponsorships/{invoiced.id}").get_data(as_text=True)
    assert f"/partners/sponsorships/{invoiced.id}/receipt.pdf?lang=ja" in page


@pytest.mark.parametrize("kind", ["invoice", "invoice.pdf", "receipt", "receipt.pdf"])
def test_nobody_but_the_companys_contacts_sees_its_documents(app, invoiced, make_user, kind):
    _pay_by_transfer(invoiced)
    stranger = make_user(name="Someone Else")
    other = app.test_client()
    signed_in = submit(other, "/account/login", {"email": stranger.email, "password": PASSWORD})
    assert signed_in.status_code == 302
    assert other.get(f"/partners/sponsorships/{invoiced.id}/{kind}").status_code == 403
    anonymous = app.test_client().get(f"/partners/sponsorships/{invoiced.id}/{kind}")
    assert anonymous.status_code == 302  # to the login page


def test_a_registered_community_prints_its_number_and_an_unregistered_one_says_it_is_not(
    app, client, invoiced
):
    unregistered = _text(
        client.get(f"/partners/sponsorships/{invoiced.id}/invoice?lang=ja").get_data(as_text=True)
    )
    assert "適格請求書発行事業者の登録を受けていません" in unregistered
    app.config["INVOICE_REGISTRATION_NUMBER"] = "T7000012050002"
    registered = _text(
        client.get(f"/partners/sponsorships/{invoiced.id}/invoice?lang=ja").get_data(as_text=True)
    )
    assert "T7000012050002" in registered
    assert "登録を受けていません" not in registered
