"""Membership's public pages: `/join` (the plans), a plan's page where a signed-in person joins
it, and the member's own page (`/membership`): their membership, its renewal, their payments and
receipts. Each parses its form, calls one service and turns a refusal into a message.
"""

from __future__ import annotations

from flask import (
    Blueprint,
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

from community.core.db import utcnow
from community.core.errors import DomainError, NotFound
from community.core.i18n import current_language
from community.core.pagecache import micro_cached
from community.core.urls import MAX_ID, external_url
from community.extensions import limiter
from community.membership import documents, services
from community.membership.forms import ActionForm, AutoRenewForm, RenewForm
from community.payments import services as payments
from community.payments.documents import response_for

bp = Blueprint("membership", __name__)


def _user():
    return current_user._get_current_object()


def profile_section(user) -> Markup:
    """The profile page's membership: what the person holds, and where to manage it."""
    return Markup(  # noqa: S704 - rendered by our own autoescaping template
        render_template(
            "membership/_profile_section.html",
            membership=services.current_membership(user),
            now=utcnow(),
        )
    )


# --- the plans -----------------------------------------------------------------------------------


@bp.get("/join")
@micro_cached
def join():
    signed_in = current_user.is_authenticated
    return render_template(
        "membership/join.html",
        plans=services.plans(),
        membership=services.current_membership(_user()) if signed_in else None,
        benefit_labels=dict(services.benefit_choices()),
    )


@bp.route("/join/<slug>", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def plan(slug: str):
    found = services.plan_by_slug(slug)
    if found is None:
        abort(404)
    form = ActionForm()
    status = 200
    if request.method == "POST":
        if not current_user.is_authenticated:
            return redirect(url_for("accounts.login", next=url_for("membership.plan", slug=slug)))
        if not form.validate_on_submit():
            abort(400)
        try:
            joined = services.join(_user(), slug)
        except NotFound:
            abort(404)
        except DomainError as error:
            flash(str(error), "error")
            status = error.http_status
        else:
            if not joined.needs_payment:
                flash(_("Welcome: you are a member now."), "success")
                return redirect(url_for("membership.mine"))
            return _to_checkout(joined.membership.id)
    membership = services.current_membership(_user()) if current_user.is_authenticated else None
    here = url_for("membership.plan", slug=slug)
    return (
        render_template(
            "membership/plan.html",
            plan=found,
            form=form,
            membership=membership,
            benefit_labels=dict(services.benefit_choices()),
            can_pay_online=payments.gateway() is not None,
            login_url=url_for("accounts.login", next=here),
            signup_url=url_for("accounts.signup", next=here),
        ),
        status,
    )


def _return_urls() -> tuple[str, str]:
    here = external_url("membership.mine")
    return here + "?paid=1", here


def _to_checkout(membership_id: int):
    success_url, cancel_url = _return_urls()
    try:
        url = services.checkout_for(
            membership_id, _user(), success_url=success_url, cancel_url=cancel_url
        )
    except NotFound:
        abort(404)
    except DomainError as error:
        flash(str(error), "error")
        return redirect(url_for("membership.mine"))
    return redirect(url, code=303)


# --- the member's own page -----------------------------------------------------------------------


@bp.get("/membership")
@login_required
def mine():
    user = _user()
    current = services.current_membership(user)
    if (
        current is not None
        and request.args.get("paid") == "1"
        and services.confirm_if_paid(current)
    ):
        current = services.current_membership(user)
    memberships = services.memberships_of(user)
    renew_form = None
    if current is not None and services.can_renew(current):
        renew_form = RenewForm()
        renew_form.plan.choices = [(p.slug, p.name) for p in services.renewal_plans(current)]
        renew_form.plan.data = current.plan.slug if current.renewal == "one_off" else None
    return render_template(
        "membership/mine.html",
        current=current,
        memberships=memberships,
        paid={m.id: documents.paid_events(m) for m in memberships},
        renew_form=renew_form,
        form=ActionForm(),
        auto_renew_form=AutoRenewForm(),
        now=utcnow(),
        grace_days=services.grace().days,
    )


def _own_id(membership_id: int) -> int:
    if not 0 < membership_id <= MAX_ID:
        abort(404)
    return membership_id


@bp.post("/membership/<int:membership_id>/pay")
@login_required
def pay(membership_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    return _to_checkout(_own_id(membership_id))


@bp.post("/membership/<int:membership_id>/renew")
@login_required
@limiter.limit("20 per minute")
def renew(membership_id: int):
    form = RenewForm()
    form.plan.choices = [(p.slug, p.name) for p in services.plans()]
    if not form.validate_on_submit():
        flash(_("Choose a plan for the next year."), "error")
        return redirect(url_for("membership.mine"))
    user = _user()
    try:
        renewed = services.renew(user, _own_id(membership_id), form.plan.data)
        if not renewed.needs_payment:
            flash(_("Your membership is renewed for another year."), "success")
            return redirect(url_for("membership.mine"))
        success_url, cancel_url = _return_urls()
        url = services.renewal_checkout(
            user, membership_id, form.plan.data, success_url=success_url, cancel_url=cancel_url
        )
    except NotFound:
        abort(404)
    except DomainError as error:
        flash(str(error), "error")
        return redirect(url_for("membership.mine"))
    return redirect(url, code=303)


@bp.post("/membership/<int:membership_id>/auto-renew")
@login_required
def auto_renew(membership_id: int):
    form = AutoRenewForm()
    if not form.validate_on_submit() or form.renew.data not in ("on", "off"):
        abort(400)
    renew = form.renew.data == "on"
    try:
        services.set_auto_renew(_user(), _own_id(membership_id), renew=renew)
    except NotFound:
        abort(404)
    except DomainError as error:
        flash(str(error), "error")
    else:
        if renew:
            flash(_("Your membership renews itself again each year."), "success")
        else:
            flash(
                _("Automatic renewal is stopped: your membership runs to its end date."),
                "success",
            )
    return redirect(url_for("membership.mine"))


@bp.post("/membership/<int:membership_id>/card")
@login_required
def card(membership_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        url = services.card_page(_user(), _own_id(membership_id))
    except NotFound:
        abort(404)
    except DomainError as error:
        flash(str(error), "error")
        return redirect(url_for("membership.mine"))
    return redirect(url, code=303)


@bp.get("/membership/<int:membership_id>/receipts/<int:payment_id>")
@login_required
def receipt(membership_id: int, payment_id: int):
    """A payment's receipt as a printable page, in ?lang or the reader's language."""
    return _receipt(membership_id, payment_id, pdf=False)


@bp.get("/membership/<int:membership_id>/receipts/<int:payment_id>.pdf")
@login_required
def receipt_pdf(membership_id: int, payment_id: int):
    return _receipt(membership_id, payment_id, pdf=True)


def _receipt(membership_id: int, payment_id: int, *, pdf: bool):
    try:
        membership = services.membership_for(_own_id(membership_id), _user())
    except NotFound:
        abort(404)
    if not 0 < payment_id <= MAX_ID:
        abort(404)
    language = request.args.get("lang")
    language = language if language in ("ja", "en") else current_language()
    paper = documents.receipt_of(membership, payment_id, language)
    if paper is None:
        abort(404)
    return response_for(paper, pdf=pdf)
