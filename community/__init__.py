"""The application factory: configuration, extensions, the domains (each wires its own
blueprints, hooks, CLI commands and navigation), template filters, errors."""

from __future__ import annotations

import logging
from importlib import import_module

from flask import Flask

from community.cli import register_commands
from community.config import INSTANCE_PATH, PROJECT_ROOT, build_config
from community.core import fragments, navigation, security, versions, window
from community.core.dates import date_badge, format_day, format_local
from community.core.db import (
    db,
    install_idle_ping,
    install_insert_now_bookkeeping,
    install_reads_outside_transactions,
    install_sqlite_hooks,
    render_migration_item,
)
from community.core.i18n import (
    LANGUAGE_NAMES,
    current_language,
    install_fast_template_gettext,
    select_locale,
    supported_languages,
)
from community.core.markdown import render_markdown
from community.core.money import format_money
from community.core.transaction import install_write_tracking
from community.core.urls import install_converters
from community.core.views import bp as core_bp
from community.core.views import register_error_handlers
from community.extensions import babel, csrf, limiter, login_manager, migrate

# The domains, each below the ones after it (the order of the import contracts in
# .importlinter). Each one's `init_app(app)` registers its blueprints, the parts it adds to the
# hooks of the domains below it, its fulfilment handlers, CLI commands and navigation entries;
# it may count on those before it (events adds `expire-holds` to payments' commands), and the
# parts of a hook come in this order ("My events" on the profile page before the calendar's,
# and a deleted account's registrations are cancelled before its calendar goes). A new domain
# is one more line here.
DOMAINS = (
    "community.accounts",
    "community.payments",
    "community.events",
    "community.sponsorship",
    "community.membership",
    "community.donations",
    "community.calendar",
    "community.site",
    "community.api",
)


def create_app(config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(INSTANCE_PATH),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.update(build_config(config))
    INSTANCE_PATH.mkdir(parents=True, exist_ok=True)
    _configure_logging(app)

    _init_extensions(app)
    install_converters(app)
    app.register_blueprint(core_bp)
    for name in DOMAINS:
        import_module(name).init_app(app)
    _register_template_helpers(app)
    fragments.install(app)
    navigation.install(app)
    security.install(app)
    window.install(app)
    versions.install()
    register_error_handlers(app)
    register_commands(app)
    return app


def _configure_logging(app: Flask) -> None:
    if not app.debug and not app.testing and not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )


def _init_extensions(app: Flask) -> None:
    # Each domain's package imports its models, so migrations see the whole schema (DOMAINS).
    db.init_app(app)
    install_write_tracking()
    install_insert_now_bookkeeping()
    with app.app_context():
        install_sqlite_hooks(db.engine, app.config.get("SQLITE_BUSY_TIMEOUT_MS", 15000))
        install_idle_ping(db.engine)
        install_reads_outside_transactions(db.engine)
    migrate.init_app(
        app,
        db,
        directory=str(PROJECT_ROOT / "migrations"),
        render_as_batch=True,
        compare_type=True,
        render_item=render_migration_item,
    )
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    install_fast_template_gettext(app)
    limiter.init_app(app)
    login_manager.init_app(app)  # where to sign in, and who is signed in: accounts' init_app


def _register_template_helpers(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.do")
    app.add_template_filter(format_local, "localtime")
    app.add_template_filter(format_day, "day")
    app.add_template_global(date_badge, "date_badge")
    app.add_template_filter(render_markdown, "markdown")
    app.add_template_filter(
        lambda amount, currency: format_money(amount, currency, current_language()), "money"
    )

    @app.context_processor
    def inject_language():
        return {
            "current_language": current_language(),
            "languages": supported_languages(),
            "language_names": LANGUAGE_NAMES,
        }
