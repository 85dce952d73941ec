"""Donations: gifts once or each month, made without an account (a signed-in person's are linked
to their account), campaigns with goals and partners who match gifts, the donor wall, receipts
and yearly statements, and the organisers' view of it all.

From `init_app` it fills the hooks of the layers below and never is imported by them: the
"donation" purpose's fulfilment and the rule of who sees its orders (payments), the donor's
personal data (accounts), the renderer of its e-mails (core's outbox) and its timed job (core's
worker). Pages above it read it through services.py.
"""

from __future__ import annotations

from flask import Flask, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import true

from community.accounts.navigation import organisers
from community.accounts.services import PersonalData, personal_data
from community.core.navigation import NavEntry, add_navigation
from community.core.outbox import notice_renderer
from community.core.worker import TimedJob, timed_job
from community.donations import admin_views, mail, privacy, services, views
from community.donations.fulfilment import DONATION_FULFILMENT
from community.payments.fulfilment import fulfilment_handler
from community.payments.models import Order
from community.payments.visibility import Visibility, visibility_rule

NAVIGATION = (
    NavEntry("donations.donate", _l("Donate"), 50),
    NavEntry("donations.donate", _l("Donate"), 40, place="footer"),
    NavEntry("donations_admin.gifts", _l("Donations"), 67, shown_to=organisers),
)


def _gift_link(order: Order) -> tuple[str, str] | None:
    donation_id = services.parse_reference(order.reference or "")
    if donation_id is None:
        return None
    return str(_l("The gift")), url_for("donations_admin.gift", donation_id=donation_id)


# Organisers see every gift's order: the organisers' pages of donations show them all too.
DONATION_VISIBILITY = Visibility(
    visible_to=lambda user: true(), label=_l("Donation"), link=_gift_link
)


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    app.register_blueprint(admin_views.bp)
    fulfilment_handler.register(app, services.PURPOSE, DONATION_FULFILMENT)
    visibility_rule.register(app, services.PURPOSE, DONATION_VISIBILITY)
    personal_data.register(
        app, "donations", PersonalData(privacy.export_gifts, privacy.forget_gifts)
    )
    notice_renderer.register(app, services.NOTICE, mail.render_notices)
    timed_job.register(
        app,
        "donations-stale",
        TimedJob("unpaid gifts abandoned", services.abandon_stale, seconds=300),
    )
    add_navigation(app, *NAVIGATION)
