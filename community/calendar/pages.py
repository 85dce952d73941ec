"""The calendar's HTML pages: subscribing (webcal://, Google, download) and the help for each
client, the private feed's section on the profile page and the calendar section of the manage
page, sending a guest their feed's address by e-mail, and rotating private addresses.

The feeds themselves are served by views.py; the link builders are in links.py and reach the
templates of other domains as template globals registered here (events never imports calendar).
The profile and manage pages get their private-feed section through the hooks that accounts and
events offer (registered by the calendar's `init_app`).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from community.accounts.models import User
from community.calendar import links, services
from community.calendar.models import PrivateFeed
from community.core.urls import external_url
from community.events import services as events
from community.events.models import Event, Registration
from community.extensions import limiter

bp = Blueprint("calendar_pages", __name__)


@dataclass(frozen=True)
class FeedLinks:
    """One feed's addresses: `url` (http(s), also the .ics download), `webcal` (subscribe) and
    `google` (Google Calendar's "add this calendar" page)."""

    url: str
    webcal: str
    google: str


def feed_links(url: str) -> FeedLinks:
    return FeedLinks(url, links.webcal_url(url), links.google_subscribe_url(url))


@bp.app_template_global()
def calendar_feed_links(name: str | None = None) -> FeedLinks:
    """The links of the whole calendar (no name), of one kind ("events", "workshops") or of one
    category (its slug).

    No `?lang=` on purpose: a subscription outlives the page view it came from (a person may
    switch the site's language tomorrow, and a family or team calendar is read by several
    people), so subscribers get the feeds' default, Japanese and English side by side. One
    address per feed also lets calendar apps recognise a feed already subscribed to. The help
    page tells those who want one language how to add `?lang=ja` or `?lang=en`.
    """
    if name is None:
        return feed_links(external_url("calendar.public_feed"))
    return feed_links(external_url("calendar.scoped_feed", name=name))


def private_feed_links(feed: PrivateFeed) -> FeedLinks:
    # No `?lang=` either: a private feed speaks its owner's language (the account's setting, or a
    # guest's latest registration), and follows it when that setting changes.
    return feed_links(external_url("calendar.private_feed", token=feed.token))


@bp.app_template_global()
def google_calendar_event_url(event: Event) -> str:
    """Google Calendar's page that adds this one event, in the reader's language."""
    return links.google_event_url(
        title=event.title,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        details=links.event_details(event.summary, external_url("events.detail", slug=event.slug)),
        location=links.event_location(event, online=_("Online")),
        timezone=event.timezone,
    )


# --- public pages ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListedFeed:
    key: str
    title: str
    description: str
    links: FeedLinks


def _listed_feeds() -> list[ListedFeed]:
    feeds = [
        ListedFeed(
            "all",
            _("All events and workshops"),
            _("Everything the community runs."),
            calendar_feed_links(),
        ),
        ListedFeed(
            "events",
            _("Events only"),
            _("Meet-ups, talks and social events, without the workshops."),
            calendar_feed_links("events"),
        ),
        ListedFeed(
            "workshops",
            _("Workshops only"),
            _("Hands-on workshops, without the other events."),
            calendar_feed_links("workshops"),
        ),
    ]
    for category in events.categories():
        feeds.append(
            ListedFeed(
                f"category-{category.slug}",
                category.name,
                _("Events and workshops in the category “%(name)s”.", name=category.name),
                calendar_feed_links(category.slug),
            )
        )
    return feeds


@bp.get("/calendar")
def index():
    return render_template("calendar/index.html", feeds=_listed_feeds())


@bp.get("/calendar/help")
def help_page():
    return render_template("calendar/help.html")


# --- the private feed: sections on other pages, and rotation -------------------------------------

# Each of these sends an e-mail to an address that the person asking may not own: enough for a
# person who lost a message, too few to flood someone's mailbox.
MAIL_LIMIT = "3 per minute;10 per hour"
PRIVATE_HEADERS = {
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-store",
}


def _private_feed_section(feed: PrivateFeed, rotate_action: str, *, by_mail: bool) -> Markup:
    return Markup(  # noqa: S704 - rendered by our own autoescaping templates
        render_template(
            "calendar/_private_feed.html",
            links=private_feed_links(feed),
            rotate_action=rotate_action,
            by_mail=by_mail,
        )
    )


def profile_section(user: User) -> Markup:
    return _private_feed_section(
        services.feed_for_user(user), url_for("calendar_pages.rotate_my_feed"), by_mail=False
    )


def manage_section(registration: Registration) -> Markup:
    """The manage page's calendar section. A manage link concerns one registration, and whoever
    made it may have typed someone else's address: the address-wide (or account-wide) feed is
    never shown here. A guest may have it e-mailed to the registration's address."""
    send_action = None
    if registration.user_id is None:
        send_action = url_for(
            "calendar_pages.send_guest_feed",
            registration_id=registration.id,
            token=events.manage_token(registration),
        )
    return Markup(  # noqa: S704 - rendered by our own autoescaping templates
        render_template("calendar/_manage_calendar.html", send_action=send_action)
    )


def _rotated_message() -> str:
    return _(
        "Your calendar has a new address. The old one no longer works: subscribe again with "
        "the new one."
    )


# The CSRF token is checked by the app-wide CSRFProtect before these views run (400 without it).
@bp.post("/account/calendar/rotate")
@login_required
def rotate_my_feed():
    services.rotate_feed(services.feed_for_user(current_user._get_current_object()))
    flash(_rotated_message(), "success")
    return redirect(url_for("accounts.profile", _anchor="calendar-feed"))


def _registration_key() -> str:
    return f"guest-feed-mail:{request.view_args.get('registration_id')}"


@bp.post("/registrations/<int:registration_id>/<token>/calendar/send")
@limiter.limit(MAIL_LIMIT)
@limiter.limit(MAIL_LIMIT, key_func=_registration_key)
def send_guest_feed(registration_id: int, token: str):
    registration = events.find_registration_by_token(registration_id, token)
    if registration is None or registration.user_id is not None:
        abort(404)
    services.send_guest_feed(registration)
    flash(
        _("We have sent the address of your calendar to the e-mail address of this registration."),
        "success",
    )
    return redirect(
        url_for(
            "events.manage",
            registration_id=registration_id,
            token=token,
            _anchor="calendar-feed",
        )
    )


def _guest_feed_or_404(token: str) -> PrivateFeed:
    feed = services.find_feed(token)
    if feed is None or feed.email is None:
        abort(404)
    return feed


@bp.get("/calendar/guest/<token>")
def guest_feed_page(token: str):
    """The page the e-mailed calendar address links to: subscribing, and a new address."""
    feed = _guest_feed_or_404(token)
    section = _private_feed_section(
        feed, url_for("calendar_pages.rotate_guest_feed", token=feed.token), by_mail=True
    )
    return render_template("calendar/guest.html", section=section), 200, PRIVATE_HEADERS


@bp.post("/calendar/guest/<token>/rotate")
@limiter.limit(MAIL_LIMIT)
def rotate_guest_feed(token: str):
    feed = _guest_feed_or_404(token)
    if not services.rotate_guest_feed(feed):
        abort(404)
    flash(
        _(
            "Your calendar has a new address, sent to your e-mail address. The old one no "
            "longer works: subscribe again with the new one."
        ),
        "success",
    )
    return redirect(url_for("calendar_pages.index"))
