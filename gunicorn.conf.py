"""gunicorn's settings for `gunicorn wsgi:app` (read from the working directory).

The configuration is checked once in the master before any worker starts, so that an unsafe
production configuration stops the server with its one-line reason instead of workers that are
started and stopped again forever.
"""

import os

from community.config import build_config, deployment_warnings

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
accesslog = "-"
# Manage links, private feeds and e-mailed links carry secrets in their paths: never log them.
logger_class = "community.core.accesslog.RedactingLogger"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server):
    config = build_config()  # raises ConfigurationError (a SystemExit with one line) when unsafe
    for warning in deployment_warnings(config, server.cfg.workers):
        server.log.warning("community: %s", warning)
