"""Partner companies through their pages: made from the buy flow, their qualified invoice
registration number read and checked, who may manage them (their contacts, and administrators),
adding and removing contacts, and the logo: uploaded through the form, checked, served with its
own policy from an address that changes with each new logo."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from community.core.db import db
from community.sponsorship.logos import LOGO_CSP
from community.sponsorship.models import Partner, PartnerContact, Sponsorship
from tests.conftest import csrf_token_from, submit
from tests.sponsorship.conftest import contact_of

NEW_PARTNER = "/partners/companies/new"


def partner_form(**changes) -> dict:
    data = {
        "name_ja": "株式会社サンプル",
        "name_en": "Sample K.K.",
        "website": "https://sample.example.com",
        "description_ja": "",
        "description_en": "",
        "billing_name": "株式会社サンプル",
        "billing_department": "総務部",
        "billing_contact": "佐藤 花子",
        "billing_address": "東京都港区1-2-3",
        "registration_number": "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def text(response) -> str:
    return response.get_data(as_text=True)


def fresh(model):
    return db.session.get(type(model), model.id, populate_existing=True)


def partners() -> list[Partner]:
    return list(
        db.session.scalars(
            select(Partner).order_by(Partner.id).execution_options(populate_existing=True)
        )
    )


def sponsorship_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Sponsorship))


def contact_ids(partner) -> set[int]:
    return set(
        db.session.scalars(
            select(PartnerContact.user_id).where(PartnerContact.partner_id == partner.id)
        )
    )


def png(size=(120, 60), colour="red") -> bytes:
    output = io.BytesIO()
    Image.new("RGB", size, colour).save(output, "PNG")
    return output.getvalue()


def dashboard_of(partner) -> str:
    return f"/partners/companies/{partner.id}"


def token_on(client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, f"{path} answered {page.status_code}"
    return csrf_token_from(text(page))


def post_multipart(client, path: str, fields: dict):
    # Encoded here: the test client would spool a large body to a file it never closes.
    boundary, body = encode_multipart(fields)
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def upload(client, partner, content: bytes, filename: str = "logo.png"):
    token = token_on(client, dashboard_of(partner))
    logo = FileStorage(io.BytesIO(content), filename=filename, content_type="image/png")
    return post_multipart(
        client, f"/partners/companies/{partner.id}/logo", {"csrf_token": token, "logo": logo}
    )


def sign_out(client) -> None:
    token = token_on(client, "/partners")
    assert client.post("/account/logout", data={"csrf_token": token}).status_code == 302


def logo_src(page: str, partner) -> str:
    match = re.search(rf'src="(/partners/logos/{partner.id}-\d+\.\w+)"', page)
    assert match, "no logo on the page"
    return match.group(1)


# --- a company made from the buy flow ------------------------------------------------------------


def test_buying_without_a_company_asks_for_the_company_first(client, make_user, login, make_tier):
    make_tier(slug="gold")
    login(make_user())
    response = client.get("/partners/buy?tier=gold")
    assert response.status_code == 302
    assert response.headers["Location"] == "/partners/companies/new?tier=gold"


def test_buying_asks_anonymous_visitors_to_sign_in(client, make_tier):
    make_tier(slug="gold")
    response = client.get("/partners/buy?tier=gold")
    assert response.status_code == 302
    assert "/account/login" in response.headers["Location"]


def test_a_company_made_from_the_buy_flow_is_preselected_for_buying(
    client, make_user, login, make_tier
):
    make_tier(slug="gold", name_en="Gold")
    person = make_user()
    login(person)
    response = submit(client, "/partners/companies/new?tier=gold", partner_form())
    assert response.status_code == 302
    [made] = partners()
    assert (made.name_ja, made.name_en) == ("株式会社サンプル", "Sample K.K.")
    assert made.billing_department == "総務部"
    assert made.registration_number is None
    assert contact_ids(made) == {person.id}
    location = response.headers["Location"]
    assert location.startswith("/partners/buy?")
    assert f"partner={made.id}" in location
    assert "tier=gold" in location

    page = text(client.get(location))
    assert "The company is saved. Now choose its tier." in page
    assert re.search(rf'<option selected value="{made.id}">Sample K.K.</option>', page)
    assert re.search(r'<input checked[^>]*name="tier"[^>]*value="gold"', page)


def test_a_contact_buys_a_tier_against_an_invoice_through_the_form(
    client, make_user, login, make_tier, make_partner, mailbox
):
    gold = make_tier(slug="gold", price_minor=100_000)
    person = make_user()
    partner = make_partner(contact=person)
    login(person)
    page = text(client.get("/partners/buy"))
    year = re.search(r'<input checked[^>]*name="year"[^>]*value="(\d{4})"', page).group(1)
    response = submit(
        client,
        "/partners/buy",
        {"partner": partner.id, "tier": "gold", "year": year, "method": "invoice"},
    )
    assert response.status_code == 302
    bought = db.session.scalar(select(Sponsorship))
    assert response.headers["Location"] == f"/partners/sponsorships/{bought.id}"
    assert (bought.partner_id, bought.tier_id, bought.status) == (partner.id, gold.id, "invoiced")
    page = text(client.get(response.headers["Location"]))
    assert "The place is reserved and the invoice is ready." in page
    assert "¥110,000" in page


@pytest.mark.parametrize(
    ("names", "status"),
    [({"name_ja": "", "name_en": ""}, 422), ({"name_ja": " ", "name_en": "  "}, 422)],
)
def test_a_company_needs_its_name_in_one_language(client, make_user, login, names, status):
    login(make_user())
    response = submit(client, NEW_PARTNER, partner_form(**names))
    assert response.status_code == status
    assert "Give the company&#39;s name." in text(response)
    assert partners() == []


@pytest.mark.parametrize("names", [{"name_ja": ""}, {"name_en": ""}])
def test_a_name_in_either_language_is_enough(client, make_user, login, names):
    login(make_user())
    assert submit(client, NEW_PARTNER, partner_form(**names)).status_code == 302
    assert len(partners()) == 1


@pytest.mark.parametrize(
    "website",
    [
        "not a site",
        "javascript:alert(1)",
        "javascript://example.com/%0aalert(document.cookie)",
        "data://example.com/text/html,<script>alert(1)</script>",
    ],
)
def test_a_website_must_be_a_web_address(client, make_user, login, website):
    # The website is the link of the logo on every public page: only http(s) may be one.
    login(make_user())
    response = submit(client, NEW_PARTNER, partner_form(website=website))
    assert response.status_code == 422
    assert partners() == []


def test_bad_text_on_the_company_form_is_refused_with_a_message(client, make_user, login):
    login(make_user())
    response = submit(client, NEW_PARTNER, partner_form(name_en="Sample\x07 K.K."))
    assert response.status_code == 422
    assert "Remove the control characters from this field." in text(response)
    response = submit(client, NEW_PARTNER, partner_form(name_en="Sample\x00 K.K."))
    assert response.status_code == 400
    assert partners() == []


# --- the qualified invoice registration number ---------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "T7000012050002",
        "t7000012050002",
        "Ｔ７００００１２０５０００２",
        "T7000-0120-50002",
        "T 7000 0120 50002",
        "Ｔ７０００－０１２０－５０００２",
        "  T7000012050002  ",
    ],
)
def test_a_corporate_registration_number_is_stored_canonical(client, make_user, login, typed):
    login(make_user())
    response = submit(client, NEW_PARTNER, partner_form(registration_number=typed))
    assert response.status_code == 302
    [made] = partners()
    assert made.registration_number == "T7000012050002"
    assert made.registration_number_confirmed is False


def test_a_number_failing_the_check_digit_is_refused_until_confirmed(client, make_user, login):
    from community.payments.registration_number import passes_corporate_check

    assert not passes_corporate_check("T1234567890123")
    login(make_user())
    response = submit(client, NEW_PARTNER, partner_form(registration_number="T1234567890123"))
    assert response.status_code == 422
    page = text(response)
    error = re.search(r'<p class="error" id="registration_number-error">(.*?)</p>', page, re.S)
    assert error, "the message is on the field"
    assert "T1234567890123 is not a corporation&#39;s registration number" in error.group(1)
    assert "tick the box to confirm it" in error.group(1)
    assert partners() == []

    response = submit(
        client,
        NEW_PARTNER,
        partner_form(registration_number="T1234567890123", registration_number_confirmed="y"),
    )
    assert response.status_code == 302
    [made] = partners()
    assert made.registration_number == "T1234567890123"
    assert made.registration_number_confirmed is True


def test_a_confirmed_box_on_a_corporate_number_is_not_kept(client, make_user, login):
    login(make_user())
    submit(
        client,
        NEW_PARTNER,
        partner_form(registration_number="T7000012050002", registration_number_confirmed="y"),
    )
    [made] = partners()
    assert made.registration_number_confirmed is False


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("T123", "This number has 3 digits after the T"),
        ("TABCDEFGHIJKLM", "holds only T and the digits 0 to 9"),
        ("7000012050002", "A registration number starts with T"),
        ("X7000012050002", "A registration number starts with T"),
        ("T70000120500021", "This number has 14 digits after the T"),
        ("T７０００012050002x", "holds only T and the digits 0 to 9"),
        ("T" + "1" * 45, "This is too long for a registration number"),
    ],
)
def test_a_malformed_registration_number_is_refused_even_confirmed(
    client, make_user, login, typed, message
):
    login(make_user())
    for confirmed in (None, "y"):
        response = submit(
            client,
            NEW_PARTNER,
            partner_form(registration_number=typed, registration_number_confirmed=confirmed),
        )
        assert response.status_code == 422
        page = text(response)
        assert 'id="registration_number-error"' in page or "Field cannot be longer" in page
        if len(typed) <= 40:
            assert message in page
    assert partners() == []


def test_editing_a_company_normalises_its_number_and_keeps_its_contacts(
    client, make_partner, login
):
    partner = make_partner()
    login(contact_of(partner))
    path = f"/partners/companies/{partner.id}/edit"
    assert "株式会社テスト" in text(client.get(path))
    response = submit(
        client,
        path,
        partner_form(
            name_en="Renamed K.K.", registration_number="ｔ７０００　０１２０　５０００２"
        ),
    )
    assert response.status_code == 302
    assert response.headers["Location"] == dashboard_of(partner)
    edited = fresh(partner)
    assert edited.name_en == "Renamed K.K."
    assert edited.registration_number == "T7000012050002"
    assert "The company&#39;s details are saved." in text(client.get(dashboard_of(partner)))


def test_editing_a_sole_proprietors_company_keeps_its_confirmed_number(client, make_partner, login):
    partner = make_partner(registration_number="T1234567890123", registration_number_confirmed=True)
    assert partner.registration_number_confirmed is True
    login(contact_of(partner))
    path = f"/partners/companies/{partner.id}/edit"
    page = text(client.get(path))
    assert 'value="T1234567890123"' in page
    assert re.search(r'<input checked[^>]*name="registration_number_confirmed"', page)
    form = partner_form(
        name_en="Renamed",
        registration_number="T1234567890123",
        registration_number_confirmed="y",
    )
    assert submit(client, path, form).status_code == 302
    edited = fresh(partner)
    assert (edited.name_en, edited.registration_number) == ("Renamed", "T1234567890123")
    assert edited.registration_number_confirmed is True
    # Without the box, the same number is refused again.
    form.pop("registration_number_confirmed")
    assert submit(client, path, {**form, "name_en": "Again"}).status_code == 422
    assert fresh(partner).name_en == "Renamed"


def test_removing_the_number_clears_its_confirmation(client, make_partner, login):
    partner = make_partner(registration_number="T1234567890123", registration_number_confirmed=True)
    login(contact_of(partner))
    path = f"/partners/companies/{partner.id}/edit"
    assert submit(client, path, partner_form(registration_number="")).status_code == 302
    edited = fresh(partner)
    assert edited.registration_number is None
    assert edited.registration_number_confirmed is False


def test_editing_a_company_with_a_bad_number_changes_nothing(client, make_partner, login):
    partner = make_partner(registration_number="T7000012050002")
    login(contact_of(partner))
    path = f"/partners/companies/{partner.id}/edit"
    response = submit(client, path, partner_form(name_en="Renamed", registration_number="T123"))
    assert response.status_code == 422
    unchanged = fresh(partner)
    assert unchanged.registration_number == "T7000012050002"
    assert unchanged.name_en != "Renamed"


# --- who may manage a company --------------------------------------------------------------------


@pytest.fixture
def stranger(make_user, login):
    """Signed in on `client`, and a contact of no company but their own."""
    user = make_user(name="Stranger", email="stranger@example.com")
    login(user)
    return user


def test_another_user_may_not_see_or_manage_a_company(
    client, make_partner, make_tier, buy, make_user, stranger
):
    gold = make_tier(slug="gold")
    partner = make_partner(name_en="Target K.K.")
    bought = buy(partner, gold)
    before = (fresh(partner).name_en, fresh(partner).logo_version, contact_ids(partner))
    token = token_on(client, NEW_PARTNER)
    colleague = make_user(email="colleague@example.com")

    assert client.get(dashboard_of(partner)).status_code == 403
    assert client.get(f"/partners/companies/{partner.id}/edit").status_code == 403
    assert client.get(f"/partners/sponsorships/{bought.id}").status_code == 403
    posts = {
        f"/partners/companies/{partner.id}/edit": partner_form(name_en="Hacked"),
        f"/partners/companies/{partner.id}/logo": {"remove": "y"},
        f"/partners/companies/{partner.id}/contacts": {"email": stranger.email},
        f"/partners/companies/{partner.id}/contacts/{contact_of(partner).id}/remove": {},
        f"/partners/sponsorships/{bought.id}/renew": {},
        f"/partners/sponsorships/{bought.id}/pay": {},
    }
    for path, data in posts.items():
        response = client.post(path, data={"csrf_token": token, **data})
        assert response.status_code == 403, path
    assert client.get(f"/partners/sponsorships/{bought.id}/renew").status_code == 403
    response = client.post(
        f"/partners/companies/{partner.id}/contacts",
        data={"csrf_token": token, "email": colleague.email},
    )
    assert response.status_code == 403
    after = (fresh(partner).name_en, fresh(partner).logo_version, contact_ids(partner))
    assert after == before


def test_buying_for_a_company_that_is_not_yours_is_refused(
    client, make_partner, make_tier, stranger
):
    make_tier(slug="gold")
    target = make_partner(name_en="Target K.K.")
    # Without a company of one's own, the buy page asks for one and buys nothing.
    token = token_on(client, NEW_PARTNER)
    data = {"partner": target.id, "tier": "gold", "year": "2030", "method": "invoice"}
    response = client.post("/partners/buy", data={"csrf_token": token, **data})
    assert response.status_code == 302
    assert response.headers["Location"].startswith(NEW_PARTNER)
    assert sponsorship_count() == 0

    mine = submit(client, NEW_PARTNER, partner_form())
    assert mine.status_code == 302
    page = text(client.get("/partners/buy"))
    year = re.search(r'<input checked[^>]*name="year"[^>]*value="(\d{4})"', page).group(1)
    assert f'value="{target.id}"' not in page
    response = submit(client, "/partners/buy", {**data, "year": year})
    assert response.status_code == 422
    assert "Not a valid choice" in text(response)
    assert sponsorship_count() == 0


def test_an_administrator_may_view_a_companys_dashboard(client, make_partner, admin):
    partner = make_partner(name_en="Visible K.K.")
    response = client.get(dashboard_of(partner))
    assert response.status_code == 200
    assert "Visible K.K." in text(response)


def test_anonymous_visitors_are_sent_to_sign_in_from_a_companys_pages(client, make_partner):
    partner = make_partner()
    for path in (
        dashboard_of(partner),
        f"/partners/companies/{partner.id}/edit",
        NEW_PARTNER,
        "/partners/buy",
    ):
        response = client.get(path)
        assert response.status_code == 302, path
        assert "/account/login" in response.headers["Location"]


@pytest.mark.parametrize(
    "path",
    [
        "/partners/companies/999999",
        "/partners/companies/99999999999",
        "/partners/companies/99999999999999999999999",
        "/partners/companies/99999999999999999999999/edit",
        "/partners/sponsorships/999999",
        "/partners/sponsorships/99999999999999999999999",
    ],
)
def test_a_company_or_sponsorship_that_does_not_exist_is_not_found(client, stranger, path):
    assert client.get(path).status_code == 404


# --- contacts ------------------------------------------------------------------------------------


def add_contact(client, partner, email: str):
    token = token_on(client, dashboard_of(partner))
    return client.post(
        f"/partners/companies/{partner.id}/contacts", data={"csrf_token": token, "email": email}
    )


def remove_contact(client, partner, user):
    token = token_on(client, dashboard_of(partner))
    return client.post(
        f"/partners/companies/{partner.id}/contacts/{user.id}/remove", data={"csrf_token": token}
    )


def test_a_contact_adds_a_colleague_who_may_then_manage_the_company(
    client, make_partner, make_user, login
):
    partner = make_partner()
    colleague = make_user(name="Colleague", email="colleague@example.com")
    login(contact_of(partner))
    response = add_contact(client, partner, "Colleague@Example.COM")
    assert response.status_code == 302
    assert response.headers["Location"] == dashboard_of(partner)
    page = text(client.get(dashboard_of(partner)))
    assert "Colleague may now manage the company." in page
    assert contact_ids(partner) == {contact_of(partner).id, colleague.id}

    sign_out(client)
    login(colleague)
    response = client.get(dashboard_of(partner))
    assert response.status_code == 200
    assert "株式会社テスト" in text(response) or "Test" in text(response)


def test_an_address_without_an_account_is_refused(client, make_partner, login):
    partner = make_partner()
    login(contact_of(partner))
    add_contact(client, partner, "nobody@example.com")
    page = text(client.get(dashboard_of(partner)))
    assert "Nobody has an account with this address: ask them to sign up first." in page
    assert contact_ids(partner) == {contact_of(partner).id}


def test_a_malformed_address_is_refused(client, make_partner, login):
    partner = make_partner()
    login(contact_of(partner))
    add_contact(client, partner, "not-an-address")
    assert "Enter a valid e-mail address." in text(client.get(dashboard_of(partner)))
    assert contact_ids(partner) == {contact_of(partner).id}


def test_the_same_contact_twice_is_refused(client, make_partner, make_user, login):
    partner = make_partner()
    colleague = make_user(email="colleague@example.com")
    login(contact_of(partner))
    add_contact(client, partner, colleague.email)
    response = add_contact(client, partner, colleague.email)
    assert response.status_code == 302
    page = text(client.get(dashboard_of(partner)))
    assert "This person is already a contact of the company." in page
    assert contact_ids(partner) == {contact_of(partner).id, colleague.id}


def test_adding_oneself_again_is_refused_as_already_a_contact(client, make_partner, login):
    partner = make_partner()
    me = contact_of(partner)
    login(me)
    response = add_contact(client, partner, me.email)
    assert response.status_code == 302
    page = text(client.get(dashboard_of(partner)))
    assert "This person is already a contact of the company." in page
    assert contact_ids(partner) == {me.id}


def test_a_contact_removes_a_colleague(client, make_partner, make_user, login):
    partner = make_partner()
    colleague = make_user(email="colleague@example.com")
    login(contact_of(partner))
    add_contact(client, partner, colleague.email)
    response = remove_contact(client, partner, colleague)
    assert response.status_code == 302
    assert response.headers["Location"] == dashboard_of(partner)
    assert "The contact is removed." in text(client.get(dashboard_of(partner)))
    assert contact_ids(partner) == {contact_of(partner).id}
    sign_out(client)
    login(colleague)
    assert client.get(dashboard_of(partner)).status_code == 403


def test_a_contact_may_leave_a_company_that_keeps_another(client, make_partner, make_user, login):
    partner = make_partner()
    first = contact_of(partner)
    colleague = make_user(email="colleague@example.com")
    login(first)
    add_contact(client, partner, colleague.email)
    response = remove_contact(client, partner, first)
    assert response.status_code == 302
    assert response.headers["Location"] == "/partners"
    assert contact_ids(partner) == {colleague.id}
    assert client.get(dashboard_of(partner)).status_code == 403


def test_the_last_contact_cannot_be_removed(client, make_partner, login):
    partner = make_partner()
    me = contact_of(partner)
    login(me)
    page = text(client.get(dashboard_of(partner)))
    assert f"/contacts/{me.id}/remove" not in page  # no button for it
    remove_contact(client, partner, me)
    assert "A company keeps at least one contact." in text(client.get(dashboard_of(partner)))
    assert contact_ids(partner) == {me.id}


def test_removing_someone_who_is_not_a_contact_is_not_found(client, make_partner, make_user, login):
    partner = make_partner()
    other = make_user()
    login(contact_of(partner))
    assert remove_contact(client, partner, other).status_code in (302, 404)
    assert contact_ids(partner) == {contact_of(partner).id}


# --- the logo ------------------------------------------------------------------------------------


@pytest.fixture
def signed_in_partner(client, make_partner, login):
    partner = make_partner(name_en="Logo K.K.")
    login(contact_of(partner))
    return partner


def test_an_uploaded_png_is_shown_and_served_with_its_own_policy(client, signed_in_partner):
    partner = signed_in_partner
    response = upload(client, partner, png())
    assert response.status_code == 302
    assert response.headers["Location"] == dashboard_of(partner)
    page = text(client.get(dashboard_of(partner)))
    assert "The new logo is saved." in page
    src = logo_src(page, partner)
    assert src == f"/partners/logos/{partner.id}-1.png"
    assert 'alt="The logo of Logo K.K."' in page

    served = client.get(src)
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["Content-Security-Policy"] == LOGO_CSP
    cache = served.headers["Cache-Control"]
    assert "public" in cache
    assert int(re.search(r"max-age=(\d+)", cache).group(1)) >= 30 * 24 * 3600
    image = Image.open(io.BytesIO(served.data))
    assert image.format == "PNG"
    assert image.size == (120, 60)


def test_the_logo_is_public(client, signed_in_partner, app):
    upload(client, signed_in_partner, png())
    src = f"/partners/logos/{signed_in_partner.id}-1.png"
    anonymous = app.test_client()
    assert anonymous.get(src).status_code == 200


SVG_WITH_SCRIPT = b"""<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" width="100" height="50" onload="alert(1)">
  <script>alert(document.cookie)</script>
  <rect width="100" height="50" fill="#e60012" onclick="alert(2)"/>
  <a href="javascript:alert(3)"><circle cx="25" cy="25" r="10"/></a>
