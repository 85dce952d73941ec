"""Membership's public pages: `/join` (the plans), a plan's page where a signed-in person joins
it, and the member's own page (`/membership`): their membership, its renewal, their payments and
receipts. Each parses its form, calls one service and turns a refusal into a message.

Their GETs are whole pages rendered once per key (core/pages.py): the plans' version, the
language and the few facts of the reader's own membership that change the markup (its plan,
status and days, read light each request), never whom it is for. What is theirs alone (their
membership's and payments' ids, in the links and forms of `/membership`) is put in per request.
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

from community.core.errors import DomainError, NotFound
from community.core.fragments import blocks
from community.core.i18n import current_language
from community.core.pagecache import micro_cached
from community.core.pages import has_messages, mark, render_cached
from community.core.urls import MAX_ID, external_url
from community.core.versions import content_version
from community.extensions import limiter
from community.membership import documents, services
from community.membership.forms import ActionForm, AutoRenewForm, RenewForm
from community.payments import services as payments
from community.payments.documents import response_for

bp = Blueprint("membership", __name__)

# The plans and their benefits (the benefits' names are the domains', fixed at start-up).
VERSION = "membership"


def _user():
    return current_user._get_current_object()


def _held():
    """The reader's own membership, as the pages show it (one light read), if any."""
    return services.held_by(current_user.id) if current_user.is_authenticated else None


def _plan_of(held):
    return services.plan_by_id(held.plan_id) if held is not None else None


def profile_section(user) -> Markup:
    """The profile page's membership: what the person holds, and where to manage it. Rendered
    once per language, version of the plans and what it shows of the membership."""
    held = services.held_by(user.id)

    def render() -> str:
        return render_template(
            "membership/_profile_section.html", held=held, held_plan=_plan_of(held)
        )

    key = ("membership-profile", current_language(), content_version(VERSION), held)
    return blocks().get_or_render(key, render)


# --- the plans -----------------------------------------------------------------------------------


@bp.get("/join")
@micro_cached
def join():
    held = _held()

    def context() -> dict:
        return {
            "plans": services.plans(),
            "held_plan": _plan_of(held),
            "benefit_labels": dict(services.benefit_choices()),
        }

    if has_messages():
        return render_template("membership/join.html", **context())
    key = (
        "membership-join",
        current_language(),
        content_version(VERSION),
        held.plan_id if held else None,
    )
    return render_cached(key, "membership/join.html", context)


def _plan_context(found, held, form, can_pay_online: bool) -> dict:
    here = url_for("membership.plan", slug=found.slug)
    return {
        "plan": found,
        "form": form,
        "held": held,
        "held_plan": _plan_of(held),
        "benefit_labels": dict(services.benefit_choices()),
        "can_pay_online": can_pay_online,
        "login_url": url_for("accounts.login", next=here),
        "signup_url": url_for("accounts.signup", next=here),
    }


def _plan_or_404(slug: str):
    found = services.plan_by_slug(slug)
    if found is None:
        abort(404)
    return found


@bp.route("/join/<slug>", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def plan(slug: str):
    if request.method == "GET" and not has_messages():
        return _plan_page(slug)
    found = _plan_or_404(slug)
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
    context = _plan_context(found, _held(), form, payments.gateway() is not None)
    return render_template("membership/plan.html", **context), status


def _plan_page(slug: str) -> str:
    """A plan's page, read only when its key is new: an unknown plan is not found then (and
    nothing is kept), a known one's key changes with any change to the plans."""
    signed_in = current_user.is_authenticated
    held = _held()
    can_pay_online = payments.gateway() is not None
    key = (
        "membership-plan",
        slug,
        current_language(),
        content_version(VERSION),
        signed_in,
        held,
        can_pay_online,
    )
    return render_cached(
        key,
        "membership/plan.html",
        lambda: _plan_context(_plan_or_404(slug), held, ActionForm(), can_pay_online),
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


# The member's own forms, each for the membership they hold.
ACTIONS = {
    "pay": "membership.pay",
    "card": "membership.card",
    "auto-renew": "membership.auto_renew",
    "renew": "membership.renew",
}


@bp.get("/membership")
@login_required
def mine():
    """The member's own page: rendered once per what it shows of their memberships (read light
    each request, `own_memberships`), with their ids put in its links per request."""
    user = _user()
    if request.args.get("paid") == "1":
        current = services.current_membership(user)
        if current is not None:
            services.confirm_if_paid(current)
    own = services.own_memberships(user.id)
    links = _mine_links(own)
    if has_messages():
        return render_template("membership/mine.html", **_mine_context(own, links))
    key = (
        "membership-mine",
        current_language(),
        content_version(VERSION),
        own.lines,
        own.current,
        own.renewable,
    )
    stand_ins = {name: mark(name) for name in links}
    return render_cached(
        key, "membership/mine.html", lambda: _mine_context(own, stand_ins), values=links
    )


def _mine_links(own: services.OwnMemberships) -> dict[str, str]:
    """The addresses of the page's forms and receipts, which name the member's own ids."""
    links = {}
    if own.current is not None:
        membership_id = own.ids[own.current]
        for name, endpoint in ACTIONS.items():
            links[name] = url_for(endpoint, membership_id=membership_id)
    for line, (membership_id, payment_ids) in enumerate(zip(own.ids, own.payment_ids, strict=True)):
        for number, payment_id in enumerate(payment_ids):
            for language in ("ja", "en"):
                ids = {"membership_id": membership_id, "payment_id": payment_id, "lang": language}
                name = f"receipt-{line}-{number}-{language}"
                links[name] = url_for("membership.receipt", **ids)
                links[name + "-pdf"] = url_for("membership.receipt_pdf", **ids)
    return links


def _mine_context(own: services.OwnMemberships, links: dict[str, str]) -> dict:
    plans = {plan.id: plan for plan in services.plans(active_only=False)}
    current = own.lines[own.current] if own.current is not None else None
    renew_form = None
    if current is not None and own.renewable:
        renew_form = RenewForm()
        renew_form.plan.choices = [(p.slug, p.name) for p in services.renewal_plans(current)]
        renew_form.plan.data = plans[current.plan_id].slug if current.renewal == "one_off" else None
    return {
        "current": current,
        "memberships": own.lines,
        "plans": plans,
        "links": links,
        "renew_form": renew_form,
        "form": ActionForm(),
        "auto_renew_form": AutoRenewForm(),
    }


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
