"""How many cases each queue holds, kept by delta in the transaction that moves them.

A queue is (kind, state, assignee): ``queue_count`` holds its count, spread over ``SHARDS``
rows so that concurrent writers seldom meet on one row. The deltas are taken from what the
session flushes (a new case, a change of kind, state or assignee: ``Case`` keeps the replaced
values, ``active_history``), whatever code made the change, and written when the transaction
commits, as its last statement: one ``INSERT ... ON CONFLICT DO UPDATE SET n = n + delta``, so a
row lock on a hot queue is held from that statement to the commit only. A transaction that rolls
back (or dies) takes its deltas with it; a savepoint rolled back drops those flushed inside it.

``recount_queues`` rebuilds the table from the cases (``flask recount-queues``, and a test
compares after random and concurrent work); ``queue_count_drift`` says what differs.
"""
from __future__ import annotations

import random
from collections import Counter

from sqlalchemy import event, func, inspect, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import Case, QueueCount
from app.services.cases.guards import OPEN_DONE
from app.services.transaction import use_case

SHARDS = 8
NOBODY = 0  # the assignee key of a case nobody handles yet
_PENDING = "queue_count_deltas"  # session.info: [(transaction, key, delta)]

Key = tuple[str, str, int]  # (kind, state, assignee id or NOBODY)


_KEYED = ("kind", "state", "assignee_id")


def _before(case: Case) -> Key:
    """The queue the case was in at the last flush (``committed_state`` keeps each replaced
    value; ``active_history`` on the columns makes sure it was loaded)."""
    committed = inspect(case).committed_state
    return _key(*(committed.get(name, getattr(case, name)) for name in _KEYED))


def _key(kind: str, state: str, assignee_id: int | None) -> Key:
    return (str(kind), str(state), assignee_id or NOBODY)


@event.listens_for(Session, "before_flush")
def _collect(session: Session, flush_context, instances) -> None:
    transaction = session.get_nested_transaction() or session.get_transaction()
    pending = session.info.setdefault(_PENDING, [])
    for obj in session.new:
        if isinstance(obj, Case):
            pending.append((transaction, _key(obj.kind, obj.state, obj.assignee_id), 1))
    for obj in session.dirty:
        if isinstance(obj, Case):
            before, after = _before(obj), _key(obj.kind, obj.state, obj.assignee_id)
            if before != after:
                pending += [(transaction, before, -1), (transaction, after, 1)]
    for obj in session.deleted:
        if isinstance(obj, Case):
            pending.append((transaction, _before(obj), -1))


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction) -> None:
    """Drop the deltas flushed inside the transaction (or savepoint) that rolled back."""
    pending = session.info.get(_PENDING)
    if not pending:
        return

    def inside(transaction) -> bool:
        while transaction is not None:
            if transaction is previous_transaction:
                return True
            transaction = transaction.parent
        return False

    session.info[_PENDING] = [entry for entry in pending if not inside(entry[0])]


@event.listens_for(Session, "before_commit")
def _write(session: Session) -> None:
    """Also on a savepoint's release: what it wrote is part of the outer transaction."""
    if not session.info.get(_PENDING) and not any(isinstance(o, Case) for o in (*session.new, *session.dirty)):
        return
    session.flush()  # the last changes' deltas too, before they are written
    totals: Counter[Key] = Counter()
    for _, key, delta in session.info.pop(_PENDING, []):
        totals[key] += delta
    rows = [(key, n) for key, n in sorted(totals.items()) if n]  # one order for every writer
    if not rows:
        return
    shard = random.randrange(SHARDS)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(QueueCount).values([
        {"kind": kind, "state": state, "assignee_id": assignee, "shard": shard, "n": n}
        for (kind, state, assignee), n in rows
    ])
    stmt = stmt.on_conflict_do_update(
        index_elements=["kind", "state", "assignee_id", "shard"], set_={"n": QueueCount.n + stmt.excluded.n},
    )
    session.execute(stmt)


def queue_counts() -> dict[Key, int]:
    """Cases per (kind, state, assignee or NOBODY), every state, from the counter table."""
    rows = db.session.execute(
        select(QueueCount.kind, QueueCount.state, QueueCount.assignee_id, func.sum(QueueCount.n))
        .group_by(QueueCount.kind, QueueCount.state, QueueCount.assignee_id)
    )
    return {(kind, state, assignee): int(n) for kind, state, assignee, n in rows if n}


def open_queue_counts(user_id: int | None = None) -> dict[tuple[str, str], dict[str, int]]:
    """Per open (kind, state): ``open`` (all), ``nobody`` (not handled yet) and, for a user,
    ``mine``; from the counter table, so it costs the same at a million cases as at ten."""
    result: dict[tuple[str, str], dict[str, int]] = {}
    for (kind, state, assignee), n in queue_counts().items():
        if state in OPEN_DONE.get(kind, ()):
            continue
        entry = result.setdefault((kind, state), {"open": 0, "nobody": 0, "mine": 0})
        entry["open"] += n
        if assignee == NOBODY:
            entry["nobody"] += n
        elif user_id is not None and assignee == user_id:
            entry["mine"] += n
    return result


def counted_from_cases() -> dict[Key, int]:
    """The same figures counted from the cases themselves (a full scan: for checks)."""
    assignee = func.coalesce(Case.assignee_id, NOBODY)
    rows = db.session.execute(
        select(Case.kind, Case.state, assignee, func.count()).group_by(Case.kind, Case.state, assignee)
    )
    return {(kind, state, who): n for kind, state, who, n in rows}


def queue_count_drift() -> dict[Key, tuple[int, int]]:
    """Queues whose kept count differs from a recount: key -> (kept, counted). Empty when right."""
    kept, counted = queue_counts(), counted_from_cases()
    return {k: (kept.get(k, 0), counted.get(k, 0)) for k in kept.keys() | counted.keys()
            if kept.get(k, 0) != counted.get(k, 0)}


@use_case
def recount_queues() -> dict[Key, tuple[int, int]]:
    """Rebuild ``queue_count`` from the cases; returns what was wrong (key -> (kept, counted)).

    On PostgreSQL the table is locked against the writers' deltas first: a transaction that
    moved a case meanwhile waits to add its delta until the recount is committed, and the
    recount (a snapshot taken after the lock) does not include its uncommitted change, so the
    delta lands on the right base.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(QueueCount.__table__.select().limit(0))  # begin before the lock
        db.session.connection().exec_driver_sql("LOCK TABLE queue_count IN SHARE ROW EXCLUSIVE MODE")
    kept, counted = queue_counts(), counted_from_cases()
    drift = {k: (kept.get(k, 0), counted.get(k, 0)) for k in kept.keys() | counted.keys()
             if kept.get(k, 0) != counted.get(k, 0)}
    db.session.execute(QueueCount.__table__.delete())
    if counted:
        db.session.execute(QueueCount.__table__.insert(), [
            {"kind": k, "state": s, "assignee_id": a, "shard": 0, "n": n} for (k, s, a), n in counted.items()
        ])
    db.session.info.pop(_PENDING, None)
    db.session.commit()
    return drift
