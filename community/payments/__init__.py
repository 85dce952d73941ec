"""Money: orders and the payments that settle them, refunds, subscriptions and Stripe's webhook
events; the providers money comes through (`providers.py`: the Stripe gateway, the offline
sandbox that stands in for Stripe when no key is set, and bank transfers against an invoice,
which an administrator records on the order's bank-transfer page, `bank_views.py`).

It knows nothing of tickets, tiers or dues: a domain registers, from its `init_app`, a
fulfilment handler for its purpose (`"ticket"`, `"sponsorship"`, …) that payments calls when
money arrives, a checkout expires, money goes back, or a subscription renews, falls past due,
changes or ends (`fulfilment.fulfilment_handler`), and the rule of who may see its orders in
the back office (`visibility.visibility_rule`). Its timed job (core/worker.py) asks Stripe for
the receipts of payments that do not have one yet, so that no request waits for Stripe.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from community.accounts.navigation import organisers
from community.config import ConfigurationError
from community.core.navigation import NavEntry, add_navigation
from community.core.worker import TimedJob, timed_job
from community.payments import admin_views, bank_views, sandbox_views, views
from community.payments.cli import command_group
from community.payments.documents import issuer_from_config
from community.payments.services import RECEIPTS_EVERY_SECONDS, ask_for_missing_receipts


def init_app(app: Flask) -> None:
    # A malformed issuer (its registration number, rounding) would make every invoice wrong:
    # the app refuses to start with it, rather than fail on the first document.
    try:
        issuer_from_config(app.config)
    except ValueError as error:
        raise ConfigurationError(str(error)) from error
    app.register_blueprint(views.bp)
    app.register_blueprint(admin_views.bp)
    app.register_blueprint(bank_views.bp)
    if app.config["PAYMENTS_SANDBOX"]:  # Stripe's stand-in; production refuses to start with it
        app.register_blueprint(sandbox_views.bp)
    app.cli.add_command(command_group())
    timed_job.register(
        app,
        "receipts",
        TimedJob("receipts stored", ask_for_missing_receipts, seconds=RECEIPTS_EVERY_SECONDS),
    )
    add_navigation(app, NavEntry("payments_admin.orders", _l("Orders"), 70, shown_to=organisers))
