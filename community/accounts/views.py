"""Account pages: sign-up, confirmation, log-in/out, password reset, profile (with organisers'
API tokens), export, deletion, and the admins' page for roles."""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from markupsafe import Markup

from community.accounts import services
from community.accounts.access import admin_required
from community.accounts.forms import (
    ROLE_LABELS,
    ApiTokenForm,
    DeleteAccountForm,
    EmailChangeForm,
    EmailOnlyForm,
    LoginForm,
    PasswordChangeForm,
    ProfileForm,
    ResetPasswordForm,
    RevokeApiTokenForm,
    RoleForm,
    SignOutEverywhereForm,
    SignupForm,
)
from community.accounts.sections import profile_sections
from community.core.errors import DomainError
from community.core.forms import add_domain_error
from community.core.i18n import current_language
from community.core.pages import has_messages, mark, render_cached
from community.core.security import is_safe_next, safe_next
from community.core.text import SEARCH_MAX
from community.extensions import limiter

bp = Blueprint("accounts", __name__, url_prefix="/account")
admin_bp = Blueprint("accounts_admin", __name__, url_prefix="/organiser/users")


def _me():
    """The signed-in user itself, not the proxy: services keep it past logout_user()."""
    return current_user._get_current_object()


def _limit(config_key: str):
    return limiter.limit(lambda: current_app.config[config_key], methods=["POST"])


def _remembered() -> bool:
    """Whether this browser holds a "remember me" cookie, which must then carry its new key."""
    return current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies


# --- sign-up and confirmation --------------------------------------------------------------------


@bp.route("/signup", methods=["GET", "POST"])
@_limit("RATELIMIT_SIGNUP")
def signup():
    if _me().is_authenticated:
        return redirect(url_for("accounts.profile"))
    form = SignupForm()
    if request.method == "GET":
        form.locale.data = current_language()
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        target = form.next.data if is_safe_next(form.next.data) else None
        try:
            services.sign_up(
                form.name.data,
                form.email.data,
                form.password.data,
                form.locale.data,
                next_path=target,
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            return redirect(url_for("accounts.check_inbox"))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("accounts/signup.html", form=form), status


@bp.get("/check-inbox")
def check_inbox():
    return render_template("accounts/check_inbox.html")


@bp.get("/confirm/<token>")
def confirm(token: str):
    try:
        services.confirm_email(token)
    except DomainError as error:
        return render_template(
            "accounts/link_problem.html", message=str(error), form=EmailOnlyForm()
        ), 400
    flash(_("Your e-mail address is confirmed. You can now sign in."), "success")
    target = services.confirmation_next(token)
    return redirect(url_for("accounts.login", next=target) if target else url_for("accounts.login"))


@bp.route("/confirm/resend", methods=["GET", "POST"])
@_limit("RATELIMIT_SIGNUP")
def resend_confirmation():
    form = EmailOnlyForm()
    if form.validate_on_submit():
        services.resend_confirmation(form.email.data)
        return redirect(url_for("accounts.check_inbox"))
    status = 422 if form.errors else 200
    return render_template("accounts/resend.html", form=form), status


# --- log-in --------------------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@_limit("RATELIMIT_LOGIN")
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if _me().is_authenticated:
        return redirect(safe_next())
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            login_user(user, remember=form.remember.data)
            flash(_("Welcome back, %(name)s.", name=user.name), "success")
            target = form.next.data
            return redirect(target if is_safe_next(target) else url_for("site.home"))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
def logout():
    if _me().is_authenticated:
        services.end_login_session(_me())
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("site.home"))


# --- password reset ------------------------------------------------------------------------------


@bp.route("/reset", methods=["GET", "POST"])
@_limit("RATELIMIT_RESET")
def reset_request():
    form = EmailOnlyForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        flash(
            _(
                "If an account uses this address, we have sent it a link to choose a new "
                "password. The link works for one hour."
            ),
            "info",
        )
        return redirect(url_for("accounts.login"))
    status = 422 if form.errors else 200
    return render_template("accounts/reset_request.html", form=form), status


@bp.route("/reset/<token>", methods=["GET", "POST"])
@_limit("RATELIMIT_RESET")
def reset_password(token: str):
    try:
        services.check_reset_token(token)
    except DomainError as error:
        return render_template(
            "accounts/link_problem.html", message=str(error), form=EmailOnlyForm()
        ), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            if _me().is_authenticated:
                services.end_login_session(_me())
            logout_user()
            flash(_("Your password is changed. Please sign in."), "success")
            return redirect(url_for("accounts.login"))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("accounts/reset_password.html", form=form), status


# --- profile -------------------------------------------------------------------------------------


# Where a new API token waits, in the session, for the one page view that shows it.
NEW_API_TOKEN_KEY = "new_api_token"  # noqa: S105 - a session key, not a secret


def _profile_forms(**overrides):
    forms = {
        "profile_form": ProfileForm(obj=_me(), formdata=None),
        "email_form": EmailChangeForm(formdata=None),
        "password_form": PasswordChangeForm(formdata=None),
        "sign_out_form": SignOutEverywhereForm(formdata=None),
    }
    if _me().is_organiser:
        forms["token_form"] = ApiTokenForm(formdata=None)
        forms["api_tokens"] = services.list_api_tokens(_me())
    forms.update(overrides)
    return forms


def _render_profile(status: int = 200, **overrides):
    me = _me()
    return render_template(
        "accounts/profile.html",
        **_profile_forms(**overrides),
        sections=profile_sections(me),
        email=me.email,
        pending_email=me.pending_email,
    ), status


