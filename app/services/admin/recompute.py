"""Recompute: records in publicity and open cases moved onto the policy version in force.

An explicit, audited job an admin starts after a new version took effect; it writes an event
on every record and case it moves, and commits per batch.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.errors import Conflict
from app.extensions import db
from app.models import Case, CreditRecord, Policy, User
from app.models.enums import TimerStatus
from app.services.admin.jobs import job_lock
from app.services.audit import audit_admin_change
from app.services.cases.transitions import Action, apply_transition, lock_case
from app.services.policy import clock_rule, compute_record_dates, get_policy_in_force
from app.services.policy.versions import get_version
from app.services.records.lifecycle import apply_record_trigger
from app.services.sla.timers import open_timers, refresh_case_deadline, shift_deadline
from app.services.transaction import use_case
from workflows import CASE_WORKFLOWS, RECOMPUTE, RecordTrigger
from workflows.record import IN_PUBLICITY

JOB_NAME = "recompute"  # the lock that keeps two admins from running it at once


@dataclass
class RecomputeResult:
    version: int
    records: int = 0
    records_moved: int = 0
    cases: int = 0
    timers_moved: int = 0
    cases_kept: int = 0  # open cases in a state without clocks keep their version


@use_case
def recompute(actor: User, version: int, batch_size: int = 500) -> RecomputeResult:
    """Move records in publicity and open cases onto the version in force, with an event each.

    Runs under the job lock "recompute", so two admins cannot run it at once. Records keep
    whether they are public; only their dates change. Deadlines move by the difference in
    length (a clock whose unit changed keeps its deadline).
    """
    policy = get_version(version)
    if get_policy_in_force().version != policy.version:
        raise Conflict(_l("Only the version in force can be applied; this one is not in force today."))
    with job_lock(JOB_NAME, lease=timedelta(hours=1)) as acquired:
        if not acquired:
            raise Conflict(_l("A recompute is already running."))
        result = RecomputeResult(version=version)
        _recompute_records(policy, result, batch_size)
        _recompute_cases(policy, result, batch_size)
        audit_admin_change(actor, "policy.recompute", "policy", policy.id, None,
                           {"version": version, "records": result.records, "records_moved": result.records_moved,
                            "cases": result.cases, "timers_moved": result.timers_moved})
        db.session.commit()
    return result


def _recompute_records(policy: Policy, result: RecomputeResult, batch_size: int) -> None:
    last_id = 0
    while True:
        batch = list(db.session.scalars(
            select(CreditRecord)
            .where(CreditRecord.state.in_(IN_PUBLICITY), CreditRecord.policy_version != policy.version,
                   CreditRecord.id > last_id)
            .order_by(CreditRecord.id).limit(batch_size)
        ))
        if not batch:
            return
        for record in batch:
            dates = compute_record_dates(policy.body, record.severity, record.decision_date, sector=record.sector,
                                         sanction_kinds=record.sanction_kinds or ())
            before = {"policy_version": record.policy_version, "publicity_end": record.publicity_end.isoformat(),
                      "shortest_publicity_end": record.shortest_publicity_end.isoformat()}
            moved = (dates.publicity_end, dates.shortest_publicity_end) != (record.publicity_end, record.shortest_publicity_end)
            record.publicity_end = dates.publicity_end
            record.shortest_publicity_end = dates.shortest_publicity_end
            record.policy_version = policy.version
            apply_record_trigger(record, RecordTrigger.RECOMPUTE, None, data={
                "before": before, "after": {"policy_version": policy.version,
                                            "publicity_end": dates.publicity_end.isoformat(),
                                            "shortest_publicity_end": dates.shortest_publicity_end.isoformat()}})
            result.records += 1
            result.records_moved += moved
        last_id = batch[-1].id
        db.session.commit()


def _recompute_cases(policy: Policy, result: RecomputeResult, batch_size: int) -> None:
    last_id = 0
    while True:
        ids = list(db.session.scalars(
            select(Case.id).where(Case.closed_at.is_(None), Case.policy_version != policy.version, Case.id > last_id)
            .order_by(Case.id).limit(batch_size)
        ))
        if not ids:
            return
        for case_id in ids:
            case = lock_case(case_id)
            if CASE_WORKFLOWS[case.kind].find(case.state, RECOMPUTE) is None:
                result.cases_kept += 1
                continue
            previous = case.policy_version
            moved = Counter()
            for timer in open_timers(case):
                rule = clock_rule(policy.body, case.kind, timer.clock)
                if rule.unit != timer.unit:
                    continue
                delta = rule.length + timer.extended * rule.extension - timer.length
                if delta and timer.status == TimerStatus.RUNNING:
                    shift_deadline(timer, delta, to_working_day=rule.shift_to_working_day)
                    timer.due_soon_at = timer.breached_at = None  # a new deadline gets its own reminders
                elif delta:
                    timer.remaining = max(0, timer.remaining + delta)
                timer.length += delta
                timer.policy_version = policy.version
                moved[bool(delta)] += 1
            case.policy_version = policy.version
            db.session.flush()
            refresh_case_deadline(case)
            apply_transition(case, Action(RECOMPUTE, None, reason=f"policy v{previous} → v{policy.version}"), None)
            result.cases += 1
            result.timers_moved += moved[True]
        last_id = ids[-1]
        db.session.commit()
