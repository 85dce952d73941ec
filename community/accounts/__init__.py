"""People: accounts, roles, sign-up, log-in, profile, API tokens, personal data export and
deletion.

Other domains never need an account for a guest action. Accounts offers three hooks that the
domains above it fill from their `init_app`, never the other way round: sections of the profile
page (`sections.profile_section`), what a domain keeps about a person, for export and deletion
(`services.personal_data`), and whether a person is a member (`membership.membership_check`).
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from community.accounts.cli import create_admin_command, create_api_token_command
from community.accounts.membership import join_url
from community.accounts.navigation import admins
from community.accounts.services import load_user_for_session
from community.accounts.views import admin_bp, bp
from community.core.navigation import NavEntry, add_navigation, signed_in, signed_out
from community.extensions import login_manager

NAVIGATION = (
    NavEntry("accounts_admin.users", _l("People"), 80, shown_to=admins),
    NavEntry("accounts.profile", _l("My account"), 90, shown_to=signed_in),
    NavEntry("accounts.login", _l("Sign in"), 90, shown_to=signed_out),
    NavEntry("accounts.signup", _l("Sign up"), 91, shown_to=signed_out),
)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(admin_bp)
    # Where to become a member, for the pages that mention what members get (None without it).
    app.add_template_global(join_url, "join_url")

    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_user_for_session)

    app.cli.add_command(create_admin_command)
    app.cli.add_command(create_api_token_command)
    add_navigation(app, *NAVIGATION)
