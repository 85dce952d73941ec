"""The one exception a benchmark raises when it cannot go on (its message is meant for a person),
and the guard every benchmark's main() runs in.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable


class BenchError(Exception):
    """A step failed (database, server, wrk); the run stops, cleans up and exits non-zero."""


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def run_guarded(run: Callable[[], int]) -> int:
    """Run a benchmark: a BenchError or an interruption ends it with a message and a non-zero
    status (the benchmark's own `finally` blocks stop gunicorn and remove temporary files)."""
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
