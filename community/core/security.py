"""Security headers, safe redirects and proxy handling shared by every blueprint."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, request, url_for
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
        # The payment form redirects to Stripe's hosted checkout, which form-action also governs.
        "form-action 'self' https://checkout.stripe.com",
    ]
)


def is_safe_next(target: str | None) -> bool:
    """True for a path on this site; false for other hosts, schemes and browser-normalised tricks"""
    if not target or not isinstance(target, str):
        return False
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return False
    parts = urlsplit(target)
    return (
        not parts.scheme
        and not parts.netloc
        and target.startswith("/")
        and not target.startswith("//")
    )


def safe_next(default_endpoint: str = "site.home") -> str:
    target = request.values.get("next")
    return target if is_safe_next(target) else url_for(default_endpoint)


# Sent with every answer unless the view set its own.
_EVERY_ANSWER = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Permissions-Policy", "camera=(self), geolocation=(), microphone=()"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
_OVER_HTTPS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
# Pages carry a CSRF token and personal data; never let a shared cache keep them.
_PAGES = ("Cache-Control", "no-store")


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    # One pass over what the view set, then appends: Werkzeug's setdefault looks each name up
    # through the whole list (and raises a KeyError inside for each one missing).
    present = {name.lower() for name, _value in headers}
    wanted = list(_EVERY_ANSWER)
    if request.is_secure:
        wanted.append(_OVER_HTTPS)
    if response.mimetype == "text/html":
        wanted.append(_PAGES)
    headers.extend([pair for pair in wanted if pair[0].lower() not in present])
    return response


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed cookie sessions, with the signing serializer made once per app and set of
    keys: Flask makes one for every request, which serializes a test value each time."""

    def __init__(self) -> None:
        self._kept: tuple[tuple, object] | None = None

    def get_signing_serializer(self, app: Flask):
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        kept = self._kept
        if kept is None or kept[0] != keys:
            kept = self._kept = (keys, super().get_signing_serializer(app))
        return kept[1]


def install(app: Flask) -> None:
    app.session_interface = SessionCookies()
    proxies = app.config.get("PROXY_COUNT", 0)
    if proxies:
        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_prefix=proxies
        )
    app.after_request(add_security_headers)
