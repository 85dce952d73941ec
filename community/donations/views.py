"""Donations' public pages: `/donate` (giving, the campaigns' progress, the donor wall), a
campaign's page, the gift's private page that its link opens (its receipts, its yearly
statements, and for a monthly gift its amount, a pause, its end), the signed-in donor's gifts,
and asking for a statement by e-mail. Each parses its form, calls one service and turns a
refusal into a message.

`/donate` and a campaign's page are rendered once per key of what they show (core/pages.py):
the language, the version of the donations (any campaign, gift or payment changed), what the
clock decides (which campaigns run; whether this one is coming, running or over) and whether
the reader is signed in (the form then names their address, put in per request). A page with a
message to flash, and a form sent back with its errors, are rendered afresh.

The private pages are the link's holder's only: never cached (the app's default for pages that
are not micro-cached), and a wrong link is a 404 whether or not the gift exists. The signed-in
donor's list of gifts is theirs too: read (in one query) and rendered for each request.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from wtforms.fields.choices import SelectChoice

from community.core.db import utcnow
from community.core.errors import DomainError, NotFound
from community.core.forms import add_domain_error
from community.core.i18n import current_language
from community.core.money import format_money
from community.core.pagecache import micro_cached
from community.core.pages import has_messages, mark, render_cached
from community.core.urls import MAX_ID, external_url
from community.donations import documents, services
from community.donations.forms import (
    OTHER,
    ActionForm,
    AmountForm,
    GiftForm,
    StatementRequestForm,
    WallForm,
)
from community.donations.models import Campaign, Donation
from community.extensions import limiter
from community.payments import services as payments
from community.payments.documents import response_for

bp = Blueprint("donations", __name__)


def _user():
    return current_user._get_current_object() if current_user.is_authenticated else None


def _receipt_email() -> str:
    """Where a signed-in giver's receipt goes (the form says it); nobody's when signed out."""
    return current_user.email if current_user.is_authenticated else ""


# --- giving --------------------------------------------------------------------------------------


def _gift_form(campaigns: list[Campaign], campaign: Campaign | None = None) -> GiftForm:
    form = GiftForm()
    bounds = services.limits()
    language = current_language()
    form.amount.choices = [
        SelectChoice(str(amount), format_money(amount, bounds.currency, language))
        for amount in bounds.suggested_minor
    ] + [SelectChoice(OTHER, _("Another amount"))]
    form.currency.choices = [SelectChoice(code, code) for code in services.currencies()]
    if campaign is not None:
        form.campaign.choices = [SelectChoice(campaign.slug, campaign.name)]
        if not form.is_submitted():
            form.campaign.data = campaign.slug
    else:
        form.campaign.choices = [SelectChoice("", _("The community's work"))] + [
            SelectChoice(c.slug, c.name) for c in campaigns
        ]
    if not form.is_submitted() and bounds.suggested_minor:
        form.amount.data = str(bounds.suggested_minor[min(1, len(bounds.suggested_minor) - 1)])
    return form


def _give(form: GiftForm, back: str):
    """The gift's checkout, or the page again with what was refused."""
    if not form.validate_on_submit():
        return None, 422
    user = _user()
    if user is None and not (form.email.data or "").strip():
        form.email.errors = [*form.email.errors, _("Enter your e-mail address for the receipt.")]
        return None, 422
    request_ = services.GiftRequest(
        amount=form.amount_text(),
        kind=form.kind.data,
        email=form.email.data or "",
        currency=form.currency.data or "",
        campaign_slug=form.campaign.data or "",
        donor_name=form.donor_name.data or "",
        message=form.message.data or "",
        wall=form.wall.data,
        language=current_language(),
    )
    try:
        donation = services.give(request_, user)
        manage = services.manage_url(donation)
        url = services.checkout_for(donation, success_url=manage + "?paid=1", cancel_url=back)
    except NotFound:
        form.campaign.errors = [*form.campaign.errors, _("There is no such campaign.")]
        return None, 404
    except DomainError as error:
        typed = (form.other_amount.data or "").strip() or form.amount.data == OTHER
        field = "other_amount" if error.field == "amount" and typed else None
        return None, add_domain_error(form, error, field=field)
    return redirect(url, code=303), 303


