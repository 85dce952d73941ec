"""The application factory: configuration, extensions, blueprints, CLI, template filters, errors."""

from __future__ import annotations

import logging

from flask import Flask
from flask_babel import lazy_gettext as _l

from community.config import INSTANCE_PATH, PROJECT_ROOT, build_config
from community.core.urls import install_converters
from community.extensions import babel, csrf, db, limiter, login_manager, migrate


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
    _register_blueprints(app)
    _register_template_helpers(app)

    from community.calendar import invitations as calendar_invitations
    from community.calendar import pages as calendar_pages
    from community.calendar import services as calendar_services
    from community.core import security
    from community.core.views import register_error_handlers
    from community.events import fulfilment as ticket_fulfilment
    from community.events import order_visibility as ticket_order_visibility
    from community.events import privacy as events_privacy
    from community.events import profile_section as events_profile_section

    events_privacy.register()
    events_profile_section.register()  # before the calendar's: "My events" comes first
    calendar_services.register()
    calendar_pages.register()
    calendar_invitations.register()
    ticket_fulfilment.register()
    ticket_order_visibility.register()
    security.install(app)
    register_error_handlers(app)

    from community.cli import register_commands

    register_commands(app)
    return app


def _configure_logging(app: Flask) -> None:
    if not app.debug and not app.testing and not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )


def _init_extensions(app: Flask) -> None:
    # Every model module is imported here so that migrations see the whole schema.
    import community.accounts.models
    import community.calendar.models
    import community.events.models
    import community.payments.models  # noqa: F401
    from community.core.db import install_sqlite_hooks, render_migration_item
    from community.core.i18n import install_fast_template_gettext, select_locale

    db.init_app(app)
    with app.app_context():
        install_sqlite_hooks(db.engine, app.config.get("SQLITE_BUSY_TIMEOUT_MS", 15000))
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

    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    from community.accounts.services import load_user_for_session

    login_manager.user_loader(load_user_for_session)


def _register_blueprints(app: Flask) -> None:
    from community.accounts.views import admin_bp as accounts_admin_bp
    from community.accounts.views import bp as accounts_bp
    from community.calendar.pages import bp as calendar_pages_bp
    from community.calendar.views import bp as calendar_bp
    from community.core.views import bp as core_bp
    from community.events.views import bp as events_bp
    from community.payments.admin_views import bp as payments_admin_bp
    from community.payments.views import bp as payments_bp
    from community.site.views import bp as site_bp

    # calendar before events: its /events/<slug>.ics must win over /events/<slug>.
    blueprints = (
        core_bp,
        site_bp,
        accounts_bp,
        accounts_admin_bp,
        calendar_bp,
        calendar_pages_bp,
        events_bp,
        payments_bp,
        payments_admin_bp,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    if app.config["PAYMENTS_SANDBOX"]:  # Stripe's stand-in; production refuses to start with it
        from community.payments.sandbox_views import bp as payments_sandbox_bp

        app.register_blueprint(payments_sandbox_bp)

    # The JSON API: bearer tokens, never the session cookie, so CSRF tokens have nothing to guard.
    from community.api import bp as api_bp

    csrf.exempt(api_bp)
    app.register_blueprint(api_bp)


def _register_template_helpers(app: Flask) -> None:
    from community.core.dates import date_badge, format_local
    from community.core.i18n import LANGUAGE_NAMES, current_language, supported_languages
    from community.core.markdown import render_markdown
    from community.core.money import format_money

    app.jinja_env.add_extension("jinja2.ext.do")
    app.add_template_filter(format_local, "localtime")
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
