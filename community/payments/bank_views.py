"""The bank-transfer page of an order: an administrator records a transfer seen on the
community's account against the order's invoice, which settles the order as a paid checkout
would (its purpose's fulfilment runs). Admins only; the order page links to it.

The view reads the form and calls `services.record_bank_transfer`; the rules (exactly the
order's amount, once, not a day to come) are the service's, and its refusal is shown on the form.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from community.accounts.access import admin_required
from community.core.dates import zone
from community.core.db import utcnow
from community.core.errors import DomainError
from community.core.forms import add_domain_error
from community.payments import reports, services
from community.payments.forms import BankTransferForm

bp = Blueprint("payments_bank", __name__, url_prefix="/organiser/orders")

# What can still take a transfer: an order waiting for its money, or one whose checkout closed
# (money that came late). A subscription is paid by card only.
RECORDABLE = ("pending", "expired", "failed")


def can_record_transfer(order) -> bool:
    return order.status in RECORDABLE and order.mode == "payment"


@bp.route("/<int(max=2147483647):order_id>/bank-transfer", methods=["GET", "POST"])
@admin_required
def bank_transfer(order_id: int):
    me = current_user._get_current_object()
    order = reports.visible_order(me, order_id)
    if order is None:
        abort(404)
    form = BankTransferForm(currency=order.currency)
    if not form.is_submitted():
        form.received_on.data = utcnow().astimezone(zone()).date()
    status = 200
    if form.validate_on_submit():
        try:
            services.record_bank_transfer(
                order.id,
                amount_minor=form.amount.data,
                received_on=form.received_on.data,
                reference=(form.reference.data or "").strip(),
                recorded_by_id=me.id,
            )
        except DomainError as error:
            status = add_domain_error(form, error)
        else:
            flash(_("The bank transfer is recorded and the order is paid."), "success")
            return redirect(url_for("payments_admin.order", order_id=order_id), 303)
    elif form.is_submitted():
        status = 422
    page = render_template(
        "payments/bank_transfer.html",
        order=order,
        form=form,
        # A refused second transfer still shows its form, with the reason on it.
        recordable=can_record_transfer(order) or form.is_submitted(),
    )
    return page, status
