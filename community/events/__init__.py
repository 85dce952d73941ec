"""Events and workshops: what they are, when and where, who runs them; registration, ticket
types, the waiting list, check-in, and the organisers' pages.

Events offers four hooks to the domains above it, and never imports them: sections of a
registration's manage page (`sections.manage_section`), parts of its e-mails
(`notify.mail_parts`), lower prices (`offers.price_rule`) and what a voucher code gives
(`offers.voucher_kind`). From `init_app` it fills the hooks of the layers below: the "My events"
profile section, the personal data of registrations and the benefits of membership that events
gives (accounts), the "ticket" purpose's fulfilment and order visibility (payments), the
renderer of its e-mail notices (and what it reads ahead for a round of them) and its timed jobs
(core's outbox and worker).
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from community.accounts.membership import Benefit, member_benefit
from community.accounts.navigation import organisers
from community.accounts.sections import profile_section as accounts_profile_section
from community.accounts.services import PersonalData, personal_data
from community.core.navigation import NavEntry, add_navigation
from community.core.outbox import notice_prefetch, notice_renderer
from community.core.worker import TimedJob, timed_job
from community.events.cli import events_cli, expire_holds_command
from community.events.fulfilment import TICKET_FULFILMENT
from community.events.notify import NOTICES, read_ahead, render_notices
from community.events.offers import MEMBER_PRICES, MEMBERS_ONLY
from community.events.order_visibility import TICKET_VISIBILITY
from community.events.privacy import erase_registrations, export_registrations
from community.events.profile_section import my_events_section
from community.events.services import expire_holds_and_offers, send_reminders
from community.events.views import bp
from community.payments.fulfilment import fulfilment_handler
from community.payments.visibility import visibility_rule

NAVIGATION = (
    NavEntry("events.index", _l("Events"), 10),
    NavEntry("events.dashboard", _l("Organiser"), 60, shown_to=organisers),
    NavEntry("events.past", _l("Past events"), 10, place="footer"),
)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    personal_data.register(
        app, "registrations", PersonalData(export_registrations, erase_registrations)
    )
    accounts_profile_section.register(app, "my-events", my_events_section)
    fulfilment_handler.register(app, "ticket", TICKET_FULFILMENT)
    visibility_rule.register(app, "ticket", TICKET_VISIBILITY)
    app.cli.add_command(events_cli)
    # Holds are the events' business; payments offers the same job under its own name too.
    app.cli.commands["payments"].add_command(expire_holds_command, "expire-holds")
    notice_renderer.register(app, NOTICES, render_notices)
    notice_prefetch.register(app, NOTICES, read_ahead)
    timed_job.register(
        app, "expire-holds", TimedJob("holds and offers released", expire_holds_and_offers)
    )
    timed_job.register(app, "reminders", TimedJob("reminders sent", send_reminders))
    member_benefit.register(app, MEMBER_PRICES, Benefit(_l("Member prices at events")))
    member_benefit.register(app, MEMBERS_ONLY, Benefit(_l("Members-only tickets")))
    add_navigation(app, *NAVIGATION)
