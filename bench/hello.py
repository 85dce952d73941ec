"""The denominator of every figure in `make bench`: a hello-world Flask app, served by gunicorn
with the same settings as the application, and a route returning given bytes from memory (the
calendar feed's baseline: BENCH_HELLO_BYTES names a file, read once at start-up).

    gunicorn bench.hello:app
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response

app = Flask(__name__)

_BYTES_FILE = os.environ.get("BENCH_HELLO_BYTES", "")
_BYTES = Path(_BYTES_FILE).read_bytes() if _BYTES_FILE else b""
_BYTES_TYPE = os.environ.get("BENCH_HELLO_BYTES_TYPE", "application/octet-stream")


@app.get("/")
def hello() -> str:
    return "Hello, World!"


@app.get("/healthz")
def healthz() -> str:
    return "ok"


@app.get("/bytes")
def same_bytes() -> Response:
    return Response(_BYTES, content_type=_BYTES_TYPE)
