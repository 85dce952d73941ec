"""The throw-away database a benchmark runs against: a SQLite file or a PostgreSQL schema.

It is created empty, brought up to date by the migrations and filled by `seed-demo`, both run as
the real CLI in a subprocess; it is removed again when the run ends. The project's own database
(instance/community.db) is never touched.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bench.errors import BenchError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CLI_TIMEOUT_SECONDS = 180


@dataclass
class BenchDatabase:
    backend: str  # "sqlite" or "postgresql"
    url: str  # what the application is given as DATABASE_URL
    server_version: str = ""
    _admin_conninfo: str = ""
    _schema: str = ""

    def drop(self) -> None:
        """Remove a PostgreSQL schema; a SQLite file goes with its temporary directory."""
        if self.backend != "postgresql" or not self._schema:
            return
        import psycopg
        from psycopg import sql

        statement = sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self._schema))
        try:
            with psycopg.connect(self._admin_conninfo, autocommit=True, connect_timeout=10) as conn:
                conn.execute(statement)
        except psycopg.Error as error:
            # Cleanup must not hide the error that ended the run; say what is left behind.
            print(f"warning: could not drop schema {self._schema}: {error}", file=sys.stderr)
        self._schema = ""


def create_database(workdir: Path, postgres_url: str | None) -> BenchDatabase:
    if not postgres_url:
        return BenchDatabase(
            backend="sqlite",
            url=f"sqlite:///{workdir / 'bench.db'}",
            server_version=_sqlite_version(),
        )
    return _create_postgres_schema(postgres_url)


def _sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


def _create_postgres_schema(url: str) -> BenchDatabase:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    if parts.scheme not in {"postgresql+psycopg", "postgresql", "postgres"}:
        raise BenchError(f"BENCH_DATABASE_URL must be a PostgreSQL URL, not {parts.scheme}://…")
    admin_conninfo = urlunsplit(parts._replace(scheme="postgresql"))
    schema = f"bench_{secrets.token_hex(6)}"
    try:
        with psycopg.connect(admin_conninfo, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
            server_version = conn.execute("SHOW server_version").fetchone()[0]
    except psycopg.Error as error:
        raise BenchError(f"cannot create a schema in BENCH_DATABASE_URL: {error}") from error
    # Every connection the application opens, migrations included, starts in the new schema.
    query = dict(parse_qsl(parts.query))
    search_path = f"-csearch_path={schema}"
    query["options"] = f"{search_path} {query['options']}" if "options" in query else search_path
    app_url = urlunsplit(parts._replace(scheme="postgresql+psycopg", query=urlencode(query)))
    return BenchDatabase(
        backend="postgresql",
        url=app_url,
        server_version=server_version,
        _admin_conninfo=admin_conninfo,
        _schema=schema,
    )


def prepare(database: BenchDatabase, app_env: dict[str, str]) -> None:
    """Run the migrations and load the demo data through the real CLI."""
    for arguments in (["db", "upgrade"], ["seed-demo"]):
        command = [sys.executable, "-m", "flask", "--app", "wsgi", *arguments]
        try:
            completed = subprocess.run(
                command,
                cwd=PROJECT_ROOT,
                env=app_env,
                capture_output=True,
                text=True,
                timeout=CLI_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise BenchError(
                f"`flask {' '.join(arguments)}` took over {CLI_TIMEOUT_SECONDS}s"
            ) from error
        if completed.returncode != 0:
            output = (completed.stdout + completed.stderr).strip()
            raise BenchError(
                f"`flask {' '.join(arguments)}` failed ({completed.returncode}):\n{output}"
            )


def application_environment(database: BenchDatabase) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database.url,
            "SECRET_KEY": "bench-" + secrets.token_hex(32),
            "RATELIMIT_ENABLED": "false",
            "COMMUNITY_ENV": "development",
        }
    )
    env.pop("FLASK_DEBUG", None)
    return env
