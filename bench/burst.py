"""The registration burst: many people register for one small event at the same instant.

After the wrk runs, bench.run creates a fresh event (`bench.dataset --burst-event`) and prepares
PEOPLE registrations: through the JSON API when it is there, otherwise through the HTML form, with
the page's CSRF token and session cookie fetched beforehand. Then all of them are sent at the same
instant to the running gunicorn on 127.0.0.1, each over its own new connection, from one asyncio
event loop: a client that costs little CPU, so that the figures are the server's (500 threads of
urllib took about a sixth of the machine's two cores from the server they were measuring). The
outcome is read back from the database (`bench.dataset --count`), not only from the answers:
exactly PLACES confirmed, everyone else waitlisted, the first in the queue holding the places,
counters equal to the rows, and no error answer — or the run fails. Each registration writes one
e-mail to the mail outbox; the outbox worker beside gunicorn sends them (as in production, nothing
is sent inside a request) to MailSink, an SMTP server on 127.0.0.1, so that the app talks SMTP as
in production and nothing lands in the project's instance/. Once the last answer is in, the burst
waits (up to MAIL_DRAIN_TIMEOUT_SECONDS) until the outbox has drained: exactly one e-mail per
registration in the database must arrive, or the run fails; how long after the last answer the last
one arrived is reported. Through the API, the same people are then sent once more, at once, each
with an address the schema refuses: what HTTP, routing and validation alone cost for the burst
(its floor); any answer but 422 fails the run.
"""

from __future__ import annotations

import asyncio
import http.client
import http.cookiejar
import json
import math
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from bench.dataset import run_dataset
from bench.errors import BenchError
from bench.server import HOST, NoRedirect, check_local, free_port

REQUEST_TIMEOUT_SECONDS = 120
DATASET_TIMEOUT_SECONDS = 120
MAIL_DRAIN_TIMEOUT_SECONDS = 180
# Once the expected e-mails are in, two more rounds of the worker (it looks every second) for
# any that would come twice.
MAIL_SETTLE_SECONDS = 2.5
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
API_ANSWERS = ("confirmed", "waitlisted", "awaiting_payment")


