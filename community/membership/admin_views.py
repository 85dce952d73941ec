"""The organisers' and administrators' membership pages: the members (filtered by plan and
status, searched by name or e-mail, a page at a time, exported as CSV), one person's memberships
with their history and payments, the reports (joins and lapses by month, revenue by plan,
members now, renewals to come), and the plans, which administrators alone keep (they are what
the community charges).

Organisers and administrators see the members (`organiser_required`); the plans are behind
`admin_required`. The rules are the services'; the figures are reports.py's.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from community.accounts.access import admin_required, organiser_required
from community.core.dates import zone
from community.core.errors import Busy, DomainError, NotFound
from community.core.forms import add_domain_error
from community.core.i18n import current_language
from community.core.text import SEARCH_MAX
from community.membership import reports, services
from community.membership.admin_forms import ActionForm, PlanForm
from community.membership.models import BENEFITING
from community.payments.reports import ORDER_STATUS_LABELS

bp = Blueprint("membership_admin", __name__, url_prefix="/organiser/membership")


def _filters() -> tuple[reports.MemberFilters, list]:
    plans = services.plans(active_only=False)
    filters = reports.MemberFilters.from_args(request.args, {plan.id for plan in plans})
    return filters, plans


# --- the members ---------------------------------------------------------------------------------


@bp.get("/")
@organiser_required
def index():
    return redirect(url_for("membership_admin.members"))


@bp.get("/members")
@organiser_required
def members():
    filters, plans = _filters()
    return render_template(
        "membership/admin/members.html",
        page=reports.list_memberships(filters),
        filters=filters,
        filter_args=filters.query_args(),
        plans=plans,
        status_labels=reports.STATUS_LABELS,
        renews_itself=reports.renews_itself,
        search_max=SEARCH_MAX,
    )


@bp.get("/members.csv")
@organiser_required
def members_csv():
    filters, _plans = _filters()
    return (
        reports.members_csv(filters, current_language()),
        200,
        {
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="members.csv"',
            "Cache-Control": "no-store",
        },
    )


@bp.get("/members/<int:user_id>")
@organiser_required
def member(user_id: int):
    record = reports.member_record(user_id)
    if record is None:
        abort(404)
    return render_template(
        "membership/admin/member.html",
        record=record,
        status_labels=reports.STATUS_LABELS,
        history_labels=reports.HISTORY_LABELS,
        order_status_labels=ORDER_STATUS_LABELS,
        renews_itself=reports.renews_itself,
    )


# --- the reports ---------------------------------------------------------------------------------


@bp.get("/reports")
@organiser_required
def report():
    return render_template(
        "membership/admin/reports.html",
        months=reports.joins_and_lapses(),
        revenue=reports.revenue_by_plan(),
        counts=reports.members_now(),
        renewals=reports.upcoming_renewals(),
        held_statuses=BENEFITING,
        status_labels=reports.STATUS_LABELS,
        renews_itself=reports.renews_itself,
        upcoming_days=reports.UPCOMING.days,
        zone_name=str(zone().key),
    )


# --- the plans -----------------------------------------------------------------------------------


@bp.get("/plans")
@admin_required
def plans():
    return render_template(
        "membership/admin/plans.html",
        plans=reports.all_plans(),
        benefit_labels=dict(services.benefit_choices()),
        form=ActionForm(),
    )


@bp.route("/plans/new", methods=["GET", "POST"])
@admin_required
def new_plan():
    form = PlanForm()
    if request.method == "GET":
        form.currency.data = "JPY"
        form.renewal.data = "one_off"
    return _plan_page(form, None, services.create_plan)


@bp.route("/plans/<int:plan_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_plan(plan_id: int):
    plan = services.plan_by_id(plan_id)
    if plan is None:
        abort(404)
    form = PlanForm(obj=plan, price=plan.price_minor)
    return _plan_page(form, plan, lambda fields: services.update_plan(plan.id, fields))


def _plan_page(form: PlanForm, plan, save):
    """The plan form: saved and back to the plans, or shown again with what was refused."""
    status = 200
    if form.validate_on_submit():
        try:
            save(form.plan_fields())
        except NotFound:
            abort(404)
        except DomainError as error:
            status = add_domain_error(form, error)
            # A form to correct, whatever the rule refused (an address name taken is a
            # Conflict to the service); only a busy database asks to try again.
            if not isinstance(error, Busy):
                status = 422
        else:
            flash(_("The plan is saved."), "success")
            return redirect(url_for("membership_admin.plans"))
    elif form.is_submitted():
        status = 422
    return render_template("membership/admin/plan_form.html", form=form, plan=plan), status


@bp.post("/plans/<int:plan_id>/<any(retire, restore):action>")
@admin_required
def plan_action(plan_id: int, action: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.set_plan_status(plan_id, "retired" if action == "retire" else "active")
    except NotFound:
        abort(404)
    except DomainError as error:
        flash(str(error), "error")
    else:
        flash(
            _("The plan is retired: nobody can join it any more. Its members keep it to their end.")
            if action == "retire"
            else _("The plan is offered again."),
            "success",
        )
    return redirect(url_for("membership_admin.plans"))
