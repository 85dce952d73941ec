"""Partner sponsorship in a real browser, without Stripe: a company's contact picks a tier on
/partners, creates the company, pays by card on the payment sandbox's checkout page, comes back to
an active sponsorship, uploads a logo and finds it on /sponsors; another contact asks for an
invoice, downloads its PDF and opens the printable invoice, in English and in Japanese."""

from __future__ import annotations

import io
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import add_staff, sign_in

pytestmark = pytest.mark.browser

PASSWORD = "a long enough sponsor password"
PRICE_MINOR = 100_000  # plus 10% consumption tax: ¥110,000 to pay
DUE_MINOR = 110_000


@pytest.fixture
def gold_tier(live_server):
    """A ¥100,000 (plus tax) tier with two places a year; the app has no Stripe key (the
    sandbox)."""
    from community.sponsorship import services

    assert live_server.app.config["PAYMENTS_SANDBOX"]
    with live_server.app.app_context():
        services.create_tier(
            services.TierFields(
                slug="gold",
                name_ja="ゴールド",
                name_en="Gold",
                benefits_ja="ロゴの掲載",
                benefits_en="Your logo on our site",
                price_minor=PRICE_MINOR,
                currency="JPY",
                price_includes_tax=False,
                tax_rate=10,
                places=2,
                complimentary_tickets=2,
                logo_size="medium",
                mention_at_openings=True,
                posts=1,
                position=0,
            )
        )
    return "gold"


def a_contact(live_server, prefix: str, language: str = "en") -> str:
    """A confirmed account (no company yet) in the live server's database: its e-mail address."""
    from community.core.db import db

    with live_server.app.app_context():
        person = add_staff("member", prefix, PASSWORD, (language,))[language]
        db.session.commit()
        return person.email


def a_company(live_server, email: str):
    """A company whose contact is `email`'s account: (its id, {language: its name})."""
    from sqlalchemy import select

    from community.accounts.models import User
    from community.core.db import db
    from community.sponsorship import services

    with live_server.app.app_context():
        contact = db.session.scalar(select(User).where(User.email == email))
        partner = services.create_partner(
            contact,
            services.PartnerFields(
                name_ja="請求書テスト株式会社",
                name_en="Invoice Test K.K.",
                website="https://invoice.example.com",
                description_ja="",
                description_en="",
                billing_name="請求書テスト株式会社",
                billing_address="東京都千代田区丸の内1-1-1",
                billing_department="経理部",
                billing_contact="佐藤 花子",
                registration_number=None,
                registration_number_confirmed=False,
            ),
        )
        return partner.id, {"ja": partner.name_ja, "en": partner.name_en}


def invoiced_status(live_server, sponsorship_id: int, language: str) -> str:
    """The status of an invoiced sponsorship ("Invoiced, due <its due date>") as the app says it
    in `language`: its words come from the app's catalogue, which is still being filled in."""
    from flask_babel import force_locale, gettext

    from community.core.dates import format_day
    from community.core.db import db
    from community.sponsorship.models import Sponsorship

    with live_server.app.test_request_context(), force_locale(language):
        due_on = db.session.get(Sponsorship, sponsorship_id).due_on
        return gettext("Invoiced, due %(day)s", day=format_day(due_on))


def a_png(path) -> None:
    from PIL import Image

    image = Image.new("RGB", (240, 80), "#1f6feb")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())


def status_of(page):
    """The sponsorship page's status: the first fact of its list."""
    return page.locator("dl.facts dd").first


