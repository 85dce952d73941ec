"""Configuration: defaults, then the environment, then the caller's overrides; production checks.

The environment variable names are a stable interface (SPEC.md) and appear in the README's table.
"""

from __future__ import annotations

import os
from pathlib import Path

from community.core.money import is_known_currency

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_PATH = PROJECT_ROOT / "instance"

DEFAULT_SECRET_KEYS = frozenset({"", "dev", "change-me", "development-only-secret-key"})
# COMMUNITY_ENV must be one of these: a typo such as "prod" must not quietly mean development.
ENVIRONMENTS = ("development", "test", "production")


class ConfigurationError(SystemExit):
    """Raised at start-up when the configuration is unsafe; its message is one line.

    A SystemExit so that `flask` and `gunicorn` print the line and stop, without a traceback.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"community refuses to start: {reason}")
        self.reason = reason


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


def _origins(value: str | None) -> tuple[str, ...]:
    """Comma-separated origins (scheme://host[:port]); a trailing slash is forgiven."""
    return tuple(part.strip().rstrip("/") for part in (value or "").split(",") if part.strip())


def _codes(value: str) -> tuple[str, ...]:
    return tuple(part.strip().upper() for part in value.split(",") if part.strip())


def _amounts(value: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in value.split(",") if part.strip())
    except ValueError:
        return ()


def _local_address(env: dict[str, str]) -> str:
    """Where the development server listens (`make run HOST=… PORT=…`): without BASE_URL, the
    links in e-mails, feeds and tickets, and the payment page's way back, lead there."""
    host = env.get("HOST") or "127.0.0.1"
    port = env.get("PORT") or "5000"
    if host in {"0.0.0.0", "::"}:  # noqa: S104 (listening everywhere: loopback answers too)
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def from_environment(environ: dict[str, str] | None = None) -> dict:
    # Values are read without surrounding blanks: "SECRET_KEY= " is as unset as no SECRET_KEY.
    env = {
        key: value.strip() for key, value in (os.environ if environ is None else environ).items()
    }
    community_env = env.get("COMMUNITY_ENV", "development").lower() or "development"
    production = community_env == "production"
    sqlite_default = f"sqlite:///{INSTANCE_PATH / 'community.db'}"
    database_url = env.get("DATABASE_URL") or sqlite_default
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgres://")
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    mail_server = env.get("MAIL_SERVER", "")
    return {
        "COMMUNITY_ENV": community_env,
        "SECRET_KEY": env.get("SECRET_KEY", "" if production else "development-only-secret-key"),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "BASE_URL": (env.get("BASE_URL") or ("" if production else _local_address(env))).rstrip(
            "/"
        ),
        "STRIPE_SECRET_KEY": env.get("STRIPE_SECRET_KEY", ""),
        "STRIPE_WEBHOOK_SECRET": env.get("STRIPE_WEBHOOK_SECRET", ""),
        "STRIPE_API_BASE": env.get("STRIPE_API_BASE", ""),
        "MAIL_SERVER": mail_server,
        "MAIL_PORT": _int(env.get("MAIL_PORT"), 587 if mail_server else 25),
        "MAIL_USE_TLS": _bool(env.get("MAIL_USE_TLS"), default=False),
        "MAIL_USE_SSL": _bool(env.get("MAIL_USE_SSL"), default=False),
        "MAIL_USERNAME": env.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD", ""),
        "MAIL_DEFAULT_SENDER": env.get("MAIL_DEFAULT_SENDER", "community <no-reply@localhost>"),
        "MAIL_TIMEOUT": _int(env.get("MAIL_TIMEOUT"), 10),
        # "worker": only `flask worker` sends the outbox; "in_process": each process sends what
        # it wrote, after the answer (the development server and the tests need no worker).
        "MAIL_DELIVERY": (
            env.get("MAIL_DELIVERY") or ("worker" if production else "in_process")
        ).lower(),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_ENABLED": _bool(env.get("RATELIMIT_ENABLED"), default=True),
        "DEFAULT_CURRENCY": env.get("DEFAULT_CURRENCY", "JPY").upper(),
        "DEFAULT_TIMEZONE": env.get("DEFAULT_TIMEZONE", "Asia/Tokyo"),
        "PROXY_COUNT": _int(env.get("PROXY_COUNT"), 0),
        "PAYMENT_HOLD_MINUTES": _int(env.get("PAYMENT_HOLD_MINUTES"), 30),
        "WAITLIST_OFFER_HOURS": _int(env.get("WAITLIST_OFFER_HOURS"), 24),
        "REMINDER_HOURS": _int(env.get("REMINDER_HOURS"), 24),
        # The issuer of invoices and receipts (payments/documents.py, checked at start-up).
        "INVOICE_ISSUER_NAME": env.get("INVOICE_ISSUER_NAME", "Tokyo Tech Community"),
        "INVOICE_ISSUER_NAME_JA": env.get("INVOICE_ISSUER_NAME_JA", ""),
        "INVOICE_ISSUER_ADDRESS": env.get("INVOICE_ISSUER_ADDRESS", "").replace("\\n", "\n"),
        "INVOICE_REGISTRATION_NUMBER": env.get("INVOICE_REGISTRATION_NUMBER", ""),
        "INVOICE_BANK_ACCOUNT": env.get("INVOICE_BANK_ACCOUNT", "").replace("\\n", "\n"),
        "INVOICE_TAX_ROUNDING": env.get("INVOICE_TAX_ROUNDING", "down"),
        "INVOICE_DUE_DAYS": _int(env.get("INVOICE_DUE_DAYS"), 14),
        # Sponsorship years start on the first day of this month (4: April, Japan's fiscal year).
        "SPONSORSHIP_YEAR_START_MONTH": _int(env.get("SPONSORSHIP_YEAR_START_MONTH"), 4),
        # Days an invoiced sponsorship holds its place (the invoice's due date) before it lapses.
        "SPONSORSHIP_INVOICE_DAYS": _int(env.get("SPONSORSHIP_INVOICE_DAYS"), 14),
        # Days after a membership's end during which it still gives its benefits (to renew in).
        "MEMBERSHIP_GRACE_DAYS": _int(env.get("MEMBERSHIP_GRACE_DAYS"), 14),
        # The consumption tax (percent) included in membership prices, as their receipts show it.
        "MEMBERSHIP_TAX_RATE": _int(env.get("MEMBERSHIP_TAX_RATE"), 10),
        # The currencies a gift may be made in (the first is the default), the smallest and
        # largest gift (in yen: other currencies' limits are the same number of major units),
        # and the amounts /donate suggests.
        "DONATION_CURRENCIES": _codes(env.get("DONATION_CURRENCIES") or "JPY"),
        "DONATION_MINIMUM": _int(env.get("DONATION_MINIMUM"), 500),
        "DONATION_MAXIMUM": _int(env.get("DONATION_MAXIMUM"), 1_000_000),
        "DONATION_SUGGESTED": _amounts(env.get("DONATION_SUGGESTED") or "1000,3000,5000,10000"),
        "PAGE_CACHE_SECONDS": _int(env.get("PAGE_CACHE_SECONDS"), 2),
        "UPLOAD_DIR": env.get("UPLOAD_DIR") or str(INSTANCE_PATH / "uploads"),
        # Sites whose pages may read the public JSON API from the browser (exact origins).
        "CORS_ORIGINS": _origins(env.get("CORS_ORIGINS")),
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
    }


DEFAULTS = {
    "TESTING": False,
    "WTF_CSRF_ENABLED": True,
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session; no expiry mid-form
    # Connections idle in the pool are pinged before use (core/db.install_idle_ping).
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_DURATION": 60 * 60 * 24 * 30,
    "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,
    "BABEL_DEFAULT_LOCALE": "ja",
    "LANGUAGES": ("ja", "en"),
    "CONFIRM_LINK_MAX_AGE": 60 * 60 * 48,
    "RESET_LINK_MAX_AGE": 60 * 60,
    "RATELIMIT_LOGIN": "10 per minute;50 per hour",
    "RATELIMIT_SIGNUP": "5 per minute;30 per hour",
    "RATELIMIT_RESET": "5 per minute;20 per hour",
    "RATELIMIT_REGISTER": "30 per minute",
    "RATELIMIT_HEADERS_ENABLED": True,
    "MAIL_OUTBOX_DIR": str(INSTANCE_PATH / "mail"),
}


def build_config(overrides: dict | None = None, environ: dict[str, str] | None = None) -> dict:
    config = dict(DEFAULTS)
    config.update(from_environment(environ))
    config.update(overrides or {})
    if isinstance(config.get("CORS_ORIGINS"), str):
        # A string would make `origin in CORS_ORIGINS` a substring test: always a tuple.
        config["CORS_ORIGINS"] = _origins(config["CORS_ORIGINS"])
    config["PAYMENTS_SANDBOX"] = not str(config.get("STRIPE_SECRET_KEY") or "").strip()
    check_production(config)
    return config


def check_donations(config: dict) -> None:
    """Gifts' limits that Stripe and the forms can honour: known currencies, a minimum no lower
    than Stripe's smallest charge (¥50), a maximum above it, suggestions between the two."""
    currencies = config.get("DONATION_CURRENCIES") or ("JPY",)
    if not all(is_known_currency(code) for code in currencies):
        raise ConfigurationError("DONATION_CURRENCIES holds a currency code that is not known")
    minimum = config.get("DONATION_MINIMUM", 500)
    maximum = config.get("DONATION_MAXIMUM", 1_000_000)
    if not 50 <= minimum < maximum <= 99_999_999:
        raise ConfigurationError(
            "DONATION_MINIMUM must be at least 50 and below DONATION_MAXIMUM (at most 99999999)"
        )
    if not all(minimum <= amount <= maximum for amount in config.get("DONATION_SUGGESTED", ())):
        raise ConfigurationError("DONATION_SUGGESTED must be whole amounts between the limits")


def check_production(config: dict) -> None:
    """Refuse an unknown COMMUNITY_ENV; in production, refuse what would be unsafe there, one
    reason at a time, in one line."""
    environment = config.get("COMMUNITY_ENV")
    if environment not in ENVIRONMENTS:
        raise ConfigurationError(
            f"COMMUNITY_ENV is {str(environment)[:40]!r}; use one of {', '.join(ENVIRONMENTS)}"
        )
    if config.get("MAIL_DELIVERY", "worker") not in ("worker", "in_process"):
        raise ConfigurationError(
            f"MAIL_DELIVERY is {str(config.get('MAIL_DELIVERY'))[:40]!r}; use worker or in_process"
        )
    if config.get("SPONSORSHIP_YEAR_START_MONTH", 4) not in range(1, 13):
        raise ConfigurationError("SPONSORSHIP_YEAR_START_MONTH must be a month, from 1 to 12")
    if not 1 <= config.get("SPONSORSHIP_INVOICE_DAYS", 14) <= 365:
        raise ConfigurationError("SPONSORSHIP_INVOICE_DAYS must be from 1 to 365 days")
    if not 0 <= config.get("MEMBERSHIP_GRACE_DAYS", 14) <= 365:
        raise ConfigurationError("MEMBERSHIP_GRACE_DAYS must be from 0 to 365 days")
    if config.get("MEMBERSHIP_TAX_RATE", 10) not in (0, 8, 10):
        raise ConfigurationError("MEMBERSHIP_TAX_RATE must be 0, 8 or 10 (percent)")
    check_donations(config)
    if environment != "production":
        return
    secret = (config.get("SECRET_KEY") or "").strip()
    if secret in DEFAULT_SECRET_KEYS:
        raise ConfigurationError("SECRET_KEY is missing or a default; set a long random value")
    if len(secret) < 32:
        raise ConfigurationError(
            "SECRET_KEY is shorter than 32 characters; use a long random value"
        )
    if str(config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("sqlite"):
        raise ConfigurationError("DATABASE_URL points at SQLite; production needs PostgreSQL")
    if config.get("PAYMENTS_SANDBOX") or not str(config.get("STRIPE_SECRET_KEY") or "").strip():
        raise ConfigurationError(
            "STRIPE_SECRET_KEY is not set, which would enable the offline payment sandbox"
        )
    if not str(config.get("STRIPE_WEBHOOK_SECRET") or "").strip():
        raise ConfigurationError("STRIPE_WEBHOOK_SECRET is not set; webhooks could not be verified")
    if not str(config.get("BASE_URL") or "").startswith(("https://", "http://")):
        raise ConfigurationError(
            "BASE_URL is not set; e-mailed links and calendars need the site's public address"
        )


def deployment_warnings(config: dict, processes: int) -> list[str]:
    """What is allowed but probably a mistake in production, for the log at start-up."""
    if config.get("COMMUNITY_ENV") != "production":
        return []
    warnings = []
    storage = str(config.get("RATELIMIT_STORAGE_URI") or "memory://")
    if processes > 1 and storage.startswith("memory://") and config.get("RATELIMIT_ENABLED"):
        warnings.append(
            f"rate limits are counted in memory while {processes} processes serve: each counts "
            "on its own, so every limit is that many times too lenient; set RATELIMIT_STORAGE_URI "
            "to redis://…"
        )
    return warnings
