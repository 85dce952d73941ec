"""Membership: plans (free or paid, renewed by a yearly card subscription or by a payment each
year after reminders) and what each gives, joining from `/join`, renewals, the grace before
benefits stop, lapses, and the organisers' view of members.

From `init_app` it fills the hooks of the layers below and never is imported by them: "does this
person have this benefit" (accounts' membership check, which events asks for member prices and
members-only tickets), the "membership" purpose's fulfilment (payments: a join's or renewal's
money, and the subscription's later life), the member's section of the profile page and their
personal data (accounts), the renderer of its e-mails (core's outbox) and its timed jobs (core's
worker). Pages above it read it through services.py.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from community.accounts.membership import membership_check
from community.accounts.navigation import organisers
from community.accounts.sections import profile_section
from community.accounts.services import PersonalData, personal_data
from community.core.navigation import NavEntry, add_navigation
from community.core.outbox import notice_renderer
from community.core.worker import TimedJob, timed_job
from community.membership import admin_views, jobs, mail, privacy, views
from community.membership.fulfilment import MEMBERSHIP_FULFILMENT
from community.membership.services import NOTICE, PURPOSE, holds_benefit
from community.payments.fulfilment import fulfilment_handler

NAVIGATION = (
    NavEntry("membership.join", _l("Join"), 40),
    NavEntry("membership.join", _l("Membership"), 38, place="footer"),
    NavEntry("membership_admin.members", _l("Members"), 66, shown_to=organisers),
)

JOBS = {
    "membership-reminders": TimedJob(
        "membership renewals reminded", jobs.send_renewal_reminders, seconds=600
    ),
    "membership-grace": TimedJob("memberships in their grace", jobs.start_grace, seconds=300),
    "membership-expiry": TimedJob("memberships expired", jobs.expire_after_grace, seconds=300),
    "membership-stale-joins": TimedJob(
        "unpaid joins abandoned", jobs.abandon_stale_joins, seconds=300
    ),
}


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    app.register_blueprint(admin_views.bp)
    membership_check.register(app, "membership", holds_benefit)
    fulfilment_handler.register(app, PURPOSE, MEMBERSHIP_FULFILMENT)
    profile_section.register(app, "membership", views.profile_section)
    personal_data.register(
        app, "memberships", PersonalData(privacy.export_memberships, privacy.end_memberships)
    )
    notice_renderer.register(app, NOTICE, mail.render_notices)
    for name, job in JOBS.items():
        timed_job.register(app, name, job)
    add_navigation(app, *NAVIGATION)
