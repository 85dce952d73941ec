"""Public event pages: lists, one event with its registration form, and the manage page that
the confirmation e-mail links to (no account needed)."""

from __future__ import annotations

import hashlib
import io

import segno
from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from community.core.db import utcnow
from community.core.errors import Conflict, DomainError, NotFound
from community.core.forms import add_domain_error
from community.core.i18n import current_language
from community.core.pagecache import mark_personal, micro_cached
from community.core.pages import has_messages, mark, render_cached
from community.core.pagination import page_number
from community.core.text import email_key
from community.events import services
from community.events.forms import (
    CancelForm,
    ResendLinksForm,
    answers_field_name,
    answers_from,
    registration_form_for,
)
from community.events.sections import event_sections, manage_sections
from community.events.services import EventFilters
from community.events.views import bp, cards_key, cards_loader
from community.extensions import limiter
from community.payments import services as payments


def _listing(past: bool):
    """The upcoming (or past) events: one light query for the page's cards and the events'
    version; the page is rendered only when they changed (or its language, its filters or
    its address did), and only then are the events and categories read."""
    filters = EventFilters.from_args(request.args)
    page = services.list_event_stamps(
        filters, past=past, page=page_number(request.args.get("page"))
    )

    def context() -> dict:
        return {
            "page": page,
            "filters": filters,
            "events": cards_loader(page.items),
            "categories": services.categories,
            "past": past,
        }

    if has_messages():
        return render_template("events/index.html", **context())
    key = (
        "events-list",
        current_language(),
        past,
        page.number,
        page.has_next,
        tuple(sorted(request.args.to_dict().items())),
        cards_key(page.items),
    )
    return render_cached(key, "events/index.html", context)


@bp.get("/events")
@micro_cached
def index():
    return _listing(past=False)


@bp.get("/events/past")
@micro_cached
def past():
    return _listing(past=True)


def _render_detail(event, form=None, status: int = 200, problem: str | None = None):
    viewer = current_user if current_user.is_authenticated else None
    if form is None:
        form = registration_form_for(event, formdata=None)
        if viewer is not None:
            form.name.data = viewer.name
            form.email.data = viewer.email
    return (
        render_template(
            "events/detail.html",
            event=event,
            form=form,
            now=utcnow(),
            problem=problem,
            can_manage=services.can_manage(viewer, event),
            sections=event_sections(event),
        ),
        status,
    )


@bp.get("/events/<slug>")
@micro_cached
def detail(slug: str):
    """An event's page. Whether it is the same as one rendered before is told by one light
    query (the event's stamp, counters and ticket types', `event_page_stamp`) and the events'
    version: then nothing is loaded or rendered but the header, the other domains' sections
    (each cached by its own key) and, for a signed-in person, their name and address in the
    form."""
    stamp = services.event_page_stamp(slug)
    if stamp is None:
        abort(404)
    viewer = current_user if current_user.is_authenticated else None
    can_manage = services.can_manage(viewer, stamp)
    if stamp.status == "draft":
        if not can_manage:
            abort(404)
        mark_personal()  # only its organisers may see it, whoever they are
    if has_messages():
        return _render_detail(services.find_visible_event(slug, current_user))
    now = utcnow()
    key = (
        "event-page",
        stamp.key(now),
        current_language(),
        services.catalog_version(),
        can_manage,
    )

    def context() -> dict:
        event = services.find_visible_event(slug, current_user)
        form = registration_form_for(event, formdata=None)
        form.name.data, form.email.data = mark("name"), mark("email")
        return {
            "event": event,
            "form": form,
            "now": now,
            "problem": None,
            "can_manage": can_manage,
            "sections": [Markup(mark("sections"))],  # noqa: S704 - a stand-in, put in below
        }

    return render_cached(
        key,
        "events/detail.html",
        context,
        values={
            "name": viewer.name if viewer else "",
            "email": viewer.email if viewer else "",
        },
        fragments={"sections": lambda: Markup("").join(event_sections(stamp))},
    )