def test_a_contact_pays_a_tier_by_card_in_the_sandbox_and_its_logo_goes_on_the_wall(
    live_server, page, shoot, gold_tier, tmp_path
):
    email = a_contact(live_server, "card-contact")
    sign_in(page, email, PASSWORD)

    page.goto("/partners")
    expect(page.get_by_role("heading", name="Become a partner", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Gold", level=2)).to_be_visible()
    shoot(page, "01-partners")
    page.get_by_role("link", name="Choose Gold").click()

    # No company yet: its form comes first, then the purchase of the tier chosen.
    expect(page).to_have_url(re.compile(r"/partners/companies/new\?tier=gold$"))
    expect(page.get_by_role("heading", name="Your company", level=1)).to_be_visible()
    page.get_by_label("Company name (Japanese)").fill("株式会社カードテスト")
    page.get_by_label("Company name (English)").fill("Card Test K.K.")
    page.get_by_label("Name on invoices").fill("株式会社カードテスト")
    shoot(page, "02-company-form")
    page.get_by_role("button", name="Save").click()

    expect(page).to_have_url(re.compile(r"/partners/buy\?partner=\d+&tier=gold$"))
    expect(page.get_by_role("heading", name="Choose a tier", level=1)).to_be_visible()
    expect(page.get_by_text("The company is saved. Now choose its tier.")).to_be_visible()
    expect(page.get_by_label("Gold", exact=True)).to_be_checked()
    page.get_by_label("By card, now (Stripe)").check()
    shoot(page, "03-buy-form")
    page.get_by_role("button", name="Continue").click()

    # By card: straight to the payment page, the sandbox's as no Stripe key is set.
    expect(page).to_have_url(re.compile(r"/payments/sandbox/checkout/cs_sandbox_\w+"))
    expect(page.get_by_role("heading", name="Test checkout", level=1)).to_be_visible()
    expect(page.get_by_text("No real money moves.", exact=False).first).to_be_visible()
    expect(page.get_by_text(email)).to_be_visible()
    shoot(page, "04-sandbox-checkout")
    page.get_by_role("button", name=re.compile(r"^Pay ¥110,000")).click()

    expect(page).to_have_url(re.compile(r"/partners/sponsorships/\d+\?paid=1$"))
    expect(page.get_by_role("heading", name="Gold sponsorship", level=1)).to_be_visible()
    expect(status_of(page)).to_have_text("Active")
    expect(page.get_by_text("¥110,000", exact=False)).to_be_visible()
    # Paid by card: a receipt, and no invoice.
    expect(page.get_by_role("link", name="領収書")).to_be_visible()
    expect(page.get_by_role("link", name="請求書")).to_have_count(0)
    shoot(page, "05-sponsorship-active")

    page.get_by_role("link", name="Card Test K.K.").click()
    expect(page.get_by_role("heading", name="Card Test K.K.", level=1)).to_be_visible()
    expect(page.get_by_role("row", name=re.compile(r"Gold .* Active"))).to_be_visible()
    logo = tmp_path / "card-test-logo.png"
    a_png(logo)
    page.get_by_label(re.compile(r"^Logo \(PNG")).set_input_files(logo)
    page.get_by_role("button", name="Save the logo").click()
    expect(page.get_by_text("The new logo is saved.")).to_be_visible()
    expect(page.get_by_role("img", name="The logo of Card Test K.K.")).to_be_visible()
    shoot(page, "06-company-with-logo")

    page.goto("/sponsors")
    expect(page.get_by_role("heading", name="Our partners", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Gold", level=2)).to_be_visible()
    on_the_wall = page.get_by_role("img", name="Card Test K.K.", exact=True)
    expect(on_the_wall).to_be_visible()
    expect(on_the_wall).to_have_attribute("src", re.compile(r"/partners/logos/\d+-\d+\.png$"))
    on_the_wall.scroll_into_view_if_needed()  # it loads lazily
    expect(on_the_wall).to_have_js_property("complete", True)
    assert on_the_wall.evaluate("image => image.naturalWidth") == 240
    shoot(page, "07-sponsors-wall")


@pytest.mark.parametrize("language", ["en", "ja"])
def test_a_contact_asks_for_an_invoice_downloads_its_pdf_and_opens_the_printable_invoice(
    live_server, make_page, shoot, gold_tier, tmp_path, language
):
    from pypdf import PdfReader

    from community.core.money import format_money

    email = a_contact(live_server, "invoice-contact", language)
    partner_id, company = a_company(live_server, email)
    page = make_page(locale={"ja": "ja-JP", "en": "en-US"}[language])
    sign_in(page, email, PASSWORD)
    expect(page.locator("html")).to_have_attribute("lang", language)

    page.goto("/partners")
    # The tier's own button, found without its wording, which is translated.
    page.locator("#tier-gold").get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/partners/buy\?tier=gold$"))
    expect(page.locator("input[name=tier][value=gold]")).to_be_checked()
    expect(page.locator("select[name=partner]")).to_have_value(str(partner_id))
    page.locator("input[name=method][value=invoice]").check()
    shoot(page, "01-buy-by-invoice")
    page.locator("main form button[type=submit]").click()

    expect(page).to_have_url(re.compile(r"/partners/sponsorships/\d+$"))
    sponsorship_id = int(page.url.rsplit("/", 1)[1])
    facts = page.locator("dl.facts dd")
    number = facts.filter(has_text=re.compile(r"^INV-\d{4}-\d{4,}$"))
    expect(number).to_have_count(1)
    invoice_number = number.inner_text().strip()
    invoice_status = invoiced_status(live_server, sponsorship_id, language)
    expect(status_of(page)).to_have_text(invoice_status)
    if language == "en":
        expect(status_of(page)).to_have_text(re.compile(r"^Invoiced, due \d+ \w+ \d{4}$"))
    amount = format_money(DUE_MINOR, "JPY", language)
    expect(facts.filter(has_text=amount)).to_have_count(1)
    shoot(page, "02-invoiced")

    # The PDF in the reader's language, through its link on the page.
    pdf_link = page.locator(f"a[href$='/invoice.pdf?lang={language}']")
    with page.expect_download() as download_info:
        pdf_link.click()
    download = download_info.value
    assert download.suggested_filename == f"{invoice_number}.pdf"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    content = saved.read_bytes()
    assert content.startswith(b"%PDF")
    text = "".join(sheet.extract_text() or "" for sheet in PdfReader(io.BytesIO(content)).pages)
    assert invoice_number in text

    # The printable page: its title in the language chosen, the number and the amount due.
    title = {"ja": "請求書", "en": "Invoice"}[language]
    page.locator(f"a[href$='/invoice?lang={language}']").click()
    expect(page).to_have_url(re.compile(rf"/partners/sponsorships/\d+/invoice\?lang={language}$"))
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
    expect(page).to_have_title(f"{title} {invoice_number}")
    expect(page.locator(".number")).to_have_text(invoice_number)
    expect(page.locator(".summary .amount")).to_contain_text(amount)
    expect(page.locator(".buyer-name")).to_contain_text("請求書テスト株式会社")
    shoot(page, "03-printable-invoice")

    # The company's page lists the sponsorship, invoiced.
    page.goto(f"/partners/companies/{partner_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(company[language])
    expect(page.get_by_role("row").filter(has_text=invoice_status)).to_have_count(1)
