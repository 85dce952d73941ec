"""The calendar feed benchmark: `python -m bench.calendar` (`make bench` runs it after bench.run).

It makes its own throw-away database (SQLite, or a PostgreSQL schema when BENCH_DATABASE_URL is
set), migrated but without the demo data, whose events would join the feed: exactly
BENCH_CALENDAR_EVENTS (1,000) public events, all starting between 28 days ago and a year ahead
(`--setup`, in a subprocess). It serves them with gunicorn as bench.run does and checks that
GET /calendar.ics holds every one of them in under 1,000,000 bytes (Google Calendar's limit).
Then it measures:
- the from-scratch build: `services.build_from_scratch` over the same events, in a subprocess
  (`--build`); the events are loaded once before the clock starts and the VTIMEZONE cache is
  emptied before each repetition; its bytes must equal the served feed's;
- with wrk, the baselines (bench/hello.py under the same gunicorn settings: hello-world Flask,
  and a route returning the served feed's bytes from memory), the trivial route, the feed served
  unchanged and the feed asked with a matching If-None-Match (304), at 16 connections
  (throughput, as bench.run) and at 1 (latency); the targets: the feed at least half the
  same-bytes route's requests per second, the 304 at least half hello's;
- the served speed-up: the build's median time ÷ the served feed's time per request on one
  connection (both one request at a time), against the target of 20×; a MISS does not fail;
- that a 304 builds nothing: the server is restarted (every cache empty) and answers a matching
  If-None-Match first; restarted again, it answers a plain GET first, which builds.
Any answer other than the one expected, a socket error, a feed missing events or over the limit,
or a from-scratch build that differs from the served feed fails the run. Results are also written
to bench/results/calendar.json.

Settings as bench.run's (BENCH_DURATION, BENCH_WORKERS, BENCH_WORKER_CLASS, BENCH_THREADS,
BENCH_DATABASE_URL), plus BENCH_CALENDAR_EVENTS (1000), BENCH_CALENDAR_BUILDS (repetitions of the
from-scratch build, 7) and BENCH_CALENDAR_SENTENCES (sentences per summary and language, 1 or 2;
default 1: with 2, 1,000 events no longer fit in 1 MB, and the run says by how much).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import re
import signal
import statistics
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench import dataset
from bench.database import PROJECT_ROOT, application_environment, create_database
from bench.errors import BenchError, run_guarded
from bench.run import (
    WARMUP_SECONDS,
    WRK_CONNECTIONS,
    WRK_THREADS,
    _cpu_model,
    _table,
    _whole_number,
    _worker_settings,
)
from bench.server import GunicornServer, check_local
from bench.wrk import WrkResult, ensure_wrk, failures_of, run_wrk, write_status_script, wrk_version

FEED_PATH = "/calendar.ics"
TRIVIAL_PATH = "/robots.txt"
MAX_FEED_BYTES = 1_000_000  # Google Calendar ignores larger feeds
SPEEDUP_TARGET = 20.0
SEED = 2026
PREFIX = "cal"
SUBPROCESS_TIMEOUT_SECONDS = 900
REQUEST_TIMEOUT_SECONDS = 60
RESULTS_PATH = Path(__file__).resolve().parent / "results" / "calendar.json"
# As served from a real address: the site's address and sender are in every event of the feed.
SITE_ENVIRONMENT = {
    "BASE_URL": "https://community.example.org",
    "MAIL_DEFAULT_SENDER": "Tokyo Tech Community <events@community.example.org>",
}

# Safely inside the feed's window (it starts 30 days back) for the whole run.
FIRST_DAY, LAST_DAY = -28, 364
CANCELLED_SHARE = 0.03
# Online events are sometimes hosted from abroad, in the host's zone; the others are in Japan.
ABROAD_SHARE_OF_ONLINE = 0.4
ZONES_ABROAD = ("America/Los_Angeles", "Europe/London", "Asia/Singapore", "Australia/Sydney")
VENUE_POSITIONS = {
    "渋谷コミュニティホール": (35.6595, 139.7005),
    "Roppongi Tech Lab": (35.6605, 139.7292),
    "大阪ナレッジスペース": (34.7055, 135.4950),
    "Fukuoka Startup Café": (33.5891, 130.3925),
}
# Per topic of bench.dataset: a subtitle, and a summary (the feed's DESCRIPTION) of one or two
# sentences per language, as organisers write them.
TEXTS: dict[str, tuple[str, str, tuple[str, ...], tuple[str, ...]]] = {
    "Introduction to Python": (
        "ファイル処理とデータ集計",
        "files and data summaries",
        (
            "Pythonの基本文法から始めて、ファイルの読み書きと簡単な集計までを手を動かして学びます。",
            "初めての方も歓迎です。",
        ),
        (
            "We start from Python's basic syntax and work up to reading files and simple "
            "summaries, hands-on.",
            "Newcomers are welcome.",
        ),
    ),
    "Data analysis basics": (
        "pandasで始める前処理",
        "cleaning data with pandas",
        (
            "公開データを題材に、pandasでの前処理、集計、可視化の流れを一通り体験します。",
            "統計の予備知識は不要です。",
        ),
        (
            "Using open data, we walk through cleaning, aggregating and plotting with pandas.",
            "No background in statistics needed.",
        ),
    ),
    "SQL tuning": (
        "実行計画の読み方",
        "reading query plans",
        (
            "遅いクエリの実行計画を読み解き、インデックスと書き換えでどこまで速くなるかを"
            "実際のデータで確かめます。",
        ),
        (
            "We read the plans of slow queries and measure, on real data, how much faster "
            "indexes and rewrites make them.",
        ),
    ),
    "First steps in Rust": (
        "所有権と借用",
        "ownership and borrowing",
        (
            "小さなコマンドラインツールを作りながら、Rustの所有権と借用を理解します。",
            "他の言語の経験があると進めやすいです。",
        ),
        (
            "Understand Rust's ownership and borrowing by building a small command-line tool.",
            "Some experience with another language helps.",
        ),
    ),
    "Front-end study group": (
        "フォームの設計",
        "designing forms",
        ("毎回ひとつのテーマを取り上げ、参加者のコードを画面に映して一緒に改善します。",),
        ("Each session takes one theme and improves participants' code together, on screen.",),
    ),
    "Career clinic": (
        "転職と社内異動",
        "changing jobs or teams",
        (
            "現役のエンジニアやマネージャーに、転職、異動、学び直しについて少人数で気軽に"
            "相談できる会です。",
        ),
        (
            "Talk in small groups with working engineers and managers about changing jobs, "
            "moving teams or learning anew.",
        ),
    ),
    "The craft of code review": (
        "伝わる指摘の書き方",
        "comments that land",
        (
            "実際のプルリクエストを題材に、読みやすい変更の出し方と伝わるレビューコメントの"
            "書き方を練習します。",
        ),
        (
            "Using real pull requests, practise making changes easy to review and writing "
            "comments that people act on.",
        ),
    ),
    "Designing for the cloud": (
        "障害に強い構成",
        "surviving failures",
        ("ゾーン障害や急なアクセス増に耐える構成を、ホワイトボードで設計しながら議論します。",),
        (
            "Design, on a whiteboard, systems that survive a zone outage or a sudden rush of "
            "traffic.",
            "Not tied to any one cloud.",
        ),
    ),
    "Accessibility from scratch": (
        "スクリーンリーダーで試す",
        "trying a screen reader",
        (
            "スクリーンリーダーとキーボードだけで身近なサイトを使い、つまずく箇所と直し方を学びます。",
        ),
        (
            "Use everyday websites with only a screen reader and a keyboard, and learn where "
            "people get stuck and how to fix it.",
        ),
    ),
    "Hands-on machine learning": (
        "画像分類をゼロから",
        "image classification from zero",
        ("小さな画像分類モデルを作り、評価の仕方と過学習の見分け方を身につけます。",),
        ("Build a small image classifier, and learn to evaluate it and to spot overfitting.",),
    ),
    "Test-driven development": (
        "レガシーコードにテストを",
        "testing legacy code",
        (
            "テストのない既存コードに少しずつテストを足し、安心して変更できる状態にするまでを"
            "ペアで練習します。",
        ),
        (
            "In pairs, add tests bit by bit to existing code that has none, until it can be "
            "changed without fear.",
        ),
    ),
    "Contributing to open source": (
        "最初のプルリクエスト",
        "your first pull request",
        (
            "issueの選び方からプルリクエストを送るまでを、メンテナーの助けを借りて実際の"
            "プロジェクトで体験します。",
        ),
        (
            "From picking an issue to sending a pull request, on a real project, with "
            "maintainers on hand to help.",
        ),
    ),
}


# --- the events (inside the application, with DATABASE_URL) --------------------------------------


def _zone_for(event: dataset.PlannedEvent, rng: random.Random) -> str:
    if event.format == "online" and rng.random() < ABROAD_SHARE_OF_ONLINE:
        return rng.choice(ZONES_ABROAD)
    return "Asia/Tokyo"


def _start_in_window(now: datetime, zone: ZoneInfo, rng: random.Random) -> datetime:
    day = (now.astimezone(zone) + timedelta(days=rng.randint(FIRST_DAY, LAST_DAY))).date()
    hour = rng.choice((10, 13, 19))
    return datetime(day.year, day.month, day.day, hour, tzinfo=zone).astimezone(UTC)


def feed_event_rows(
    count: int, sentences: int, category_ids: list[int], now: datetime, rng: random.Random
) -> list[tuple[dataset.PlannedEvent, dict]]:
    """bench.dataset's mix of kinds, formats, languages, categories and venues, all starting
    inside the feed's window, in several zones, with bilingual titles and summaries, a position
    for every venue, some edited since and some cancelled."""
    planned = dataset.plan(count, 0, category_ids, PREFIX, now, rng)
    rows = []
    for event in planned:
        zone_name = _zone_for(event, rng)
        event.starts_at = _start_in_window(now, ZoneInfo(zone_name), rng)
        row = dataset._event_row(event, now)
        number = int(event.slug.rsplit("-", 1)[-1])
        topic_ja, topic_en = event.topic
        subtitle_ja, subtitle_en, summary_ja, summary_en = TEXTS[topic_en]
        edits = rng.choice((0, 0, 0, 1, 1, 2))
        cancelled = rng.random() < CANCELLED_SHARE
        latitude, longitude = VENUE_POSITIONS.get(row["venue_name"], (None, None))
        edited_at = row["created_at"] + (now - row["created_at"]) * rng.random()
        row |= {
            "title_ja": f"{topic_ja} #{number}: {subtitle_ja}",
            "title_en": f"{topic_en} #{number}: {subtitle_en}",
            "summary_ja": "".join(summary_ja[:sentences]),
            "summary_en": " ".join(summary_en[:sentences]),
            "timezone": zone_name,
            "latitude": latitude,
            "longitude": longitude,
            "status": "cancelled" if cancelled else "published",
            "sequence": edits + cancelled,
            "updated_at": edited_at if edits or cancelled else row["created_at"],
        }
        rows.append((event, row))
    return rows


def setup(count: int, sentences: int, seed: int) -> dict:
    """Migrate the empty database and add `count` public events."""
    from flask_migrate import upgrade
    from sqlalchemy import insert, select

    from community.core.db import db, utcnow
    from community.events.models import Event, TicketType

    clock = time.perf_counter()
    upgrade()
    rng = random.Random(seed)
    now = utcnow()
    planned = feed_event_rows(count, sentences, dataset._categories(), now, rng)
    rows = [row for _, row in planned]
    db.session.execute(insert(Event.__table__), rows)
    ids = dict(db.session.execute(select(Event.slug, Event.id)).all())
    tickets = [row for event, _ in planned for row in dataset._ticket_rows(event, ids[event.slug])]
    db.session.execute(insert(TicketType.__table__), tickets)
    db.session.commit()

    def counted(key: str) -> dict:
        return dict(sorted(Counter(row[key] for row in rows).items()))

    def mean_length(key: str) -> float:
        return round(statistics.mean(len(row[key]) for row in rows), 1)

    return {
        "events": len(rows),
        "statuses": counted("status"),
        "kinds": counted("kind"),
        "formats": counted("format"),
        "zones": counted("timezone"),
        "categories": len({row["category_id"] for row in rows}),
        "first_start_days": min((row["starts_at"] - now).days for row in rows),
        "last_start_days": max((row["starts_at"] - now).days for row in rows),
        "sentences": sentences,
        "characters": {
            key: mean_length(key) for key in ("title_ja", "title_en", "summary_ja", "summary_en")
        },
        "seconds": round(time.perf_counter() - clock, 2),
    }


# --- the from-scratch build (inside the application, with DATABASE_URL) -------------------------


def header_length(feed: bytes) -> int:
    """Where the calendar's own lines end: at its first VTIMEZONE, or its first VEVENT."""
    found = re.search(rb"^BEGIN:(?:VTIMEZONE|VEVENT)\r$", feed, re.MULTILINE)
    if found is None:
        raise BenchError("the served feed has neither a VTIMEZONE nor a VEVENT")
    return found.start()


