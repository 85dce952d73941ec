"""The pages of `make bench`: every route loaded with wrk, each figure a share of a hello-world
Flask app's requests per second (bench/hello.py) served by gunicorn with the same settings in the
same run; the application's own trivial route (/robots.txt) is measured beside it, as before.

Three servers run side by side, each with the same gunicorn settings (only one is loaded at a
time):
- `app`: the application as deployed (the micro-cache of public pages on, PAGE_CACHE_SECONDS=2);
- `afresh`: the same application with PAGE_CACHE_SECONDS=0, so that every page is rendered for
  every request (fragment caches keyed by what they show stay on);
- `hello`: bench.hello.

A signed-in route carries the session cookie of the demo member, signed in once through the real
login form. Every route is measured in each of BENCH_ROUNDS rounds (default 2); the figures are
the last round's, and the resident size of each server's workers is read after every round: it
must not grow from one round to the next (no unbounded cache).
"""

from __future__ import annotations

import http.cookiejar
import re
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench.errors import BenchError
from bench.server import GunicornServer, check_local, fetch
from bench.wrk import WrkResult, failures_of, run_wrk, write_status_script

WRK_THREADS = 2
WRK_CONNECTIONS = 16
WARMUP_SECONDS = 2
# A worker may take this much more memory in a later round (allocator noise), no more.
RSS_GROWTH_ALLOWED_MIB = 2.0
# A browser sends the same User-Agent with every request; Flask-Login's session protection
# compares it with the one the session was signed in with (and writes the session again if
# they differ), so the sign-in and wrk's requests send the same one.
USER_AGENT = "community-bench/1 (wrk)"
# The demo member (community/demo.py) signs in for the signed-in routes.
MEMBER_LOGIN = ("member@example.org", "demo-member-2026")
# Cached anonymous pages gave 0.54-0.69x of hello before issue 15: they must not get worse.
CACHED_FLOOR = 0.54


@dataclass(frozen=True)
class Route:
    name: str
    server: str  # "app", "afresh" or "hello"
    path: str  # {detail_slug}, {plan_slug}, {campaign_slug} are filled in per run
    signed_in: bool = False
    target: float | None = None  # the least share of hello's requests per second
    optional: bool = False  # skipped, not failed, when it does not answer 200


# The first is the baseline every figure is a share of; the second is the application's own
# trivial route, printed beside it.
ROUTES: list[Route] = [
    Route("hello", "hello", "/"),
    Route("trivial", "app", "/robots.txt"),
    Route("home", "app", "/", target=CACHED_FLOOR),
    Route("events", "app", "/events", target=CACHED_FLOOR),
    Route("event", "app", "/events/{detail_slug}", target=CACHED_FLOOR),
    Route("api_events", "app", "/api/v1/events", target=CACHED_FLOOR, optional=True),
    Route("member_events", "app", "/events", signed_in=True, target=0.25),
    Route("member_event", "app", "/events/{detail_slug}", signed_in=True, target=0.25),
    Route("fresh_home", "afresh", "/", target=0.25),
    Route("fresh_events", "afresh", "/events", target=0.25),
    Route("fresh_event", "afresh", "/events/{detail_slug}", target=0.25),
    Route("fresh_api_events", "afresh", "/api/v1/events", target=0.25, optional=True),
    Route("partners", "afresh", "/partners", signed_in=True, target=0.25),
    Route("sponsors", "afresh", "/sponsors", signed_in=True, target=0.25),
    Route("join", "afresh", "/join", signed_in=True, target=0.25),
    Route("plan", "afresh", "/join/{plan_slug}", signed_in=True, target=0.25),
    Route("membership", "afresh", "/membership", signed_in=True, target=0.25),
    Route("donate", "afresh", "/donate", signed_in=True, target=0.25),
    Route("campaign", "afresh", "/donate/campaigns/{campaign_slug}", signed_in=True, target=0.25),
    Route("my_gifts", "afresh", "/donate/mine", signed_in=True, target=0.25),
    Route("profile", "afresh", "/account/profile", signed_in=True, target=0.25),
]


@dataclass
class Measured:
    route: Route
    path: str
    result: WrkResult


