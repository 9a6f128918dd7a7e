"""The set-based steps of the policy recompute: one chunk of records, one chunk of cases.

Steps inside the caller's transaction (``admin.recompute`` commits each chunk with its progress).
A chunk is a range of ids; what it moves is what is still behind the version (``policy_version``
differs), so running a chunk twice moves nothing the second time.

Records: the new dates depend on the class, decision date, sector and sanction kinds only, so
they are computed once per distinct combination in the chunk (``compute_record_dates``, as the
preview does), and the chunk's records are moved by one statement joined to those groups, which
also writes one ``recompute`` event per record, numbered after its last (PostgreSQL: a
data-modifying CTE over the rows it locks; SQLite, which serialises writers: the events, then the
update). Cases: the timers of the chunk's open cases are moved per group of the same clock,
length and deadline (one UPDATE each, the deadline computed once per group by
``sla.timers.shift_deadline``), then one statement writes the cases' events and one moves the
cases and copies their earliest running deadline. The workflows are asked once per state (and
kind) whether ``recompute`` may be fired from it, never per row.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Text, and_, bindparam, case, cast, false, func, insert, literal, or_, select, text, update
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import Case, CaseEvent, CreditRecord, Policy, Timer
from app.models.base import UTCDateTime
from app.models.enums import TimerStatus
from app.services.policy import clock_rule, compute_record_dates
from app.services.sla.timers import shift_deadline
from workflows import CASE_WORKFLOWS, IN_PUBLICITY, RECOMPUTE, RECORD

OPEN_TIMERS = (TimerStatus.RUNNING, TimerStatus.PAUSED)


def _literals(names) -> str:
    """Workflow state names as SQL literals (names from the workflow tables, never input)."""
    return ", ".join(f"'{name}'" for name in names)


def record_transitions() -> dict[str, str]:
    """The states in publicity from which the record workflow lets ``recompute`` fire, and where it leads."""
    found = {str(state): RECORD.find(str(state), RECOMPUTE) for state in IN_PUBLICITY}
    return {state: t.dest for state, t in found.items() if t is not None}


def _to_state(column: str, transitions: dict[str, str]) -> str:
    whens = " ".join(f"WHEN '{source}' THEN '{dest}'" for source, dest in transitions.items())
    return f"CASE {column} {whens} END"


@dataclass
class ChunkCounts:
    done: int = 0  # moved onto the version (records or cases)
    moved: int = 0  # records with new dates; timers with a new length
    kept: int = 0  # cases in a state without the recompute step


# ---------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------

def pending_records(version: int):
    """The records a recompute onto ``version`` still has to move."""
    return and_(CreditRecord.state.in_(list(record_transitions())), CreditRecord.policy_version != version)


_KINDS = func.coalesce(cast(CreditRecord.sanction_kinds, Text), "")
_SECTOR = func.coalesce(CreditRecord.sector, "")
_GROUP_JOIN = ("r.severity = g.severity AND r.decision_date = g.decision_date "
               "AND COALESCE(r.sector, '') = g.sector AND COALESCE(CAST(r.sanction_kinds AS TEXT), '') = g.kinds")
_CHUNK = "r.id > :after AND r.id <= :upto AND r.policy_version <> :version AND r.state IN ({states})"

_RECORDS_POSTGRES = """
WITH g AS (
    SELECT * FROM json_to_recordset(CAST(:groups AS json))
        AS g(severity text, decision_date date, sector text, kinds text, publicity_end date, shortest date)
),
due AS (
    SELECT r.id, r.state, r.policy_version AS old_version, r.publicity_end AS old_end,
           r.shortest_publicity_end AS old_shortest, g.publicity_end, g.shortest
    FROM credit_record r JOIN g ON {join}
    WHERE {chunk}
    FOR UPDATE OF r
),
moved AS (
    UPDATE credit_record AS r
    SET publicity_end = due.publicity_end, shortest_publicity_end = due.shortest, policy_version = :version,
        version = r.version + 1, updated_at = :now
    FROM due WHERE r.id = due.id AND r.id > :after AND r.id <= :upto  -- the range again: the primary key's, not a scan
    RETURNING due.*
),
events AS (
    INSERT INTO record_event (record_id, seq, at, trigger, from_state, to_state, data)
    SELECT moved.id, COALESCE((SELECT max(e.seq) FROM record_event e WHERE e.record_id = moved.id), 0) + 1,
           :now, :trigger, moved.state, {to_state},
           json_build_object(
               'before', json_build_object('policy_version', moved.old_version,
                                           'publicity_end', to_char(moved.old_end, 'YYYY-MM-DD'),
                                           'shortest_publicity_end', to_char(moved.old_shortest, 'YYYY-MM-DD')),
               'after', json_build_object('policy_version', CAST(:version AS integer),
                                          'publicity_end', to_char(moved.publicity_end, 'YYYY-MM-DD'),
                                          'shortest_publicity_end', to_char(moved.shortest, 'YYYY-MM-DD')))
    FROM moved
)
SELECT count(*), count(*) FILTER (WHERE old_end <> publicity_end OR old_shortest <> shortest) FROM moved
"""

_GROUPS_SQLITE = """(
    SELECT json_extract(value, '$.severity') AS severity, json_extract(value, '$.decision_date') AS decision_date,
           json_extract(value, '$.sector') AS sector, json_extract(value, '$.kinds') AS kinds,
           json_extract(value, '$.publicity_end') AS publicity_end, json_extract(value, '$.shortest') AS shortest
    FROM json_each(:groups)
) AS g"""

_COUNT_SQLITE = f"""
SELECT count(*), coalesce(sum(r.publicity_end <> g.publicity_end OR r.shortest_publicity_end <> g.shortest), 0)
FROM credit_record r JOIN {_GROUPS_SQLITE} ON {_GROUP_JOIN} WHERE {_CHUNK}
"""

_EVENTS_SQLITE = f"""
INSERT INTO record_event (record_id, seq, at, trigger, from_state, to_state, data)
SELECT r.id, COALESCE((SELECT max(e.seq) FROM record_event e WHERE e.record_id = r.id), 0) + 1,
       :now, :trigger, r.state, {{to_state}},
       json_object('before', json_object('policy_version', r.policy_version, 'publicity_end', r.publicity_end,
                                         'shortest_publicity_end', r.shortest_publicity_end),
                   'after', json_object('policy_version', :version, 'publicity_end', g.publicity_end,
                                        'shortest_publicity_end', g.shortest))
