"""Calendars: iCalendar building as pure functions over events (ical.py), and the feed views.

Reads the events domain through its services; nothing here writes.
"""
