"""The app served by real gunicorn processes on this test's database, for tests whose point is
several processes (the micro-cache, races): `with gunicorn_serving(app, smtp_server, tmp_path)
as base:` yields the base URL, and stops the server after."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]


def wait_until_healthy(base: str, process, log, log_path) -> None:
    """Until `base`/healthz answers 200; fails the test, with the server's log, if the process
    ends or 30 seconds pass first."""
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("the server did not start:\n" + log_path.read_text())
            time.sleep(0.2)


@contextmanager
def gunicorn_serving(
    app,
    smtp_server,
    tmp_path,
    *,
    workers: int = 4,
    threads: int = 4,
    access_log=None,
    log_path=None,
    **env,
):
    """Serve wsgi:app with the test app's database, secret and SMTP server, with gunicorn.conf.py
    as in production; `env` adds to the environment (e.g. PAGE_CACHE_SECONDS="60"), and
    `access_log` is a path for gunicorn's access log (none by default), `log_path` one for its
    error log (the processes' tracebacks)."""
    port = free_port()
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "COMMUNITY_"))},
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "BASE_URL": f"http://127.0.0.1:{port}",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_server.port),
        "RATELIMIT_ENABLED": "false",
        "COMMUNITY_ENV": "test",
        **env,
    }
    log_path = log_path or tmp_path / f"gunicorn-{port}.log"
    log = log_path.open("w")
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn), "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--threads", str(threads), "--worker-class", "gthread",
         "--access-logfile", str(access_log or "/dev/null"), "wsgi:app"],
        cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, process, log, log_path)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