@dataclass
class Memory:
    """Each server's workers' resident sizes (MiB, largest first) after each round."""

    rounds: dict[str, list[list[float]]] = field(default_factory=dict)

    def record(self, servers: dict[str, GunicornServer]) -> None:
        for name, server in servers.items():
            self.rounds.setdefault(name, []).append(server.worker_rss_mib())

    def growth(self, name: str) -> float | None:
        """How much the largest worker grew from the first round to the last, in MiB."""
        rounds = self.rounds.get(name, [])
        if len(rounds) < 2 or not rounds[0] or not rounds[-1]:
            return None
        return rounds[-1][0] - rounds[0][0]

    def failures(self) -> list[str]:
        found = []
        for name in self.rounds:
            grew = self.growth(name)
            if grew is not None and grew > RSS_GROWTH_ALLOWED_MIB:
                found.append(
                    f"{name}: the largest worker grew by {grew:.1f} MiB from the first round to "
                    f"the last (more than {RSS_GROWTH_ALLOWED_MIB} MiB)"
                )
        return found

    def as_dict(self) -> dict:
        return {
            name: {"rss_mib_per_round": rounds, "growth_mib": self.growth(name)}
            for name, rounds in self.rounds.items()
        }


def sign_in(base_url: str, email: str, password: str) -> str:
    """Sign in through the login form; the Cookie header a signed-in browser would send."""
    check_local(base_url)
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    with opener.open(base_url + "/account/login", timeout=10) as response:
        page = response.read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if token is None:
        raise BenchError("the login page has no CSRF token")
    form = urllib.parse.urlencode(
        {"email": email, "password": password, "csrf_token": token.group(1)}
    ).encode()
    with opener.open(base_url + "/account/login", data=form, timeout=10) as response:
        response.read()
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    # Signed in, the profile answers 200 (signed out it redirects to the login page).
    status, location = fetch(
        base_url + "/account/profile", headers={"Cookie": cookie, "User-Agent": USER_AGENT}
    )
    if status != 200:
        raise BenchError(f"signing in as {email} failed: the profile answered {status} {location}")
    return cookie


def _first_link(server: GunicornServer, page: str, pattern: str) -> str:
    check_local(server.base_url)
    with urllib.request.urlopen(server.base_url + page, timeout=10) as response:  # noqa: S310
        found = re.search(pattern, response.read().decode())
    if found is None:
        raise BenchError(f"{page} links to nothing like {pattern}")
    return urllib.parse.unquote(found.group(1))


def placeholders(server: GunicornServer, detail_slug: str) -> dict[str, str]:
    """What the paths' placeholders stand for in this run (the demo data's plan and campaign)."""
    return {
        "detail_slug": detail_slug,
        "plan_slug": _first_link(server, "/join", r'href="/join/([^"/?#]+)"'),
        "campaign_slug": _first_link(server, "/donate", r'href="/donate/campaigns/([^"/?#]+)"'),
    }


def resolve(
    servers: dict[str, GunicornServer], values: dict[str, str], cookie: str
) -> tuple[list[tuple[Route, str]], list[dict]]:
    """The routes of this run with their paths; optional ones that do not answer 200 are
    skipped, any other answer than a 2xx fails the run."""
    routes, skipped = [], []
    for route in ROUTES:
        path = route.path.format(**values)
        headers = {"Cookie": cookie, "User-Agent": USER_AGENT} if route.signed_in else {}
        status, location = fetch(servers[route.server].base_url + path, headers=headers)
        if route.optional and status != 200:
            reason = f"not available ({path} answered {status})"
            print(f"  {route.name:<16} {path:<36} skipped: {reason}", flush=True)
            skipped.append({"name": route.name, "path": path, "reason": reason})
        elif not 200 <= status < 300:
            where = f" to {location}" if location else ""
            raise BenchError(f"route {route.name} ({path}) answered {status}{where}, not 2xx")
        else:
            routes.append((route, path))
    return routes, skipped


def measure(
    servers: dict[str, GunicornServer],
    wrk: str,
    workdir: Path,
    duration: int,
    routes: list[tuple[Route, str]],
    cookie: str,
    rounds: int,
) -> tuple[list[Measured], Memory]:
    """Every route in each round; the last round's figures, and the memory after each round."""
    anonymous = write_status_script(workdir)
    signed_in = write_status_script(workdir, headers={"Cookie": cookie, "User-Agent": USER_AGENT})
    memory = Memory()
    results: list[Measured] = []
    for number in range(1, rounds + 1):
        results = []
        for route, path in routes:
            url = servers[route.server].base_url + path
            print(
                f"  round {number}/{rounds} {route.name:<16} {path:<36} "
                f"warm-up {WARMUP_SECONDS}s, then {duration}s",
                flush=True,
            )
            options = {
                "threads": WRK_THREADS,
                "connections": WRK_CONNECTIONS,
                "script": signed_in if route.signed_in else anonymous,
            }
            run_wrk(wrk, url, duration_seconds=WARMUP_SECONDS, **options)
            results.append(
                Measured(route, path, run_wrk(wrk, url, duration_seconds=duration, **options))
            )
        memory.record({name: s for name, s in servers.items() if name != "hello"})
    return results, memory