def build_from_scratch(served_path: Path, repetitions: int) -> dict:
    """Time `services.build_from_scratch` over the events the public feed holds.

    The header is the served feed's own (it names the address it was served from), so the bytes
    built here must equal the served ones. The events are loaded, and the calendar's site made,
    before the clock starts; the VTIMEZONE cache is emptied before every repetition."""
    from flask import current_app

    from community.calendar import ical, services, views
    from community.events import services as events

    served = served_path.read_bytes()
    header = served[: header_length(served)]
    with current_app.test_request_context(FEED_PATH):
        site = views.site_for(views.requested_languages())
        clock = time.perf_counter()
        rows = events.event_stamps(events.EventFilters(starts_from=services.window_start()))
        found = events.events_with_ids([row.id for row in rows])
        load_seconds = time.perf_counter() - clock
        seconds, built = [], b""
        for _ in range(repetitions):
            ical.timezone_bytes.cache_clear()
            clock = time.perf_counter()
            built = services.build_from_scratch(found, site, header)
            seconds.append(time.perf_counter() - clock)
    return {
        "events_loaded": len(found),
        "load_ms": round(load_seconds * 1000, 2),
        "repetitions": repetitions,
        "median_ms": round(statistics.median(seconds) * 1000, 2),
        "min_ms": round(min(seconds) * 1000, 2),
        "max_ms": round(max(seconds) * 1000, 2),
        "all_ms": [round(s * 1000, 2) for s in seconds],
        "bytes": len(built),
        "identical_to_served": built == served,
    }


