"""The baseline benchmark: `python -m bench.run` (or `make bench`) loads each route with wrk.

It builds a throw-away database (SQLite, or a PostgreSQL schema when BENCH_DATABASE_URL is set),
migrates and seeds it, serves it with gunicorn on 127.0.0.1, warms up and measures every route in
ROUTES, prints a table against the trivial route and writes bench/results/latest.json. Any non-2xx
answer or socket error fails the run. Settings: BENCH_DURATION (seconds, default 10),
BENCH_WORKERS (gunicorn sync workers, default 4), BENCH_DATABASE_URL.
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

from bench.database import PROJECT_ROOT, application_environment, create_database, prepare
from bench.errors import BenchError
from bench.server import GunicornServer, fetch
from bench.wrk import WrkResult, ensure_wrk, run_wrk, write_status_script, wrk_version

# (name, path); the first is the trivial route every other figure is compared with.
ROUTES: list[tuple[str, str]] = [
    ("trivial", "/robots.txt"),
    ("home", "/"),
    ("events", "/events"),
]

WRK_THREADS = 2
WRK_CONNECTIONS = 16
WARMUP_SECONDS = 2
RESULTS_PATH = Path(__file__).resolve().parent / "results" / "latest.json"


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise BenchError(f"{name} must be a positive whole number, not {raw!r}")
    return value


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def measure(
    server: GunicornServer, wrk: str, script: Path, duration: int
) -> list[tuple[str, str, WrkResult]]:
    for name, path in ROUTES:
        status, location = fetch(server.base_url + path)
        if not 200 <= status < 300:
            where = f" to {location}" if location else ""
            raise BenchError(f"route {name} ({path}) answered {status}{where}, not 2xx")
    results = []
    for name, path in ROUTES:
        url = server.base_url + path
        print(f"  {name:<10} {path:<16} warm-up {WARMUP_SECONDS}s, then {duration}s", flush=True)
        options = {"threads": WRK_THREADS, "connections": WRK_CONNECTIONS, "script": script}
        run_wrk(wrk, url, duration_seconds=WARMUP_SECONDS, **options)
        results.append((name, path, run_wrk(wrk, url, duration_seconds=duration, **options)))
    return results


def render_table(results: list[tuple[str, str, WrkResult]]) -> str:
    baseline = results[0][2].requests_per_second
    header = ("route", "path", "req/s", "vs trivial", "p50 ms", "p99 ms", "errors")
    rows = [
        (
            name,
            path,
            f"{result.requests_per_second:.1f}",
            f"{result.requests_per_second / baseline:.2f}×" if baseline else "n/a",
            f"{result.latency_p50_ms:.2f}",
            f"{result.latency_p99_ms:.2f}",
            str(result.error_count),
        )
        for name, path, result in results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    left_aligned = {0, 1}

    def line(cells):
        return "  ".join(
            cell.ljust(width) if i in left_aligned else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def describe_failures(results: list[tuple[str, str, WrkResult]]) -> list[str]:
    failures = []
    for name, path, result in results:
        if result.non_2xx:
            failures.append(
                f"{name} ({path}): {result.non_2xx} non-2xx answers, "
                f"the first with status {result.first_non_2xx_status}"
            )
        socket_errors = {kind: n for kind, n in result.socket_errors.items() if n}
        if socket_errors:
            detail = ", ".join(f"{kind} {n}" for kind, n in socket_errors.items())
            failures.append(f"{name} ({path}): socket errors: {detail}")
    return failures


def write_results(machine: dict, results: list[tuple[str, str, WrkResult]], ok: bool) -> None:
    baseline = results[0][2].requests_per_second
    document = {
        "ok": ok,
        "machine": machine,
        "routes": [
            {
                "name": name,
                "path": path,
                "ratio_to_trivial": (
                    round(result.requests_per_second / baseline, 4) if baseline else None
                ),
                **result.as_dict(),
            }
            for name, path, result in results
        ],
    }
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def run() -> int:
    duration = _positive_int("BENCH_DURATION", 10)
    workers = _positive_int("BENCH_WORKERS", 4)
    postgres_url = os.environ.get("BENCH_DATABASE_URL", "").strip() or None
    wrk = ensure_wrk()
    started_at = datetime.now(UTC)
    load_at_start = os.getloadavg()  # other work on the machine skews every figure
    clock = time.monotonic()

    with tempfile.TemporaryDirectory(prefix="community-bench-") as workdir_name:
        workdir = Path(workdir_name)
        database = create_database(workdir, postgres_url)
        server = None
        try:
            app_env = application_environment(database)
            print(f"Preparing a fresh {database.backend} database (migrations, seed-demo) …")
            prepare(database, app_env)
            server = GunicornServer(app_env, workers, workdir / "gunicorn.log")
            print(f"Starting gunicorn with {workers} sync workers on {server.base_url} …")
            server.start()
            results = measure(server, wrk, write_status_script(workdir), duration)
        finally:
            # A second Ctrl-C must not leave gunicorn running or the schema behind.
            previous_handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                if server is not None:
                    server.stop()
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
        "gunicorn_workers": f"{workers} sync, 1 thread each",
        "wrk": f"{wrk_version(wrk)}, {WRK_THREADS} threads, {WRK_CONNECTIONS} connections",
        "duration_seconds": duration,
        "warmup_seconds": WARMUP_SECONDS,
        "total_seconds": round(time.monotonic() - clock, 1),
    }
    failures = describe_failures(results)
    write_results(machine, results, ok=not failures)

    print()
    label_width = max(map(len, machine)) + 1
    for key, value in machine.items():
        print(f"{key + ':':<{label_width}} {value}")
    print()
    print(render_table(results))
    print()
    print(f"Results written to {RESULTS_PATH.relative_to(PROJECT_ROOT)}")
    if failures:
        print("\nFAILED: every answer must be 2xx and no socket may fail:", file=sys.stderr)
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    # Interruptible even when started in the background, where SIGINT arrives ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        return run()
    except BenchError as error:
        print(f"\nbench failed: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nbench interrupted; gunicorn stopped and temporary files removed.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