@bp.get("/profile")
@login_required
def profile():
    """The account's page. For a member it is rendered once per language, preferred language
    and whether an address change waits (what changes its markup), with the person's name and
    addresses and the other domains' sections (all personal: rendered for each request) put in.
    An organiser's holds their API tokens, and a page with a message is the person's own: both
    are rendered whole."""
    # Shown once: the session forgets the token with this view, and the database never had it.
    new_api_token = session.pop(NEW_API_TOKEN_KEY, None)
    me = _me()
    if me.is_organiser or has_messages():
        return _render_profile(new_api_token=new_api_token if me.is_organiser else None)

    def context() -> dict:
        forms = _profile_forms()
        forms["profile_form"].name.data = mark("name")
        return {
            **forms,
            "sections": [Markup(mark("sections"))],  # noqa: S704 - a stand-in, put in below
            "email": mark("email"),
            "pending_email": mark("pending_email") if me.pending_email else None,
        }

    key = ("profile", current_language(), me.locale, bool(me.pending_email))
    return render_cached(
        key,
        "accounts/profile.html",
        context,
        values={"name": me.name, "email": me.email, "pending_email": me.pending_email or ""},
        fragments={"sections": lambda: Markup("").join(profile_sections(me))},
    )


@bp.post("/profile")
@login_required
def update_profile():
    form = ProfileForm()
    if form.validate_on_submit():
        try:
            services.update_profile(_me(), form.name.data, form.locale.data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            flash(_("Your profile is saved."), "success")
            return redirect(url_for("accounts.profile"))
    return _render_profile(422, profile_form=form)


@bp.post("/profile/email")
@login_required
def change_email():
    form = EmailChangeForm()
    if form.validate_on_submit():
        try:
            services.request_email_change(_me(), form.email.data, form.current_password.data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            flash(
                _(
                    "We have sent a link to the new address. Your e-mail address changes when "
                    "you open it."
                ),
                "info",
            )
            return redirect(url_for("accounts.profile"))
    return _render_profile(422, email_form=form)


@bp.get("/email/<token>")
def confirm_email_change(token: str):
    try:
        services.confirm_email_change(token)
    except DomainError as error:
        return render_template("accounts/link_problem.html", message=str(error), form=None), 400
    flash(_("Your new e-mail address is confirmed."), "success")
    if _me().is_authenticated:
        return redirect(url_for("accounts.profile"))
    return redirect(url_for("accounts.login"))


@bp.post("/profile/password")
@login_required
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            services.change_password(_me(), form.current_password.data, form.new_password.data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            # Other sessions are ended; this one goes on under the new key it was given.
            login_user(_me(), remember=_remembered())
            flash(_("Your password is changed. Other devices are signed out."), "success")
            return redirect(url_for("accounts.profile"))
    return _render_profile(422, password_form=form)


@bp.post("/profile/sign-out-everywhere")
@login_required
def sign_out_everywhere():
    form = SignOutEverywhereForm()
    if not form.validate_on_submit():
        flash(_("The form had expired. Please try again."), "error")
    else:
        services.sign_out_everywhere(_me())
        login_user(_me(), remember=_remembered())
        flash(_("You are signed out on every other device. You stay signed in here."), "success")
    return redirect(url_for("accounts.profile", _anchor="sessions"))


@bp.post("/profile/api-tokens")
@login_required
def create_api_token():
    if not _me().is_organiser:
        abort(403)
    form = ApiTokenForm()
    if form.validate_on_submit():
        try:
            _token, raw = services.create_api_token(_me(), form.token_name.data)
        except DomainError as error:
            # The service calls it `name`, as the profile form on the same page does its own.
            add_domain_error(form, error, field="token_name")
        else:
            session[NEW_API_TOKEN_KEY] = raw
            flash(_("Your API token is made. Copy it now: it is shown only once."), "success")
            return redirect(url_for("accounts.profile", _anchor="api-tokens"))
    return _render_profile(422, token_form=form)


@bp.post("/profile/api-tokens/<int:token_id>/revoke")
@login_required
def revoke_api_token(token_id: int):
    if not _me().is_organiser:
        abort(403)
    form = RevokeApiTokenForm()
    if not form.validate_on_submit():
        flash(_("The form had expired. Please try again."), "error")
    else:
        try:
            token = services.revoke_api_token(_me(), token_id)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            flash(_("The token “%(name)s” is revoked.", name=token.name), "info")
    return redirect(url_for("accounts.profile", _anchor="api-tokens"))


@bp.get("/export.json")
@login_required
def export_data():
    data = services.export_personal_data(_me())
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return Response(
        body,
        mimetype="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="community-my-data.json"',
            "Cache-Control": "no-store",
        },
    )


@bp.route("/delete", methods=["GET", "POST"])
@login_required
def delete_account():
    form = DeleteAccountForm()
    if form.validate_on_submit():
        try:
            services.delete_account(_me(), form.password.data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            logout_user()
            flash(_("Your account is deleted. Thank you for having been with us."), "info")
            return redirect(url_for("site.home"))
    status = 422 if form.errors else 200
    return render_template("accounts/delete.html", form=form), status


# --- admins: roles -------------------------------------------------------------------------------


@admin_bp.get("/")
@admin_required
def users():
    search = request.args.get("q", "")[:SEARCH_MAX]
    people = services.list_users(search)
    return render_template(
        "accounts/users.html", people=people, search=search, form=RoleForm(), labels=ROLE_LABELS
    )


@admin_bp.post("/<int:user_id>/role")
@admin_required
def set_role(user_id: int):
    form = RoleForm()
    if form.validate_on_submit():
        try:
            person = services.set_role(_me(), user_id, form.role.data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            flash(
                _("%(name)s is now: %(role)s.", name=person.name, role=ROLE_LABELS[person.role]),
                "success",
            )
    else:
        flash(_("Choose a role."), "error")
    return redirect(url_for("accounts_admin.users"))
