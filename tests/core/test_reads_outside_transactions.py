"""On PostgreSQL a connection reads outside a transaction until its first write (or locking read),
which opens the transaction before it runs: a request that only reads sends no BEGIN and no
ROLLBACK (core/db.install_reads_outside_transactions), and writes stay atomic. SQLite keeps its
BEGIN (no round trip to save)."""

from __future__ import annotations

from sqlalchemy import event, select

from community.accounts.models import User
from community.core.db import db


def _raw_in_transaction(raw) -> bool:
    if db.engine.dialect.name == "postgresql":
        from psycopg import pq

        return raw.info.transaction_status != pq.TransactionStatus.IDLE
    return raw.in_transaction


def _in_transaction() -> bool:
    """Whether the database connection under the session is inside a transaction now."""
    return _raw_in_transaction(db.session.connection().connection.dbapi_connection)


def _user(email: str) -> User:
    return User(email=email, name="Reader", locale="en", role="member")


def test_plain_reads_open_no_transaction_on_postgresql_only(app):
    db.session.execute(select(User.id)).all()
    db.session.scalars(select(User).limit(1)).all()
    assert _in_transaction() is (db.engine.dialect.name == "sqlite")


def test_the_first_write_opens_the_transaction_and_a_rollback_undoes_it_all(app):
    db.session.execute(select(User.id)).all()
    db.session.add(_user("first@example.com"))
    db.session.flush()
    assert _in_transaction()
    db.session.add(_user("second@example.com"))
    db.session.flush()
    db.session.execute(select(User.id)).all()
    db.session.rollback()
    assert db.session.scalar(select(User.id).where(User.email.like("%@example.com"))) is None


def test_a_locking_read_opens_the_transaction(app, make_user):
    make_user(email="locked@example.com")
    db.session.commit()
    db.session.execute(select(User.id).where(User.email == "locked@example.com").with_for_update())
    assert _in_transaction()
    db.session.rollback()


def test_after_a_commit_reads_are_outside_a_transaction_again(app):
    db.session.add(_user("committed@example.com"))
    db.session.commit()
    assert db.session.scalar(select(User.email).where(User.email == "committed@example.com"))
    assert _in_transaction() is (db.engine.dialect.name == "sqlite")


def test_a_signed_in_visit_reads_outside_and_writes_inside_a_transaction(
    app, client, make_user, login
):
    """The first visit writes (the profile's private feed, the calendar's version record): each
    write runs inside a transaction. The second only reads: on PostgreSQL none of its statements
    opens one."""
    login(make_user(email="viewer@example.com"))
    client.get("/")  # the welcome message is shown (and gone)
    paths = ("/", "/events", "/account/profile", "/calendar.ics")
    sqlite = db.engine.dialect.name == "sqlite"
    seen: list[tuple[str, bool]] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        verb = statement.split(None, 1)[0].upper()
        if verb != "BEGIN":  # SQLite's, sent by us (core/db._begin_sqlite)
            seen.append((verb, _raw_in_transaction(cursor.connection)))

    event.listen(db.engine, "after_cursor_execute", note)
    try:
        for path in paths:
            assert client.get(path).status_code == 200
        first = list(seen)
        seen.clear()
        for path in paths:
            assert client.get(path).status_code == 200
    finally:
        event.remove(db.engine, "after_cursor_execute", note)
    writes = [inside for verb, inside in first if verb != "SELECT"]
    assert writes and all(writes)
    assert {verb for verb, _ in seen} == {"SELECT"}
    assert {inside for _, inside in seen} == {sqlite}


def test_a_connection_asked_to_autocommit_runs_what_no_transaction_may(app):
    """VACUUM (and CREATE INDEX CONCURRENTLY) refuse to run inside a transaction: a connection
    whose user asked for AUTOCOMMIT is never turned into one before a statement."""
    with db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        connection.exec_driver_sql(
            "VACUUM users" if db.engine.dialect.name == "postgresql" else "VACUUM"
        )
