"""The unit of work (core/transaction.py): a write transaction that never throws away work that is
not its own, nests as a savepoint, turns a lock timeout into Busy, and runs what waits for its
commit only once it has committed."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import IntegrityError

from community.accounts.models import User
from community.core import db as core_db
from community.core.db import db
from community.core.errors import Busy
from community.core.transaction import PendingWork, after_commit, write_transaction


class Stop(Exception):
    pass


def _names() -> list[str]:
    db.session.rollback()
    return sorted(db.session.scalars(select(User.name)))


def _person(name: str) -> User:
    return User(name=name, email=f"{name.lower()}@example.com", locale="en", role="member")


def test_a_write_transaction_refuses_to_discard_changes_nobody_committed(app):
    db.session.add(_person("Pending"))
    with pytest.raises(PendingWork), write_transaction():
        pass  # pragma: no cover - never entered
    db.session.commit()  # the caller's work was kept, and is still the caller's to commit
    assert _names() == ["Pending"]


def test_a_write_transaction_refuses_to_discard_statements_already_sent(app):
    db.session.add(_person("Flushed"))
    db.session.flush()  # in the database's open transaction, not committed
    with pytest.raises(PendingWork), write_transaction():
        pass  # pragma: no cover - never entered
    db.session.commit()
    assert _names() == ["Flushed"]


def test_a_read_only_transaction_is_ended_for_a_fresh_one(app):
    db.session.scalars(select(User)).all()  # a read snapshot, nothing to lose
    with write_transaction():
        db.session.add(_person("Fresh"))
    assert _names() == ["Fresh"]


def test_what_was_read_before_the_unit_is_read_again_inside_it(app):
    db.session.add(_person("Before"))
    db.session.commit()
    person = db.session.scalars(select(User)).one()  # read; the transaction stays open
    assert person.name == "Before"
    with db.engine.begin() as other:  # another process changes the row meanwhile
        other.execute(text("UPDATE users SET name = 'Changed'"))
    with write_transaction():
        # On SQLite the read transaction was ended; on PostgreSQL it goes on as the writer on
        # the same connection. Either way the unit sees what is committed, not what was read.
        assert person.name == "Changed"
        person.name = "Mine"
    assert _names() == ["Mine"]


def test_a_unit_that_keeps_its_objects_reads_nothing_back_after_its_commit(app):
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with write_transaction(expire_on_commit=False):
            person = _person("Kept")
            db.session.add(person)
        assert (person.name, person.email) == ("Kept", "kept@example.com")
        assert person.id is not None
        assert statements == []  # no SELECT to read the row back
        with write_transaction():
            person.name = "Expired"
        assert person.name == "Expired"
        assert len(statements) == 1  # the default: read again after the commit
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_an_error_rolls_the_unit_back_and_is_raised(app):
    with pytest.raises(Stop), write_transaction():
        db.session.add(_person("Gone"))
        db.session.flush()
        raise Stop
    assert _names() == []


def test_a_unit_inside_a_unit_is_a_savepoint_that_fails_alone(app):
    with write_transaction():
        db.session.add(_person("Outer"))
        with pytest.raises(Stop), write_transaction():
            db.session.add(_person("Inner"))
            db.session.flush()
            raise Stop
        db.session.add(_person("After"))
    assert _names() == ["After", "Outer"]


def test_what_waits_for_the_commit_runs_after_it_and_never_after_a_rollback(app):
    seen: list[tuple[str, list[str]]] = []

    def look(label: str):
        def action() -> None:
            with app.app_context():  # another session: it sees only what was committed
                seen.append((label, sorted(db.session.scalars(select(User.name)))))

        return action

    with write_transaction():
        db.session.add(_person("Kept"))
        after_commit(look("committed"))
        with pytest.raises(Stop), write_transaction():
            after_commit(look("inner, rolled back"))
            raise Stop
        with write_transaction():
            after_commit(look("inner, released"))
    with pytest.raises(Stop), write_transaction():
        after_commit(look("outer, rolled back"))
        raise Stop
    assert seen == [("committed", ["Kept"]), ("inner, released", ["Kept"])]


def test_an_action_after_commit_that_fails_does_not_undo_the_change(app, caplog):
    def broken() -> None:
        raise RuntimeError("after the fact")

    with write_transaction():
        db.session.add(_person("Stays"))
        after_commit(broken)
    assert _names() == ["Stays"]
    assert "an action after commit failed" in caplog.text


def test_an_action_asked_for_outside_a_unit_waits_for_the_next_commit(app):
    ran: list[str] = []
    after_commit(lambda: ran.append("ran"))
    assert ran == []
    with pytest.raises(Stop), write_transaction():
        raise Stop
    assert ran == []  # that one did not commit
    with write_transaction():
        pass
    assert ran == ["ran"]


def test_a_lock_held_too_long_by_another_writer_is_busy(make_app, database):
    backend, _ = database
    app = make_app(SQLITE_BUSY_TIMEOUT_MS=200)
    with app.app_context():
        other = db.engine.connect()
        try:
            if backend == "sqlite":
                # The database's one write lock, taken and kept by another connection.
                other = other.execution_options(sqlite_begin_immediate=True)
                other.begin()
                with pytest.raises(Busy), write_transaction():
                    pass  # pragma: no cover - the lock is never granted
            else:
                db.session.add(_person("Locked"))
                db.session.commit()
                transaction = other.begin()
                other.execute(text("UPDATE users SET name = 'Mine' WHERE name = 'Locked'"))
                with pytest.raises(Busy), write_transaction():
                    db.session.execute(text("SET LOCAL lock_timeout = '200ms'"))
                    db.session.execute(text("UPDATE users SET name = 'Yours'"))
                transaction.rollback()
        finally:
            other.close()


def test_a_pooled_connection_that_died_while_idle_is_replaced_before_use(app, database):
    backend, _ = database
    if backend == "sqlite":
        # Justified: install_idle_ping installs nothing on SQLite (a file, no server that can
        # end a connection); the same test runs against PostgreSQL whenever TEST_DATABASE_URL
        # is set, as in CI.
        pytest.skip("SQLite has no server connection to lose (the idle ping is PostgreSQL's)")
    with db.engine.connect() as other:  # held: the session's connection is another one
        dead_pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        db.session.rollback()  # back in the pool, idle
        # The server ends it, as a restart or a proxy would.
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dead_pid})
        other.commit()
    a_minute_later = time.monotonic() + 60
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(core_db.time, "monotonic", lambda: a_minute_later)
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    assert pid != dead_pid  # pinged on checkout, found dead, replaced: no error for anyone


def test_a_busy_connection_is_not_pinged_before_each_use(app, database):
    backend, _ = database
    if backend == "sqlite":
        # Justified: as above, there is no ping on SQLite to count; CI runs it on PostgreSQL.
        pytest.skip("SQLite has no server connection to ping (the idle ping is PostgreSQL's)")
    pings = []
    db.session.execute(text("SELECT 1"))
    db.session.rollback()
    original = db.engine.dialect.do_ping

    def counted_ping(dbapi_connection):
        pings.append(1)
        return original(dbapi_connection)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(db.engine.dialect, "do_ping", counted_ping)
        for _ in range(5):
            db.session.execute(text("SELECT 2"))
            db.session.rollback()
        assert pings == []  # used moments ago: no round trip before each checkout
        a_minute_later = time.monotonic() + 60
        patch.setattr(core_db.time, "monotonic", lambda: a_minute_later)
        db.session.execute(text("SELECT 3"))
        db.session.rollback()
    assert pings == [1]


def test_an_object_inserted_at_once_is_persistent_with_its_defaults_and_reads_nothing(app):
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement.lstrip().split()[0].upper())

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with write_transaction(expire_on_commit=False):
            person = User(name="Quick", email="quick@example.com", locale="en")
            core_db.insert_now(person)
            assert person.id is not None
            assert person in db.session and not db.session.new  # attached, nothing to flush
            # The columns' Python defaults were written, and given to the object too.
            assert (person.role, person.session_version) == ("member", 1)
            assert person.created_at is not None and person.password_hash is None
        # One statement (and SQLite's BEGIN IMMEDIATE); nothing read back, before or after.
        assert [kind for kind in statements if kind != "BEGIN"] == ["INSERT"]
        person.name = "Quicker"  # later changes are tracked like a loaded object's
        db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    db.session.expire_all()
    stored = db.session.get(User, person.id)
    assert (stored.name, stored.role, stored.created_at) == ("Quicker", "member", person.created_at)


def test_an_object_inserted_at_once_is_refused_by_a_constraint_like_a_flush(app):
    with write_transaction():
        db.session.add(_person("Taken"))
    with pytest.raises(IntegrityError), write_transaction():
        core_db.insert_now(User(name="Twin", email="taken@example.com", locale="en"))
    assert _names() == ["Taken"]  # nothing of the refused one is left
