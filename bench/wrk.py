"""Running wrk against one URL and reading its report: throughput, latency percentiles, errors.

wrk itself flags only statuses of 400 and above, so a small Lua script counts every answer that is
not 2xx (a redirect included) and prints the total after the run.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.errors import BenchError

WRK_PATH = "/usr/bin/wrk"
TIMEOUT_MARGIN_SECONDS = 30

STATUS_SCRIPT = """\
-- Written by bench/wrk.py: counts the answers other than {expected} in every thread and reports the
-- sum (on the line run_wrk reads, which calls them non_2xx).
{headers}local threads = {{}}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non_2xx = 0
  first_non_2xx = 0
end

function response(status, headers, body)
  if not ({accepted}) then
    non_2xx = non_2xx + 1
    if first_non_2xx == 0 then first_non_2xx = status end
  end
end

function done(summary, latency, requests)
  local total, first = 0, 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("non_2xx")
    if first == 0 then first = thread:get("first_non_2xx") end
  end
  io.write(string.format("BENCH non_2xx=%d first_non_2xx=%d\\n", total, first))
end
"""

_TO_MILLISECONDS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


@dataclass
class WrkResult:
    requests_per_second: float
    latency_p50_ms: float
    latency_p99_ms: float
    requests: int
    non_2xx: int
    first_non_2xx_status: int
    socket_errors: dict[str, int] = field(default_factory=dict)

    @property
    def error_count(self) -> int:
        return self.non_2xx + sum(self.socket_errors.values())

    def as_dict(self) -> dict:
        return asdict(self) | {"errors": self.error_count}


def ensure_wrk() -> str:
    """Return wrk's path, installing the Debian package if it is missing."""
    found = shutil.which("wrk") or (WRK_PATH if Path(WRK_PATH).exists() else None)
    if found:
        return found
    print("wrk is missing; running `apt-get install -y wrk` …", flush=True)
    try:
        completed = subprocess.run(
            ["apt-get", "install", "-y", "wrk"],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise BenchError(
            f"wrk is not installed and `apt-get install -y wrk` failed: {error}"
        ) from error
    found = shutil.which("wrk")
    if completed.returncode != 0 or not found:
        output = (completed.stdout + completed.stderr).strip()[-2000:]
        raise BenchError(
            "wrk is not installed and `apt-get install -y wrk` failed "
            f"({completed.returncode}); install it by hand:\n{output}"
        )
    return found


def wrk_version(wrk: str) -> str:
    # `wrk --version` prints its banner and usage, then exits 1.
    completed = subprocess.run(
        [wrk, "--version"], capture_output=True, text=True, timeout=10, check=False
    )
    first_line = (completed.stdout or completed.stderr).splitlines()[:1]
    return first_line[0].split(" Copyright")[0].strip() if first_line else "unknown"


def write_status_script(
    directory: Path, *, expect: int | None = None, headers: dict[str, str] | None = None
) -> Path:
    """The Lua script for run_wrk: requests carry `headers`; every answer other than a 2xx (or
    than `expect`, when given) is counted as a failure."""
    name = f"count_statuses_{expect or '2xx'}_{len(headers or {})}.lua"
    path = directory / name
    lines = "".join(
        f"wrk.headers[{_lua_string(key)}] = {_lua_string(value)}\n"
        for key, value in (headers or {}).items()
    )
    path.write_text(
        STATUS_SCRIPT.format(
            expected=expect or "2xx",
            headers=lines,
            accepted=f"status == {expect}" if expect else "status >= 200 and status <= 299",
        )
    )
    return path


def _lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def run_wrk(
    wrk: str,
    url: str,
    *,
    duration_seconds: int,
    threads: int,
    connections: int,
    script: Path,
) -> WrkResult:
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration_seconds}s",
        "--timeout",
        "5s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    try:
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=duration_seconds + TIMEOUT_MARGIN_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise BenchError(f"wrk did not finish within its time bound for {url}") from error
    if completed.returncode != 0:
        raise BenchError(
            f"wrk failed ({completed.returncode}) for {url}:\n{completed.stdout}{completed.stderr}"
        )
    return parse_wrk_output(completed.stdout)


def to_milliseconds(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value.strip())
    if not match:
        raise BenchError(f"cannot read the duration {value!r} in wrk's report")
    return float(match.group(1)) * _TO_MILLISECONDS[match.group(2)]


def parse_wrk_output(output: str) -> WrkResult:
    def required(pattern: str) -> re.Match:
        match = re.search(pattern, output, re.MULTILINE)
        if not match:
            raise BenchError(f"wrk's report lacks {pattern!r}:\n{output}")
        return match

    requests_per_second = float(required(r"^Requests/sec:\s+([\d.]+)").group(1))
    requests = int(required(r"^\s*(\d+) requests in ").group(1))
    p50 = to_milliseconds(required(r"^\s*50(?:\.0+)?%\s+(\S+)").group(1))
    p99 = to_milliseconds(required(r"^\s*99(?:\.0+)?%\s+(\S+)").group(1))
    statuses = required(r"^BENCH non_2xx=(\d+) first_non_2xx=(\d+)")
    socket_errors = {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    socket_line = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if socket_line:
        socket_errors = dict(zip(socket_errors, map(int, socket_line.groups()), strict=True))
    return WrkResult(
        requests_per_second=requests_per_second,
        latency_p50_ms=p50,
        latency_p99_ms=p99,
        requests=requests,
        non_2xx=int(statuses.group(1)),
        first_non_2xx_status=int(statuses.group(2)),
        socket_errors=socket_errors,
    )


def failures_of(where: str, result: WrkResult, expected: str = "2xx") -> list[str]:
    """What went wrong in one wrk run: answers other than `expected`, socket errors."""
    failures = []
    if result.non_2xx:
        failures.append(
            f"{where}: {result.non_2xx} answers other than {expected}, "
            f"the first with status {result.first_non_2xx_status}"
        )
    socket_errors = {kind: n for kind, n in result.socket_errors.items() if n}
    if socket_errors:
        detail = ", ".join(f"{kind} {n}" for kind, n in socket_errors.items())
        failures.append(f"{where}: socket errors: {detail}")
    return failures