</svg>"""


def test_an_svg_is_stored_without_its_scripts(client, signed_in_partner):
    partner = signed_in_partner
    assert upload(client, partner, SVG_WITH_SCRIPT, "logo.svg").status_code == 302
    src = logo_src(text(client.get(dashboard_of(partner))), partner)
    assert src.endswith(".svg")
    served = client.get(src)
    assert served.status_code == 200
    assert served.mimetype == "image/svg+xml"
    assert served.headers["Content-Security-Policy"] == LOGO_CSP
    body = served.data.lower()
    assert b"script" not in body
    assert b"onload" not in body
    assert b"onclick" not in body
    assert b"javascript" not in body
    assert b"<rect" in body
    assert b"<circle" in body


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * (3 * 1024 * 1024), "This file is larger than 2 MB."),
        (b"this is not an image at all", "This file is not a PNG, JPEG, WebP or SVG image."),
        (png()[:60], "This image could not be read"),
        (b"", "The logo file is empty."),
        (png(size=(8, 8)), "This image is 8 × 8 pixels."),
    ],
)
def test_a_file_that_is_not_a_fit_logo_is_refused_and_the_old_logo_stays(
    client, signed_in_partner, content, message
):
    partner = signed_in_partner
    upload(client, partner, png())
    before = fresh(partner)
    old = (before.logo_version, before.logo, before.logo_type)
    response = upload(client, partner, content, "logo.png")
    assert response.status_code == 302
    page = text(client.get(dashboard_of(partner)))
    assert message in page
    assert "flash-error" in page
    after = fresh(partner)
    assert (after.logo_version, after.logo, after.logo_type) == old
    assert client.get(f"/partners/logos/{partner.id}-{old[0]}.png").status_code == 200


def test_a_file_beyond_the_upload_limit_is_refused_without_a_500(client, signed_in_partner):
    partner = signed_in_partner
    upload(client, partner, png())
    response = upload(client, partner, b"\x00" * (9 * 1024 * 1024))
    assert response.status_code == 413
    assert fresh(partner).logo_version == 1


def test_sending_the_form_without_a_file_says_so(client, signed_in_partner):
    partner = signed_in_partner
    token = token_on(client, dashboard_of(partner))
    response = post_multipart(
        client, f"/partners/companies/{partner.id}/logo", {"csrf_token": token}
    )
    assert response.status_code == 302
    assert "Choose a logo file." in text(client.get(dashboard_of(partner)))
    assert not fresh(partner).has_logo


def test_an_upload_without_the_csrf_token_is_refused(client, signed_in_partner):
    partner = signed_in_partner
    logo = FileStorage(io.BytesIO(png()), filename="logo.png", content_type="image/png")
    response = post_multipart(client, f"/partners/companies/{partner.id}/logo", {"logo": logo})
    assert response.status_code in (302, 400)
    assert not fresh(partner).has_logo


def test_a_new_logo_gets_a_new_address_and_the_old_one_leads_to_it(client, signed_in_partner):
    partner = signed_in_partner
    upload(client, partner, png(colour="red"))
    first = logo_src(text(client.get(dashboard_of(partner))), partner)
    upload(client, partner, png(colour="blue"))
    second = logo_src(text(client.get(dashboard_of(partner))), partner)
    assert first == f"/partners/logos/{partner.id}-1.png"
    assert second == f"/partners/logos/{partner.id}-2.png"
    old = client.get(first)
    assert old.status_code == 302
    assert old.headers["Location"] == second
    served = Image.open(io.BytesIO(client.get(second).data)).convert("RGB")
    assert served.getpixel((0, 0)) == (0, 0, 255)


def test_a_logo_address_with_another_suffix_leads_to_the_right_one(client, signed_in_partner):
    partner = signed_in_partner
    upload(client, partner, png())
    for wrong in ("svg", "jpg", "html", "PNG"):
        response = client.get(f"/partners/logos/{partner.id}-1.{wrong}")
        assert response.status_code == 302, wrong
        assert response.headers["Location"] == f"/partners/logos/{partner.id}-1.png"


def test_a_logo_that_does_not_exist_is_not_found(client, make_partner):
    without_logo = make_partner()
    assert client.get(f"/partners/logos/{without_logo.id}-0.png").status_code == 404
    assert client.get("/partners/logos/999999-1.png").status_code == 404
    assert client.get("/partners/logos/99999999999999999999999-1.png").status_code == 404


def test_a_removed_logo_is_no_longer_served(client, signed_in_partner):
    partner = signed_in_partner
    upload(client, partner, png())
    token = token_on(client, dashboard_of(partner))
    response = post_multipart(
        client, f"/partners/companies/{partner.id}/logo", {"csrf_token": token, "remove": "y"}
    )
    assert response.status_code == 302
    page = text(client.get(dashboard_of(partner)))
    assert "The logo is removed." in page
    assert "No logo yet" in page
    assert client.get(f"/partners/logos/{partner.id}-1.png").status_code == 404
    assert client.get(f"/partners/logos/{partner.id}-2.png").status_code == 404
