"""Views every site needs: health check, robots.txt, the favicon, the language switch and the error
pages."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    Flask,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
)
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from community.core.accesslog import redact
from community.core.db import db
from community.core.i18n import supported_languages
from community.core.security import safe_next
from community.core.text import has_forbidden_character
from community.extensions import csrf, limiter

log = logging.getLogger(__name__)

bp = Blueprint("core", __name__)

ERROR_TITLES = {
    400: _l("The request could not be understood"),
    403: _l("You do not have access to this page"),
    404: _l("Page not found"),
    405: _l("This action is not allowed here"),
    413: _l("The upload is too large"),
    429: _l("Too many requests"),
    500: _l("Something went wrong on our side"),
    503: _l("The service is busy"),
}

ERROR_HINTS = {
    400: _l("Please go back, reload the page and try again."),
    403: _l("Sign in with an account that has access, or go back to the home page."),
    404: _l("The address may be mistyped, or the page was moved or removed."),
    405: _l("Please go back and use the page's own buttons."),
    413: _l("Please choose a smaller file."),
    429: _l("Please wait a minute before you try again."),
    500: _l("We have been told about it. Please try again in a moment."),
    503: _l("Please try again in a moment."),
}


@bp.get("/healthz")
@limiter.exempt
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        log.exception("health check: database does not answer")
        return "database unavailable\n", 503, {"Content-Type": "text/plain; charset=utf-8"}
    return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.get("/robots.txt")
@limiter.exempt
def robots():
    body = "User-agent: *\nDisallow: /organiser/\nDisallow: /account/\nDisallow: /api/\n"
    return body, 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.get("/favicon.ico")
@limiter.exempt
def favicon():
    # Browsers ask for /favicon.ico on every site whatever the page links; base.html links the SVG.
    # The file is one of the brand's, which templates/_brand.html describes.
    return send_from_directory(
        current_app.static_folder,
        "brand/favicon.ico",
        mimetype="image/vnd.microsoft.icon",
        max_age=7 * 24 * 3600,
    )


@bp.post("/language")
def set_language():
    language = request.form.get("lang", "")
    if language in supported_languages():
        session["lang"] = language
        if current_user.is_authenticated and current_user.locale != language:
            current_user.locale = language
            db.session.commit()
    return redirect(safe_next())


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/stripe/")


def render_error(status: int, message: str | None = None, code: str | None = None):
    if wants_json():
        title = str(ERROR_TITLES.get(status, ERROR_TITLES[500]))
        body = {"error": {"code": code or str(status), "message": message or title}}
        return jsonify(body), status
    return (
        render_template(
            "errors/error.html",
            status=status,
            title=ERROR_TITLES.get(status, ERROR_TITLES[500]),
            hint=message or ERROR_HINTS.get(status, ERROR_HINTS[500]),
        ),
        status,
    )


def refuse_unreadable_input():
    """One rule for every route: a NUL byte or a lone surrogate anywhere in the path, the query,
    a form or a JSON body is answered 400 with a message, before any view or database sees it
    (PostgreSQL refuses NUL in text, and a lone surrogate cannot be encoded)."""
    if not (
        has_forbidden_character(request.path)
        or _multidict_has_forbidden(request.args)
        or (request.method in {"POST", "PUT", "PATCH"} and _body_has_forbidden())
    ):
        return None
    message = _l("The request holds characters that are not allowed (such as a NUL byte).")
    if request.path.startswith("/api/"):
        # The API speaks the language of ?lang (English by default), not the site's choice.
        language = request.args.get("lang")
        with force_locale(language if language in {"ja", "en"} else "en"):
            return render_error(400, str(message), code="bad_request")
    if wants_json():
        return render_error(400, str(message), code="bad_request")
    return render_error(400, str(message))


def _multidict_has_forbidden(values) -> bool:
    return any(
        has_forbidden_character(key) or has_forbidden_character(value)
        for key, value in values.items(multi=True)
    )


def _body_has_forbidden() -> bool:
    if request.is_json:
        # Cached: the view (and the webhook's signature check) read the same bytes again.
        try:
            return has_forbidden_character(request.get_json(silent=True, cache=True))
        except RecursionError:
            return False  # nested too deep to read: the view refuses it as not JSON
    if request.mimetype in {"application/x-www-form-urlencoded", "multipart/form-data"}:
        return _multidict_has_forbidden(request.form)
    return False


def register_error_handlers(app: Flask) -> None:
    app.before_request(refuse_unreadable_input)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(400, str(_l("The form had expired. Please try again.")))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        status = error.code if error.code in ERROR_TITLES else (500 if error.code >= 500 else 400)
        return render_error(status)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        log.exception("unhandled error on %s %s", request.method, redact(request.path))
        db.session.rollback()
        return render_error(500)

    csrf.exempt(healthz)
