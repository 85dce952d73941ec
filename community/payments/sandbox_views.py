"""The sandbox's hosted checkout page, standing in for Stripe's: pay, fail or go back.

Registered only when PAYMENTS_SANDBOX is on (no STRIPE_SECRET_KEY, never in production). The rules
and the events live in `sandbox.py`; this only shows the page and turns a button into a redirect.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from community.core.errors import DomainError, NotFound
from community.core.forms import CheckedForm
from community.core.i18n import current_language, supported_languages
from community.payments import sandbox

bp = Blueprint("payments_sandbox", __name__, url_prefix="/payments/sandbox")

TEST_NOTICE = _l("TEST PAYMENT: this is the offline payment sandbox. No real money moves.")


class SandboxCheckoutForm(CheckedForm):
    """Only the CSRF token: the outcome is the button pressed."""


def _notices() -> list[tuple[str, str]]:
    """The test notice in every language, the reader's first: nobody may take it for real."""
    languages = sorted(supported_languages(), key=lambda code: code != current_language())
    notices: list[tuple[str, str]] = []
    for code in languages:
        with force_locale(code):
            text = str(TEST_NOTICE)
        if all(text != shown for _, shown in notices):  # a catalog without it yet: once only
            notices.append((code, text))
    return notices


@bp.get("/checkout/<session_id>")
def checkout(session_id: str):
    found = sandbox.find_checkout(session_id)
    if found is None:
        abort(404)
    page = render_template(
        "payments/sandbox/checkout.html",
        checkout=found,
        form=SandboxCheckoutForm(),
        notices=_notices(),
    )
    return page, 200, {"X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"}


@bp.post("/checkout/<session_id>")
def settle(session_id: str):
    if not SandboxCheckoutForm().validate_on_submit():
        abort(400)
    actions = {"pay": sandbox.pay, "fail": sandbox.fail, "abandon": sandbox.abandon}
    action = actions.get(request.form.get("outcome", ""))
    if action is None:
        abort(400)
    try:
        target = action(session_id)
    except NotFound:
        abort(404)
    except DomainError as error:
        flash(str(error), "error")
        return redirect(url_for(".checkout", session_id=session_id))
    return redirect(target, code=303)
