"""The SQL of the SLA sweep: timers marked due soon or breached, and their notices, by the set.

Each phase is one statement on PostgreSQL, whatever the number of timers: a data-modifying
``WITH`` that picks the timers (``FOR UPDATE SKIP LOCKED``: a second sweep running at the same
time takes the others, or none), marks them, and writes their notices with the fan-out of
``notices.bulk``. On SQLite, which serialises writers: per chunk of ``CHUNK`` timers, an
``UPDATE ... RETURNING`` of the marks, then the notices by ``INSERT ... SELECT``.

What the notices say and whom they go to is the per-timer rule of the sweep written as joins:
the clocks' rules (``binds``, ``on_breach``) are a ``VALUES`` list made from the workflows; the
keys and payloads carry the deadline as Python's ``isoformat()`` writes it, so they are the
keys the per-row sweep wrote.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, text

from app.extensions import db
from app.models.base import UTCDateTime
from app.models.enums import Role, TimerStatus
from app.services.notices import bulk
from workflows import APPLICANT, CASE_WORKFLOWS, DEPARTMENT

CHUNK = 10_000  # SQLite: timers marked and told per round (the ids travel as one JSON array)

DUE_SOON, BREACHED = "sla_due_soon", "sla_breached"


@dataclass(frozen=True)
class Phase:
    mark: str  # the column the phase sets
    due: str  # which running timers are due for it
    template: str


PHASES = {
    DUE_SOON: Phase("due_soon_at", "due_soon_at IS NULL AND due_at <= :horizon AND due_at >= :now", DUE_SOON),
    BREACHED: Phase("breached_at", "breached_at IS NULL AND due_at < :now", BREACHED),
}


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# (kind, clock, binds, fires): fires is 1 when the clock's breach fires a transition of its own.
RULES = "VALUES " + ", ".join(
    f"({_quote(kind)}, {_quote(c.name)}, {_quote(c.binds)}, {int(bool(c.on_breach))})"
    for kind, workflow in CASE_WORKFLOWS.items() for c in workflow.clocks
)
SUPERVISORS = f"SELECT id FROM user_account WHERE role = '{Role.SUPERVISOR}' AND is_active"


def _iso(column: str, dialect: str) -> str:
    """``column`` (an instant) as ``datetime.isoformat()`` writes it in UTC: no fraction when whole."""
    if dialect == "postgresql":
        utc = f"({column} AT TIME ZONE 'UTC')"
        return (
            f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN date_trunc('second', {column}) = {column} "
            f"THEN '' ELSE to_char({utc}, '.US') END || '+00:00'"
        )
    # SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff' (SQLAlchemy's format, in UTC: ``UTCDateTime``).
    fraction = f"substr({column}, 21, 6)"
    return (
        f"replace(substr({column}, 1, 19), ' ', 'T') || CASE WHEN {fraction} IN ('', '000000') "
        f"THEN '' ELSE '.' || {fraction} END || '+00:00'"
    )


def _timers(marked: str, dialect: str, where: str) -> str:
    """The marked timers (a relation of id, case_id, clock, due_at) with their case and rule."""
    return (
        f"SELECT m.id, c.number, m.clock, {_iso('m.due_at', dialect)} AS due_iso, r.binds, "
        "c.department_id, c.applicant_id, c.assignee_id "
        f"FROM {marked} AS m JOIN \"case\" AS c ON c.id = m.case_id "
        "JOIN rules AS r ON r.kind = c.kind AND r.clock = m.clock "
        f"WHERE {where}"
    )


def _payload(dialect: str) -> str:
    build = "json_build_object" if dialect == "postgresql" else "json_object"
    return f"{build}('case', x.number, 'clock', x.clock, 'due_at', x.due_iso)"


def _due_soon_notices(marked: str, dialect: str) -> str:
    """Whom a deadline binds is reminded: its department, its applicant, else the case's
    handler, else every active supervisor. A clock that fires a transition of its own reminds
    no one, unless it binds the applicant (who can still act in time)."""
    timers = _timers(marked, dialect, f"r.fires = 0 OR r.binds = '{APPLICANT}'")
    to_department = f"t.binds = '{DEPARTMENT}' AND t.department_id IS NOT NULL"
    to_staff = f"t.binds <> '{APPLICANT}' AND NOT ({to_department})"
    columns = "t.id, t.number, t.clock, t.due_iso"
    recipients = (
        f"SELECT {columns}, CAST(NULL AS INTEGER) AS user_id, t.department_id FROM timers AS t WHERE {to_department} "
        f"UNION ALL SELECT {columns}, t.applicant_id, NULL FROM timers AS t WHERE t.binds = '{APPLICANT}' "
        f"UNION ALL SELECT {columns}, t.assignee_id, NULL FROM timers AS t "
        f"WHERE {to_staff} AND t.assignee_id IS NOT NULL "
        f"UNION ALL SELECT {columns}, s.id, NULL FROM timers AS t CROSS JOIN supervisors AS s "
        f"WHERE {to_staff} AND t.assignee_id IS NULL"
    )
    return (
        f"WITH timers AS ({timers}) "
        "SELECT 'due-soon:' || x.id || ':' || x.due_iso || ':' || COALESCE(CAST(x.user_id AS TEXT), 'd' || x.department_id) "
        f"AS key, {_payload(dialect)} AS payload, x.user_id, x.department_id FROM ({recipients}) AS x"
    )


def _breach_notices(marked: str, dialect: str) -> str:
    """A breach is escalated to every active supervisor, unless its clock fires a transition
    (a lapse, a close: no one's failure)."""
    return (
        f"SELECT 'breach:' || x.id || ':' || x.due_iso || ':' || s.id AS key, {_payload(dialect)} AS payload, "
        "s.id AS user_id, CAST(NULL AS INTEGER) AS department_id "
        f"FROM ({_timers(marked, dialect, 'r.fires = 0')}) AS x CROSS JOIN supervisors AS s"
    )


NOTICES = {DUE_SOON: _due_soon_notices, BREACHED: _breach_notices}


def run_phase(name: str, now: datetime, horizon: datetime, next_attempt: datetime) -> tuple[int, int]:
    """Mark the timers due for phase ``name`` and write their notices: (timers marked, new notices)."""
    phase = PHASES[name]
    params = {"now": now, "horizon": horizon, "next_attempt": next_attempt}
    if db.session.get_bind().dialect.name == "postgresql":
        return _postgres(phase, params)
    return _sqlite(phase, params)


def _postgres(phase: Phase, params: dict) -> tuple[int, int]:
    marked = (
        f"UPDATE timer AS t SET {phase.mark} = :now "
        f"FROM (SELECT id FROM timer WHERE status = '{TimerStatus.RUNNING}' AND {phase.due} "
        "FOR UPDATE SKIP LOCKED) AS pick WHERE t.id = pick.id "
        "RETURNING t.id, t.case_id, t.clock, t.due_at"
    )
    notices = NOTICES[phase.template]("marked", "postgresql")
    # The due-soon relation brings its own WITH: as a CTE it is a subquery, so it nests.
    statement = (
        f"WITH rules (kind, clock, binds, fires) AS ({RULES}), supervisors AS ({SUPERVISORS}), "
        f"marked AS ({marked}), notices AS ({notices})"
        f"{bulk.postgres_ctes(phase.template, 'notices', departments=phase.template == DUE_SOON)} "
        "SELECT (SELECT count(*) FROM marked) AS marked, (SELECT count(*) FROM inbox) AS written"
    )
    row = db.session.execute(_bound(statement), params).one()
    return row.marked, row.written


def _sqlite(phase: Phase, params: dict) -> tuple[int, int]:
    mark = _bound(
        f"UPDATE timer SET {phase.mark} = :now WHERE id IN (SELECT id FROM timer "
        f"WHERE status = '{TimerStatus.RUNNING}' AND {phase.due} LIMIT :chunk) RETURNING id"
    )
    marked_ids = "(SELECT id, case_id, clock, due_at FROM timer WHERE id IN (SELECT value FROM json_each(:ids)))"
    notices = (
        f"WITH rules (kind, clock, binds, fires) AS ({RULES}), supervisors AS ({SUPERVISORS}) "
        f"SELECT * FROM ({NOTICES[phase.template](marked_ids, 'sqlite')}) AS notices"
    )
    marked = written = 0
    while True:
        ids = db.session.scalars(mark, {**params, "chunk": CHUNK}).all()
        if ids:
            marked += len(ids)
            written += bulk.sqlite_enqueue(
                phase.template, notices, {**params, "ids": json.dumps(ids)},
                departments=phase.template == DUE_SOON,
            )
        if len(ids) < CHUNK:
            return marked, written


def _bound(sql: str):
    """``sql`` with its instants typed (``UTCDateTime``: how each database stores them)."""
    names = [name for name in ("now", "horizon", "next_attempt") if f":{name}" in sql]
    return text(sql).bindparams(*[bindparam(name, type_=UTCDateTime()) for name in names])