def _rate(results: list[Measured], name: str) -> float:
    return next((m.result.requests_per_second for m in results if m.route.name == name), 0.0)


def ratio(result: WrkResult, baseline: float) -> float | None:
    return result.requests_per_second / baseline if baseline else None


def assess(results: list[Measured], skipped: list[dict]) -> list[dict]:
    """PASS or MISS against each route's target (a share of hello); a MISS does not fail."""
    hello = _rate(results, "hello")
    assessed = []
    for measured in results:
        route = measured.route
        if route.target is None:
            continue
        share = ratio(measured.result, hello)
        assessed.append(
            {
                "name": route.name,
                "path": measured.path,
                "signed_in": route.signed_in,
                "target": route.target,
                "ratio_to_hello": round(share, 4) if share is not None else None,
                "result": "PASS" if share is not None and share >= route.target else "MISS",
            }
        )
    for entry in skipped:
        route = next(r for r in ROUTES if r.name == entry["name"])
        if route.target is not None:
            assessed.append(
                {
                    "name": route.name,
                    "path": entry["path"],
                    "signed_in": route.signed_in,
                    "target": route.target,
                    "ratio_to_hello": None,
                    "result": f"skipped: {entry['reason']}",
                }
            )
    return assessed


def failures(results: list[Measured], memory: Memory) -> list[str]:
    found = []
    for measured in results:
        found += failures_of(f"{measured.route.name} ({measured.path})", measured.result)
    return found + memory.failures()


def as_dicts(results: list[Measured]) -> list[dict]:
    hello, trivial = _rate(results, "hello"), _rate(results, "trivial")
    rows = []
    for measured in results:
        rows.append(
            {
                "name": measured.route.name,
                "server": measured.route.server,
                "path": measured.path,
                "signed_in": measured.route.signed_in,
                "ratio_to_hello": _rounded(ratio(measured.result, hello)),
                "ratio_to_trivial": _rounded(ratio(measured.result, trivial)),
                **measured.result.as_dict(),
            }
        )
    return rows


def _rounded(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None


def _times(value: float | None) -> str:
    return f"{value:.2f}×" if value is not None else "n/a"


def table(header: tuple[str, ...], rows: list[tuple[str, ...]], left_aligned: set[int]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells):
        return "  ".join(
            cell.ljust(width) if i in left_aligned else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def render(results: list[Measured]) -> str:
    hello, trivial = _rate(results, "hello"), _rate(results, "trivial")
    header = (
        "route", "server", "path", "signed in", "req/s", "vs hello", "vs trivial",
        "p50 ms", "p99 ms", "errors",
    )  # fmt: skip
    rows = [
        (
            m.route.name,
            m.route.server,
            m.path,
            "yes" if m.route.signed_in else "",
            f"{m.result.requests_per_second:.1f}",
            _times(ratio(m.result, hello)),
            _times(ratio(m.result, trivial)),
            f"{m.result.latency_p50_ms:.2f}",
            f"{m.result.latency_p99_ms:.2f}",
            str(m.result.error_count),
        )
        for m in results
    ]
    return table(header, rows, left_aligned={0, 1, 2, 3})


def render_targets(assessed: list[dict]) -> str:
    header = ("route", "path", "vs hello", "target", "result")
    rows = [
        (
            entry["name"],
            entry["path"],
            _times(entry["ratio_to_hello"]),
            f"≥ {entry['target']:.2f}×",
            entry["result"],
        )
        for entry in assessed
    ]
    title = "Targets (share of hello-world Flask's requests per second; a MISS does not fail):"
    return title + "\n" + table(header, rows, left_aligned={0, 1, 4})


def render_memory(memory: Memory) -> str:
    header = ("server", "workers' RSS MiB, per round", "growth of the largest", "result")
    rows = []
    for name, rounds in memory.rounds.items():
        grew = memory.growth(name)
        per_round = " | ".join(", ".join(f"{size:.1f}" for size in sizes) for sizes in rounds)
        verdict = "n/a" if grew is None else "PASS" if grew <= RSS_GROWTH_ALLOWED_MIB else "FAIL"
        rows.append((name, per_round, "n/a" if grew is None else f"{grew:+.1f} MiB", verdict))
    return "Memory after each round:\n" + table(header, rows, left_aligned={0, 1, 3})
