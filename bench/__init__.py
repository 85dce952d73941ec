"""Benchmarks: `make bench` serves the demo site with gunicorn and loads it with wrk.

Each run measures the trivial route alongside the real pages, so every figure comes with its own
baseline from the same machine and the same minute. Nothing here is imported by the application.
"""
