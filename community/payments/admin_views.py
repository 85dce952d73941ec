"""The orders back office: the list of orders with its filters, totals and CSV export, and one
order with its payments, refunds and webhook events.

Organisers see the orders of what they run (each purpose's visibility rule says which); admins see
every order. An order the viewer may not see answers 404, as if it did not exist. Filters that
are not understood are ignored and said so on the page.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectField

from community.accounts.access import admin_required, organiser_required
from community.core.dates import zone
from community.core.errors import DomainError
from community.core.forms import add_domain_error
from community.core.i18n import current_language
from community.core.money import format_money
from community.core.urls import MAX_ID
from community.payments import reports, services
from community.payments.forms import RefundAmountForm
from community.payments.visibility import purpose_label, visibility_for

bp = Blueprint("payments_admin", __name__, url_prefix="/organiser/orders")

# The same words on the pages and in the CSV export.
ORDER_STATUS_LABELS = reports.ORDER_STATUS_LABELS
PAYMENT_STATUS_LABELS = {
    "open": _l("Open"),
    "paid": _l("Paid"),
    "expired": _l("Expired"),
    "failed": _l("Failed"),
}
REFUND_STATUS_LABELS = {
    "pending": _l("Waiting for the provider"),
    "succeeded": _l("Refunded"),
    "failed": _l("Failed"),
}


def _me():
    return current_user._get_current_object()


def _filters() -> tuple[reports.OrderFilters, list[str]]:
    purposes = reports.order_purposes(_me())
    return reports.OrderFilters.from_args(request.args, purposes), purposes


@bp.get("/")
@organiser_required
def orders():
    filters, purposes = _filters()
    return render_template(
        "payments/orders.html",
        page=reports.list_orders(_me(), filters),
        totals=reports.totals_by_month(_me(), filters),
        filters=filters,
        filter_args=filters.query_args(),
        purposes=purposes,
        purpose_label=purpose_label,
        status_labels=ORDER_STATUS_LABELS,
    )


@bp.get("/orders.csv")
@organiser_required
def orders_csv():
    filters, _purposes = _filters()
    body = reports.orders_csv(_me(), filters, current_language())
    return (
        body,
        200,
        {
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="orders.csv"',
            "Cache-Control": "private, no-store",
        },
    )


# Ids beyond a 32-bit integer cannot exist (and SQLite would refuse to compare them).
@bp.get("/<int(max=2147483647):order_id>")
@organiser_required
def order(order_id: int):
    found = reports.visible_order(_me(), order_id)
    if found is None:
        abort(404)
    rule = visibility_for(found.purpose)
    link = rule.link(found) if rule is not None and rule.link is not None else None
    refundable = services.refundable_payments(found)
    form = None
    if _me().is_admin and refundable:
        form = AdminRefundForm(formdata=None)
        form.offer(found, refundable)
    return render_template(
        "payments/order.html",
        order=found,
        refund_form=form,
        refundable=services.refundable_minor(found),
        refundable_payments={payment.id: amount for payment, amount in refundable},
        events=reports.webhook_events_of(found),
        link=link,
        purpose_label=purpose_label,
        status_labels=ORDER_STATUS_LABELS,
        payment_status_labels=PAYMENT_STATUS_LABELS,
        refund_status_labels=REFUND_STATUS_LABELS,
    )


class AdminRefundForm(RefundAmountForm):
    """A refused amount is flashed: the order page is redirected back to. An order with a
    subscription's later payments (a monthly gift's months) also asks which payment; the
    service refuses one that is not this order's."""

    payment = SelectField(_l("Payment to refund"), choices=[], validate_choice=False)

    def offer(self, order, refundable) -> None:
        """Ask which payment only when there is more than the first to choose from."""
        if not any(payment.kind == "renewal" for payment, _amount in refundable):
            del self.payment
            return
        self.payment.choices = [
            (
                str(payment.id),
                _(
                    "%(paid)s: up to %(amount)s",
                    paid=payment.created_at.astimezone(zone()).strftime("%Y-%m-%d"),
                    amount=format_money(amount, payment.currency, current_language()),
                ),
            )
            for payment, amount in refundable
        ]

    def payment_id(self) -> int | None:
        """The payment chosen: None (the one that settled the order) when nothing was sent; 0,
        which no payment has, for what is not an id."""
        text = (self.payment.data or "").strip() if "payment" in self._fields else ""
        if not text:
            return None
        if text.isascii() and text.isdigit() and len(text) <= 10 and int(text) <= MAX_ID:
            return int(text)
        return 0


@bp.post("/<int(max=2147483647):order_id>/refund")
@admin_required
def refund(order_id: int):
    """Admins give money back for any order, whatever was bought."""
    found = reports.visible_order(_me(), order_id)
    if found is None:
        abort(404)
    # The amount is read in the order's currency; a refused one is flashed by the form.
    form = AdminRefundForm(currency=found.currency)
    if form.validate_on_submit():
        try:
            # Payments does not know what was bought: the purpose's handler tells the buyer.
            services.refund_order(
                found,
                form.amount.data,
                reason="administrator",
                by_user_id=_me().id,
                tell_buyer=True,
                payment_id=form.payment_id(),
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            flash(
                _("The refund is on its way; it shows here when the provider confirms it."),
                "success",
            )
    return redirect(url_for("payments_admin.order", order_id=order_id))
