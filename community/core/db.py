"""The SQLAlchemy base every model inherits: naming convention, aware UTC datetimes, SQLite tuning,
the idle ping of pooled connections, and `insert_now` for a hot path's one-row INSERT.

Schema changes go through migrations only; nothing here creates tables.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, MetaData, event, insert, inspect
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, make_transient_to_detached
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """The one clock of the application (tests freeze it with time-machine)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """An aware datetime stored in UTC. Naive values are refused: their zone would be a guess."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} refused: pass an aware datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            # SQLite has no zone type: store naive UTC so that string comparison orders correctly.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _configure_sqlite(dbapi_connection, connection_record) -> None:
    # pysqlite's own transaction handling issues BEGIN lazily and never BEGIN IMMEDIATE; take it
    # over so that writers can lock first (see begin_write) and readers see WAL snapshots.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    timeout = getattr(connection_record, "info", {}).get("busy_timeout_ms", 15000)
    cursor.execute(f"PRAGMA busy_timeout={int(timeout)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_sqlite(conn) -> None:
    if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return  # asked for by its user (VACUUM cannot run in a transaction)
    immediate = conn.get_execution_options().get("sqlite_begin_immediate", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def install_sqlite_hooks(engine: Engine, busy_timeout_ms: int = 15000) -> None:
    if engine.dialect.name != "sqlite":
        return

    def remember_timeout(dbapi_connection, connection_record) -> None:
        connection_record.info["busy_timeout_ms"] = busy_timeout_ms

    # insert=True: it must run before _configure_sqlite reads the value.
    event.listen(engine, "connect", remember_timeout, insert=True)
    if not event.contains(engine, "connect", _configure_sqlite):
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)


# A pooled connection unused for longer than this is asked whether it still works before use.
IDLE_PING_SECONDS = 2.0


def install_idle_ping(engine: Engine, idle_seconds: float = IDLE_PING_SECONDS) -> None:
    """Pessimistic disconnect handling for connections that sat in the pool: one that was idle
    for more than `idle_seconds` (long enough for the database to have restarted, or a proxy to
    have dropped it) is pinged on checkout and, if dead, replaced before anyone uses it (the
    pool's documented DisconnectionError rule). A busy process reuses its connections within
    milliseconds and pays no round trip for them, as SQLAlchemy's pool_pre_ping would make it.
    SQLite has no server to lose."""
    if engine.dialect.name == "sqlite" or event.contains(engine, "checkin", _note_idle):
        return

    def ping_if_idle(dbapi_connection, connection_record, connection_proxy) -> None:
        idle_since = connection_record.info.get(_IDLE_SINCE)
        if idle_since is not None and time.monotonic() - idle_since <= idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise DisconnectionError("a pooled connection no longer answers") from error

    event.listen(engine, "connect", _note_idle)
    event.listen(engine, "checkin", _note_idle)
    event.listen(engine, "checkout", ping_if_idle)


_IDLE_SINCE = "community.idle_since"


# A plain read may run outside a transaction (install_reads_outside_transactions); no lock.
_READ_ONLY = re.compile(r"\s*SELECT\b", re.IGNORECASE)
_LOCKING = re.compile(r"\bFOR\s+(NO\s+KEY\s+UPDATE|UPDATE|KEY\s+SHARE|SHARE)\b", re.IGNORECASE)


def install_reads_outside_transactions(engine: Engine) -> None:
    """On PostgreSQL, a connection's reads run outside a transaction (autocommit) until its first
    statement that is not a plain SELECT: a request that only reads sends no BEGIN and no
    ROLLBACK, two of its three round trips for a one-query page. The first write (or locking
    read) turns autocommit off before it runs, so the driver sends BEGIN first and everything
    from there to the commit or rollback is one transaction, as before.

    Nothing is lost by the reads before it: at READ COMMITTED (the default, and ours) every
    statement of a transaction takes its own snapshot anyway, and a plain SELECT holds no lock
    a transaction would keep. Django runs every database this way. SQLite's BEGIN costs no
    round trip: it is left as it is."""
    if engine.dialect.name != "postgresql" or event.contains(engine, "checkout", _read_outside):
        return
    event.listen(engine, "checkout", _read_outside)
    event.listen(engine, "before_cursor_execute", _write_inside)


def _read_outside(dbapi_connection, connection_record, connection_proxy) -> None:
    dbapi_connection.autocommit = True


def _write_inside(conn, cursor, statement, parameters, context, executemany) -> None:
    dbapi_connection = cursor.connection
    if not dbapi_connection.autocommit:
        return
    if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return  # asked for by its user (VACUUM, CREATE INDEX CONCURRENTLY: never in a transaction)
    if executemany or not _READ_ONLY.match(statement) or _LOCKING.search(statement):
        dbapi_connection.autocommit = False


def _note_idle(dbapi_connection, connection_record) -> None:
    connection_record.info[_IDLE_SINCE] = time.monotonic()


def begin_write(session) -> None:
    """Open the session's transaction as a writer: BEGIN IMMEDIATE on SQLite, plain BEGIN elsewhere.

    Call first in a transaction that must not interleave with another writer: SQLite then takes its
    write lock up front (waiting up to the busy timeout) instead of failing later with SQLITE_BUSY.
    """
    session = session() if callable(session) and not hasattr(session, "in_transaction") else session
    if not session.in_transaction():
        session.connection(execution_options={"sqlite_begin_immediate": True})


db = SQLAlchemy(model_class=Base)


def insert_now(instance) -> None:
    """INSERT a new object's row at once with one prebuilt Core statement, and attach the object
    to the session as if it had been loaded: the unit of work's flush (its dependency sorting and
    bookkeeping, most of the cost of a one-row INSERT) is skipped on a hot path.

    Every column is written: the object's value, else the column's Python default (which the
    object is then given too), else NULL; the new primary key is set on the object. Objects in
    its relationships are not inserted by this (add them to the session: the next flush does).
    A constraint's refusal raises IntegrityError here, as a flush would."""
    mapper = inspect(instance).mapper
    statement, keys = _insert_for(mapper)
    values = instance.__dict__
    for key, column in keys:
        if key not in values:
            default = column.default
            if default is None:
                value = None
            elif default.is_callable:
                value = default.arg(None)
            else:
                value = default.arg
            setattr(instance, key, value)
    row = db.session.execute(statement, {column.key: values[key] for key, column in keys})
    (primary_key,) = mapper.primary_key
    setattr(instance, mapper.get_property_by_column(primary_key).key, row.scalar_one())
    make_transient_to_detached(instance)
    session = db.session()
    session.add(instance)
    # Attached as if loaded, the session would keep it through a rollback that took its row
    # away (and SQLite gives the next row the same id): it is let go when the transaction is.
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_INSERTED_NOW, []).append((instance, transaction))