# --- over HTTP -----------------------------------------------------------------------------------


def request(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes, float]:
    """One GET on a new connection, as a calendar client polls: status, headers, body, seconds
    from sending to the last byte."""
    check_local(url)
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=REQUEST_TIMEOUT_SECONDS)
    try:
        clock = time.perf_counter()
        connection.request("GET", parts.path, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        seconds = time.perf_counter() - clock
        return response.status, dict(response.getheaders()), body, seconds
    finally:
        connection.close()


def inspect_feed(body: bytes, expected_events: int) -> dict:
    """The feed's size, its events, and what each costs of the 1 MB."""
    fixed = header_length(body)
    starts = [found.start() for found in re.finditer(rb"^BEGIN:VEVENT\r$", body, re.MULTILINE)]
    ends = [found.end() + 1 for found in re.finditer(rb"^END:VEVENT\r$", body, re.MULTILINE)]
    sizes = [end - start for start, end in zip(starts, ends, strict=True)]
    around = len(body) - sum(sizes)  # header, VTIMEZONEs and the closing line
    return {
        "bytes": len(body),
        "vevents": len(sizes),
        "header_bytes": fixed,
        "timezone_bytes": around - fixed - len(b"END:VCALENDAR\r\n"),
        "vevent_mean_bytes": round(statistics.mean(sizes), 1) if sizes else 0,
        "vevent_min_bytes": min(sizes, default=0),
        "vevent_max_bytes": max(sizes, default=0),
        # What each of the expected events may take for all of them to fit.
        "budget_per_event_bytes": round((MAX_FEED_BYTES - 1 - around) / expected_events, 1),
    }


def check_feed(server: GunicornServer, expected_events: int) -> tuple[dict, bytes, list[str]]:
    status, headers, body, seconds = request(server.base_url + FEED_PATH)
    if status != 200:
        raise BenchError(f"{FEED_PATH} answered {status}, not 200")
    etag = headers.get("ETag", "")
    if not re.fullmatch(r'"[0-9a-f]+"', etag):
        raise BenchError(f"{FEED_PATH} sent no strong ETag of hex digits ({etag!r})")
    feed = inspect_feed(body, expected_events) | {
        "etag": etag,
        "first_build_ms": round(seconds * 1000, 2),
    }
    failures = []
    if feed["vevents"] != expected_events:
        projected = feed["bytes"] + (expected_events - feed["vevents"]) * feed["vevent_mean_bytes"]
        failures.append(
            f"the feed holds {feed['vevents']} of the {expected_events} events: at "
            f"{feed['vevent_mean_bytes']:.0f} bytes per VEVENT (budget "
            f"{feed['budget_per_event_bytes']:.0f}) all of them would take about "
            f"{projected:,.0f} bytes, over {MAX_FEED_BYTES:,}"
        )
    if feed["bytes"] >= MAX_FEED_BYTES:
        failures.append(f"the feed is {feed['bytes']:,} bytes, not under {MAX_FEED_BYTES:,}")
    status, _, unchanged, _ = request(server.base_url + FEED_PATH, {"If-None-Match": etag})
    if status != 304 or unchanged:
        failures.append(f"a matching If-None-Match answered {status} with {len(unchanged)} bytes")
    return feed, body, failures


def write_conditional_script(directory: Path, etag: str) -> Path:
    """Asks with If-None-Match; every answer other than 304 counts as a failure."""
    return write_status_script(directory, expect=304, headers={"If-None-Match": etag})


# Name, path, expected status, then wrk's figures at 16 connections and at 1; the first measured
# (hello-world Flask) is every other's baseline.
Measured = tuple[str, str, int, WrkResult, WrkResult]


def warm_every_worker(url: str, workers: int) -> None:
    """Each process builds the feed once (a second or two): ask with more connections at once
    than there are processes, twice over, so that each busy process leaves the next to another
    and none is still cold when the measurement starts."""
    with ThreadPoolExecutor(max_workers=2 * workers) as pool:
        statuses = list(pool.map(lambda _: request(url)[0], range(4 * workers)))
    if set(statuses) != {200}:
        raise BenchError(f"warming the feed up got {dict(Counter(statuses))}, not only 200")


def measure(
    server: GunicornServer,
    hello: GunicornServer,
    wrk: str,
    scripts: dict[str, Path],
    duration: int,
) -> list[Measured]:
    """The baselines first (hello-world Flask, then the same feed's bytes from memory, both
    from bench/hello.py under the same gunicorn settings), then the application's own."""
    plan = [
        ("hello", "/", 200, scripts["status"], hello),
        ("same bytes", "/bytes", 200, scripts["status"], hello),
        ("trivial", TRIVIAL_PATH, 200, scripts["status"], server),
        ("feed", FEED_PATH, 200, scripts["status"], server),
        ("feed 304", FEED_PATH, 304, scripts["conditional"], server),
    ]
    results = []
    for name, path, status, script, where in plan:
        url = where.base_url + path
        print(
            f"  {name:<9} {path:<14} warm-up {WARMUP_SECONDS}s, then {duration}s at "
            f"{WRK_CONNECTIONS} connections and {duration}s at 1",
            flush=True,
        )
        wide = {"threads": WRK_THREADS, "connections": WRK_CONNECTIONS, "script": script}
        run_wrk(wrk, url, duration_seconds=WARMUP_SECONDS, **wide)
        throughput = run_wrk(wrk, url, duration_seconds=duration, **wide)
        single = {"threads": 1, "connections": 1, "script": script}
        latency = run_wrk(wrk, url, duration_seconds=duration, **single)
        results.append((name, path, status, throughput, latency))
    return results


def first_answers_after_restart(server: GunicornServer, etag: str, workers: int) -> dict:
    """Restart the server (every process's caches empty) and ask with the feed's ETag first,
    once per worker and then some; restart again and ask without it. Only the feed's recorded
    version can answer the first 304s: nothing was built in these processes."""
    asked = 2 * workers
    server.stop()
    server.start()
    conditional = [
        request(server.base_url + FEED_PATH, {"If-None-Match": etag}) for _ in range(asked)
    ]
    server.stop()
    server.start()
    status, _, body, seconds = request(server.base_url + FEED_PATH)
    return {
        "conditional_statuses": dict(Counter(answer[0] for answer in conditional)),
        "conditional_bytes": sum(len(answer[2]) for answer in conditional),
        "conditional_first_ms": round(conditional[0][3] * 1000, 2),
        "conditional_median_ms": round(statistics.median(a[3] for a in conditional) * 1000, 2),
        "conditional_max_ms": round(max(answer[3] for answer in conditional) * 1000, 2),
        "conditional_asked": asked,
        "plain_status": status,
        "plain_bytes": len(body),
        "plain_first_ms": round(seconds * 1000, 2),
    }


# --- judging and printing ------------------------------------------------------------------------


def describe_failures(results: list[Measured]) -> list[str]:
    failures = []
    for name, path, status, *runs in results:
        for connections, result in zip((WRK_CONNECTIONS, 1), runs, strict=True):
            where = f"{name} ({path}, {connections} connection{'s' * (connections > 1)})"
            failures += failures_of(where, result, str(status))
    return failures


def speedups(build: dict, results: list[Measured], nproc: int) -> dict:
    feed = next(r for r in results if r[0] == "feed")
    if not feed[4].requests_per_second or not build["median_ms"]:
        raise BenchError("the served feed or the from-scratch build measured nothing")
    served_ms = 1000 / feed[4].requests_per_second  # one connection: one request at a time
    builds_per_second = nproc * 1000 / build["median_ms"]  # every core building, at best
    return {
        "served_ms_per_request_1_connection": round(served_ms, 3),
        "latency_speedup": round(build["median_ms"] / served_ms, 1),
        "from_scratch_builds_per_second_all_cores": round(builds_per_second, 2),
        "throughput_speedup": round(feed[3].requests_per_second / builds_per_second, 1),
    }


def _named(results: list[Measured], name: str) -> Measured:
    return next(result for result in results if result[0] == name)


# (what, measured, baseline, target): a share of the baseline's requests per second at 16
# connections, each measured in the same run.
TARGETS = (
    ("feed served unchanged, vs the same bytes from memory", "feed", "same bytes", 0.5),
    ("matching If-None-Match (304), vs hello-world Flask", "feed 304", "hello", 0.5),
)


def assess_targets(results: list[Measured]) -> list[dict]:
    assessed = []
    for what, name, baseline, target in TARGETS:
        share = (
            _named(results, name)[3].requests_per_second
            / _named(results, baseline)[3].requests_per_second
        )
        assessed.append(
            {
                "what": what,
                "ratio": round(share, 4),
                "target": target,
                "result": "PASS" if share >= target else "MISS",
            }
        )
    return assessed


def render_requests(results: list[Measured]) -> str:
    baseline_wide = results[0][3].requests_per_second
    baseline_single = results[0][4].requests_per_second
    header = (
        "request",
        "path",
        "answer",
        f"req/s ×{WRK_CONNECTIONS}",
        "vs hello",
        "p50 / p99 ms",
        "req/s ×1",
        "vs hello",
        "p50 / p99 ms",
    )
    rows = []
    for name, path, status, wide, single in results:
        rows.append(
            (
                name,
                path,
                str(status),
                f"{wide.requests_per_second:,.1f}",
                f"{wide.requests_per_second / baseline_wide:.2f}×",
                f"{wide.latency_p50_ms:.2f} / {wide.latency_p99_ms:.2f}",
                f"{single.requests_per_second:,.1f}",
                f"{single.requests_per_second / baseline_single:.2f}×",
                f"{single.latency_p50_ms:.2f} / {single.latency_p99_ms:.2f}",
            )
        )
    return _table(header, rows, left_aligned={0, 1})


def render_report(
    setup_result: dict, feed: dict, build: dict, results, restart: dict, speedup: dict
) -> str:
    kinds = ", ".join(f"{kind} {n}" for kind, n in setup_result["kinds"].items())
    statuses = ", ".join(f"{status} {n}" for status, n in setup_result["statuses"].items())
    zones = ", ".join(f"{zone} {n}" for zone, n in setup_result["zones"].items())
    characters = setup_result["characters"]
    passed = speedup["latency_speedup"] >= SPEEDUP_TARGET
    lines = [
        f"Feed {FEED_PATH}: {feed['vevents']} VEVENTs of {setup_result['events']} events "
        f"({kinds}; {statuses})",
        f"  zones:            {zones}",
        f"  text (mean chars): titles ja {characters['title_ja']:.0f} / en "
        f"{characters['title_en']:.0f}; summaries ja {characters['summary_ja']:.0f} / en "
        f"{characters['summary_en']:.0f} (at most {setup_result['sentences']} sentence(s) "
        "per language)",
        f"  size:             {feed['bytes']:,} bytes (limit {MAX_FEED_BYTES:,}): header "
        f"{feed['header_bytes']:,}, VTIMEZONEs {feed['timezone_bytes']:,}, VEVENTs mean "
        f"{feed['vevent_mean_bytes']:.0f} (min {feed['vevent_min_bytes']}, max "
        f"{feed['vevent_max_bytes']}); budget {feed['budget_per_event_bytes']:.0f} per event",
        "",
        f"From-scratch build (services.build_from_scratch, in one process, over the "
        f"{build['events_loaded']} events loaded once beforehand in {build['load_ms']:.0f} ms, "
        f"outside the timing; VTIMEZONE cache emptied before each build):",
        f"  median {build['median_ms']:.1f} ms of {build['repetitions']} builds (min "
        f"{build['min_ms']:.1f}, max {build['max_ms']:.1f}); bytes identical to the served "
        f"feed: {'yes' if build['identical_to_served'] else 'NO'}",
        "",
        f"Requests (wrk, {WRK_THREADS} threads × {WRK_CONNECTIONS} connections for throughput, "
        "1 × 1 for latency; the 304 asks with the served ETag):",
        render_requests(results),
        "",
        "Served speed-up, one request at a time on each side:",
        f"  from-scratch build {build['median_ms']:.1f} ms ÷ served feed "
        f"{speedup['served_ms_per_request_1_connection']:.2f} ms per request on one connection "
        f"(1 / its req/s, over HTTP: query, fingerprint, 1 MB sent) = "
        f"{speedup['latency_speedup']:.1f}×",
        f"  throughput: served {_named(results, 'feed')[3].requests_per_second:,.0f} req/s at "
        f"{WRK_CONNECTIONS} connections vs at most "
        f"{speedup['from_scratch_builds_per_second_all_cores']:.1f} from-scratch builds/s on "
        f"all cores = {speedup['throughput_speedup']:.0f}×",
        "",
        "A 304 builds nothing (server restarted: every process's caches empty):",
        f"  matching If-None-Match first: {restart['conditional_first_ms']:.1f} ms; "
        f"{restart['conditional_asked']} such requests answered "
        + ", ".join(f"{s} ×{n}" for s, n in sorted(restart["conditional_statuses"].items()))
        + f", median {restart['conditional_median_ms']:.1f} ms, max "
        f"{restart['conditional_max_ms']:.1f} ms, {restart['conditional_bytes']} bytes of body",
        f"  restarted again, a plain GET first: {restart['plain_status']} in "
        f"{restart['plain_first_ms']:.1f} ms ({restart['plain_bytes']:,} bytes, built)",
        "",
        "Targets (a MISS does not fail):",
        f"  served ≥ {SPEEDUP_TARGET:.0f}× faster than from scratch (latency): "
        f"{speedup['latency_speedup']:.1f}×  {'PASS' if passed else 'MISS'}",
        *(
            f"  {target['what']}: {target['ratio']:.2f}× (target ≥ {target['target']:.2f}×)  "
            f"{target['result']}"
            for target in assess_targets(results)
        ),
    ]
    return "\n".join(lines)


def judge_restart(restart: dict, feed_bytes: int) -> list[str]:
    failures = []
    if restart["conditional_statuses"] != {304: restart["conditional_asked"]}:
        failures.append(
            f"after a restart, a matching If-None-Match answered {restart['conditional_statuses']}"
            ", not 304 every time"
        )
    if restart["plain_status"] != 200 or restart["plain_bytes"] != feed_bytes:
        failures.append(
            f"after a restart, a plain GET answered {restart['plain_status']} with "
            f"{restart['plain_bytes']} bytes, not 200 with {feed_bytes}"
        )
    return failures


# --- running it ----------------------------------------------------------------------------------


def _sentences() -> int:
    sentences = _whole_number("BENCH_CALENDAR_SENTENCES", 1)
    if sentences > 2:
        raise BenchError("BENCH_CALENDAR_SENTENCES must be 1 or 2")
    return sentences


def run() -> int:
    duration = _whole_number("BENCH_DURATION", 10)
    workers = _whole_number("BENCH_WORKERS", 2)
    worker_class, threads = _worker_settings()
    count = _whole_number("BENCH_CALENDAR_EVENTS", 1000)
    repetitions = _whole_number("BENCH_CALENDAR_BUILDS", 7)
    sentences = _sentences()
    postgres_url = os.environ.get("BENCH_DATABASE_URL", "").strip() or None
    wrk = ensure_wrk()
    started_at = datetime.now(UTC)
    load_at_start = os.getloadavg()  # other work on the machine skews every figure
    clock = time.monotonic()

    with tempfile.TemporaryDirectory(prefix="community-bench-calendar-") as workdir_name:
        workdir = Path(workdir_name)
        database = create_database(workdir, postgres_url)
        server = hello = None
        try:
            app_env = application_environment(database)
            app_env |= {key: os.environ.get(key) or v for key, v in SITE_ENVIRONMENT.items()}
            print(
                f"Preparing a fresh {database.backend} database (migrations, no demo data) "
                f"with {count} public events …",
                flush=True,
            )
            arguments = ["--setup", str(count), "--sentences", str(sentences)]
            setup_result = dataset.run_module(
                "bench.calendar", app_env, arguments, SUBPROCESS_TIMEOUT_SECONDS
            )
            server = GunicornServer(
                app_env,
                workers,
                workdir / "gunicorn.log",
                worker_class=worker_class,
                threads=threads,
            )
            print(f"Starting gunicorn ({server.description}) on {server.base_url} …", flush=True)
            server.start()
            feed, served, failures = check_feed(server, count)
            served_path = workdir / "served.ics"
            served_path.write_bytes(served)
            hello = GunicornServer(
                app_env
                | {
                    "BENCH_HELLO_BYTES": str(served_path),
                    "BENCH_HELLO_BYTES_TYPE": "text/calendar; charset=utf-8",
                },
                workers,
                workdir / "hello.log",
                worker_class=worker_class,
                threads=threads,
                application="bench.hello:app",
            )
            print(f"Starting the baseline, bench.hello, on {hello.base_url} …", flush=True)
            hello.start()
            print(f"From-scratch build, {repetitions} times (in a subprocess) …", flush=True)
            arguments = ["--build", str(repetitions), "--served", str(served_path)]
            build = dataset.run_module(
                "bench.calendar", app_env, arguments, SUBPROCESS_TIMEOUT_SECONDS
            )
            scripts = {
                "status": write_status_script(workdir),
                "conditional": write_conditional_script(workdir, feed["etag"]),
            }
            print("Warming every gunicorn process up (each builds the feed once) …", flush=True)
            warm_every_worker(server.base_url + FEED_PATH, workers)
            results = measure(server, hello, wrk, scripts, duration)
            hello.stop()
            print("Restarting gunicorn twice for the first answers with empty caches …")
            restart = first_answers_after_restart(server, feed["etag"], workers)
        finally:
            # A second Ctrl-C must not leave gunicorn running or the schema behind.
            previous_handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                for running in (server, hello):
                    if running is not None:
                        running.stop()
            finally:
                database.drop()
                signal.signal(signal.SIGINT, previous_handler)

    nproc = len(os.sched_getaffinity(0))
    speedup = speedups(build, results, nproc)
    if not build["identical_to_served"]:
        failures.append(
            f"the from-scratch build ({build['bytes']:,} bytes) differs from the served feed "
            f"({feed['bytes']:,} bytes)"
        )
    failures += describe_failures(results)
    failures += judge_restart(restart, feed["bytes"])
    machine = {
        "started_at": started_at.isoformat(timespec="seconds"),
        "nproc": nproc,
        "load_average_at_start": " ".join(f"{load:.2f}" for load in load_at_start),
        "load_average_at_end": " ".join(f"{load:.2f}" for load in os.getloadavg()),
        "cpu": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "database": f"{database.backend} {database.server_version}",
        "site": app_env["BASE_URL"],
        "gunicorn_workers": server.description + "; the same for bench.hello",
        "wrk": f"{wrk_version(wrk)}",
        "duration_seconds": duration,
        "warmup_seconds": WARMUP_SECONDS,
        "total_seconds": round(time.monotonic() - clock, 1),
    }
    document = {
        "ok": not failures,
        "machine": machine,
        "events": setup_result,
        "feed": feed,
        "from_scratch": build,
        "requests": [
            {
                "name": name,
                "path": path,
                "expected_status": status,
                f"connections_{WRK_CONNECTIONS}": wide.as_dict()
                | {
                    "ratio_to_hello": round(
                        wide.requests_per_second / results[0][3].requests_per_second, 4
                    )
                },
                "connections_1": single.as_dict()
                | {
                    "ratio_to_hello": round(
                        single.requests_per_second / results[0][4].requests_per_second, 4
                    )
                },
            }
            for name, path, status, wide, single in results
        ],
        "speedup": speedup | {"target": SPEEDUP_TARGET},
        "targets": assess_targets(results),
        "after_restart": restart,
        "failures": failures,
    }
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")

    print()
    label_width = max(map(len, machine)) + 1
    for key, value in machine.items():
        print(f"{key + ':':<{label_width}} {value}")
    print()
    print(render_report(setup_result, feed, build, results, restart, speedup))
    print()
    print(f"Results written to {RESULTS_PATH.relative_to(PROJECT_ROOT)}")
    if failures:
        print("\nFAILED:", file=sys.stderr)
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    return 0


def _parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.calendar",
        description="The calendar feed benchmark; the options are its steps inside the app.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--setup", type=int, metavar="EVENTS", help="migrate and add the events")
    mode.add_argument("--build", type=int, metavar="TIMES", help="time the from-scratch build")
    parser.add_argument("--sentences", type=int, choices=(1, 2), default=1)
    parser.add_argument("--served", type=Path, help="the served feed (for --build)")
    arguments = parser.parse_args(argv)
    if arguments.build is not None and arguments.served is None:
        parser.error("--build needs --served")
    return arguments


def _inside_app(arguments: argparse.Namespace) -> int:
    from community import create_app

    app = create_app()
    try:
        with app.app_context():
            if arguments.setup is not None:
                result = setup(arguments.setup, arguments.sentences, SEED)
            else:
                result = build_from_scratch(arguments.served, arguments.build)
    except BenchError as error:
        print(f"bench.calendar failed: {error}", file=sys.stderr)
        return 1
    print(dataset.RESULT_PREFIX + json.dumps(result, ensure_ascii=False), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    arguments = _parse_arguments(argv)
    if arguments.setup is not None or arguments.build is not None:
        return _inside_app(arguments)
    return run_guarded(run)


if __name__ == "__main__":
    sys.exit(main())