@bp.post("/events/<slug>/register")
@limiter.limit(lambda: current_app.config["RATELIMIT_REGISTER"])
def register(slug: str):
    event = services.get_published_event(slug)
    if event is None:
        abort(404)
    form = registration_form_for(event)
    if not form.validate_on_submit():
        return _render_detail(event, form, 422)
    user = current_user._get_current_object() if current_user.is_authenticated else None
    try:
        registration = services.register_for_event(
            slug,
            name=form.name.data,
            email=form.email.data,
            ticket_type=form.ticket_type.data,
            answers=answers_from(form, event),
            user=user,
            language=current_language(),
            voucher=form.voucher.data if "voucher" in form else None,
        )
    except services.RegistrationClosed as error:
        return _render_detail(event, form, 410, problem=str(error))
    except Conflict as error:
        return _render_detail(event, form, 409, problem=_already_registered(str(error)))
    except NotFound:
        abort(404)
    except DomainError as error:
        status = add_domain_error(form, error, field=answers_field_name(error.field))
        return _render_detail(event, form, status)
    messages = {
        "confirmed": _("You are registered. We have sent you an e-mail with your ticket."),
        "waitlisted": _(
            "The event is full: you are on the waiting list. We have sent you an e-mail."
        ),
        "awaiting_payment": _("Your place is held. Complete the payment to confirm it."),
    }
    flash(messages.get(registration.status, ""), "success")
    if registration.status == "awaiting_payment" and payments.gateway() is not None:
        try:
            return redirect(services.payment_page_for(registration), code=303)
        except DomainError as error:
            flash(str(error), "error")
    return redirect(
        url_for(
            "events.manage",
            registration_id=registration.id,
            token=services.manage_token(registration),
        )
    )


def _registration_or_404(registration_id: int, token: str):
    registration = services.find_registration_by_token(registration_id, token)
    if registration is None:
        # Whoever holds a dead link (replaced, mistyped, cut short) is offered their links again.
        abort(Response(render_template("events/link_not_working.html"), 404, _PRIVATE_HEADERS))
    return registration


@bp.get("/registrations/<int:registration_id>/<token>")
def manage(registration_id: int, token: str):
    registration = _registration_or_404(registration_id, token)
    back_from_payment = request.args.get("paid") == "1"
    if back_from_payment and services.confirm_if_paid(registration):
        registration = _registration_or_404(registration_id, token)
    response = render_template(
        "events/manage.html",
        registration=registration,
        event=registration.event,
        token=token,
        form=CancelForm(),
        now=utcnow(),
        can_pay_online=payments.gateway() is not None,
        back_from_payment=back_from_payment,
        money=services.ticket_money(registration),
        sections=manage_sections(registration),
    )
    return response, 200, {"X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"}


@bp.post("/registrations/<int:registration_id>/<token>/new-link")
@limiter.limit("3 per minute;10 per hour")
def replace_manage_link(registration_id: int, token: str):
    registration = _registration_or_404(registration_id, token)
    if not CancelForm().validate_on_submit():
        abort(400)
    # The new link goes to the registration's address only: the person holding the old one may
    # be the very one it leaked to. Of two simultaneous replacements, the loser's link is dead.
    if not services.replace_manage_link(registration):
        abort(404)
    flash(
        _(
            "This registration has a new link, sent to its e-mail address. The old link no "
            "longer works."
        ),
        "success",
    )
    return redirect(url_for("events.detail", slug=registration.event.slug))


@bp.post("/registrations/<int:registration_id>/<token>/cancel")
def cancel(registration_id: int, token: str):
    registration = _registration_or_404(registration_id, token)
    form = CancelForm()
    if form.validate_on_submit():
        try:
            refunding = services.cancel_by_person(registration.id)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            flash(_("Your registration is cancelled."), "info")
            if refunding and registration.event.refund_percent >= 100:
                flash(_("Your payment is being refunded in full."), "info")
            elif refunding:
                flash(
                    _(
                        "%(percent)s%% of your payment is being refunded, as the event's "
                        "refund policy says.",
                        percent=registration.event.refund_percent,
                    ),
                    "info",
                )
    return redirect(url_for("events.manage", registration_id=registration_id, token=token))