def _donate_context(form: GiftForm, campaigns: list[Campaign], receipt_email: str) -> dict:
    return {
        "form": form,
        "campaigns": campaigns,
        "progress": services.progress_of(campaigns),
        "wall": services.wall(),
        "limits": services.limits(),
        # Configuration, fixed for the app's life (as its page cache is).
        "can_pay_online": payments.gateway() is not None,
        "receipt_email": receipt_email,
    }


def _donate_page(form: GiftForm, campaigns: list[Campaign], status: int = 200):
    context = _donate_context(form, campaigns, _receipt_email())
    return render_template("donations/donate.html", **context), status


@bp.get("/donate")
@micro_cached
def donate():
    """Rendered once per language, version of the donations, set of campaigns running now and
    signed in or not; then nothing is read but the versions (and the signed-in person)."""
    if has_messages():
        campaigns = services.running_campaigns()
        return _donate_page(_gift_form(campaigns), campaigns)
    now = utcnow()
    key = (
        "donate",
        current_language(),
        services.page_version(),
        services.running_campaign_ids(now),
        current_user.is_authenticated,
    )

    def context() -> dict:
        campaigns = services.running_campaigns(now)
        return _donate_context(_gift_form(campaigns), campaigns, mark("email"))

    return render_cached(key, "donations/donate.html", context, values={"email": _receipt_email()})


@bp.post("/donate")
@limiter.limit("20 per minute")
def give():
    campaigns = services.running_campaigns()
    form = _gift_form(campaigns)
    answer, status = _give(form, external_url("donations.donate"))
    if answer is not None:
        return answer
    return _donate_page(form, campaigns, status)


def _campaign_or_404(slug: str) -> Campaign:
    campaign = services.campaign_by_slug(slug)
    if campaign is None or campaign.status != "active":
        abort(404)
    return campaign


def _campaign_context(campaign: Campaign, form: GiftForm | None, now, receipt_email: str) -> dict:
    return {
        "campaign": campaign,
        "form": form if campaign.runs_at(now) else None,
        "progress": services.progress(campaign),
        "wall": services.wall(campaign),
        "limits": services.limits(campaign.currency),
        "over": services.campaign_is_over(campaign, now),
        # Configuration, fixed for the app's life (as its page cache is).
        "can_pay_online": payments.gateway() is not None,
        "receipt_email": receipt_email,
    }


def _campaign_page(campaign: Campaign, form: GiftForm | None, status: int = 200):
    context = _campaign_context(campaign, form, utcnow(), _receipt_email())
    return render_template("donations/campaign.html", **context), status


@bp.get("/donate/campaigns/<slug>")
@micro_cached
def campaign(slug: str):
    """Rendered once per campaign, language, version of the donations, phase (coming, running,
    over) and signed in or not; a slug that is no active campaign's is a 404 without a query
    (the versions' read aside)."""
    times = services.shown_campaigns().get(slug)
    if times is None:
        abort(404)
    if has_messages():
        found = _campaign_or_404(slug)
        return _campaign_page(found, _gift_form([], found))
    now = utcnow()
    key = (
        "donation-campaign",
        slug,
        current_language(),
        services.page_version(),
        times.phase(now),
        current_user.is_authenticated,
    )

    def context() -> dict:
        found = _campaign_or_404(slug)
        return _campaign_context(found, _gift_form([], found), now, mark("email"))

    return render_cached(
        key, "donations/campaign.html", context, values={"email": _receipt_email()}
    )


