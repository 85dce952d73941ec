"""The organisers' view of sponsorship (administrators only: it is the community's money): the
pipeline (invoiced, active, expiring within 60 days, lapsed), revenue by tier and year, places
left per tier, the CSV export, the invoices awaiting a transfer (recorded on payments' bank-transfer
page), the tiers themselves and the partners sponsoring one event.
"""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from community.accounts.access import admin_required
from community.core.errors import DomainError, NotFound
from community.core.forms import add_domain_error
from community.sponsorship import reports, services, years
from community.sponsorship.forms import ActionForm, EventSponsorForm, TierForm

bp = Blueprint("sponsorship_admin", __name__, url_prefix="/organiser/sponsorship")


@bp.get("/")
@admin_required
def pipeline():
    day = years.today()
    tiers = services.tiers(with_retired=True)
    offered = years.offered_years(day)
    return render_template(
        "sponsorship/admin/pipeline.html",
        pipeline=reports.pipeline(day),
        revenue=reports.revenue_by_tier_and_year(),
        tiers=tiers,
        years=offered,
        left={year: services.places_left([tier.id for tier in tiers], year) for year in offered},
        form=ActionForm(),
        event_sponsor_form=EventSponsorForm.for_partners(reports.partner_choices()),
        event_sponsors=services.upcoming_event_sponsors(limit=50),
        today=day,
    )


@bp.get("/sponsorships.csv")
@admin_required
def export():
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(reports.CSV_HEADER)
    for row in reports.csv_rows():
        writer.writerow(row)
    return Response(
        "\ufeff" + buffer.getvalue(),  # a BOM, so that Excel reads Japanese names as UTF-8
        mimetype="text/csv",
        headers={
            "Content-Disposition": "attachment; filename=sponsorships.csv",
            "Cache-Control": "no-store",
        },
    )


def _tier_fields(form: TierForm) -> services.TierFields:
    return services.TierFields(
        slug=form.slug.data.strip(),
        name_ja=(form.name_ja.data or "").strip(),
        name_en=(form.name_en.data or "").strip(),
        benefits_ja=(form.benefits_ja.data or "").strip(),
        benefits_en=(form.benefits_en.data or "").strip(),
        price_minor=form.price.data,
        currency=form.currency.data,
        price_includes_tax=bool(form.price_includes_tax.data),
        tax_rate=form.tax_rate.data,
        places=form.places.data,
        complimentary_tickets=form.complimentary_tickets.data,
        logo_size=form.logo_size.data,
        mention_at_openings=bool(form.mention_at_openings.data),
        posts=form.posts.data,
        position=form.position.data,
    )


@bp.route("/tiers/new", methods=["GET", "POST"])
@admin_required
def new_tier():
    form = TierForm()
    if request.method == "GET":
        form.currency.data = "JPY"
    return _tier_page(form, None, lambda fields: services.create_tier(fields))


@bp.route("/tiers/<int(max=2147483647):tier_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_tier(tier_id: int):
    tier = services.tier_by_id(tier_id)
    if tier is None:
        abort(404)
    form = TierForm(obj=tier, price=tier.price_minor)
    return _tier_page(form, tier, lambda fields: services.update_tier(tier.id, fields))


def _tier_page(form: TierForm, tier, save):
    """The tier form: saved and back to the pipeline, or shown again with what was refused."""
    status = 200
    if form.validate_on_submit():
        try:
            save(_tier_fields(form))
        except NotFound:
            abort(404)
        except DomainError as error:
            status = add_domain_error(form, error)
        else:
            flash(_("The tier is saved."), "success")
            return redirect(url_for("sponsorship_admin.pipeline"))
    elif form.is_submitted():
        status = 422
    return render_template("sponsorship/admin/tier_form.html", form=form, tier=tier), status


@bp.post("/tiers/<int(max=2147483647):tier_id>/<any(retire, restore, delete):action>")
@admin_required
def tier_action(tier_id: int, action: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        if action == "delete":
            services.delete_tier(tier_id)
            flash(_("The tier is deleted."), "success")
        else:
            services.retire_tier(tier_id, retired=action == "retire")
            flash(
                _("The tier is retired: it is no longer sold.")
                if action == "retire"
                else _("The tier is offered again."),
                "success",
            )
    except NotFound:
        abort(404)
    except DomainError as error:
        flash(str(error), "error")
    return redirect(url_for("sponsorship_admin.pipeline"))


@bp.post("/event-sponsors")
@admin_required
def add_event_sponsor():
    form = EventSponsorForm.for_partners(reports.partner_choices())
    if form.validate_on_submit():
        try:
            services.add_event_sponsor(form.event.data.strip(), form.partner.data, form.role.data)
        except DomainError as error:
            flash(str(error), "error")
        else:
            flash(_("The event sponsor is added."), "success")
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
    return redirect(url_for("sponsorship_admin.pipeline"))


@bp.post("/event-sponsors/<int(max=2147483647):sponsor_id>/remove")
@admin_required
def remove_event_sponsor(sponsor_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.remove_event_sponsor(sponsor_id)
    except NotFound:
        abort(404)
    flash(_("The event sponsor is removed."), "success")
    return redirect(url_for("sponsorship_admin.pipeline"))
