"""Command-line tools: `flask --app wsgi seed-demo`, `create-admin EMAIL`,
`create-api-token EMAIL`, and `worker`, which runs the timed jobs."""

from __future__ import annotations

import logging
import time

import click
from flask import Flask

from community.core.errors import DomainError


def register_commands(app: Flask) -> None:
    from community.events.cli import events_cli, expire_holds_command
    from community.payments.cli import payments_cli

    app.cli.add_command(events_cli)
    # Holds are the events' business; payments offers the same job under its own name too.
    payments_cli.add_command(expire_holds_command, "expire-holds")
    app.cli.add_command(payments_cli)

    @app.cli.command("create-admin")
    @click.argument("email")
    @click.option("--name", default=None, help="Display name for a new account.")
    def create_admin_command(email: str, name: str | None) -> None:
        """Create an admin account, or promote an existing one."""
        from community.accounts.services import create_admin

        try:
            user, password = create_admin(email, name)
        except DomainError as error:
            raise click.ClickException(str(error)) from error
        if password:
            click.echo(f"Created admin {user.email} with password: {password}")
        else:
            click.echo(f"{user.email} is now an admin.")

    @app.cli.command("create-api-token")
    @click.argument("email")
    @click.option("--name", default="command line", help="What the token is for.")
    def create_api_token_command(email: str, name: str) -> None:
        """Print a new API bearer token for an organiser or admin (shown only this once)."""
        from community.accounts.services import create_api_token, find_user_by_email

        user = find_user_by_email(email)
        if user is None:
            raise click.ClickException(f"no account with the e-mail address {email}")
        try:
            token, raw = create_api_token(user, name)
        except DomainError as error:
            raise click.ClickException(str(error)) from error
        # Only the token goes to stdout, so that scripts can capture it: TOKEN=$(flask ...).
        click.echo(f"API token {token.prefix}… for {user.email} ({token.name}):", err=True)
        click.echo(raw)

    @app.cli.command("worker")
    @click.option("--every", default=30, show_default=True, help="Seconds between two rounds.")
    @click.option("--once", is_flag=True, help="Run one round and stop (for cron and tests).")
    def worker_command(every: int, once: bool) -> None:
        """Run the timed jobs (expired holds and offers, reminders) every few seconds, as cron
        does in production; any number of workers may run at once. `make run` starts one."""
        while True:
            run_timed_jobs()
            if once:
                return
            time.sleep(max(every, 1))

    @app.cli.command("seed-demo")
    def seed_demo_command() -> None:
        """Load the demo data (running it twice changes nothing)."""
        from community.demo import DEMO_LOGINS, seed_demo

        if app.config["COMMUNITY_ENV"] == "production":
            raise click.ClickException("demo data is never loaded in production")
        created = seed_demo()
        click.echo(
            "Demo data loaded." if created else "Demo data already present; nothing changed."
        )
        for role, (email, password) in DEMO_LOGINS.items():
            click.echo(f"  {role:<9} {email}  password: {password}")


log = logging.getLogger(__name__)


def run_timed_jobs() -> None:
    """One round of every timed job; one that fails (a busy database) is logged and tried again
    in the next round, never the end of the worker."""
    from community.events.services import expire_holds_and_offers, send_reminders

    for name, job in (("holds and offers released", expire_holds_and_offers),
                      ("reminders sent", send_reminders)):  # fmt: skip
        try:
            done = job()
        except Exception:
            log.exception("timed job failed: %s", name)
            continue
        if done:
            log.info("%s: %s", name, done)