class MailSink:
    """An SMTP server on 127.0.0.1 that counts what it receives and keeps nothing."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received = 0
        self.last_received_at = 0.0  # time.perf_counter() of the last message
        self._arrived = threading.Condition()
        self._controller = None

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's hook name
        with self._arrived:  # runs on the controller's one event-loop thread
            self.received += 1
            self.last_received_at = time.perf_counter()
            self._arrived.notify_all()
        return "250 OK"

    def wait_for(
        self, count: int, timeout: float, still_sending: Callable[[], None] | None = None
    ) -> bool:
        """Wait until `count` messages in all have arrived; False after `timeout` seconds.
        `still_sending` is called every second or so and raises if the sender has stopped."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while self.received < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._arrived.wait(timeout=min(left, 1.0))
                if still_sending is not None and self.received < count:
                    still_sending()
        return True

    def start(self) -> None:
        try:
            from aiosmtpd.controller import Controller
        except ImportError as error:
            raise BenchError(
                "aiosmtpd is missing: install the dev dependencies (pip install -e '.[dev]')"
            ) from error
        self._controller = Controller(self, hostname=HOST, port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def environment(self) -> dict[str, str]:
        return {"MAIL_SERVER": HOST, "MAIL_PORT": str(self.port), "MAIL_USE_TLS": "false"}


@dataclass
class Answer:
    status: int = 0  # HTTP status; 0 when none came
    problem: str = ""  # why this counts as an error; empty for a good answer
    registration_status: str = ""  # from the API's answer (the form's redirect does not say)
    sent_at: float = 0.0
    answered_at: float = 0.0


@dataclass
class BurstResult:
    via: str
    endpoint: str
    people: int
    places: int
    errors: int
    error_examples: list[str]
    answered_statuses: dict[str, int]
    seconds: float
    registrations_per_second: float
    latency_p50_ms: float
    latency_p99_ms: float
    database: dict
    mails_received: int | None
    # From the last answer until the burst's last e-mail arrived (None: no sink, or not all came).
    mail_drain_seconds: float | None = None
    failures: list[str] = field(default_factory=list)
    # Registrations per second as a share of the trivial route's requests per second in the
    # same run (set by bench.run): the machine's speed varies from run to run, the share less.
    share_of_trivial: float | None = None
    # The floor: the same people at once, each refused by the API's schema (an address without
    # a domain), so nothing is read or written: what HTTP, routing and validation alone cost.
    floor: dict | None = None

    @property
    def registrations(self) -> int:
        return sum(self.database["statuses"].values())

    @property
    def confirmed(self) -> int:
        return self.database["statuses"].get("confirmed", 0)

    @property
    def waitlisted(self) -> int:
        return self.database["statuses"].get("waitlisted", 0)

    def as_dict(self) -> dict:
        return asdict(self) | {"confirmed": self.confirmed, "waitlisted": self.waitlisted}


class Person:
    """One registrant: prepares alone (the request's bytes), then registers with everybody."""

    def __init__(self, number: int, base_url: str, slug: str, ticket_type: str, via_api: bool):
        self.number = number
        self.base_url = base_url
        self.slug = slug
        self.ticket_type = ticket_type
        self.via_api = via_api
        self.request: bytes = b""
        self.refused = False

    def prepare(self, *, refused: bool = False) -> None:
        """`refused`: with an address the API's schema refuses (the floor; API only)."""
        person = {
            "name": f"Rush Person {self.number}",
            "email": f"rush{self.number:05d}" + ("" if refused else "@example.com"),
            "ticket_type": self.ticket_type,
        }
        self.refused = refused
        headers = {}
        if self.via_api:
            path = f"/api/v1/events/{self.slug}/registrations"
            body = json.dumps(person).encode()
            headers = {"Content-Type": "application/json", "Accept": "application/json"}
        else:
            jar = http.cookiejar.CookieJar()
            opener = urllib.request.build_opener(
                urllib.request.HTTPCookieProcessor(jar), NoRedirect
            )
            page_url = f"{self.base_url}/events/{self.slug}"
            check_local(page_url)
            with opener.open(page_url, timeout=REQUEST_TIMEOUT_SECONDS) as page:
                found = CSRF_FIELD.search(page.read().decode())
            if found is None:
                raise ValueError("the event page has no CSRF token")
            path = f"/events/{self.slug}/register"
            body = urllib.parse.urlencode({"csrf_token": found.group(1), **person}).encode()
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar),
            }
        check_local(self.base_url + path)
        host = urllib.parse.urlsplit(self.base_url).netloc
        lines = [f"POST {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        self.request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    async def register(self, answer: Answer) -> None:
        address = urllib.parse.urlsplit(self.base_url)
        answer.sent_at = time.perf_counter()
        try:
            reader, writer = await asyncio.open_connection(address.hostname, address.port)
            try:
                writer.write(self.request)
                await writer.drain()
                raw = await reader.read()  # Connection: close, so the answer ends with the stream
            finally:
                writer.close()
        except OSError as error:
            answer.answered_at = time.perf_counter()
            answer.problem = f"socket error: {error!r}"
            return
        answer.answered_at = time.perf_counter()
        head, _, body = raw.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        try:
            answer.status = int(status_line.split()[1])
        except (IndexError, ValueError):
            answer.problem = f"not an HTTP answer: {raw[:80]!r}"
            return
        location = next(
            (line.split(":", 1)[1].strip() for line in header_lines
             if line.lower().startswith("location:")),
            "",
        )  # fmt: skip
        if self.via_api:
            self._judge_api_answer(answer, body)
        elif answer.status != 302 or "/registrations/" not in location:
            answer.problem = f"HTTP {answer.status}" + (f" to {location}" if location else "")

    def _judge_api_answer(self, answer: Answer, body: bytes) -> None:
        if self.refused:
            if answer.status != 422:
                answer.problem = f"HTTP {answer.status} for an address that must be refused"
            return
        if answer.status != 201:
            answer.problem = f"HTTP {answer.status}: {body[:200].decode(errors='replace')}"
            return
        try:
            answer.registration_status = str(json.loads(body).get("status"))
        except (ValueError, AttributeError):
            answer.problem = "HTTP 201 without a JSON object"
            return
        if answer.registration_status not in API_ANSWERS:
            answer.problem = f"HTTP 201 with status {answer.registration_status!r}"


async def _all_at_once(people: list[Person], answers: list[Answer]) -> float:
    """Send every prepared registration at the same instant; returns that instant."""
    ready = [(p, a) for p, a in zip(people, answers, strict=True) if not a.problem]
    released = time.perf_counter()
    await asyncio.wait_for(
        asyncio.gather(*(person.register(answer) for person, answer in ready)),
        timeout=REQUEST_TIMEOUT_SECONDS,
    )
    return released


def api_accepts_registrations(base_url: str, slug: str) -> tuple[bool, str]:
    """Whether the JSON registration route exists: an empty body must get a JSON 4xx answer
    (invalid input) rather than 404, 405 or an HTML page. Nothing is registered."""
    url = f"{base_url}/api/v1/events/{slug}/registrations"
    check_local(url)  # http://127.0.0.1 only, hence the noqa below
    headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(url, data=b"{}", headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=10) as response:
            status, content_type = response.status, response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        status, content_type = error.code, error.headers.get("Content-Type", "")
    available = status in (400, 422) and content_type.startswith("application/json")
    return available, f"POST {url.removeprefix(base_url)} with {{}} answered {status}"


def _percentile(values: list[float], share: float) -> float:
    """Nearest rank: the smallest value with at least `share` of all values at or below it."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def _judge(result: BurstResult, good_answers: int) -> list[str]:
    database = result.database
    statuses = database["statuses"]
    failures = []
    if result.errors:
        examples = "; ".join(result.error_examples)
        failures.append(f"{result.errors} error answers (must be 0), e.g. {examples}")
    if result.confirmed != result.places:
        failures.append(f"{result.confirmed} confirmed in the database, not {result.places}")
    others = {
        status: n for status, n in statuses.items() if status not in ("confirmed", "waitlisted")
    }
    if others:
        failures.append(f"unexpected statuses in the database: {others}")
    if sum(statuses.values()) != good_answers:
        failures.append(
            f"{sum(statuses.values())} registrations in the database for {good_answers} answers"
        )
    taken = [ticket["taken"] for ticket in database["tickets"]]
    if (
        database["places_taken"] != database["holding_rows"]
        or sum(taken) != database["holding_rows"]
    ):
        failures.append(
            f"counters differ from the rows: places_taken {database['places_taken']}, "
            f"ticket taken {taken}, rows holding a place {database['holding_rows']}"
        )
    if not database["first_in_queue_hold"]:
        failures.append("the places did not go to the first in the queue")
    if result.via == "api":
        answered = result.answered_statuses.get("confirmed", 0)
        if answered != result.confirmed:
            failures.append(
                f"{answered} answers said confirmed, the database has {result.confirmed}"
            )
    if result.mails_received is not None and result.mails_received != result.registrations:
        failures.append(
            f"{result.mails_received} e-mails arrived for {result.registrations} registrations "
            f"(one each, after waiting up to {MAIL_DRAIN_TIMEOUT_SECONDS}s for the outbox)"
        )
    return failures


def wait_for_mail(
    mail_sink: MailSink,
    before: int,
    expected: int,
    answered_at: float,
    still_sending: Callable[[], None] | None = None,
    *,
    timeout: float = MAIL_DRAIN_TIMEOUT_SECONDS,
    settle: float = MAIL_SETTLE_SECONDS,
) -> tuple[int, float | None]:
    """Wait until `expected` e-mails arrived after the `before` already counted, then `settle`
    seconds for any extra one. Returns how many arrived and how long after `answered_at` the last
    of the expected ones did (None if they did not all arrive within `timeout` seconds)."""
    drained = mail_sink.wait_for(before + expected, timeout, still_sending)
    drain_seconds = max(mail_sink.last_received_at - answered_at, 0.0) if drained else None
    time.sleep(settle)
    return mail_sink.received - before, drain_seconds


def run_burst(
    base_url: str,
    app_env: dict[str, str],
    *,
    people: int,
    places: int,
    mail_sink: MailSink | None = None,
    still_sending: Callable[[], None] | None = None,
) -> BurstResult:
    """`still_sending` raises when the outbox worker has stopped (see MailSink.wait_for)."""
    event = run_dataset(app_env, ["--burst-event", str(places)], DATASET_TIMEOUT_SECONDS)
    slug, ticket_type = event["slug"], event["ticket_type"]
    via_api, probe = api_accepts_registrations(base_url, slug)
    if via_api:
        endpoint = f"POST /api/v1/events/{slug}/registrations (JSON)"
    else:
        endpoint = f"POST /events/{slug}/register (HTML form, CSRF token and cookie)"
        print(f"  registration API not available ({probe}): the burst uses the HTML form")
    print(f"  {people} people at once for {places} places: {endpoint}", flush=True)

    mails_before = mail_sink.received if mail_sink else 0
    answers = [Answer() for _ in range(people)]
    everybody = [Person(number, base_url, slug, ticket_type, via_api) for number in range(people)]
    for person, answer in zip(everybody, answers, strict=True):
        try:
            person.prepare()
        except (OSError, ValueError, http.client.HTTPException) as error:
            answer.problem = f"could not prepare: {error!r}"
    try:
        release = asyncio.run(_all_at_once(everybody, answers))
    except TimeoutError as error:
        raise BenchError("some registrations of the burst never finished") from error

    answered = [a for a in answers if a.answered_at]
    last_answer = max((a.answered_at for a in answered), default=release)
    seconds = last_answer - release
    latencies = [(a.answered_at - a.sent_at) * 1000 for a in answered]
    problems = [a.problem for a in answers if a.problem]
    database = run_dataset(app_env, ["--count", slug], DATASET_TIMEOUT_SECONDS)
    mails, drain_seconds = None, None
    if mail_sink is not None:
        print("  waiting for the outbox to send the burst's e-mails …", flush=True)
        expected = sum(database["statuses"].values())  # one e-mail per registration
        mails, drain_seconds = wait_for_mail(
            mail_sink, mails_before, expected, last_answer, still_sending
        )
    result = BurstResult(
        via="api" if via_api else "form",
        endpoint=endpoint,
        people=people,
        places=places,
        errors=len(problems),
        error_examples=list(dict.fromkeys(problems))[:3],
        answered_statuses=dict(
            Counter(a.registration_status for a in answers if a.registration_status)
        ),
        seconds=round(seconds, 3),
        registrations_per_second=round(people / seconds, 1) if seconds > 0 else 0.0,
        latency_p50_ms=round(_percentile(latencies, 0.50), 1),
        latency_p99_ms=round(_percentile(latencies, 0.99), 1),
        database=database,
        mails_received=mails,
        mail_drain_seconds=round(drain_seconds, 2) if drain_seconds is not None else None,
    )
    result.failures = _judge(result, good_answers=people - len(problems))
    if via_api:
        result.floor, floor_problems = _refused_at_once(everybody)
        result.failures += [f"floor: {problem}" for problem in floor_problems]
    return result


def _refused_at_once(everybody: list[Person]) -> tuple[dict, list[str]]:
    """The same requests once more, each with an address the schema refuses (422), at once."""
    print(f"  the floor: the same {len(everybody)} at once, each refused by validation", flush=True)
    answers = [Answer() for _ in everybody]
    for person in everybody:
        person.prepare(refused=True)
    try:
        release = asyncio.run(_all_at_once(everybody, answers))
    except TimeoutError as error:
        raise BenchError("some refused requests of the floor never finished") from error
    seconds = max(a.answered_at for a in answers) - release
    latencies = [(a.answered_at - a.sent_at) * 1000 for a in answers]
    problems = list(dict.fromkeys(a.problem for a in answers if a.problem))
    floor = {
        "requests_per_second": round(len(answers) / seconds, 1) if seconds > 0 else 0.0,
        "latency_p50_ms": round(_percentile(latencies, 0.50), 1),
        "latency_p99_ms": round(_percentile(latencies, 0.99), 1),
    }
    return floor, problems[:3]


def render_burst(result: BurstResult) -> str:
    statuses = ", ".join(f"{status} {n}" for status, n in result.database["statuses"].items())
    tickets = ", ".join(
        f"{t['slug']} {t['taken']}/{t['quota']}" for t in result.database["tickets"]
    )
    lines = [
        f"Registration burst: {result.people} people at once for {result.places} places",
        f"  via:              {result.endpoint}",
        f"  confirmed:        {result.confirmed} (must be {result.places}, read from the database)",
        f"  waitlisted:       {result.waitlisted}",
        f"  errors:           {result.errors} (must be 0)",
        f"  registrations/s:  {result.registrations_per_second:.1f} "
        f"({result.people} in {result.seconds:.2f}s from the first sent to the last answer)",
        *(
            [f"  vs trivial:       {result.share_of_trivial:.2%} of its requests per second"]
            if result.share_of_trivial is not None
            else []
        ),
        f"  latency:          p50 {result.latency_p50_ms:.0f} ms, "
        f"p99 {result.latency_p99_ms:.0f} ms",
        f"  database:         {statuses or 'no rows'}; places_taken "
        f"{result.database['places_taken']}/{result.database['capacity']}, tickets {tickets}",
    ]
    if result.via == "api":
        answered = ", ".join(f"{s} {n}" for s, n in sorted(result.answered_statuses.items()))
        lines.append(f"  answers said:     {answered or 'nothing'}")
    if result.mails_received is not None:
        lines.append(
            f"  e-mails received: {result.mails_received} for {result.registrations} "
            "registrations (by the local SMTP sink, after the outbox drained)"
        )
        if result.mail_drain_seconds is not None:
            lines.append(
                f"  outbox drained:   {result.mail_drain_seconds:.1f}s after the last answer "
                "(the last e-mail's arrival)"
            )
        else:
            lines.append(f"  outbox drained:   not within {MAIL_DRAIN_TIMEOUT_SECONDS}s")
    if (floor := result.floor) is not None:
        lines.append(
            f"  floor:            the same {result.people} at once, each refused by the schema "
            f"(nothing read or written): {floor['requests_per_second']:.1f}/s, "
            f"p50 {floor['latency_p50_ms']:.0f} ms, p99 {floor['latency_p99_ms']:.0f} ms"
        )
    lines.append("  result:           " + ("PASS" if not result.failures else "FAIL"))
    return "\n".join(lines)
