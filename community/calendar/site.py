"""The calendar's site: its address, organiser and words in each language, and the headers of
its feeds. Needs an app context (the words come from the catalogs through gettext); the result
is kept per app, since it changes only with a release.
"""

from __future__ import annotations

from email.utils import parseaddr
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale, pgettext
from flask_babel import gettext as _

from community.calendar import ical
from community.core.urls import external_url


def _labels(language: str) -> ical.Labels:
    with force_locale(language):
        return ical.Labels(
            language=language,
            online=_("Online"),
            cancelled=_("Cancelled"),
            registration_cancelled=pgettext("registration", "Cancelled"),
            waitlisted=_("Waiting list"),
            offered=_("Place offered: confirm it"),
            awaiting_payment=_("Payment pending"),
            online_link=_("Online link"),
            your_registration=_("Your registration"),
            kinds=(("event", _("Event")), ("workshop", _("Workshop"))),
        )


def site_for(languages: tuple[str, ...]) -> ical.Site:
    """The calendar's site in these languages (kept per process: it changes only on deploy)."""
    cache = current_app.extensions.setdefault("calendar_sites", {})
    site = cache.get(languages)
    if site is None:
        config = current_app.config
        _sender_name, address = parseaddr(config["MAIL_DEFAULT_SENDER"])
        site = ical.Site(
            domain=urlsplit(config["BASE_URL"]).hostname or "localhost",
            organizer_name=in_languages(languages, lambda: _("Tokyo Tech Community")),
            organizer_email=address,
            labels=tuple(_labels(language) for language in languages),
            event_url=lambda slug: external_url("events.detail", slug=slug),
        )
        cache[languages] = site
    return site


def in_languages(languages: tuple[str, ...], text) -> str:
    """A text in each language, joined: "東京… / Tokyo …"."""
    values = []
    for language in languages:
        with force_locale(language):
            values.append(str(text()))
    return " / ".join(dict.fromkeys(values))


def header_for(languages: tuple[str, ...], name, description, source_url: str) -> bytes:
    return ical.calendar_header(
        name=in_languages(languages, name),
        description=in_languages(languages, description),
        timezone=current_app.config["DEFAULT_TIMEZONE"],
        source_url=source_url,
    )
