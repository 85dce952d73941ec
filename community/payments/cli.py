"""`flask --app wsgi payments …`: catching up with Stripe, for cron or by hand.

The group is built for each app (`command_group`), so that a domain above may add its own
payment jobs to it from its `init_app` (events adds `expire-holds`) without changing another
app's commands.
"""

from __future__ import annotations

import re
from datetime import timedelta

import click
from flask.cli import AppGroup, with_appcontext

from community.core.db import utcnow
from community.payments.services import reconcile

_SINCE = re.compile(r"^(\d{1,4})([dh])$")


@click.command("reconcile")
@click.option("--since", default="3d", show_default=True, help="How far back: 3d, 12h, …")
@with_appcontext
def reconcile_command(since: str) -> None:
    """Apply what Stripe reported but the database missed (lost webhooks), once."""
    match = _SINCE.match(since.strip())
    if not match:
        raise click.BadParameter(
            "use a number of days or hours, such as 3d or 12h", param_hint="--since"
        )
    amount, unit = int(match.group(1)), match.group(2)
    delta = timedelta(days=amount) if unit == "d" else timedelta(hours=amount)
    changed = reconcile(utcnow() - delta)
    for event_id, kind, outcome in changed:
        click.echo(f"{event_id}  {kind}: {outcome}")
    click.echo(f"Reconciled: {len(changed)} change(s).")


def command_group() -> AppGroup:
    group = AppGroup("payments", help="Payments: reconcile with Stripe, expire holds.")
    group.add_command(reconcile_command)
    return group
