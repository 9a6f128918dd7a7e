"""Answers read once per transaction: the steps of one use case ask the same question of the
database (is this account verified for its subject, what does this policy version say, did the
calendar's overrides change) and get the answer of the first asking, as long as nothing the
transaction did since could have changed it (issue 16, item 5: a submission asked each twice).

An answer is kept in ``session.info`` with the transaction it was read in and the tables it was
read from. It is forgotten when that transaction ends (a commit, a rollback, and a savepoint's
rollback too: the next transaction reads afresh, so another transaction's commit is seen from
the next use case on, as before), and when the session writes one of its tables: a flush of an
object of the table, or an ORM INSERT, UPDATE or DELETE statement on it. Objects of those
tables changed in the session but not flushed yet make it ask again (the query would have
flushed them). Statements written as text are not seen: the tables kept here are written
through the ORM.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable
from itertools import chain
from typing import TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db

T = TypeVar("T")
_KEY = "answers_of_this_transaction"  # session.info: (transaction, {key: (answer, tables)})


def once_per_transaction(key: Hashable, models: tuple[type, ...], read: Callable[[], T]) -> T:
    """The answer ``read()`` gave in this transaction, or ``read()``'s now, kept for the rest of
    it; ``models`` are the mapped classes whose tables it reads."""
    session = db.session()
    tables = frozenset(model.__table__ for model in models)
    kept = session.info.get(_KEY)
    if kept is not None and kept[0] is session.get_transaction() and key in kept[1]:
        answer, _ = kept[1][key]
        if not _unflushed(session, tables):
            return answer
    answer = read()
    keep(key, models, answer)
    return answer


def keep(key: Hashable, models: tuple[type, ...], answer) -> None:
    """Keep ``answer`` for ``key`` in the session's transaction (read by the caller just now)."""
    session = db.session()
    transaction = session.get_transaction()
    if transaction is None:  # nothing was read in a transaction: nothing to keep it for
        return
    kept = session.info.get(_KEY)
    if kept is None or kept[0] is not transaction:
        kept = session.info[_KEY] = (transaction, {})
    kept[1][key] = (answer, frozenset(model.__table__ for model in models))


def forget_answers(session: Session) -> None:
    """Forget every answer kept in the session (a test's session that outlives its requests
    forgets them at each request's end, as a new session would)."""
    session.info.pop(_KEY, None)


def _unflushed(session: Session, tables: frozenset) -> bool:
    return any(getattr(type(obj), "__table__", None) in tables
               for obj in chain(session.new, session.dirty, session.deleted))


def _kept(session: Session) -> bool:
    kept = session.info.get(_KEY)
    return bool(kept and kept[1])


def _forget(session: Session, tables) -> None:
    kept = session.info[_KEY]
    for key in [k for k, (_, read_from) in kept[1].items() if read_from & tables]:
        del kept[1][key]


@event.listens_for(Session, "before_flush")
def _on_flush(session: Session, flush_context, instances) -> None:
    if _kept(session):
        _forget(session, {getattr(type(obj), "__table__", None)
                          for obj in chain(session.new, session.dirty, session.deleted)})


@event.listens_for(Session, "do_orm_execute")
def _on_statement(state) -> None:
    if (state.is_insert or state.is_update or state.is_delete) and _kept(state.session):
        table = getattr(state.statement, "table", None)
        _forget(state.session, {table} if table is not None else set())


@event.listens_for(Session, "after_soft_rollback")
def _on_rollback(session: Session, previous_transaction) -> None:
    forget_answers(session)


@event.listens_for(Session, "after_commit")
def _on_commit(session: Session) -> None:
    forget_answers(session)
