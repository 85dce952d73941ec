"""Command-line tools: `flask --app wsgi seed-demo`, `create-admin EMAIL`."""

from __future__ import annotations

import click
from flask import Flask

from community.core.errors import DomainError


def register_commands(app: Flask) -> None:
    from community.events.cli import events_cli

    app.cli.add_command(events_cli)

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
