"""Sponsorship years: each starts on the first day of SPONSORSHIP_YEAR_START_MONTH (April by
default, Japan's fiscal year) and is named by the calendar year it starts in. A tier's places are
counted per sponsorship year; a sponsorship covers what is left of one from the day it is bought.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import current_app

from community.core.dates import zone
from community.core.db import utcnow


def start_month() -> int:
    return current_app.config["SPONSORSHIP_YEAR_START_MONTH"]


def today() -> date:
    """Today in the community's zone: the day sponsorships start and end on."""
    return utcnow().astimezone(zone()).date()


def year_of(day: date) -> int:
    """The sponsorship year `day` falls in."""
    return day.year if day.month >= start_month() else day.year - 1


def first_day(year: int) -> date:
    return date(year, start_month(), 1)


def last_day(year: int) -> date:
    return first_day(year + 1) - timedelta(days=1)


def offered_years(day: date) -> tuple[int, int]:
    """The years one may buy on `day`: the current one (from that day) and the next."""
    current = year_of(day)
    return current, current + 1


def period_of(year: int, day: date) -> tuple[date, date]:
    """The days a sponsorship of `year` bought on `day` is active: from that day (or the year's
    first, for a year still to come) to the year's last."""
    return max(first_day(year), day), last_day(year)
