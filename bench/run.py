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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.burst import BurstResult, MailSink, render_burst, run_burst
from bench.database import PROJECT_ROOT, application_environment, create_database, prepare
from bench.dataset import run_dataset
from bench.errors import BenchError, run_guarded
from bench.server import GunicornServer, fetch
from bench.webhooks import WebhookResult, render_webhooks, run_webhooks
from bench.wrk import WrkResult, ensure_wrk, failures_of, run_wrk, write_status_script, wrk_version


@dataclass(frozen=True)
class Route:
    name: str
    path: str  # "{detail_slug}" stands for the event bench.dataset picked
    target: float | None = None  # the least share of the trivial route's requests per second
    optional: bool = False  # skipped, not failed, when it does not answer 200


# The first is the trivial route every other figure is compared with.
ROUTES: list[Route] = [
    Route("trivial", "/robots.txt"),
    Route("home", "/"),
    Route("events", "/events", target=0.25),
    Route("event", "/events/{detail_slug}", target=0.25),
    Route("api_events", "/api/v1/events", target=0.35, optional=True),
]

WRK_THREADS = 2
WRK_CONNECTIONS = 16
WARMUP_SECONDS = 2
RESULTS_PATH = Path(__file__).resolve().parent / "results" / "latest.json"
DATASET_TIMEOUT_SECONDS = 1800

Measured = tuple[Route, str, WrkResult]  # the route, its path in this run, wrk's figures


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


def resolve_routes(
    server: GunicornServer, detail_slug: str
) -> tuple[list[tuple[Route, str]], list[dict]]:
    """The routes of this run with their paths; optional ones that do not answer 200 are skipped."""
    routes, skipped = [], []
    for route in ROUTES:
        path = route.path.format(detail_slug=detail_slug)
        status, location = fetch(server.base_url + path)
        if route.optional and status != 200:
            reason = f"API not available ({path} answered {status})"
            print(f"  {route.name:<11} {path:<28} skipped: {reason}", flush=True)
            skipped.append({"name": route.name, "path": path, "reason": reason})
        elif not 200 <= status < 300:
            where = f" to {location}" if location else ""
            raise BenchError(f"route {route.name} ({path}) answered {status}{where}, not 2xx")
        else:
            routes.append((route, path))
    return routes, skipped


def measure(
    server: GunicornServer, wrk: str, script: Path, duration: int, routes: list[tuple[Route, str]]
) -> list[Measured]:
    results = []
    for route, path in routes:
        url = server.base_url + path
        print(
            f"  {route.name:<11} {path:<28} warm-up {WARMUP_SECONDS}s, then {duration}s", flush=True
        )
        options = {"threads": WRK_THREADS, "connections": WRK_CONNECTIONS, "script": script}
        run_wrk(wrk, url, duration_seconds=WARMUP_SECONDS, **options)
        results.append((route, path, run_wrk(wrk, url, duration_seconds=duration, **options)))
    return results


