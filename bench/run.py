"""The benchmark: `python -m bench.run` (or `make bench`) loads each route with wrk, then bursts.

It builds a throw-away database (SQLite, or a PostgreSQL schema when BENCH_DATABASE_URL is set),
migrates and seeds it, adds BENCH_EVENTS events with BENCH_REGISTRATIONS registrations
(bench.dataset), serves it with gunicorn on 127.0.0.1 with one `flask worker` beside it that sends
the mail outbox (MAIL_DELIVERY=worker, as in production: no request sends an e-mail), warms up and
measures every route in ROUTES, then fires the registration burst (bench.burst) and the webhook
burst (bench.webhooks), each waiting for the outbox to drain into a local SMTP sink. It prints a
table against the trivial route, the targets (reported, never failing the run) and both bursts, and
writes bench/results/latest.json. Any non-2xx answer or socket error under wrk fails the run, and so
does a burst that confirms other than BENCH_BURST_PLACES people, has an error answer or whose
e-mails do not all arrive (exactly one per registration), and a webhook burst that leaves any order
in the wrong state, applies an effect twice, has an error or does not send one e-mail per order.
An optional route that does not answer 200 (the API, while it is being written) is skipped with a
line saying so.

Settings: BENCH_DURATION (seconds, default 10), BENCH_WORKERS (gunicorn processes, default 4),
BENCH_WORKER_CLASS (sync or gthread, default sync), BENCH_THREADS (per worker; 1 for sync, default
4 for gthread), BENCH_DATABASE_URL, BENCH_EVENTS (default 1000), BENCH_REGISTRATIONS (default
100000), BENCH_BURST_PEOPLE (default 500), BENCH_BURST_PLACES (default 50), BENCH_WEBHOOK_ORDERS
(default 500, which makes 1,000 deliveries).
"""

from __future__ import annotations

import json
import os
import platform
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import pages
from bench.burst import BurstResult, MailSink, render_burst, run_burst
from bench.database import PROJECT_ROOT, application_environment, create_database, prepare
from bench.dataset import run_dataset
from bench.errors import BenchError, run_guarded
from bench.server import GunicornServer
from bench.webhooks import WebhookResult, render_webhooks, run_webhooks
from bench.wrk import ensure_wrk, wrk_version

WRK_THREADS = pages.WRK_THREADS
WRK_CONNECTIONS = pages.WRK_CONNECTIONS
WARMUP_SECONDS = pages.WARMUP_SECONDS
RESULTS_PATH = Path(__file__).resolve().parent / "results" / "latest.json"
DATASET_TIMEOUT_SECONDS = 1800
_table = pages.table


