"""The calendar domain's rules: which events each feed holds, private feeds' secret addresses,
and serving feeds so that an unchanged one costs almost nothing.

A private feed belongs to an account (its registrations, shown on the profile) or to a guest
e-mail address (its registrations made without an account). Anyone can register with any
address, so a guest feed is never shown on a page: it is only ever e-mailed to its address.

A feed is fingerprinted from what it is built from: for a public feed, the version of the events
catalogue (one small read, bumped by the database with any change the feeds show), the day its
window starts and the calendar's header and words; for one event or a person, the stamps of
what it holds. The same fingerprint means the same bytes, so:
- a process keeps the bytes of the feeds it served, by fingerprint (`FeedStore`);
- every process records a feed's fingerprint, ETag and modification time in
  `calendar_feed_versions`, so a matching conditional request is answered 304 without building,
  and `Last-Modified` moves forward whenever the bytes change, never back.
Events are read through the events domain's services; this module writes only its own tables.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from cachetools import LRUCache
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, delete, or_, select
from sqlalchemy.exc import IntegrityError, OperationalError

from community.accounts.models import User
from community.calendar import ical, links
from community.calendar.models import FeedVersion, PrivateFeed
from community.core.cache import SharedCache
from community.core.db import db, read_rows, utcnow
from community.core.errors import Busy
from community.core.mail import send_mail
from community.core.transaction import replace_secret
from community.core.urls import external_url
from community.events import services as events
from community.events.models import Event, Registration

# Past events stay this long in the feeds, so that last week's still shows in people's calendars.
WINDOW = timedelta(days=30)
# Google Calendar ignores a feed larger than 1 MB: the furthest events make way first.
MAX_FEED_BYTES = 1_000_000
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
KIND_FEEDS = {"events": "event", "workshops": "workshop"}
# A person's best claim on an event comes first when two registrations name the same one.
_STATUS_RANK = {"confirmed": 0, "offered": 1, "awaiting_payment": 2, "waitlisted": 3}


@dataclass(frozen=True)
class Scope:
    """Which public events a feed holds: all, one kind, or one category."""

    key: str
    kind: str | None = None
    category_slug: str | None = None


def public_scope(name: str | None) -> Scope | None:
    """`None` for the whole calendar, "events"/"workshops" for a kind, else a category's slug;
    None when there is no such category."""
    if name is None:
        return Scope("all")
    if name in KIND_FEEDS:
        return Scope(f"kind:{name}", kind=KIND_FEEDS[name])
    category = events.find_category(name)
    if category is None:
        return None
    return Scope(f"category:{category.slug}", category_slug=category.slug)


@dataclass(frozen=True)
class Served:
    """A feed as it stands: its ETag and modification time, and its bytes unless the client
    already holds them (`unchanged(etag, modified_at)` said so: then `body` is None and nothing
    was built). `newest` is the newest stamp of what the bytes were built from."""

    etag: str
    modified_at: datetime
    body: bytes | None
    newest: datetime | None = None


def _body_size(served: Served) -> int:
    return len(served.body or b"")


class FeedStore:
    """Served feeds' bytes per process, by feed and fingerprint, within a byte budget: the least
    recently used go first."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self._entries: SharedCache[tuple[str, str], Served] = SharedCache(
            LRUCache(maxsize=max_bytes, getsizeof=_body_size)
        )
        self.max_bytes = max_bytes

    def get(self, key: str, fingerprint: str) -> Served | None:
        return self._entries.get((key, fingerprint))

    def put(self, key: str, fingerprint: str, served: Served) -> None:
        self._entries.put((key, fingerprint), served)


class Caches:
    """One app's caches (kept on the app: each app, and so each test's database, has its own)."""

    def __init__(self) -> None:
        self.components = ical.ComponentCache()
        self.feeds = FeedStore()


def caches() -> Caches:
    found = current_app.extensions.get("calendar_caches")
    if found is None:
        found = current_app.extensions["calendar_caches"] = Caches()
    return found


def _fingerprint(header: bytes, site: ical.Site, stamps: str) -> str:
    """What a feed is built from, hashed: the same fingerprint means the same bytes."""
    digest = hashlib.sha256()
    digest.update(repr((ical.FORMAT_VERSION, site.domain, site.labels)).encode())
    digest.update(header)
    digest.update(stamps.encode())
    return digest.hexdigest()


