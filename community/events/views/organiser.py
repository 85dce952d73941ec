"""The organisers' back office for events: their events, creating and editing them (with ticket
types, questions and a cover image), publishing, cancelling, duplicating, the attendee list with
its CSV export and e-mails, and the check-in page for the door. Also the public route that serves
cover images.

Every page here is behind `organiser_required`, and every event is looked up through
`_managed_event_or_404`: an organiser who does not run the event gets 404, as if it did not exist.
The rules live in the services; these views parse forms and turn refusals into messages, on the
form that is shown again or flashed for a page that is redirected back to (core.forms'
add_domain_error, which knows which the form is).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from community.accounts.access import organiser_required
from community.core.dates import format_local
from community.core.errors import DomainError
from community.core.forms import add_domain_error
from community.core.i18n import current_language
from community.core.money import format_money
from community.core.text import SEARCH_MAX, TICKET_CODE_MAX, search_term
from community.events import services
from community.events.organiser_forms import (
    ActionForm,
    CancelEventForm,
    CheckInForm,
    EmailAttendeesForm,
    EventForm,
    OrganisersForm,
    RefundForm,
)
from community.events.services import AttendeeFilters
from community.events.views import bp

STATUS_LABELS = services.REGISTRATION_STATUS_LABELS


def _me():
    return current_user._get_current_object()


def _managed_event_or_404(slug: str):
    event = services.find_visible_event(slug, current_user)
    if event is None or not services.can_manage(current_user, event):
        abort(404)
    return event


def _filter_args(filters: AttendeeFilters) -> dict:
    """The attendee filters as query arguments, to carry them through forms and redirects."""
    args = {"q": filters.search, "status": filters.status, "ticket_type": filters.ticket_type}
    return {name: value for name, value in args.items() if value}


# --- the dashboard -------------------------------------------------------------------------------


@bp.get("/organiser/")
@organiser_required
def dashboard():
    events = services.events_run_by(current_user)
    waiting = services.waitlist_lengths([event.id for event in events])
    return render_template("events/dashboard.html", events=events, waiting=waiting)


# --- creating and editing ------------------------------------------------------------------------


def _save_event(form: EventForm, event=None):
    """Create or update from a validated form: (event, None), or (None, HTTP status) with the
    refusal on the form.

    The cover image is checked before anything is written, so that a bad upload changes nothing.
    """
    cover = form.cover_bytes(services.COVER_IMAGE_MAX_BYTES)
    try:
        if cover is not None:
            services.check_cover_image(cover)
        if event is None:
            event = services.create_event(form.event_data(), _me())
        else:
            event = services.update_event(event, form.event_data(slug=event.slug))
        if cover is not None:
            services.set_cover_image(event, cover)
    except DomainError as error:
        # 409 for an address already taken, 503 when the database was too busy; else 422.
        return None, add_domain_error(form, error)
    return event, None


def _render_event_form(
    form: EventForm, event=None, status: int = 200, organisers_form: OrganisersForm | None = None
):
    if event is not None and organisers_form is None:
        organisers_form = OrganisersForm.for_event(event)
    return (
        render_template(
            "events/organiser/event_form.html",
            form=form,
            event=event,
            organisers_form=organisers_form,
            action_form=ActionForm(formdata=None),
            max_cover_mb=services.COVER_IMAGE_MAX_BYTES // (1024 * 1024),
        ),
        status,
    )


@bp.route("/organiser/events/new", methods=["GET", "POST"])
@organiser_required
def new():
    categories = services.categories()
    if request.method == "GET":
        return _render_event_form(EventForm.blank(categories))
    form = EventForm(categories=categories)
    status = 422
    if form.validate_on_submit():
        event, status = _save_event(form)
        if event is not None:
            flash(_("The event is saved as a draft. Publish it when it is ready."), "success")
            return redirect(url_for("events.edit", slug=event.slug))
    return _render_event_form(form, status=status)


@bp.route("/organiser/events/<slug>/edit", methods=["GET", "POST"])
@organiser_required
def edit(slug: str):
    event = _managed_event_or_404(slug)
    categories = services.categories()
    if request.method == "GET":
        return _render_event_form(EventForm.for_event(event, categories), event)
    form = EventForm(categories=categories)
    # The address never changes (the form does not show it): whatever was sent is ignored.
    form.slug.data = event.slug
    status = 422
    if form.validate_on_submit():
        saved, status = _save_event(form, event)
        if saved is not None:
            flash(_("Your changes are saved."), "success")
            return redirect(url_for("events.edit", slug=slug))
    return _render_event_form(form, event, status=status)


@bp.post("/organiser/events/<slug>/organisers")
@organiser_required
def organisers(slug: str):
    event = _managed_event_or_404(slug)
    form = OrganisersForm()
    if form.validate_on_submit():
        try:
            services.set_organisers(event, (form.emails.data or "").splitlines())
        except DomainError as error:
            add_domain_error(form, error, field="emails")
        else:
            flash(_("The organisers are saved."), "success")
            if services.can_manage(current_user, event):
                return redirect(url_for("events.edit", slug=slug))
            return redirect(url_for("events.dashboard"))
    return _render_event_form(
        EventForm.for_event(event, services.categories()), event, 422, organisers_form=form
    )


# --- publishing, cancelling, duplicating ---------------------------------------------------------


@bp.post("/organiser/events/<slug>/publish")
@organiser_required
def publish(slug: str):
    event = _managed_event_or_404(slug)
    form = ActionForm()
    if form.validate_on_submit():
        try:
            services.publish_event(event)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            flash(_("The event is published: people can now register."), "success")
    return redirect(url_for("events.edit", slug=slug))


@bp.route("/organiser/events/<slug>/cancel", methods=["GET", "POST"])
@organiser_required
def cancel_event(slug: str):
    event = _managed_event_or_404(slug)
    form = CancelEventForm()
    if event.status == "cancelled":
        flash(_("This event is already cancelled."), "info")
        return redirect(url_for("events.edit", slug=slug))
    money = services.cancellation_money(event)
    if money.paid_tickets:
        form.refund.choices = _refund_choices(money)
    else:
        del form.refund  # nothing was paid: nothing to choose
    if form.validate_on_submit():
        refund = form.refund.data if "refund" in form else "full"
        try:
            told = services.cancel_event(event, form.message.data or "", refund)
        except DomainError as error:
            if error.field != "refund" or "refund" not in form:
                # Nothing on this form to correct: the event's page says why.
                flash(str(error), "error")
                return redirect(url_for("events.edit", slug=slug))
            add_domain_error(form, error)
        else:
            flash(
                _("The event is cancelled. We told %(count)d people.", count=told),
                "success",
            )
            return redirect(url_for("events.edit", slug=slug))
    status = 422 if form.errors else 200
    registered = len(services.email_recipients(event))
    return render_template(
        "events/organiser/cancel.html",
        event=event,
        form=form,
        registered=registered,
        money=money,
        full_total=_totals(money.full),
    ), status


def _totals(amounts) -> str:
    """Amounts in one or more currencies: "¥9,000" or "¥9,000 + $25.00"."""
    language = current_language()
    return " + ".join(format_money(amount, currency, language) for amount, currency in amounts)


def _refund_choices(money) -> list[SelectChoice]:
    return [
        SelectChoice("full", _("Refund everyone in full: %(amount)s", amount=_totals(money.full))),
        SelectChoice(
            "policy",
            _(
                "Refund as the event's refund policy says (%(percent)s%%): %(amount)s",
                percent=money.percent,
                amount=_totals(money.policy),
            ),
        ),
        SelectChoice("none", _("No refund: nothing goes back automatically")),
    ]


@bp.post("/organiser/events/<slug>/duplicate")
@organiser_required
def duplicate(slug: str):
    event = _managed_event_or_404(slug)
    if not ActionForm().validate_on_submit():
        return redirect(url_for("events.edit", slug=slug))
    copy = services.duplicate_event(event, _me())
    flash(_("This is a copy, saved as a draft. Change its dates before publishing."), "success")
    return redirect(url_for("events.edit", slug=copy.slug))


# --- attendees -----------------------------------------------------------------------------------


def _render_attendees(event, filters: AttendeeFilters, email_form=None, status: int = 200):
    rows = services.attendees(event, filters)
    recipients = services.email_recipients(event, filters)
    return (
        render_template(
            "events/organiser/attendees.html",
            event=event,
            rows=rows,
            filters=filters,
            filter_args=_filter_args(filters),
            recipients=len(recipients),
            email_form=email_form or EmailAttendeesForm(formdata=None),
            action_form=ActionForm(formdata=None),
            refund_form=RefundForm(formdata=None),
            refundable=services.refundable_by_registration([r.id for r in rows]),
            status_labels=STATUS_LABELS,
            answer_text=services.answer_text,
            language=current_language(),
        ),
        status,
    )


@bp.get("/organiser/events/<slug>/attendees")
@organiser_required
def attendees(slug: str):
    event = _managed_event_or_404(slug)
    return _render_attendees(event, AttendeeFilters.from_args(request.args))


@bp.get("/organiser/events/<slug>/attendees.csv")
@organiser_required
def attendees_csv(slug: str):
    event = _managed_event_or_404(slug)
    rows = services.attendees(event, AttendeeFilters.from_args(request.args))
    body = services.attendees_csv(event, rows, current_language())
    return (
        body,
        200,
        {
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{event.slug}-attendees.csv"',
            "Cache-Control": "private, no-store",
        },
    )


@bp.post("/organiser/events/<slug>/attendees/email")
@organiser_required
def email_attendees(slug: str):
    """Step one of e-mailing attendees: the preview, with the count. Nothing is sent here."""
    event = _managed_event_or_404(slug)
    filters = AttendeeFilters.from_args(request.args)
    form = EmailAttendeesForm()
    if form.validate_on_submit():
        try:
            preview = services.preview_message(event, filters, form.draft())
        except DomainError as error:
            add_domain_error(form, error)
        else:
            return render_template(
                "events/organiser/email_preview.html",
                event=event,
                preview=preview,
                filters=filters,
                filter_args=_filter_args(filters),
                send_key=services.new_send_key(),
                form=form,
                status_labels=STATUS_LABELS,
                action_form=ActionForm(formdata=None),
            )
    return _render_attendees(event, filters, email_form=form, status=422)


@bp.post("/organiser/events/<slug>/attendees/email/edit")
@organiser_required
def edit_email(slug: str):
    """Back from the preview to the form, filled in as it was."""
    event = _managed_event_or_404(slug)
    filters = AttendeeFilters.from_args(request.args)
    form = EmailAttendeesForm()
    valid = form.validate_on_submit()
    return _render_attendees(event, filters, email_form=form, status=200 if valid else 422)


@bp.post("/organiser/events/<slug>/attendees/email/send")
@organiser_required
def send_email(slug: str):
    """Step two: the preview's "Send", once per preview however often it is pressed."""
    event = _managed_event_or_404(slug)
    filters = AttendeeFilters.from_args(request.args)
    form = EmailAttendeesForm()
    back = url_for("events.attendees", slug=slug, **_filter_args(filters))
    status = 422
    if form.validate_on_submit():
        try:
            sent = services.send_message_to_attendees(
                event, filters, form.draft(), form.send_key.data, sent_by=_me()
            )
        except services.MessageAlreadySent as error:
            flash(str(error), "info")
            return redirect(back)
        except DomainError as error:
            status = add_domain_error(form, error)
        else:
            flash(_("Your message was sent to %(count)d people.", count=sent), "success")
            return redirect(back)
    return _render_attendees(event, filters, email_form=form, status=status)


