"""Sponsorship's public pages (`/partners`, `/sponsors`, the logos) and the partner companies'
own pages: creating a company, buying a tier, the company's dashboard, its profile, logo and
contacts. Each parses its form, calls one service and turns a refusal into the form's message.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from community.core.dates import format_day
from community.core.errors import DomainError, Forbidden, NotFound
from community.core.forms import add_domain_error
from community.core.fragments import blocks
from community.core.i18n import current_language
from community.core.pagecache import micro_cached
from community.core.pages import has_messages, render_cached
from community.core.security import safe_next
from community.core.urls import external_url
from community.extensions import limiter
from community.payments import services as payments
from community.payments.documents import response_for
from community.sponsorship import codes, documents, services, years
from community.sponsorship.forms import ActionForm, BuyForm, ContactForm, LogoForm, PartnerForm
from community.sponsorship.logos import LOGO_CSP, check_logo

bp = Blueprint("sponsorship", __name__)

LOGO_SUFFIXES = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "image/svg+xml": "svg",
}


@bp.app_template_global()
def logo_url(partner) -> str | None:
    """A partner's logo's address, which changes with each new logo (so it is cached for good)."""
    if not partner.has_logo:
        return None
    return url_for(
        "sponsorship.logo",
        partner_id=partner.id,
        version=partner.logo_version,
        suffix=LOGO_SUFFIXES[partner.logo_type],
    )


def event_section(event) -> Markup:
    """The event page's partners: the event's own sponsors, then the wall (the event page is
    cached for everyone alike, and this holds nothing personal). Rendered once per event,
    language and version of the sponsorships (core/fragments.py)."""

    def render() -> str:
        wall = services.wall()
        sponsors = services.event_sponsors(event.id)
        if not (wall or sponsors):
            return ""
        return render_template("sponsorship/_event_section.html", wall=wall, sponsors=sponsors)

    key = ("event-partners", event.id, current_language(), services.wall_version())
    return blocks().get_or_render(key, render)


def _user():
    return current_user._get_current_object()


# --- public pages --------------------------------------------------------------------------------


@bp.get("/partners")
@micro_cached
def partners():
    """The tiers and their places left in each year offered: rendered once per version of the
    sponsorships and day (`wall_version`), and read only then."""

    def context() -> dict:
        offered = years.offered_years(years.today())
        tiers = services.tiers()
        return {
            "tiers": tiers,
            "years": offered,
            "left": {
                year: services.places_left([tier.id for tier in tiers], year) for year in offered
            },
            "periods": _periods(offered),
        }

    if has_messages():
        return render_template("sponsorship/partners.html", **context())
    key = ("partners", current_language(), services.wall_version())
    return render_cached(key, "sponsorship/partners.html", context)


def _periods(offered) -> dict:
    return {year: (years.first_day(year), years.last_day(year)) for year in offered}


@bp.get("/sponsors")
@micro_cached
def sponsors():
    """The partners' wall and the sponsors of the events to come: rendered once per version of
    what it shows (`sponsors_page_version`), and read only then."""

    def context() -> dict:
        return {"wall": services.wall(), "event_sponsors": services.upcoming_event_sponsors()}

    if has_messages():
        return render_template("sponsorship/sponsors.html", **context())
    key = ("sponsors", current_language(), services.sponsors_page_version())
    return render_cached(key, "sponsorship/sponsors.html", context)


@bp.get("/partners/logos/<int:partner_id>-<int:version>.<suffix>")
def logo(partner_id: int, version: int, suffix: str):
    found = services.logo_of(partner_id)
    if found is None:
        abort(404)
    content, media_type, current = found
    if version != current or LOGO_SUFFIXES[media_type] != suffix:
        # An old address: the current logo's, so that a page cached a while ago still shows one.
        return redirect(
            url_for(
                "sponsorship.logo",
                partner_id=partner_id,
                version=current,
                suffix=LOGO_SUFFIXES[media_type],
            ),
            code=302,
        )
    response = Response(content, mimetype=media_type)
    # An SVG is a document: it must not run anything, load anything or frame anything.
    response.headers["Content-Security-Policy"] = LOGO_CSP
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"  # the WordPress site
    return response


# --- a company and its purchases -----------------------------------------------------------------


def _mine(find, some_id: int):
    """What `find` gives this person (a company, a sponsorship): 404 if there is none, 403 if
    it is not theirs to manage."""
    try:
        return find(some_id, _user())
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)


def _partner_or_abort(partner_id: int):
    return _mine(services.partner_for, partner_id)


def _fields(form: PartnerForm) -> services.PartnerFields:
    return services.PartnerFields(
        name_ja=(form.name_ja.data or "").strip(),
        name_en=(form.name_en.data or "").strip(),
        website=(form.website.data or "").strip(),
        description_ja=(form.description_ja.data or "").strip(),
        description_en=(form.description_en.data or "").strip(),
        billing_name=(form.billing_name.data or "").strip(),
        billing_address=(form.billing_address.data or "").strip(),
        billing_department=(form.billing_department.data or "").strip(),
        billing_contact=(form.billing_contact.data or "").strip(),
        registration_number=(form.registration_number.data or "").strip() or None,
        registration_number_confirmed=bool(form.registration_number_confirmed.data),
    )


@bp.route("/partners/companies/new", methods=["GET", "POST"])
@login_required
def new_partner():
    form = PartnerForm()
    status = 200
    if form.validate_on_submit():
        try:
            partner = services.create_partner(_user(), _fields(form))
        except DomainError as error:
            status = add_domain_error(form, error)
        else:
            flash(_("The company is saved. Now choose its tier."), "success")
            return redirect(
                url_for("sponsorship.buy", partner=partner.id, tier=request.args.get("tier"))
            )
    elif form.is_submitted():
        status = 422
    return render_template("sponsorship/partner_form.html", form=form, partner=None), status


@bp.route("/partners/buy", methods=["GET", "POST"])
@login_required
@limiter.limit("20 per minute")
def buy():
    mine = services.partners_of(_user())
    if not mine:
        return redirect(url_for("sponsorship.new_partner", tier=request.args.get("tier")))
    day = years.today()
    offered = years.offered_years(day)
    tiers = services.tiers()
    form = BuyForm()
    form.partner.choices = [(partner.id, partner.name) for partner in mine]
    form.tier.choices = [(tier.slug, tier.name) for tier in tiers]
    form.year.choices = [(year, _year_label(year)) for year in offered]
    if request.method == "GET":
        form.tier.data = request.args.get("tier") or None
        wanted = request.args.get("partner", type=int)
        form.partner.data = wanted if wanted in {partner.id for partner in mine} else mine[0].id
        form.year.data = offered[0]
        form.method.data = "card"
    status = 200
    if form.validate_on_submit():
        try:
            sponsorship = services.buy_sponsorship(
                form.partner.data,
                _user(),
                tier_slug=form.tier.data,
                year=form.year.data,
                method=form.method.data,
            )
        except Forbidden:
            abort(403)
        except DomainError as error:
            status = add_domain_error(form, error)
        else:
            if sponsorship.method == "invoice":
                flash(
                    _("The place is reserved and the invoice is ready. We have e-mailed it too."),
                    "success",
                )
                return redirect(url_for("sponsorship.sponsorship", sponsorship_id=sponsorship.id))
            return _to_checkout(sponsorship.id)
    elif form.is_submitted():
        status = 422
    left = {year: services.places_left([tier.id for tier in tiers], year) for year in offered}
    return (
        render_template("sponsorship/buy.html", form=form, tiers=tiers, left=left, years=offered),
        status,
    )


def _year_label(year: int) -> str:
    return _(
        "%(first)s to %(last)s",
        first=format_day(years.first_day(year)),
        last=format_day(years.last_day(year)),
    )


def _to_checkout(sponsorship_id: int):
    here = external_url("sponsorship.sponsorship", sponsorship_id=sponsorship_id)
    try:
        url = services.checkout_for(
            sponsorship_id, _user(), success_url=here + "?paid=1", cancel_url=here
        )
    except Forbidden:
        abort(403)
    except DomainError as error:
        flash(str(error), "error")
        return redirect(url_for("sponsorship.sponsorship", sponsorship_id=sponsorship_id))
    return redirect(url, code=303)


@bp.get("/partners/sponsorships/<int:sponsorship_id>")
@login_required
def sponsorship(sponsorship_id: int):
    found = _mine(services.sponsorship_for, sponsorship_id)
    if request.args.get("paid") == "1" and services.confirm_if_paid(found):
        found = services.sponsorship_for(sponsorship_id, _user())
    order = payments.order_by_id(found.order_id) if found.order_id else None
    return render_template(
        "sponsorship/sponsorship.html",
        has_invoice=found.method == "invoice" and bool(order and order.invoice_number),
        has_receipt=documents.paid_payment_of(found) is not None,
        sponsorship=found,
        partner=found.partner,
        order=order,
        form=ActionForm(),
        can_pay_online=payments.gateway() is not None,
        today=years.today(),
    )


@bp.get("/partners/sponsorships/<int:sponsorship_id>/<any(invoice, receipt):kind>")
@login_required
def document(sponsorship_id: int, kind: str):
    """The invoice or the receipt as a printable page, in ?lang or the reader's language."""
    return _document(sponsorship_id, kind, pdf=False)