def _lines(rows) -> str:
    return "\n".join("|".join(map(str, row)) for row in rows)


def _etag(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


Built = tuple[bytes, datetime | None]  # a feed's bytes, and the newest stamp they show

# What a feed served last, read on every request (a plain row: see core/db.read_rows).
_RECORDED = select(FeedVersion.inputs, FeedVersion.etag, FeedVersion.modified_at).where(
    FeedVersion.key == bindparam("key")
)


def _serve(
    key: str,
    fingerprint: str,
    unchanged: Callable[[str, datetime], bool],
    build: Callable[[], Built],
    *,
    never_returns: bool = False,
) -> Served:
    """`never_returns`: the fingerprint holds a version that only goes up, so it never comes
    back once left, and the feed this process served and recorded under it is still the
    recorded one: it is answered without reading the record."""
    served = caches().feeds.get(key, fingerprint)
    if served is not None and never_returns:
        return served
    recorded = read_rows(_RECORDED, {"key": key}).first()
    if served is not None:
        # The recorded version is the authority: a fingerprint can come back (a cancelled
        # registration leaves the feed as it was before), and its time must still move forward.
        if recorded is not None and recorded.etag == served.etag:
            if recorded.modified_at != served.modified_at:
                served = replace(served, modified_at=recorded.modified_at)
                caches().feeds.put(key, fingerprint, served)
            return served
        modified_at = _record(key, fingerprint, served.etag, served.newest)
        served = replace(served, modified_at=modified_at)
        caches().feeds.put(key, fingerprint, served)
        return served
    if (
        recorded is not None
        and recorded.inputs == fingerprint
        and unchanged(recorded.etag, recorded.modified_at)
    ):
        return Served(recorded.etag, recorded.modified_at, None)
    body, newest = build()
    etag = _etag(body)
    modified_at = _record(key, fingerprint, etag, newest)
    served = Served(etag, modified_at, body, newest)
    caches().feeds.put(key, fingerprint, served)
    return served


def _record(key: str, fingerprint: str, etag: str, newest: datetime | None) -> datetime:
    """The feed's modification time: kept while its bytes stay the same, moved forward (never
    back) when they change. Two processes racing to record the same change agree."""
    for _attempt in range(3):
        recorded = db.session.get(FeedVersion, key, populate_existing=True)
        if recorded is not None and recorded.etag == etag:
            if recorded.inputs != fingerprint:
                recorded.inputs = fingerprint
                db.session.commit()
            return recorded.modified_at
        candidate = (newest or utcnow()).replace(microsecond=0)
        if recorded is not None:
            candidate = max(candidate, recorded.modified_at + timedelta(seconds=1))
            recorded.inputs, recorded.etag, recorded.modified_at = fingerprint, etag, candidate
        else:
            db.session.add(
                FeedVersion(key=key, inputs=fingerprint, etag=etag, modified_at=candidate)
            )
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            continue
        except OperationalError:
            # A busy database must not cost the reader the feed: the next request records it.
            db.session.rollback()
        return candidate
    return candidate


# --- public feeds ---------------------------------------------------------------------------------


def window_start(moment: datetime | None = None) -> datetime:
    """From when past events stay in the feeds: WINDOW before now, from the start of that UTC
    day, so that a public feed stays the same all day while its events do (it moves at midnight
    UTC, not with every request's clock)."""
    start = (moment or utcnow()) - WINDOW
    return start.replace(hour=0, minute=0, second=0, microsecond=0)


def public_feed(
    scope: Scope,
    site: ical.Site,
    header: bytes,
    *,
    unchanged: Callable[[str, datetime], bool] = lambda etag, modified_at: False,
) -> Served:
    """A public feed. Whether it changed is known from the catalogue's version (one small read
    whatever the number of events) and the day its window starts; the events are read only to
    build it."""
    start = window_start()
    filters = events.EventFilters(kind=scope.kind, category=scope.category_slug, starts_from=start)
    inputs = f"events-version:{events.catalog_version()}|from:{start.isoformat()}"
    fingerprint = _fingerprint(header, site, inputs)
    key = f"public:{scope.key}:{'+'.join(site.languages)}"

    def build() -> Built:
        found = events.events_with_ids([row.id for row in events.event_stamps(filters)])
        body = ical.feed(
            found, site, header=header, cache=caches().components, max_bytes=MAX_FEED_BYTES
        )
        return body, max((event.updated_at for event in found), default=None)

    return _serve(key, fingerprint, unchanged, build, never_returns=True)


def build_from_scratch(found: list[Event], site: ical.Site, header: bytes) -> bytes:
    """The same feed with nothing reused (the benchmark's baseline)."""
    return ical.feed(found, site, header=header, cache=None, max_bytes=MAX_FEED_BYTES)


def event_feed(
    event: Event,
    site: ical.Site,
    header: bytes,
    *,
    unchanged: Callable[[str, datetime], bool] = lambda etag, modified_at: False,
) -> Served:
    category = event.category
    rows = [
        (
            event.id,
            event.updated_at,
            event.sequence,
            event.status,
            (category.slug, category.name_ja, category.name_en) if category else None,
        )
    ]
    key = f"event:{event.id}:{'+'.join(site.languages)}"
    return _serve(
        key,
        _fingerprint(header, site, _lines(rows)),
        unchanged,
        lambda: (
            ical.feed([event], site, header=header, cache=caches().components),
            event.updated_at,
        ),
    )


# --- private feeds --------------------------------------------------------------------------------


def _new_token() -> str:
    return secrets.token_urlsafe(32)


def _feed_where(condition) -> PrivateFeed | None:
    return db.session.scalar(select(PrivateFeed).where(condition))


def _get_or_create(condition, **owner) -> PrivateFeed:
    found = _feed_where(condition)
    if found is not None:
        return found
    feed = PrivateFeed(token=_new_token(), **owner)
    db.session.add(feed)
    try:
        db.session.commit()
    except (IntegrityError, OperationalError) as error:
        # Another request made it first (on SQLite, that can also show as a stale snapshot):
        # theirs is the one.
        db.session.rollback()
        found = _feed_where(condition)
        if found is None:
            raise Busy(_l("We are very busy right now. Please try again in a moment.")) from error
        return found
    return feed


def feed_for_user(user: User) -> PrivateFeed:
    return _get_or_create(PrivateFeed.user_id == user.id, user_id=user.id)


def guest_feed_for(registration: Registration) -> PrivateFeed:
    """The feed of a guest registration's e-mail address: the guest registrations of that
    address. Never shown to whoever holds the registration (anyone may register with any
    address): it is only ever sent to the address itself (`send_guest_feed`). A registration made
    while signed in has none: it belongs to the account's feed."""
    if registration.user_id is not None:
        raise ValueError("a signed-in registration belongs to its account's feed")
    # Registrations store the address as `normalise_email` made it (lower case, NFC), as the
    # feeds' CHECK does: Guest@Example.com and guest@example.com are one feed.
    return _get_or_create(PrivateFeed.email == registration.email, email=registration.email)


def _send_feed_mail(feed: PrivateFeed, language: str, *, rotated: bool) -> bool:
    url = external_url("calendar.private_feed", token=feed.token)
    subject = (
        _l("The new address of your calendar") if rotated else _l("The address of your calendar")
    )
    return send_mail(
        feed.email,
        subject,
        "calendar/guest_feed",
        language,
        rotated=rotated,
        feed_url=url,
        webcal_url=links.webcal_url(url),
        google_url=links.google_subscribe_url(url),
        page_url=external_url("calendar_pages.guest_feed_page", token=feed.token),
    )


def send_guest_feed(registration: Registration) -> bool:
    """E-mail the guest feed of a guest registration's address to that address (and only
    there), in the registration's language."""
    feed = guest_feed_for(registration)
    language = registration.locale if registration.locale in ("ja", "en") else "ja"
    return _send_feed_mail(feed, language, rotated=False)


def rotate_feed(feed: PrivateFeed) -> bool:
    """A new secret address; the old one answers 404 from now on.

    Conditional on the token this request read: of two simultaneous rotations one wins, and the
    other returns False (its token was already dead), so no e-mail carries a dead address.
    """
    return replace_secret(feed, "token", _new_token(), rotated_at=utcnow())


def rotate_guest_feed(feed: PrivateFeed) -> bool:
    """A guest feed's new address goes to its e-mail address, not to whoever asked: the old
    address may be the one that leaked. False when another request rotated it first."""
    if feed.email is None:
        raise ValueError("an account's feed is rotated on its profile page")
    if not rotate_feed(feed):
        return False
    _send_feed_mail(feed, feed_owner(feed).language, rotated=True)
    return True


def find_feed(token: str) -> PrivateFeed | None:
    """The feed of a token, or None: malformed, rotated away and unknown tokens look the same."""
    if not TOKEN_RE.match(token or ""):
        return None
    feed = _feed_where(PrivateFeed.token == token)
    if feed is None:
        return None
    if feed.user_id is not None:
        owner = db.session.get(User, feed.user_id)
        if owner is None or not owner.is_active:
            return None
    return feed


@dataclass(frozen=True)
class Owner:
    """Whose registrations a feed holds: an account's (by account, and by the account's address
    once it is confirmed), or a guest address's (its registrations made without an account)."""

    user_id: int | None
    email: str | None
    language: str


def feed_owner(feed: PrivateFeed) -> Owner:
    if feed.user_id is not None:
        user = db.session.get(User, feed.user_id)
        return Owner(user.id, events.account_address(user), user.locale)
    latest = db.session.scalar(
        select(Registration.locale)
        .where(Registration.email == feed.email, Registration.user_id.is_(None))
        .order_by(Registration.created_at.desc(), Registration.id.desc())
        .limit(1)
    )
    return Owner(None, feed.email, latest or "ja")


def _owned_registrations(owner: Owner) -> list[Registration]:
    found = events.person_registrations(
        user_id=owner.user_id, email=owner.email, starts_from=window_start()
    )
    if owner.user_id is None:
        # A guest feed never shows what someone did while signed in with that address (or in
        # someone else's name): those places are in the account's feed, and only there.
        found = [registration for registration in found if registration.user_id is None]
    return found


def private_feed(
    feed: PrivateFeed,
    site: ical.Site,
    header: bytes,
    manage_url: Callable[[Registration], str],
    *,
    unchanged: Callable[[str, datetime], bool] = lambda etag, modified_at: False,
) -> Served:
    owner = feed_owner(feed)
    registrations = _owned_registrations(owner)
    chosen: dict[int, Registration] = {}
    for registration in registrations:
        held = chosen.get(registration.event_id)
        if held is None or _STATUS_RANK[registration.status] < _STATUS_RANK[held.status]:
            chosen[registration.event_id] = registration
    mine = list(chosen.values())
    rows = [
        (
            r.event.id,
            r.event.updated_at,
            r.event.sequence,
            r.event.status,
            (r.event.category.name_ja, r.event.category.name_en) if r.event.category else None,
            r.id,
            r.status,
            r.updated_at,
        )
        for r in mine
    ]
    fingerprint = _fingerprint(header, site, _lines(rows))
    stamps = [r.event.updated_at for r in mine] + [r.updated_at for r in mine]
    newest = max(stamps, default=None)
    key = f"private:{feed.id}:{'+'.join(site.languages)}"

    def build() -> Built:
        personal = [ical.Personal(r.status, manage_url(r)) for r in mine]
        body = ical.feed(
            [r.event for r in mine],
            site,
            header=header,
            cache=caches().components,
            personal=personal,
            max_bytes=MAX_FEED_BYTES,
        )
        return body, newest

    return _serve(key, fingerprint, unchanged, build)


# --- personal data --------------------------------------------------------------------------------


def export_feeds(user: User) -> dict:
    feed = _feed_where(or_(PrivateFeed.user_id == user.id, PrivateFeed.email == user.email))
    return {"private_feed": bool(feed), "created_at": feed.created_at.isoformat() if feed else None}


def erase_feeds(user: User) -> None:
    db.session.execute(
        delete(PrivateFeed).where(
            or_(PrivateFeed.user_id == user.id, PrivateFeed.email == user.email)
        )
    )