@bp.post("/donate/campaigns/<slug>")
@limiter.limit("20 per minute")
def give_to_campaign(slug: str):
    found = _campaign_or_404(slug)
    form = _gift_form([], found)
    back = external_url("donations.campaign", slug=slug)
    if not found.runs_at(utcnow()):
        over = services.campaign_is_over(found)
        flash(str(services.CAMPAIGN_ENDED if over else services.CAMPAIGN_NOT_STARTED), "error")
        return _campaign_page(found, form, 422)
    answer, status = _give(form, back)
    if answer is not None:
        return answer
    return _campaign_page(found, form, status)


# --- the gift's private page ---------------------------------------------------------------------


def _gift(donation_id: int, key: str) -> Donation:
    try:
        return services.by_token(donation_id, key)
    except NotFound:
        abort(404)


def _here(donation: Donation) -> str:
    return url_for("donations.manage", donation_id=donation.id, key=services.manage_token(donation))


@bp.get("/donate/gifts/<int:donation_id>/<key>")
def manage(donation_id: int, key: str):
    donation = _gift(donation_id, key)
    if request.args.get("paid") == "1" and services.confirm_if_paid(donation):
        donation = _gift(donation_id, key)
    wall_form = WallForm(data={"wall": donation.wall, "donor_name": donation.donor_name})
    amount_form = AmountForm()
    return render_template(
        "donations/manage.html",
        donation=donation,
        key=key,
        wall_form=wall_form,
        amount_form=amount_form,
        form=ActionForm(),
        years=services.statement_years(email=donation.email),
        limits=services.limits(donation.currency),
    )


def _after(donation: Donation, change, done: str):
    try:
        change()
    except NotFound:
        abort(404)
    except DomainError as error:
        flash(str(error), "error")
    else:
        flash(done, "success")
    return redirect(_here(donation))


@bp.post("/donate/gifts/<int:donation_id>/<key>/wall")
def set_wall(donation_id: int, key: str):
    donation = _gift(donation_id, key)
    form = WallForm()
    if not form.validate_on_submit():
        return redirect(_here(donation))
    return _after(
        donation,
        lambda: services.set_wall(donation, form.wall.data, form.donor_name.data),
        _("Your choice for the donor wall is saved."),
    )


@bp.post("/donate/gifts/<int:donation_id>/<key>/amount")
@limiter.limit("20 per minute")
def change_amount(donation_id: int, key: str):
    donation = _gift(donation_id, key)
    form = AmountForm()
    if not form.validate_on_submit():
        return redirect(_here(donation))
    return _after(
        donation,
        lambda: services.change_amount(donation, form.amount.data),
        _("Your monthly amount is changed from the next payment on."),
    )


@bp.post("/donate/gifts/<int:donation_id>/<key>/pause")
@limiter.limit("20 per minute")
def pause(donation_id: int, key: str):
    donation = _gift(donation_id, key)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _after(donation, lambda: services.pause(donation), _("Your monthly gift is paused."))


@bp.post("/donate/gifts/<int:donation_id>/<key>/resume")
@limiter.limit("20 per minute")
def resume(donation_id: int, key: str):
    donation = _gift(donation_id, key)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _after(
        donation, lambda: services.resume(donation), _("Your monthly gift continues. Thank you.")
    )


@bp.post("/donate/gifts/<int:donation_id>/<key>/cancel")
@limiter.limit("20 per minute")
def cancel(donation_id: int, key: str):
    donation = _gift(donation_id, key)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _after(
        donation,
        lambda: services.cancel(donation),
        _("Your monthly gift is cancelled: nothing more will be charged."),
    )


@bp.post("/donate/gifts/<int:donation_id>/<key>/card")
def card(donation_id: int, key: str):
    donation = _gift(donation_id, key)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        url = services.pay_link(donation)
    except DomainError as error:
        flash(str(error), "error")
        return redirect(_here(donation))
    if url is None:
        flash(_("Nothing is owed on this gift."), "success")
        return redirect(_here(donation))
    return redirect(url, code=303)


def _language() -> str:
    language = request.args.get("lang")
    return language if language in ("ja", "en") else current_language()


@bp.get("/donate/gifts/<int:donation_id>/<key>/receipts/<int:payment_id>")
def receipt(donation_id: int, key: str, payment_id: int):
    return _receipt(donation_id, key, payment_id, pdf=False)