@bp.get("/partners/sponsorships/<int:sponsorship_id>/<any(invoice, receipt):kind>.pdf")
@login_required
def document_pdf(sponsorship_id: int, kind: str):
    """The same page as a PDF."""
    return _document(sponsorship_id, kind, pdf=True)


def _document(sponsorship_id: int, kind: str, *, pdf: bool):
    found = _mine(services.sponsorship_for, sponsorship_id)
    language = request.args.get("lang")
    language = language if language in ("ja", "en") else current_language()
    if kind == "invoice":
        paper = documents.invoice_of(found, language)
    else:
        paper = documents.receipt_of(found, language)
    if paper is None:
        abort(404)
    return response_for(paper, pdf=pdf)


@bp.post("/partners/sponsorships/<int:sponsorship_id>/pay")
@login_required
def pay(sponsorship_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    return _to_checkout(sponsorship_id)


@bp.route("/partners/sponsorships/<int:sponsorship_id>/renew", methods=["GET", "POST"])
@login_required
def renew(sponsorship_id: int):
    """One step: the same tier for the next year, paid the same way."""
    previous = _mine(services.sponsorship_for, sponsorship_id)
    form = ActionForm()
    problem = None
    if form.validate_on_submit():
        try:
            renewed = services.renew_sponsorship(previous.id, _user())
        except Forbidden:
            abort(403)
        except DomainError as error:
            problem = str(error)
        else:
            if renewed.method == "invoice":
                flash(_("Renewed: the place is reserved and the invoice is ready."), "success")
                return redirect(url_for("sponsorship.sponsorship", sponsorship_id=renewed.id))
            return _to_checkout(renewed.id)
    status = 422 if problem else 200
    return (
        render_template(
            "sponsorship/renew.html",
            sponsorship=previous,
            form=form,
            problem=problem,
            next_year=previous.year + 1,
            first=years.first_day(previous.year + 1),
            last=years.last_day(previous.year + 1),
        ),
        status,
    )


@bp.get("/partners/companies/<int:partner_id>")
@login_required
def dashboard(partner_id: int):
    partner = _partner_or_abort(partner_id)
    # The codes of events published since the worker last looked are made now.
    codes.issue_codes(partner.id)
    partner = _partner_or_abort(partner_id)
    sponsorships = services.sponsorships_of(partner.id)
    return render_template(
        "sponsorship/dashboard.html",
        partner=partner,
        codes=codes.codes_by_event(partner.id),
        sponsorships=sponsorships,
        current_year=years.year_of(years.today()),
        held_years={s.year for s in sponsorships if s.holds_place},
        contacts=partner.contacts,
        contact_form=ContactForm(),
        logo_form=LogoForm(),
        form=ActionForm(),
        today=years.today(),
    )


@bp.route("/partners/companies/<int:partner_id>/edit", methods=["GET", "POST"])
@login_required
def edit_partner(partner_id: int):
    partner = _partner_or_abort(partner_id)
    form = PartnerForm(obj=partner)
    status = 200
    if form.validate_on_submit():
        try:
            services.update_partner(partner.id, _user(), _fields(form))
        except Forbidden:
            abort(403)
        except DomainError as error:
            status = add_domain_error(form, error)
        else:
            flash(_("The company's details are saved."), "success")
            return redirect(url_for("sponsorship.dashboard", partner_id=partner.id))
    elif form.is_submitted():
        status = 422
    return render_template("sponsorship/partner_form.html", form=form, partner=partner), status


@bp.post("/partners/companies/<int:partner_id>/logo")
@login_required
@limiter.limit("20 per hour")
def upload_logo(partner_id: int):
    partner = _partner_or_abort(partner_id)
    form = LogoForm()
    if not form.validate_on_submit():
        flash(_("The logo could not be read. Please try again."), "error")
        return redirect(url_for("sponsorship.dashboard", partner_id=partner.id))
    try:
        if form.remove.data:
            services.set_logo(partner.id, _user(), None, None)
            flash(_("The logo is removed."), "success")
        else:
            upload = form.logo.data
            if upload is None or not getattr(upload, "filename", ""):
                raise DomainError(_("Choose a logo file."), field="logo")
            checked = check_logo(upload.read(), upload.filename)
            services.set_logo(partner.id, _user(), checked.content, checked.media_type)
            flash(_("The new logo is saved."), "success")
    except Forbidden:
        abort(403)
    except DomainError as error:
        flash(str(error), "error")
    return redirect(url_for("sponsorship.dashboard", partner_id=partner.id))


@bp.post("/partners/companies/<int:partner_id>/contacts")
@login_required
@limiter.limit("30 per hour")
def add_contact(partner_id: int):
    partner = _partner_or_abort(partner_id)
    form = ContactForm()
    if form.validate_on_submit():
        try:
            user = services.add_contact(partner.id, _user(), form.email.data)
        except Forbidden:
            abort(403)
        except DomainError as error:
            flash(str(error), "error")
        else:
            flash(_("%(name)s may now manage the company.", name=user.name), "success")
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
    return redirect(url_for("sponsorship.dashboard", partner_id=partner.id))


@bp.post("/partners/companies/<int:partner_id>/contacts/<int:user_id>/remove")
@login_required
def remove_contact(partner_id: int, user_id: int):
    partner = _partner_or_abort(partner_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.remove_contact(partner.id, _user(), user_id)
    except Forbidden:
        abort(403)
    except DomainError as error:
        flash(str(error), "error")
    else:
        flash(_("The contact is removed."), "success")
    if user_id == current_user.id:
        return redirect(safe_next("sponsorship.partners"))
    return redirect(url_for("sponsorship.dashboard", partner_id=partner.id))
