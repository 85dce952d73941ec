"""One unit of work: the write transaction every service opens, and what runs once it commits.

`write_transaction()` starts a transaction as a writer (BEGIN IMMEDIATE on SQLite; on PostgreSQL
the caller then takes its row locks by writing first), commits it at the end of the block, rolls
it back on any error and turns a lock timeout into `Busy`. It never throws away work that is not
its own: inside another unit it nests as a savepoint, and outside one it refuses to start while
the session holds changes nobody has committed (`PendingWork`), where a plain rollback would
silently lose them. A read-only transaction under way is ended first on SQLite (it cannot
become a writer, and its snapshot may be stale); on PostgreSQL, where each statement sees what
is committed (READ COMMITTED), it goes on as the writer on the same connection, with everything
the session had read expired so that it is read again.

`after_commit(action)` queues what must happen only once the change is durable (ask Stripe for a
refund, wake the mail outbox). The actions run in order after the outermost commit; a nested
unit's actions are kept only if its savepoint was released; an action's failure is logged and
never undoes the committed change. Outside a unit, the action waits for the next unit to commit.

What does not live here: the locks themselves (each domain knows which row to write first).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import event, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from community.core import db as core_db
from community.core.db import db
from community.core.errors import Busy

log = logging.getLogger(__name__)

_UNIT = "community.unit"
_WROTE = "community.wrote"
_WAITING = "community.after_next_commit"
BUSY_MESSAGE = _l("We are very busy right now. Please try again in a moment.")


class PendingWork(RuntimeError):
    """A write transaction was asked for while the session held uncommitted changes of its own:
    a programming error (commit them, or open the unit around them), never a person's."""


@dataclass
class Unit:
    """The transaction under way: what it will do once committed."""

    actions: list[Callable[[], object]] = field(default_factory=list)
    parent: Unit | None = None

    def after_commit(self, action: Callable[[], object]) -> None:
        self.actions.append(action)


def current_unit() -> Unit | None:
    return db.session().info.get(_UNIT)


def after_commit(action: Callable[[], object]) -> None:
    """Run `action` once the current unit has committed (or the next one, outside a unit)."""
    unit = current_unit()
    if unit is not None:
        unit.after_commit(action)
    else:
        db.session().info.setdefault(_WAITING, []).append(action)


def has_pending_work(session: Session) -> bool:
    """Whether the session holds changes that a rollback would lose: unflushed objects, or
    statements already sent in its open transaction."""
    if session.new or session.deleted:
        return True
    if any(session.is_modified(instance) for instance in session.dirty):
        return True
    return bool(session.in_transaction() and session.info.get(_WROTE))


@contextmanager
def write_transaction(*, expire_on_commit: bool = True) -> Iterator[Unit]:
    """Open a unit of work (see the module's opening): commit at the end, roll back on error.

    `expire_on_commit=False` keeps what the session holds as it is after the commit, where the
    caller knows its objects hold what the unit wrote (a row it has just inserted, answered at
    once) and would otherwise read each one back. Only the outermost unit's commit decides."""
    session = db.session()
    outer = session.info.get(_UNIT)
    if outer is not None:
        yield from _nested(session, outer)
        return
    if session.in_transaction():
        if has_pending_work(session):
            raise PendingWork("the session holds uncommitted changes: commit them first")
        if session.get_bind().dialect.name == "sqlite":
            session.rollback()
        else:
            session.expire_all()  # read again in the writer; the connection stays
    waiting = session.info.pop(_WAITING, [])
    unit = Unit(actions=list(waiting))
    try:
        try:
            core_db.begin_write(session)
            session.info[_UNIT] = unit
            yield unit
            session.expire_on_commit = expire_on_commit
            session.commit()
        finally:
            session.expire_on_commit = True
            session.info.pop(_UNIT, None)
    except BaseException as error:
        session.rollback()
        # What waited for a commit still waits: this one did not happen.
        session.info.setdefault(_WAITING, [])[:0] = waiting
        if isinstance(error, OperationalError):
            raise Busy(BUSY_MESSAGE) from error
        raise
    for action in unit.actions:
        try:
            action()
        except Exception:
            log.exception("an action after commit failed; the committed change stands")


def _nested(session: Session, outer: Unit) -> Iterator[Unit]:
    unit = Unit(parent=outer)
    session.info[_UNIT] = unit
    try:
        with session.begin_nested():
            yield unit
    finally:
        session.info[_UNIT] = outer
    outer.actions.extend(unit.actions)  # kept only once the savepoint is released


def _remember_writes(orm_execute_state) -> None:
    if orm_execute_state.is_insert or orm_execute_state.is_update or orm_execute_state.is_delete:
        orm_execute_state.session.info[_WROTE] = True


def _remember_flush(session: Session, flush_context) -> None:
    session.info[_WROTE] = True


def _forget_writes(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_WROTE, None)


def install_write_tracking() -> None:
    """Have every session remember whether its open transaction has written (once per process)."""
    for name, listener in (
        ("do_orm_execute", _remember_writes),
        ("after_flush", _remember_flush),
        ("after_transaction_end", _forget_writes),
    ):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


def replace_secret(row, column: str, new_value: str, *, read_value=None, **also) -> bool:
    """Set `row.<column>` (a token, a nonce) to `new_value` only if it still holds what this
    request read, in a unit of work of its own: of two simultaneous replacements one wins and
    the other gets False (its secret was already dead), so that no e-mail carries a dead link.
    A lock timeout is Busy. `also` are further columns to set with it. `read_value`: what the
    request read, when that was before an enclosing unit began (its start re-reads the row)."""
    model = type(row)
    if read_value is None:
        read_value = getattr(row, column)
    with write_transaction():
        replaced = db.session.execute(
            update(model)
            .where(model.id == row.id, getattr(model, column) == read_value)
            .values({column: new_value, **also})
            .execution_options(synchronize_session=False)
        )
    db.session.refresh(row)
    return replaced.rowcount == 1


def lock_row(model, row_id: int, column):
    """The row of `model` with this id, re-read once this transaction holds its lock by writing
    `column` (one of its columns) onto itself: the lock-by-writing-first rule for one row. None
    if there is no such row."""
    locked = db.session.execute(
        update(model)
        .where(model.id == row_id)
        .values({column.key: column})
        .execution_options(synchronize_session=False)
    )
    if locked.rowcount != 1:
        return None
    return db.session.get(model, row_id, populate_existing=True)
