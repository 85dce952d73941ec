"""Partner sponsorship: tiers with limited places each sponsorship year, partner companies and
their contacts, buying a tier by card (Stripe Checkout, through payments) or against an invoice
paid by bank transfer, the benefits a sponsorship gives (complimentary ticket codes for every
event, the logo on the wall and on event pages), and the organisers' view of it all.

From `init_app` it fills the hooks of the layers below and never is imported by them: the
"sponsorship" purpose's fulfilment (payments), what a person's account holds of it (accounts'
personal data: the companies they manage), the voucher kind of its complimentary codes
(events) and the partners' section of event pages, and its timed jobs (core's worker). Pages
above it (the home page, the API) read it through services.py.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from community.accounts.navigation import admins
from community.accounts.partners import partner_directory
from community.accounts.services import PersonalData, personal_data
from community.core.navigation import NavEntry, add_navigation
from community.core.worker import TimedJob, timed_job
from community.events.offers import voucher_kind
from community.events.sections import event_section
from community.payments.fulfilment import fulfilment_handler
from community.sponsorship import admin_views, jobs, privacy, services, views
from community.sponsorship.codes import COMPLIMENTARY_CODES, issue_codes
from community.sponsorship.fulfilment import SPONSORSHIP_FULFILMENT

NAVIGATION = (
    NavEntry("sponsorship.partners", _l("Partners"), 30),
    NavEntry("sponsorship.partners", _l("Partners"), 30, place="footer"),
    NavEntry("sponsorship.sponsors", _l("Sponsors"), 35, place="footer"),
    NavEntry("sponsorship_admin.pipeline", _l("Sponsorship"), 65, shown_to=admins),
)

JOBS = {
    "sponsorship-lapse": TimedJob("unpaid sponsorship invoices lapsed", jobs.lapse_unpaid_invoices),
    "sponsorship-payment-reminders": TimedJob(
        "sponsorship invoices reminded", jobs.remind_unpaid_invoices, seconds=600
    ),
    "sponsorship-renewals": TimedJob(
        "sponsorship renewals offered", jobs.send_renewal_reminders, seconds=600
    ),
    "sponsorship-card-holds": TimedJob(
        "sponsorship card holds released", jobs.release_overdue_card_holds, seconds=60
    ),
    "sponsorship-codes": TimedJob("complimentary codes issued", issue_codes, seconds=300),
}


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    app.register_blueprint(admin_views.bp)
    fulfilment_handler.register(app, "sponsorship", SPONSORSHIP_FULFILMENT)
    personal_data.register(
        app, "partner_contacts", PersonalData(privacy.export_contacts, privacy.erase_contacts)
    )
    voucher_kind.register(app, "sponsorship", COMPLIMENTARY_CODES)
    partner_directory.register(app, "sponsorship", services.partner_directory)
    event_section.register(app, "sponsorship", views.event_section)
    for name, job in JOBS.items():
        timed_job.register(app, name, job)
    add_navigation(app, *NAVIGATION)