def _registration_or_404(event, registration_id: int):
    registration = services.registration_of(event, registration_id)
    if registration is None:
        abort(404)
    return registration


@bp.post("/organiser/events/<slug>/attendees/<int:registration_id>/cancel")
@organiser_required
def cancel_attendee(slug: str, registration_id: int):
    event = _managed_event_or_404(slug)
    registration = _registration_or_404(event, registration_id)
    form = ActionForm()
    if form.validate_on_submit():
        try:
            services.cancel_by_organiser(registration.id)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            flash(_("%(name)s's registration is cancelled.", name=registration.name), "success")
    filters = AttendeeFilters.from_args(request.args)
    return redirect(url_for("events.attendees", slug=slug, **_filter_args(filters)))


@bp.post("/organiser/events/<slug>/attendees/<int:registration_id>/promote")
@organiser_required
def promote_attendee(slug: str, registration_id: int):
    event = _managed_event_or_404(slug)
    registration = _registration_or_404(event, registration_id)
    form = ActionForm()
    if form.validate_on_submit():
        try:
            services.promote_by_hand(registration.id)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            flash(_("%(name)s has a place now.", name=registration.name), "success")
    filters = AttendeeFilters.from_args(request.args)
    return redirect(url_for("events.attendees", slug=slug, **_filter_args(filters)))


