"""Showing times: an aware UTC datetime turned into the reader's language and the event's zone.

Storage is always UTC (see core.db.UTCDateTime); local time only appears through these helpers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from flask import current_app
from flask_babel import get_locale

PATTERNS = {
    # 2026年12月3日（木）19:00 JST: full-width parentheses, and no space after them
    "ja": {"datetime": "y年M月d日（E）HH:mm", "date": "y年M月d日（E）", "time": "HH:mm"},
    # Thu 3 Dec 2026, 19:00 JST
    "en": {"datetime": "EEE d MMM y, HH:mm", "date": "EEE d MMM y", "time": "HH:mm"},
}


def zone(name: str | None = None) -> ZoneInfo:
    name = name or current_app.config["DEFAULT_TIMEZONE"]
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def is_valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: ZoneInfo opens a file named after the zone, and a long name is too long.
        return False
    return True


def format_local(value: datetime | None, tz: str | None = None, part: str = "datetime") -> str:
    """`value` in zone `tz` (default: DEFAULT_TIMEZONE), in the reader's language, zone named."""
    if value is None:
        return ""
    local = value.astimezone(zone(tz))
    language = str(get_locale() or "en")[:2]
    patterns = PATTERNS.get(language, PATTERNS["en"])
    text = babel_format_datetime(local, patterns[part], tzinfo=local.tzinfo, locale=language)
    if part == "date":
        return text
    return f"{text} {local.tzname()}"


# A calendar day without its weekday (a sponsorship's dates): 2027年3月31日, 31 March 2027
DAY_PATTERNS = {"ja": "y年M月d日", "en": "d MMMM y"}


def format_day(value: date | datetime | None) -> str:
    """A calendar day in the reader's language (a moment's day in the community's time zone)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(zone()).date()
    language = str(get_locale() or "en")[:2]
    return babel_format_date(value, DAY_PATTERNS.get(language, DAY_PATTERNS["en"]), locale=language)


@dataclass(frozen=True)
class DateBadge:
    month: str
    day: str
    weekday: str


# Jun / 14 / Sat; 6月 / 14 / 土.
_BADGE_PATTERNS = {"ja": ("M月", "d", "E"), "en": ("MMM", "d", "EEE")}


def date_badge(value: datetime, tz: str | None = None) -> DateBadge:
    """The month, day and weekday that an event card shows: of `value` in zone `tz` (the event's,
    not the reader's: an evening in Tokyo is on its Tokyo date for everyone), in the reader's
    language."""
    local = value.astimezone(zone(tz))
    language = str(get_locale() or "en")[:2]
    patterns = _BADGE_PATTERNS.get(language, _BADGE_PATTERNS["en"])
    month, day, weekday = (
        babel_format_datetime(local, pattern, tzinfo=local.tzinfo, locale=language)
        for pattern in patterns
    )
    return DateBadge(month=month, day=day, weekday=weekday)


def recent_months(moment: datetime, count: int) -> list[tuple[str, datetime]]:
    """The last `count` months of the community's zone up to `moment`'s, oldest first: each as
    its label ("2026-05") and its first instant (for a report's months)."""
    local = moment.astimezone(zone())
    year, month = local.year, local.month
    months = []
    for _ in range(count):
        months.append((f"{year:04d}-{month:02d}", datetime(year, month, 1, tzinfo=zone())))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return list(reversed(months))