FROM credit_record r JOIN {_GROUPS_SQLITE} ON {_GROUP_JOIN} WHERE {_CHUNK}
"""

_UPDATE_SQLITE = f"""
UPDATE credit_record AS r
SET publicity_end = g.publicity_end, shortest_publicity_end = g.shortest, policy_version = :version,
    version = r.version + 1, updated_at = :now
FROM {_GROUPS_SQLITE} WHERE {_GROUP_JOIN} AND {_CHUNK}
"""


class RecordGroups:
    """The new dates of each combination of the values they depend on, computed once per run."""

    def __init__(self, policy: Policy):
        self.body = policy.body
        self.dates: dict[tuple, tuple[date, date]] = {}

    def of(self, severity: str, decided: date, sector: str, kinds: str) -> tuple[date, date]:
        key = (severity, decided, sector, kinds)
        if key not in self.dates:
            dates = compute_record_dates(self.body, severity, decided, sector=sector or None,
                                         sanction_kinds=tuple(json.loads(kinds) or ()) if kinds else ())
            self.dates[key] = (dates.publicity_end, dates.shortest_publicity_end)
        return self.dates[key]


def move_records(policy: Policy, groups: RecordGroups, after: int, upto: int, now: datetime) -> ChunkCounts:
    """Move the records behind ``policy`` with ids in (after, upto]: dates, version, one event each."""
    transitions = record_transitions()
    in_chunk = and_(CreditRecord.id > after, CreditRecord.id <= upto, pending_records(policy.version))
    present = db.session.execute(
        select(CreditRecord.severity, CreditRecord.decision_date, _SECTOR, _KINDS).where(in_chunk)
        .group_by(CreditRecord.severity, CreditRecord.decision_date, _SECTOR, _KINDS)
    ).all()
    if not present:
        return ChunkCounts()
    payload = []
    for severity, decided, sector, kinds in present:
        end, shortest = groups.of(severity, decided, sector, kinds)
        payload.append({"severity": severity, "decision_date": decided.isoformat(), "sector": sector, "kinds": kinds,
                        "publicity_end": end.isoformat(), "shortest": shortest.isoformat()})
    params = {"groups": json.dumps(payload), "after": after, "upto": upto, "version": policy.version, "now": now,
              "trigger": RECOMPUTE}
    states = _literals(transitions)
    chunk = _CHUNK.format(states=states)

    def statement(sql: str, **formats):
        return text(sql.format(**formats)).bindparams(bindparam("now", type_=UTCDateTime()))

    if db.session.get_bind().dialect.name == "postgresql":
        sql = _RECORDS_POSTGRES.format(join=_GROUP_JOIN, chunk=chunk, to_state=_to_state("moved.state", transitions))
        done, moved = db.session.execute(statement(sql), params).one()
        return ChunkCounts(done=done, moved=moved)
    done, moved = db.session.execute(text(_COUNT_SQLITE.format(states=states)), params).one()
    db.session.execute(statement(_EVENTS_SQLITE.replace("{to_state}", _to_state("r.state", transitions)),
                                 states=states), params)
    db.session.execute(statement(_UPDATE_SQLITE, states=states), params)
    return ChunkCounts(done=done, moved=moved)


# ---------------------------------------------------------------------------------------
# Cases and their timers
# ---------------------------------------------------------------------------------------

def pending_cases(version: int):
    return and_(Case.closed_at.is_(None), Case.policy_version != version)


def _pairs_where(pairs) -> object:
    return or_(*[and_(Case.kind == kind, Case.state == state) for kind, state in pairs]) if pairs else false()


def move_cases(policy: Policy, after: int, upto: int, now: datetime) -> ChunkCounts:
    """Move the open cases behind ``policy`` with ids in (after, upto]: their timers' lengths and
    deadlines, the case's version and deadline, one event each. Cases in a state without the
    recompute step keep their version (counted as kept)."""
    in_chunk = and_(Case.id > after, Case.id <= upto, pending_cases(policy.version))
    counts = ChunkCounts()
    pairs = {}
    for kind, state, n in db.session.execute(
            select(Case.kind, Case.state, func.count()).where(in_chunk).group_by(Case.kind, Case.state)):
        taken = CASE_WORKFLOWS[kind].find(state, RECOMPUTE)
        if taken is None:
            counts.kept += n
        else:
            pairs[(kind, state)] = taken
            counts.done += n
    if not pairs:
        return counts
    eligible = and_(in_chunk, _pairs_where(pairs))
    if db.session.get_bind().dialect.name == "postgresql":  # SQLite locks the file on the first write
        db.session.execute(select(func.count()).select_from(select(Case.id).where(eligible).with_for_update()
                                                              .subquery()))
    _write_case_events(pairs, eligible, policy.version, now)
    counts.moved = _move_timers(policy, eligible)
    running = (select(func.min(Timer.due_at)).where(Timer.case_id == Case.id, Timer.status == TimerStatus.RUNNING)
               .scalar_subquery())
    db.session.execute(update(Case).where(eligible).values(
        policy_version=policy.version, version=Case.version + 1, updated_at=now, due_at=running)
        .execution_options(synchronize_session=False))
    return counts


def _write_case_events(pairs: dict, eligible, version: int, now: datetime) -> None:
    """One ``recompute`` event per case, numbered after its last, before the case moves (its
    reason names the version it leaves)."""
    previous = aliased(CaseEvent)
    seq = (select(func.coalesce(func.max(previous.seq), 0) + 1).where(previous.case_id == Case.id)
           .scalar_subquery())
    to_state = case(*[(and_(Case.kind == kind, Case.state == state), literal(t.dest))
                      for (kind, state), t in pairs.items()])
    reason = literal("policy v", Text) + cast(Case.policy_version, Text) + literal(f" → v{version}", Text)
    rows = select(Case.id, seq, literal(now, UTCDateTime()), literal(RECOMPUTE), Case.state, to_state,
                  reason).where(eligible)
    db.session.execute(insert(CaseEvent).from_select(
        ["case_id", "seq", "at", "trigger", "from_state", "to_state", "reason"], rows))


def _move_timers(policy: Policy, eligible) -> int:
    """One UPDATE per group of timers that move alike; the timers that moved (a new length)."""
    cases = select(Case.id).where(eligible)
    groups = db.session.execute(
        select(Case.kind, Timer.clock, Timer.unit, Timer.length, Timer.extended, Timer.status, Timer.due_at,
               Timer.rest_day_shift, Timer.remaining, func.count())
        .join(Case, Case.id == Timer.case_id)
        .where(Timer.status.in_(OPEN_TIMERS), eligible)
        .group_by(Case.kind, Timer.clock, Timer.unit, Timer.length, Timer.extended, Timer.status, Timer.due_at,
                  Timer.rest_day_shift, Timer.remaining)
    ).all()
    moved = 0
    unchanged: set[tuple] = set()  # same length under the new version: only the version moves
    for kind, clock_name, unit, length, extended, status, due_at, shift, remaining, n in groups:
        rule = clock_rule(policy.body, kind, clock_name)
        if rule.unit != unit:
            continue  # a clock whose unit changed keeps its deadline and its version
        delta = rule.length + extended * rule.extension - length
        if not delta:
            unchanged.add((kind, clock_name, unit, length, extended))
            continue
        same = and_(Timer.case_id.in_(cases.where(Case.kind == kind)), Timer.clock == clock_name, Timer.unit == unit,
                    Timer.length == length, Timer.extended == extended, Timer.status == status,
                    Timer.rest_day_shift == shift)
        values = {"length": length + delta, "policy_version": policy.version}
        if status == TimerStatus.RUNNING:
            scratch = Timer(unit=unit, due_at=due_at, rest_day_shift=shift)
            shift_deadline(scratch, delta, to_working_day=rule.shift_to_working_day)
            same = and_(same, Timer.due_at == due_at)
            values.update(due_at=scratch.due_at, rest_day_shift=scratch.rest_day_shift, due_soon_at=None,
                          breached_at=None)  # a new deadline gets its own reminders
        else:
            same = and_(same, Timer.remaining == remaining)
            values["remaining"] = max(0, remaining + delta)
        db.session.execute(update(Timer).where(same).values(**values).execution_options(synchronize_session=False))
        moved += n
    for kind, clock_name, unit, length, extended in unchanged:
        db.session.execute(update(Timer).where(
            Timer.case_id.in_(cases.where(Case.kind == kind)), Timer.status.in_(OPEN_TIMERS), Timer.clock == clock_name,
            Timer.unit == unit, Timer.length == length, Timer.extended == extended,
        ).values(policy_version=policy.version).execution_options(synchronize_session=False))
    return moved