@bp.post("/organiser/events/<slug>/attendees/<int:registration_id>/new-link")
@organiser_required
def replace_attendee_link(slug: str, registration_id: int):
    event = _managed_event_or_404(slug)
    registration = _registration_or_404(event, registration_id)
    if ActionForm().validate_on_submit():
        # The new link goes to the attendee's address, never to the organiser's screen.
        if services.replace_manage_link(registration):
            flash(
                _(
                    "%(name)s's old registration link no longer works; the new one was "
                    "e-mailed to %(email)s.",
                    name=registration.name,
                    email=registration.email,
                ),
                "success",
            )
        else:
            flash(_("The link was replaced at the same moment. Please try again."), "error")
    filters = AttendeeFilters.from_args(request.args)
    return redirect(url_for("events.attendees", slug=slug, **_filter_args(filters)))


@bp.post("/organiser/events/<slug>/attendees/<int:registration_id>/refund")
@organiser_required
def refund_attendee(slug: str, registration_id: int):
    event = _managed_event_or_404(slug)
    registration = _registration_or_404(event, registration_id)
    # The amount is read in the registration's currency; a refused one is flashed by the form.
    form = RefundForm(currency=registration.currency)
    if form.validate_on_submit():
        try:
            services.refund_registration(
                registration.id, form.amount.data, cancel=form.cancel.data, by_user_id=_me().id
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            flash(_("The refund for %(name)s is on its way.", name=registration.name), "success")
    filters = AttendeeFilters.from_args(request.args)
    return redirect(url_for("events.attendees", slug=slug, **_filter_args(filters)))


# --- check-in at the door ------------------------------------------------------------------------


@bp.get("/organiser/events/<slug>/check-in")
@organiser_required
def check_in(slug: str):
    event = _managed_event_or_404(slug)
    search = search_term(request.args.get("q"))[:SEARCH_MAX]
    code = search_term(request.args.get("code"))[:TICKET_CODE_MAX]
    scanned = services.find_ticket(event, code) if code else None
    checked_in, confirmed = services.check_in_counts(event)
    return render_template(
        "events/check_in.html",
        event=event,
        search=search,
        code=code,
        scanned=scanned,
        candidates=services.check_in_candidates(event, search),
        recent=services.recent_check_ins(event),
        checked_in=checked_in,
        confirmed=confirmed,
        form=CheckInForm(formdata=None),
    )


@bp.post("/organiser/events/<slug>/check-in")
@organiser_required
def check_in_confirm(slug: str):
    event = _managed_event_or_404(slug)
    form = CheckInForm()
    search = search_term(form.q.data)[:SEARCH_MAX]
    if not form.validate_on_submit():
        flash(_("The form had expired. Please try again."), "error")
        return redirect(url_for("events.check_in", slug=slug))
    try:
        registration, earlier = services.check_in(event, search_term(form.code.data))
    except DomainError as error:
        add_domain_error(form, error)
    else:
        if earlier is None:
            flash(_("Checked in: %(name)s", name=registration.name), "success")
        else:
            flash(
                _(
                    "%(name)s was already checked in at %(time)s.",
                    name=registration.name,
                    time=format_local(earlier, event.timezone),
                ),
                "error",
            )
    args = {"q": search} if search else {}
    return redirect(url_for("events.check_in", slug=slug, **args))


# Ids beyond a 32-bit integer cannot exist: such an address is simply not found.
@bp.post("/organiser/events/<slug>/check-in/<int(max=2147483647):registration_id>/undo")
@organiser_required
def undo_check_in(slug: str, registration_id: int):
    event = _managed_event_or_404(slug)
    registration = _registration_or_404(event, registration_id)
    form = CheckInForm()
    search = search_term(form.q.data)[:SEARCH_MAX]
    args = {"q": search} if search else {}
    if not form.validate_on_submit():
        flash(_("The form had expired. Please try again."), "error")
        return redirect(url_for("events.check_in", slug=slug, **args))
    try:
        services.undo_check_in(event, registration.id)
    except DomainError as error:
        add_domain_error(form, error)
    else:
        flash(_("Check-in undone: %(name)s", name=registration.name), "success")
    return redirect(url_for("events.check_in", slug=slug, **args))


# --- cover images (public) -----------------------------------------------------------------------


@bp.get("/events/<slug>/cover")
def cover_image(slug: str):
    event = services.find_visible_event(slug, current_user)
    found = services.cover_image_file(event) if event is not None else None
    if found is None:
        abort(404)
    path, mimetype = found
    # The address stays when the image changes: browsers keep it briefly, then revalidate (ETag).
    response = send_file(path, mimetype=mimetype, max_age=300)
    response.cache_control.public = event.status != "draft"
    response.cache_control.private = event.status == "draft"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
