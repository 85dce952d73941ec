"""`flask --app wsgi payments …`: catching up with Stripe, for cron or by hand."""

from __future__ import annotations

import re
from datetime import timedelta

import click
from flask.cli import AppGroup

payments_cli = AppGroup("payments", help="Payments: reconcile with Stripe, expire holds.")

_SINCE = re.compile(r"^(\d{1,4})([dh])$")


@payments_cli.command("reconcile")
@click.option("--since", default="3d", show_default=True, help="How far back: 3d, 12h, …")
def reconcile_command(since: str) -> None:
    """Apply what Stripe reported but the database missed (lost webhooks), once."""
    from community.core.db import utcnow
    from community.payments.services import reconcile

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
