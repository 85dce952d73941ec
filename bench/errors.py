"""The one exception a benchmark raises when it cannot go on; its message is meant for a person."""


class BenchError(Exception):
    """A step failed (database, server, wrk); the run stops, cleans up and exits non-zero."""
