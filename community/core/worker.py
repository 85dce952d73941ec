"""The worker: one loop that delivers the mail outbox every second and runs each domain's timed
jobs (expired holds and offers, reminders, renewals) on their own schedules, in production
(`flask --app wsgi worker`, any number of them at once) as under `make run`. Cron stays possible:
`flask --app wsgi worker --once` runs one round of everything.

A domain adds its jobs through the `timed_job` hook from its `init_app`. Each job must be safe
from several workers at once (they claim their rows by writing first); a job that fails (a busy
database) is logged and tried again next time, never the end of the worker.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app

from community.core.hooks import Hook
from community.core.outbox import deliver_due

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TimedJob:
    """`run()` does one round and returns how much it did (for the log); every `seconds`."""

    description: str
    run: Callable[[], int]
    seconds: int = 30


timed_job: Hook[TimedJob] = Hook("worker.timed_job")
# How often the outbox is looked at: a request's e-mail leaves within about this long.
OUTBOX_SECONDS = 1.0
# The worker's default nice value (`flask worker --nice`): the web processes come first.
WORKER_NICENESS = 10


def runs_in_process() -> bool:
    """Whether the work a worker would do for a request (its e-mail, what a domain leaves for
    its timed jobs) is done by the process that made it, just after: MAIL_DELIVERY="in_process"
    (development, tests). Otherwise ("worker", production) only the worker does it."""
    return current_app.config.get("MAIL_DELIVERY", "worker") == "in_process"


def _attempt(description: str, job: Callable[[], int]) -> None:
    try:
        done = job()
    except Exception:
        log.exception("worker: %s failed", description)
        return
    if done:
        log.info("worker: %s: %s", description, done)


def run_round(due: Callable[[str, TimedJob], bool] = lambda name, job: True) -> None:
    """One round: the outbox, then every timed job that `due` says is due."""
    _attempt("e-mails sent", deliver_due)
    for name, job in timed_job.items():
        if due(name, job):
            _attempt(job.description, job.run)


def run_forever(every: int | None = None) -> None:
    """Deliver the outbox every OUTBOX_SECONDS and each job on its schedule (or every `every`
    seconds, if given), until stopped."""
    last_run: dict[str, float] = {}

    def due(name: str, job: TimedJob) -> bool:
        now = time.monotonic()
        if now - last_run.get(name, float("-inf")) < (every or job.seconds):
            return False
        last_run[name] = now
        return True

    while True:
        run_round(due)
        time.sleep(OUTBOX_SECONDS)
