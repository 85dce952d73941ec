"""`flask --app wsgi create-admin EMAIL` and `create-api-token EMAIL`: the accounts a deployment
starts from, and tokens for scripts."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from community.accounts.services import create_admin, create_api_token, find_user_by_email
from community.core.errors import DomainError


@click.command("create-admin")
@click.argument("email")
@click.option("--name", default=None, help="Display name for a new account.")
@with_appcontext
def create_admin_command(email: str, name: str | None) -> None:
    """Create an admin account, or promote an existing one."""
    try:
        user, password = create_admin(email, name)
    except DomainError as error:
        raise click.ClickException(str(error)) from error
    if password:
        click.echo(f"Created admin {user.email} with password: {password}")
    else:
        click.echo(f"{user.email} is now an admin.")


@click.command("create-api-token")
@click.argument("email")
@click.option("--name", default="command line", help="What the token is for.")
@with_appcontext
def create_api_token_command(email: str, name: str) -> None:
    """Print a new API bearer token for an organiser or admin (shown only this once)."""
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
