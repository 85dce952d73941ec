"""The company's page offers the one-step renewal of this year's paid sponsorship (until it is
renewed), and a person who deletes their account stops being a contact of the companies they
managed, which their data export lists."""

from __future__ import annotations

from community.accounts import services as accounts
from community.core.dates import zone
from community.core.db import db, utcnow
from community.payments import services as payments
from community.payments.models import Order
from community.sponsorship import services
from community.sponsorship.models import PartnerContact
from tests.conftest import PASSWORD
from tests.sponsorship.conftest import contact_of


def _paid(sponsorship) -> None:
    order = db.session.get(Order, sponsorship.order_id)
    payments.record_bank_transfer(
        order.id,
        amount_minor=order.amount_minor,
        received_on=utcnow().astimezone(zone("Asia/Tokyo")).date(),
        recorded_by_id=None,
    )
    db.session.rollback()


def test_the_company_page_offers_renewal_until_the_next_year_is_held(
    client, login, make_tier, make_partner, buy
):
    tier = make_tier()
    partner = make_partner()
    sponsorship = buy(partner, tier)
    login(contact_of(partner))
    renew = f"/partners/sponsorships/{sponsorship.id}/renew"
    assert renew not in client.get(f"/partners/companies/{partner.id}").get_data(as_text=True)

    _paid(sponsorship)
    assert renew in client.get(f"/partners/companies/{partner.id}").get_data(as_text=True)

    services.renew_sponsorship(sponsorship.id, contact_of(partner))
    page = client.get(f"/partners/companies/{partner.id}").get_data(as_text=True)
    assert renew not in page
    assert "Invoiced, due" in page  # next year's, reserved by the renewal


def test_deleting_an_account_ends_its_contacts_and_the_export_lists_them(
    app, make_partner, make_user
):
    person = make_user(name="Leaving Soon")
    partner = make_partner(contact=person, name_en="Exported K.K.")
    colleague = make_user(name="Staying On")
    services.add_contact(partner.id, person, colleague.email)

    exported = accounts.export_personal_data(person)
    assert [entry["company_en"] for entry in exported["partner_contacts"]] == ["Exported K.K."]

    accounts.delete_account(person, PASSWORD)
    db.session.rollback()
    remaining = db.session.scalars(
        db.select(PartnerContact.user_id).where(PartnerContact.partner_id == partner.id)
    ).all()
    assert remaining == [colleague.id]