def _whole_number(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise BenchError(f"{name} must be a whole number of at least {minimum}, not {raw!r}")
    return value


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def write_results(
    machine: dict,
    dataset: dict,
    results: list[pages.Measured],
    skipped: list[dict],
    targets: list[dict],
    memory: pages.Memory,
    burst: BurstResult,
    webhooks: WebhookResult,
    ok: bool,
) -> None:
    document = {
        "ok": ok,
        "machine": machine,
        "dataset": dataset,
        "routes": pages.as_dicts(results),
        "skipped_routes": skipped,
        "targets": targets,
        "memory": memory.as_dict(),
        "burst": burst.as_dict(),
        "webhooks": webhooks.as_dict(),
    }
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def _worker_settings() -> tuple[str, int]:
    worker_class = os.environ.get("BENCH_WORKER_CLASS", "").strip() or "sync"
    if worker_class not in ("sync", "gthread"):
        raise BenchError(f"BENCH_WORKER_CLASS must be sync or gthread, not {worker_class!r}")
    threads = _whole_number("BENCH_THREADS", 1 if worker_class == "sync" else 4)
    if worker_class == "sync" and threads != 1:
        raise BenchError("BENCH_THREADS needs BENCH_WORKER_CLASS=gthread (sync workers have one)")
    return worker_class, threads


def generate_dataset(app_env: dict[str, str], events: int, registrations: int) -> dict:
    print(f"Generating {events} events and {registrations} registrations (bench.dataset) …")
    arguments = ["--events", str(events), "--registrations", str(registrations)]
    dataset = run_dataset(app_env, arguments, DATASET_TIMEOUT_SECONDS)
    statuses = ", ".join(f"{status} {n}" for status, n in dataset["statuses"].items())
    print(f"  done in {dataset['seconds']:.1f}s: {statuses}; detail page {dataset['detail_slug']}")
    return dataset


def _server(app_env: dict[str, str], workers: int, log: Path, settings, **options):
    worker_class, threads = settings
    return GunicornServer(
        app_env, workers, log, worker_class=worker_class, threads=threads, **options
    )


def run() -> int:
    duration = _whole_number("BENCH_DURATION", 10)
    workers = _whole_number("BENCH_WORKERS", 2)
    settings = _worker_settings()
    rounds = _whole_number("BENCH_ROUNDS", 2)
    events = _whole_number("BENCH_EVENTS", 1000)
    registrations = _whole_number("BENCH_REGISTRATIONS", 100_000, minimum=0)
    burst_people = _whole_number("BENCH_BURST_PEOPLE", 500)
    burst_places = _whole_number("BENCH_BURST_PLACES", 50)
    webhook_orders = _whole_number("BENCH_WEBHOOK_ORDERS", 500, minimum=3)
    if burst_people <= burst_places:
        raise BenchError(
            "BENCH_BURST_PEOPLE must exceed BENCH_BURST_PLACES: the burst must overfill"
        )
    postgres_url = os.environ.get("BENCH_DATABASE_URL", "").strip() or None
    wrk = ensure_wrk()
    started_at = datetime.now(UTC)
    load_at_start = os.getloadavg()  # other work on the machine skews every figure
    clock = time.monotonic()

    with tempfile.TemporaryDirectory(prefix="community-bench-") as workdir_name:
        workdir = Path(workdir_name)
        database = create_database(workdir, postgres_url)
        servers: dict[str, GunicornServer] = {}
        mail_sink = MailSink()
        try:
            app_env = application_environment(database)
            print(f"Preparing a fresh {database.backend} database (migrations, seed-demo) …")
            prepare(database, app_env)
            dataset = generate_dataset(app_env, events, registrations)
            mail_sink.start()
            app_env |= mail_sink.environment()
            servers["app"] = _server(
                app_env, workers, workdir / "gunicorn.log", settings, mail_worker=True
            )
            servers["afresh"] = _server(
                app_env | {"PAGE_CACHE_SECONDS": "0"},
                workers,
                workdir / "afresh" / "gunicorn.log",
                settings,
            )
            servers["hello"] = _server(
                app_env, workers, workdir / "hello" / "gunicorn.log", settings,
                application="bench.hello:app",
            )  # fmt: skip
            for name, server in servers.items():
                server.log_path.parent.mkdir(parents=True, exist_ok=True)
                print(f"Starting gunicorn {name} ({server.description}) on {server.base_url} …")
                server.start()
            app = servers["app"]
            cookie = pages.sign_in(app.base_url, *pages.MEMBER_LOGIN)
            values = pages.placeholders(app, dataset["detail_slug"])
            routes, skipped = pages.resolve(servers, values, cookie)
            results, memory = pages.measure(servers, wrk, workdir, duration, routes, cookie, rounds)
            print("Registration burst …", flush=True)
            burst = run_burst(
                app.base_url,
                app_env,
                people=burst_people,
                places=burst_places,
                mail_sink=mail_sink,
                still_sending=app.mail_worker.check_running,
            )
            trivial = pages._rate(results, "trivial")
            if trivial:
                burst.share_of_trivial = round(burst.registrations_per_second / trivial, 4)
            print("Webhook burst …", flush=True)
            webhooks = run_webhooks(
                app.base_url,
                app_env,
                app.webhook_secret,
                orders=webhook_orders,
                mail_sink=mail_sink,
                still_sending=app.mail_worker.check_running,
            )
        finally:
            # A second Ctrl-C must not leave gunicorn running or the schema behind.
            previous_handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                for server in servers.values():
                    server.stop()
                mail_sink.stop()
            finally:
                database.drop()
                signal.signal(signal.SIGINT, previous_handler)

    machine = {
        "started_at": started_at.isoformat(timespec="seconds"),
        "nproc": len(os.sched_getaffinity(0)),
        "load_average_at_start": " ".join(f"{load:.2f}" for load in load_at_start),
        "cpu": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "database": f"{database.backend} {database.server_version}",
        "dataset": (
            f"{dataset['events']} events, {dataset['registrations']} registrations "
            f"(+ seed-demo), generated in {dataset['seconds']:.1f}s"
        ),
        "gunicorn_workers": servers["app"].description + "; the same for afresh and hello",
        "mail": (
            "MAIL_DELIVERY=worker: written to the outbox, sent by one `flask worker` to a local "
            "SMTP sink on 127.0.0.1 (aiosmtpd)"
        ),
        "wrk": f"{wrk_version(wrk)}, {WRK_THREADS} threads, {WRK_CONNECTIONS} connections",
        "duration_seconds": duration,
        "warmup_seconds": WARMUP_SECONDS,
        "rounds": rounds,
        "total_seconds": round(time.monotonic() - clock, 1),
    }
    failures = pages.failures(results, memory)
    failures += [f"burst: {failure}" for failure in burst.failures]
    failures += [f"webhooks: {failure}" for failure in webhooks.failures]
    targets = pages.assess(results, skipped)
    write_results(
        machine, dataset, results, skipped, targets, memory, burst, webhooks, ok=not failures
    )

    print()
    label_width = max(map(len, machine)) + 1
    for key, value in machine.items():
        print(f"{key + ':':<{label_width}} {value}")
    print()
    print(pages.render(results))
    for entry in skipped:
        print(f"{entry['name']} ({entry['path']}): skipped: {entry['reason']}")
    print()
    print(pages.render_targets(targets))
    print()
    print(pages.render_memory(memory))
    print()
    print(render_burst(burst))
    print()
    print(render_webhooks(webhooks))
    print()
    print(f"Results written to {RESULTS_PATH.relative_to(PROJECT_ROOT)}")
    if failures:
        print(
            "\nFAILED: every answer must be 2xx, no socket may fail, no worker may grow from one"
            " round to the next, and the burst must",
            file=sys.stderr,
        )
        print(
            f"confirm exactly {burst_places} with no error answer and one e-mail per"
            " registration, and the webhook burst must leave every order right with no error"
            " answer and one e-mail per order:",
            file=sys.stderr,
        )
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    return run_guarded(run)


if __name__ == "__main__":
    sys.exit(main())