@bp.post("/registrations/<int:registration_id>/<token>/pay")
def pay(registration_id: int, token: str):
    registration = _registration_or_404(registration_id, token)
    form = CancelForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        checkout_url = services.payment_page_for(registration)
    except services.HoldExpired as error:
        # The place is gone: the event's page is where to register again or join the list.
        add_domain_error(form, error)
        return redirect(url_for("events.detail", slug=registration.event.slug))
    except DomainError as error:
        add_domain_error(form, error)
        return redirect(url_for("events.manage", registration_id=registration_id, token=token))
    return redirect(checkout_url, code=303)


@bp.get("/registrations/<int:registration_id>/<token>/ticket.svg")
def ticket_qr(registration_id: int, token: str):
    registration = _registration_or_404(registration_id, token)
    if registration.status != "confirmed":
        abort(404)
    # The QR holds the door's check-in address: an organiser's phone camera opens it directly.
    target = current_app.config["BASE_URL"] + url_for(
        "events.check_in", slug=registration.event.slug, code=registration.ticket_code
    )
    buffer = io.BytesIO()
    # A standalone file (with its xmlns), not svg_inline(): browsers refuse an <img> without it.
    segno.make(target, error="m").save(buffer, kind="svg", scale=6, dark="#000", light="#fff")
    headers = {"Content-Type": "image/svg+xml", "Cache-Control": "private, no-store"}
    return buffer.getvalue(), 200, headers


# --- finding one's own links again ---------------------------------------------------------------

# The manage pages' own headers, for the page that a dead manage link gets instead.
_PRIVATE_HEADERS = {"X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"}
# Each request sends an e-mail to an address that the person asking may not own: enough for a
# person who lost a message or mistyped their address, too few to flood anyone's mailbox.
LINKS_MAIL_LIMIT_PER_VISITOR = "5 per minute;30 per hour"
LINKS_MAIL_LIMIT_PER_ADDRESS = "3 per minute;10 per hour"


def _already_registered(message: str) -> Markup:
    """The answer to a second registration with one address: the message, and the way to get
    the registration's link again (sent to the address, never shown here)."""
    return Markup(  # noqa: S704 - rendered by our own autoescaping templates
        render_template("events/_already_registered.html", message=message)
    )


@bp.app_template_global()
def waitlist_position(registration) -> int | None:
    """The registration's number on its event's waiting list (None when not on it)."""
    return services.waitlist_position(registration)


def _address_key() -> str:
    """The rate limit's key for the address asked about, in the form registrations store it
    (so that Guest@Example.com and guest@example.com share one limit), hashed: the limiter's
    storage need not hold addresses."""
    address = email_key(request.form.get("email", ""))
    return "links-mail:" + hashlib.sha256(address.encode("utf-8", "replace")).hexdigest()


@bp.route("/events/my-links", methods=["GET", "POST"])
@limiter.limit(LINKS_MAIL_LIMIT_PER_VISITOR, methods=["POST"])
@limiter.limit(LINKS_MAIL_LIMIT_PER_ADDRESS, key_func=_address_key, methods=["POST"])
def resend_links():
    """One e-mail field; the address gets its manage links, and the answer never says whether
    it had any (the same redirect and message, the e-mail sent after the answer)."""
    form = ResendLinksForm()
    if form.validate_on_submit():
        try:
            services.send_manage_links(form.email.data, current_language())
        except DomainError as error:
            add_domain_error(form, error, field="email")
        else:
            flash(
                _(
                    "If there are registrations for that address, we have sent their links to "
                    "it. The e-mail may take a few minutes to arrive."
                ),
                "info",
            )
            return redirect(url_for("events.resend_links"))
    status = 422 if form.errors else 200
    return render_template("events/resend_links.html", form=form), status