@bp.get("/donate/gifts/<int:donation_id>/<key>/receipts/<int:payment_id>.pdf")
def receipt_pdf(donation_id: int, key: str, payment_id: int):
    return _receipt(donation_id, key, payment_id, pdf=True)


def _receipt(donation_id: int, key: str, payment_id: int, *, pdf: bool):
    donation = _gift(donation_id, key)
    if not 0 < payment_id <= MAX_ID:
        abort(404)
    paper = documents.receipt_of(donation, payment_id, _language())
    if paper is None:
        abort(404)
    return response_for(paper, pdf=pdf)


@bp.get("/donate/gifts/<int:donation_id>/<key>/statement/<int:year>")
def statement(donation_id: int, key: str, year: int):
    return _statement(donation_id, key, year, pdf=False)


@bp.get("/donate/gifts/<int:donation_id>/<key>/statement/<int:year>.pdf")
def statement_pdf(donation_id: int, key: str, year: int):
    return _statement(donation_id, key, year, pdf=True)


def _statement(donation_id: int, key: str, year: int, *, pdf: bool):
    donation = _gift(donation_id, key)
    if not 2000 <= year <= 9998:
        abort(404)
    rows = services.statement_payments(year, email=donation.email)
    paper = documents.statement(rows, year, _language())
    if paper is None:
        abort(404)
    return response_for(paper, pdf=pdf)


# --- the signed-in donor's gifts, and statements by e-mail ---------------------------------------


@bp.get("/donate/mine")
@login_required
def mine():
    """The signed-in donor's gifts, read in one query and rendered for each request (they are
    theirs alone), inside a frame rendered once per language and whether they have given."""
    own = services.own_gifts(_user())

    def listing() -> Markup:
        return Markup(  # noqa: S704 - rendered by our own autoescaping template
            render_template(
                "donations/_own_gifts.html",
                gifts=own.gifts,
                years=own.years,
                manage_url=services.manage_url,
            )
        )

    if has_messages():
        return render_template("donations/mine.html", own_gifts=listing() if own.gifts else None)
    key = ("donate-mine", current_language(), bool(own.gifts))
    frame = {"own_gifts": Markup(mark("gifts")) if own.gifts else None}  # noqa: S704 - a stand-in
    return render_cached(key, "donations/mine.html", lambda: frame, fragments={"gifts": listing})


@bp.get("/donate/mine/statement/<int:year>")
@login_required
def my_statement(year: int):
    return _my_statement(year, pdf=False)


@bp.get("/donate/mine/statement/<int:year>.pdf")
@login_required
def my_statement_pdf(year: int):
    return _my_statement(year, pdf=True)


def _my_statement(year: int, *, pdf: bool):
    if not 2000 <= year <= 9998:
        abort(404)
    rows = services.statement_payments(year, user=_user())
    paper = documents.statement(rows, year, _language())
    if paper is None:
        abort(404)
    return response_for(paper, pdf=pdf)


def _statement_form() -> StatementRequestForm:
    form = StatementRequestForm()
    this_year = utcnow().year
    form.year.choices = [SelectChoice(str(y), str(y)) for y in range(this_year, this_year - 6, -1)]
    if not form.is_submitted():
        form.year.data = str(this_year - 1 if utcnow().month < 4 else this_year)
    return form


@bp.route("/donate/statement", methods=["GET", "POST"])
@limiter.limit("5 per minute;30 per hour", methods=["POST"])
def request_statement():
    form = _statement_form()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                services.request_statement(form.email.data, int(form.year.data))
            except DomainError as error:
                status = add_domain_error(form, error)
            else:
                flash(
                    _(
                        "If gifts were made from this address in that year, we have sent it a "
                        "link to their statement."
                    ),
                    "success",
                )
                return redirect(url_for("donations.request_statement"))
        else:
            status = 422
    return render_template("donations/statement_request.html", form=form), status
