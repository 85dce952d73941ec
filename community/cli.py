"""The app's own commands: `flask --app wsgi seed-demo`, and `worker`, which sends the mail
outbox and runs the domains' timed jobs (core/worker.py). Each domain adds its own commands
from its `init_app` (accounts: `create-admin EMAIL` and `create-api-token EMAIL`; `events …`;
`payments …`)."""

from __future__ import annotations

import os

import click
from flask import Flask

from community.core.worker import WORKER_NICENESS, run_forever, run_round
from community.demo import DEMO_LOGINS, seed_demo


def register_commands(app: Flask) -> None:
    @app.cli.command("worker")
    @click.option(
        "--every", type=int, default=None, help="Seconds between two runs of each timed job "
        "(default: each job's own schedule). The outbox is sent every second."
    )  # fmt: skip
    @click.option("--once", is_flag=True, help="Run one round and stop (for cron and tests).")
    @click.option(
        "--nice", type=click.IntRange(0, 19), default=WORKER_NICENESS, show_default=True,
        help="How much the running worker yields the CPU to the web processes beside it "
        "(0: not at all; --once keeps the caller's priority: cron has `nice` of its own).",
    )  # fmt: skip
    def worker_command(every: int | None, once: bool, nice: int) -> None:
        """Send the mail outbox and run the timed jobs (expired holds and offers, reminders) on
        their schedules; any number of workers may run at once. `make run` starts one.

        Its work waits for nobody: on a machine it shares with the web processes, it runs at a
        lower priority (--nice) so that a rush of people registering is answered first and their
        e-mails follow moments later."""
        if once:
            run_round()
            return
        if nice:
            os.nice(nice)
        run_forever(every)

    @app.cli.command("seed-demo")
    def seed_demo_command() -> None:
        """Load the demo data (running it twice changes nothing)."""
        if app.config["COMMUNITY_ENV"] == "production":
            raise click.ClickException("demo data is never loaded in production")
        created = seed_demo()
        click.echo(
            "Demo data loaded." if created else "Demo data already present; nothing changed."
        )
        for role, (email, password) in DEMO_LOGINS.items():
            click.echo(f"  {role:<9} {email}  password: {password}")
