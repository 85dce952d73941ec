"""Gunicorn serving the application on 127.0.0.1 for the length of a benchmark, and nothing else;
with `mail_worker`, one `flask --app wsgi worker` beside it, as in production: the server only
writes e-mails to the outbox (MAIL_DELIVERY=worker) and the worker sends them.

Each runs in its own session so that Ctrl-C reaches only the benchmark, which then stops them
itself: SIGTERM, a grace period, then SIGKILL to the whole process group. Each writes its own log
(gunicorn.log, worker.log beside it), whose tail goes into the message when one of them fails.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench.database import PROJECT_ROOT
from bench.errors import BenchError

HOST = "127.0.0.1"
STARTUP_TIMEOUT_SECONDS = 30
STOP_GRACE_SECONDS = 10


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


WORKER_CLASSES = ("sync", "gthread")


def _stop(process: subprocess.Popen | None) -> None:
    """SIGTERM, a grace period, then SIGKILL to the process group (the session it started)."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_GRACE_SECONDS)


def _tail(log_path: Path, name: str, lines: int = 30) -> str:
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return f"(no {name} log)"
    return "\n".join(text.splitlines()[-lines:]) or f"({name} log is empty)"


def spawn(command: list[str], environment: dict[str, str], log_path: Path) -> subprocess.Popen:
    """Start a server process of the benchmark in its own session, its output in `log_path`."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


class OutboxWorker:
    """`flask --app wsgi worker`: sends the mail outbox every second (core/worker.py)."""

    def __init__(self, environment: dict[str, str], log_path: Path) -> None:
        self.environment = environment
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "flask", "--app", "wsgi", "worker"]
        self.process = spawn(command, self.environment, self.log_path)

    def check_running(self) -> None:
        """A worker that has stopped would leave the outbox full: say so, with its log."""
        if self.process is None:
            raise BenchError("the outbox worker was never started")
        if self.process.poll() is not None:
            raise BenchError(
                f"the outbox worker (flask worker) exited with {self.process.returncode}:\n"
                + self.log_tail()
            )

    def stop(self) -> None:
        _stop(self.process)

    def log_tail(self, lines: int = 30) -> str:
        return _tail(self.log_path, "worker", lines)


class GunicornServer:
    def __init__(
        self,
        app_env: dict[str, str],
        workers: int,
        log_path: Path,
        *,
        worker_class: str = "sync",
        threads: int = 1,
        mail_worker: bool = False,
        application: str = "wsgi:app",
    ) -> None:
        if worker_class not in WORKER_CLASSES:
            raise BenchError(f"worker class must be one of {', '.join(WORKER_CLASSES)}")
        if worker_class == "sync" and threads != 1:
            # gunicorn would quietly switch to gthread: say so instead.
            raise BenchError("sync workers have one thread each; threads need gthread workers")
        self.app_env = app_env
        self.application = application  # bench.hello:app for the baseline
        self.workers = workers
        self.worker_class = worker_class
        self.threads = threads
        self.log_path = log_path
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        # Stripe as the payment gateway, so that the app verifies webhooks (bench.webhooks signs
        # them with this secret). The key is never used: the webhook path does not call Stripe,
        # and the API base is a closed local port in case anything tried.
        self.webhook_secret = "whsec_bench_" + secrets.token_hex(24)
        # With a worker, requests only write e-mails to the outbox and the worker sends them;
        # without one, each gunicorn process sends its requests' e-mails after answering.
        self.mail_delivery = "worker" if mail_worker else "in_process"
        self.mail_worker = None
        if mail_worker:
            self.mail_worker = OutboxWorker(self.environment, log_path.with_name("worker.log"))

    @property
    def environment(self) -> dict[str, str]:
        return self.app_env | {
            "STRIPE_SECRET_KEY": "sk_test_bench",
            "STRIPE_WEBHOOK_SECRET": self.webhook_secret,
            "STRIPE_API_BASE": "http://127.0.0.1:9",
            "MAIL_DELIVERY": self.mail_delivery,
        }

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def description(self) -> str:
        thread_word = "thread" if self.threads == 1 else "threads"
        described = (
            f"{self.workers} {self.worker_class} workers, {self.threads} {thread_word} each, "
            "no access log (--access-logfile /dev/null)"
        )
        if self.mail_worker is not None:
            described += "; one `flask worker` beside them sends the e-mails"
        return described

    def start(self) -> None:
        # Run from the project root, gunicorn also reads its gunicorn.conf.py, as in deployment;
        # the options below take precedence over it. Its access log (to stdout) is turned off:
        # writing a line per request would be part of every figure.
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            self.application,
            "--bind",
            f"{HOST}:{self.port}",
            "--worker-class",
            self.worker_class,
            "--workers",
            str(self.workers),
            "--threads",
            str(self.threads),
            "--access-logfile",
            "/dev/null",
            "--timeout",
            "30",
            "--graceful-timeout",
            "5",
            "--log-level",
            "warning",
        ]
        self.process = spawn(command, self.environment, self.log_path)
        self._wait_until_healthy()
        if self.mail_worker is not None:
            self.mail_worker.start()

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        last_problem = "no answer yet"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(
                    f"gunicorn exited with {self.process.returncode} during start-up:\n"
                    + self.log_tail()
                )
            try:
                status, _ = fetch(self.base_url + "/healthz", timeout=2)
            except OSError as error:
                last_problem = str(error)
            else:
                if status == 200:
                    return
                last_problem = f"/healthz answered {status}"
            time.sleep(0.2)
        raise BenchError(
            f"gunicorn did not become healthy within {STARTUP_TIMEOUT_SECONDS}s "
            f"({last_problem}):\n{self.log_tail()}"
        )

    def stop(self) -> None:
        try:
            _stop(self.process)
        finally:
            if self.mail_worker is not None:
                self.mail_worker.stop()

    def log_tail(self, lines: int = 30) -> str:
        return _tail(self.log_path, "gunicorn", lines)

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: the master's children."""
        if self.process is None:
            return []
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def worker_rss_mib(self) -> list[float]:
        """The resident size of each worker now, in MiB (VmRSS), largest first."""
        sizes = []
        for pid in self.worker_pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
        return sorted(sizes, reverse=True)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer to count, not a page to follow."""

    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(NoRedirect)


def check_local(url: str) -> None:
    if not url.startswith(f"http://{HOST}:"):
        raise ValueError(f"benchmarks talk to {HOST} only, not {url}")


def fetch(url: str, timeout: float = 10, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """GET without following redirects; returns (status, Location header or '')."""
    check_local(url)
    try:
        with _opener.open(
            urllib.request.Request(url, headers=headers or {}),  # noqa: S310 - check_local
            timeout=timeout,
        ) as response:
            response.read()
            return response.status, ""
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location", "")
