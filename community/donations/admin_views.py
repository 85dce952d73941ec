"""The organisers' and administrators' donations pages: the gifts (filtered by campaign, kind,
status, searched by name or e-mail, a page at a time, exported as CSV), the recurring donors
(the monthly gifts that still run, and their CSV), one gift with its payments and refunds, the
reports (totals per month and per campaign, what each matching partner owes, the refunds), and
the campaigns, which administrators alone keep.

Organisers and administrators see the gifts (`organiser_required`); the campaigns are behind
`admin_required`, as is a refund (on the gift's order page, which payments keeps). The rules are
campaigns.py's and the services'; the figures are reports.py's.
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
from community.core.urls import MAX_ID
from community.donations import campaigns, reports, services
from community.donations.admin_forms import ActionForm, CampaignForm
from community.donations.models import RUNNING, STATUSES
from community.payments.reports import ORDER_STATUS_LABELS

bp = Blueprint("donations_admin", __name__, url_prefix="/organiser/donations")


def _filters(*, recurring: bool = False) -> tuple[reports.GiftFilters, list]:
    known = services.all_campaigns()
    filters = reports.GiftFilters.from_args(
        request.args, {c.id for c in known}, recurring=recurring
    )
    return filters, known


def _csv(body: bytes, filename: str):
    return (
        body,
        200,
        {
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


# --- the gifts and the recurring donors ----------------------------------------------------------


@bp.get("/")
@organiser_required
def index():
    return redirect(url_for("donations_admin.gifts"))


def _list_page(template: str, *, recurring: bool):
    filters, known = _filters(recurring=recurring)
    return render_template(
        template,
        page=reports.list_gifts(filters),
        filters=filters,
        filter_args=filters.query_args(),
        campaigns=known,
        general=reports.GENERAL,
        statuses=RUNNING if recurring else STATUSES,
        status_labels=reports.STATUS_LABELS,
        kind_labels=reports.KIND_LABELS,
        search_max=SEARCH_MAX,
    )


@bp.get("/gifts")
@organiser_required
def gifts():
    return _list_page("donations/admin/gifts.html", recurring=False)


@bp.get("/gifts.csv")
@organiser_required
def gifts_csv():
    filters, _known = _filters()
    return _csv(reports.gifts_csv(filters, current_language()), "gifts.csv")


@bp.get("/donors")
@organiser_required
def donors():
    return _list_page("donations/admin/donors.html", recurring=True)


@bp.get("/donors.csv")
@organiser_required
def donors_csv():
    filters, _known = _filters(recurring=True)
    return _csv(reports.gifts_csv(filters, current_language()), "recurring-donors.csv")


@bp.get(f"/gifts/<int(max={MAX_ID}):donation_id>")
@organiser_required
def gift(donation_id: int):
    record = reports.gift_record(donation_id)
    if record is None:
        abort(404)
    return render_template(
        "donations/admin/gift.html",
        gift=record,
        status_labels=reports.STATUS_LABELS,
        kind_labels=reports.KIND_LABELS,
        wall_labels=reports.WALL_LABELS,
        order_status_labels=ORDER_STATUS_LABELS,
    )


# --- the reports ---------------------------------------------------------------------------------


@bp.get("/reports")
@organiser_required
def report():
    totals = reports.totals_by_campaign()
    return render_template(
        "donations/admin/reports.html",
        months=reports.totals_by_month(),
        totals=totals,
        owed=reports.matching_owed(totals),
        refunds=reports.refunds(),
        zone_name=str(zone().key),
    )


# --- the campaigns -------------------------------------------------------------------------------


@bp.get("/campaigns")
@admin_required
def campaign_list():
    totals = reports.totals_by_campaign()
    return render_template("donations/admin/campaigns.html", totals=totals, form=ActionForm())


@bp.route("/campaigns/new", methods=["GET", "POST"])
@admin_required
def new_campaign():
    form = CampaignForm()
    return _campaign_page(form, None, campaigns.create)


@bp.route(f"/campaigns/<int(max={MAX_ID}):campaign_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_campaign(campaign_id: int):
    campaign = services.campaign_by_id(campaign_id)
    if campaign is None:
        abort(404)
    form = CampaignForm()
    if request.method == "GET":
        form.show_campaign(campaign)
    return _campaign_page(form, campaign, lambda fields: campaigns.update(campaign.id, fields))


def _campaign_page(form: CampaignForm, campaign, save):
    """The campaign form: saved and back to the campaigns, or shown again with what was
    refused."""
    status = 200
    if form.validate_on_submit():
        try:
            save(form.campaign_fields())
        except NotFound:
            abort(404)
        except DomainError as error:
            status = add_domain_error(form, error)
            if not isinstance(error, Busy):
                status = 422
        else:
            flash(_("The campaign is saved."), "success")
            return redirect(url_for("donations_admin.campaign_list"))
    elif form.is_submitted():
        status = 422
    return render_template(
        "donations/admin/campaign_form.html",
        form=form,
        campaign=campaign,
        zone_name=str(zone().key),
    ), status


@bp.post(f"/campaigns/<int(max={MAX_ID}):campaign_id>/<any(archive, restore):action>")
@admin_required
def campaign_action(campaign_id: int, action: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        campaigns.set_status(campaign_id, "archived" if action == "archive" else "active")
    except NotFound:
        abort(404)
    except DomainError as error:
        flash(str(error), "error")
    else:
        flash(
            _("The campaign is archived: it no longer shows nor takes gifts.")
            if action == "archive"
            else _("The campaign shows again."),
            "success",
        )
    return redirect(url_for("donations_admin.campaign_list"))