def _ratio(result: WrkResult, baseline: float) -> float | None:
    return result.requests_per_second / baseline if baseline else None


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]], left_aligned: set[int]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells):
        return "  ".join(
            cell.ljust(width) if i in left_aligned else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def render_table(results: list[Measured]) -> str:
    baseline = results[0][2].requests_per_second
    header = ("route", "path", "req/s", "vs trivial", "p50 ms", "p99 ms", "errors")
    rows = []
    for route, path, result in results:
        ratio = _ratio(result, baseline)
        rows.append(
            (
                route.name,
                path,
                f"{result.requests_per_second:.1f}",
                f"{ratio:.2f}×" if ratio is not None else "n/a",
                f"{result.latency_p50_ms:.2f}",
                f"{result.latency_p99_ms:.2f}",
                str(result.error_count),
            )
        )
    return _table(header, rows, left_aligned={0, 1})


def assess_targets(results: list[Measured], skipped: list[dict]) -> list[dict]:
    """PASS or MISS against each route's target; reported for the lead, never failing the run."""
    baseline = results[0][2].requests_per_second
    targets = []
    for route, path, result in results:
        if route.target is None:
            continue
        ratio = _ratio(result, baseline)
        passed = ratio is not None and ratio >= route.target
        targets.append(
            {
                "name": route.name,
                "path": path,
                "target": route.target,
                "ratio_to_trivial": round(ratio, 4) if ratio is not None else None,
                "result": "PASS" if passed else "MISS",
            }
        )
    skipped_names = {entry["name"] for entry in skipped}
    for route in ROUTES:
        if route.target is not None and route.name in skipped_names:
            path = next(e["path"] for e in skipped if e["name"] == route.name)
            targets.append(
                {
                    "name": route.name,
                    "path": path,
                    "target": route.target,
                    "ratio_to_trivial": None,
                    "result": "skipped: API not available",
                }
            )
    return targets


def render_targets(targets: list[dict]) -> str:
    header = ("route", "path", "vs trivial", "target", "result")
    rows = [
        (
            target["name"],
            target["path"],
            f"{target['ratio_to_trivial']:.2f}×" if target["ratio_to_trivial"] is not None else "-",
            f"≥ {target['target']:.2f}×",
            target["result"],
        )
        for target in targets
    ]
    title = "Targets (share of the trivial route's requests per second; a MISS does not fail):"
    return title + "\n" + _table(header, rows, left_aligned={0, 1, 4})


def describe_failures(results: list[Measured]) -> list[str]:
    failures = []
    for route, path, result in results:
        failures += failures_of(f"{route.name} ({path})", result)
    return failures


def write_results(
    machine: dict,
    dataset: dict,
    results: list[Measured],
    skipped: list[dict],
    targets: list[dict],
    burst: BurstResult,
    webhooks: WebhookResult,
    ok: bool,
) -> None:
    baseline = results[0][2].requests_per_second
    document = {
        "ok": ok,
        "machine": machine,
        "dataset": dataset,
        "routes": [
            {
                "name": route.name,
                "path": path,
                "ratio_to_trivial": (
                    round(result.requests_per_second / baseline, 4) if baseline else None
                ),
                **result.as_dict(),
            }
            for route, path, result in results
        ],
        "skipped_routes": skipped,
        "targets": targets,
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


def run() -> int:
    duration = _whole_number("BENCH_DURATION", 10)
    workers = _whole_number("BENCH_WORKERS", 4)
    worker_class, threads = _worker_settings()
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
        server = None
        mail_sink = MailSink()
        try:
            app_env = application_environment(database)
            print(f"Preparing a fresh {database.backend} database (migrations, seed-demo) …")
            prepare(database, app_env)
            dataset = generate_dataset(app_env, events, registrations)
            mail_sink.start()
            app_env |= mail_sink.environment()
            server = GunicornServer(
                app_env,
                workers,
                workdir / "gunicorn.log",
                worker_class=worker_class,
                threads=threads,
                mail_worker=True,
            )
            print(f"Starting gunicorn ({server.description}) on {server.base_url} …")
            server.start()
            routes, skipped = resolve_routes(server, dataset["detail_slug"])
            results = measure(server, wrk, write_status_script(workdir), duration, routes)
            print("Registration burst …", flush=True)
            burst = run_burst(
                server.base_url,
                app_env,
                people=burst_people,
                places=burst_places,
                mail_sink=mail_sink,
                still_sending=server.mail_worker.check_running,
            )
            trivial = results[0][2].requests_per_second
            if trivial:
                burst.share_of_trivial = round(burst.registrations_per_second / trivial, 4)
            print("Webhook burst …", flush=True)
            webhooks = run_webhooks(
                server.base_url,
                app_env,
                server.webhook_secret,
                orders=webhook_orders,
                mail_sink=mail_sink,
                still_sending=server.mail_worker.check_running,
            )
        finally:
            # A second Ctrl-C must not leave gunicorn running or the schema behind.
            previous_handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                if server is not None:
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
        "gunicorn_workers": server.description,
        "mail": (
            "MAIL_DELIVERY=worker: written to the outbox, sent by one `flask worker` to a local "
            "SMTP sink on 127.0.0.1 (aiosmtpd)"
        ),
        "wrk": f"{wrk_version(wrk)}, {WRK_THREADS} threads, {WRK_CONNECTIONS} connections",
        "duration_seconds": duration,
        "warmup_seconds": WARMUP_SECONDS,
        "total_seconds": round(time.monotonic() - clock, 1),
    }
    failures = describe_failures(results)
    failures += [f"burst: {failure}" for failure in burst.failures]
    failures += [f"webhooks: {failure}" for failure in webhooks.failures]
    targets = assess_targets(results, skipped)
    write_results(machine, dataset, results, skipped, targets, burst, webhooks, ok=not failures)

    print()
    label_width = max(map(len, machine)) + 1
    for key, value in machine.items():
        print(f"{key + ':':<{label_width}} {value}")
    print()
    print(render_table(results))
    for entry in skipped:
        print(f"{entry['name']} ({entry['path']}): skipped: {entry['reason']}")
    print()
    print(render_targets(targets))
    print()
    print(render_burst(burst))
    print()
    print(render_webhooks(webhooks))
    print()
    print(f"Results written to {RESULTS_PATH.relative_to(PROJECT_ROOT)}")
    if failures:
        print(
            "\nFAILED: every answer must be 2xx, no socket may fail, and the burst must",
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