_INSERTED_NOW = "core.inserted_now"


def _forget_rolled_back_inserts(session, previous_transaction) -> None:
    """The rolled-back transaction's own inserts (and its savepoints') leave the session."""
    kept = []
    for instance, transaction in session.info.get(_INSERTED_NOW, ()):
        inside = transaction
        while inside is not None and inside is not previous_transaction:
            inside = inside.parent
        if inside is None:
            kept.append((instance, transaction))
        elif instance in session:
            session.expunge(instance)
    session.info[_INSERTED_NOW] = kept


def _keep_committed_inserts(session) -> None:
    session.info.pop(_INSERTED_NOW, None)


def install_insert_now_bookkeeping() -> None:
    """Objects inserted by insert_now leave the session when their transaction rolls back, as
    those inserted by a flush do (once per process)."""
    for name, listener in (
        ("after_soft_rollback", _forget_rolled_back_inserts),
        ("after_commit", _keep_committed_inserts),
    ):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


_INSERTS: dict = {}


def _insert_for(mapper):
    """The mapper's INSERT … RETURNING its key and the (attribute, column) pairs it writes."""
    found = _INSERTS.get(mapper)
    if found is None:
        table = mapper.local_table
        (primary_key,) = mapper.primary_key
        keys = tuple(
            (mapper.get_property_by_column(column).key, column)
            for column in table.columns
            if column is not primary_key
        )
        statement = insert(table).returning(primary_key)
        found = _INSERTS[mapper] = (statement, keys)
    return found


def render_migration_item(type_, obj, autogen_context):
    """Write UTCDateTime into migrations as its plain type, so that they import nothing of ours."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def insert_missing(table, rows: list[dict]) -> int:
    """INSERT the rows that no unique constraint refuses, in one statement (ON CONFLICT DO
    NOTHING, on both databases); returns how many went in. For rows that several processes may
    make at the same moment, where the first one made is the one."""
    if not rows:
        return 0
    dialect = db.session.get_bind().dialect.name
    dialect_insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    # RETURNING gives back only the rows that went in (a row count is not known for many rows
    # on every driver).
    (key,) = table.primary_key.columns
    statement = dialect_insert(table).on_conflict_do_nothing().returning(key)
    return len(db.session.execute(statement, rows).all())


def read_rows(statement, parameters: dict | None = None):
    """Plain rows of a SELECT, run on the session's connection (its transaction) without the
    ORM's layer: for the small reads every request makes (stamps, versions), where that layer
    costs more than the query."""
    return db.session.connection().execute(statement, parameters or {})
