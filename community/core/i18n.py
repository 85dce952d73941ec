"""Language choice and bilingual content.

The reader's language is their account setting, then the switch on every page (kept in the
session), then Accept-Language, then Japanese; outside a request (the CLI) it is English.
Content fields come in pairs (`title_ja`, `title_en`); `localized()` picks the reader's and falls
back to the other.
"""

from __future__ import annotations

from flask import current_app, g, has_request_context, request, session
from flask_babel import get_locale, get_translations
from flask_login import current_user

LANGUAGE_NAMES = {"ja": "日本語", "en": "English"}


def supported_languages() -> tuple[str, ...]:
    return tuple(current_app.config["LANGUAGES"])


def select_locale() -> str:
    languages = supported_languages()
    if not has_request_context():
        return "en"  # command-line tools speak English; e-mails set their recipient's language
    user_language = getattr(current_user, "locale", None) if current_user else None
    if user_language in languages:
        return user_language
    if session.get("lang") in languages:
        return session["lang"]
    return (
        request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def current_language() -> str:
    return str(get_locale() or "ja")[:2]


def localized(obj, field: str, language: str | None = None) -> str:
    """`obj.<field>_<language>`, or the other language's value when that one is empty."""
    language = language or current_language()
    other = "en" if language == "ja" else "ja"
    return getattr(obj, f"{field}_{language}", None) or getattr(obj, f"{field}_{other}", None) or ""


def _current_translations():
    # Flask-Babel looks the catalog up through several context proxies for every string; a list
    # page asks for hundreds. Keep it beside Flask-Babel's own per-request state, keyed by the
    # locale object, which force_locale() replaces while it runs (e-mails in another language).
    holder = g.get("_flask_babel")
    locale = getattr(holder, "babel_locale", None) if holder is not None else None
    cached = getattr(holder, "community_translations", None) if holder is not None else None
    if cached is not None and locale is not None and cached[0] is locale:
        return cached[1]
    translations = get_translations()
    holder = g.get("_flask_babel")
    locale = getattr(holder, "babel_locale", None) if holder is not None else None
    if holder is not None and locale is not None:
        holder.community_translations = (locale, translations)
    return translations


def install_fast_template_gettext(app) -> None:
    app.jinja_env.install_gettext_callables(
        gettext=lambda string: _current_translations().ugettext(string),
        ngettext=lambda singular, plural, n: _current_translations().ungettext(singular, plural, n),
        pgettext=lambda context, string: _current_translations().upgettext(context, string),
        npgettext=lambda context, singular, plural, n: _current_translations().unpgettext(
            context, singular, plural, n
        ),
        newstyle=True,
    )
