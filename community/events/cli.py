"""`flask --app wsgi events …`: the jobs cron runs every few minutes. Each is safe to run at any
frequency, from several machines at once."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from community.events.services import expire_holds_and_offers, send_reminders

events_cli = AppGroup("events", help="Event jobs for cron: reminders, expired holds and offers.")


@events_cli.command("send-reminders")
def send_reminders_command() -> None:
    """E-mail confirmed attendees once, REMINDER_HOURS before their event starts."""
    click.echo(f"Reminders sent: {send_reminders()}")


@events_cli.command("expire-holds")
def expire_holds_command() -> None:
    """Release payment holds and waiting-list offers whose time passed, and promote the next."""
    click.echo(f"Holds and offers released: {expire_holds_and_offers()}")
