"""Views every site needs: health check, robots.txt, the language switch and the error pages."""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, jsonify, redirect, render_template, request, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from community.core.db import db
from community.core.i18n import supported_languages
from community.core.security import safe_next
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


def render_error(status: int, message: str | None = None):
    if wants_json():
        title = str(ERROR_TITLES.get(status, ERROR_TITLES[500]))
        body = {"error": {"code": str(status), "message": message or title}}
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


def register_error_handlers(app: Flask) -> None:
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
        log.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return render_error(500)

    csrf.exempt(healthz)
