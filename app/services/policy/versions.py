"""Policy versions as admins manage them: draft, preview, schedule, withdraw (DESIGN section 9).

A version is never edited: an admin adds the next one with the day it takes effect (today or
later; never in the past). From that day, new records and new cases are computed under it.
Records and cases computed before keep their version until an admin explicitly recomputes
them (``admin.recompute``: an audited job that writes an event on every record and case it moves).
Before saving, the preview says what the draft would change if recomputed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app import clock
from app.errors import Conflict, InvalidInput, NotFound
from app.extensions import db
from app.models import Case, CreditRecord, Policy, Timer, User
from app.models.enums import RecordClass, TimerStatus
from app.services.audit import audit_admin_change
from app.services.policy.rules import clock_rule, compute_record_dates, get_policy_in_force
from app.services.transaction import use_case
from workflows.record import IN_PUBLICITY

# What each record class of a body must say (the services read these).
CLASS_FIELDS = ("published", "shortest_publicity", "publicity", "repairable")


def list_versions() -> list[Policy]:
    return list(db.session.scalars(select(Policy).order_by(Policy.effective_from.desc(), Policy.version.desc())))


def get_version(version: int) -> Policy:
    policy = db.session.scalar(select(Policy).where(Policy.version == version))
    if policy is None:
        raise NotFound()
    return policy


@dataclass(frozen=True)
class Behind:
    """What was computed under another version than ``version`` and is still live."""

    records: int  # in publicity
    cases: int  # open


def count_behind(version: int) -> Behind:
    return Behind(
        records=db.session.scalar(select(func.count()).select_from(CreditRecord).where(
            CreditRecord.state.in_(IN_PUBLICITY), CreditRecord.policy_version != version)),
        cases=db.session.scalar(select(func.count()).select_from(Case).where(
            Case.closed_at.is_(None), Case.policy_version != version)),
    )


# ---------------------------------------------------------------------------------------
# Checking a body (the admin's draft comes as a plain body from the form, app/forms/admin_policy.py)
# ---------------------------------------------------------------------------------------

def check_body(body: dict, like: dict) -> None:
    """Refuse a body that lacks what the services read (shaped like ``like``, the version in force)."""
    problems = []
    if set(body.get("record_classes", {})) != {c.value for c in RecordClass}:
        problems.append("record_classes")
    for name, rule in body.get("record_classes", {}).items():
        if set(CLASS_FIELDS) - set(rule):
            problems.append(f"record_classes.{name}")
    for workflow, clocks in like["sla"].items():
        if set(body.get("sla", {}).get(workflow, {})) != set(clocks):
            problems.append(f"sla.{workflow}")
    if problems:
        raise InvalidInput(_l("The policy is incomplete: %(parts)s.", parts=", ".join(problems)))


# ---------------------------------------------------------------------------------------
# Preview: what the draft would change if records and cases were recomputed under it
# ---------------------------------------------------------------------------------------

@dataclass
class Preview:
    effective_from: date
    records_checked: int = 0
    retire_earlier: int = 0
    retire_later: int = 0
    retire_at_once: int = 0  # the new end has passed: the next expiry sweep retires them
    repairable_earlier: int = 0
    repairable_later: int = 0
    cases_checked: int = 0
    timers_shorter: int = 0
    timers_longer: int = 0
    cases_touched: int = 0
    unit_changed: int = 0  # clocks whose unit changed keep their deadline
    clock_changes: list[tuple[str, str, str, str]] = field(default_factory=list)  # workflow, clock, old, new

    @property
    def records_touched(self) -> int:
        return self.retire_earlier + self.retire_later


def _spec_text(spec: dict) -> str:
    unit = "wd" if "wd" in spec else "cd"
    text = f"{spec[unit]}{unit}" + (f"+{spec['extension']}" if spec.get("extension") else "")
    # A calendar-day clock without the rest-day shift (民法典 art. 203) is a different rule.
    return text + (" no-shift" if unit == "cd" and spec.get("shift_to_working_day") is False else "")


def preview_draft(body: dict, effective_from: date) -> Preview:
    """Counted set-wise: records grouped by the values their dates depend on, timers by their rule."""
    result = Preview(effective_from=effective_from)
    today = max(clock.today(), effective_from)
    groups = db.session.execute(
        select(CreditRecord.severity, CreditRecord.decision_date, CreditRecord.sector,
               CreditRecord.publicity_end, CreditRecord.shortest_publicity_end, func.count())
        .where(CreditRecord.state.in_(IN_PUBLICITY))
        .group_by(CreditRecord.severity, CreditRecord.decision_date, CreditRecord.sector,
                  CreditRecord.publicity_end, CreditRecord.shortest_publicity_end)
    )
    for severity, decided, sector, end, shortest, n in groups:
        dates = compute_record_dates(body, severity, decided, sector=sector)
        result.records_checked += n
        if dates.publicity_end < end:
            result.retire_earlier += n
            if dates.publicity_end < today:
                result.retire_at_once += n
        elif dates.publicity_end > end:
            result.retire_later += n
        if dates.shortest_publicity_end < shortest:
            result.repairable_earlier += n
        elif dates.shortest_publicity_end > shortest:
            result.repairable_later += n

    in_force = get_policy_in_force().body
    for workflow, clocks in body["sla"].items():
        for name, spec in clocks.items():
            old = in_force["sla"].get(workflow, {}).get(name)
            if old and _spec_text(old) != _spec_text(spec):
                result.clock_changes.append((workflow, name, _spec_text(old), _spec_text(spec)))

    timers = db.session.execute(
        select(Case.kind, Timer.clock, Timer.unit, Timer.length, Timer.extended, func.count(),
               func.count(func.distinct(Timer.case_id)))
        .join(Case, Case.id == Timer.case_id)
        .where(Timer.status.in_([TimerStatus.RUNNING, TimerStatus.PAUSED]))
        .group_by(Case.kind, Timer.clock, Timer.unit, Timer.length, Timer.extended)
    )
    for kind, clock_name, unit, length, extended, n, _cases in timers:
        result.cases_checked += n
        rule = clock_rule(body, kind, clock_name)
        if rule.unit != unit:
            result.unit_changed += n
            continue
        total = rule.length + extended * rule.extension
        if total < length:
            result.timers_shorter += n
        elif total > length:
            result.timers_longer += n
    result.cases_touched = db.session.scalar(
        select(func.count(func.distinct(Case.id))).join(Timer, Timer.case_id == Case.id)
        .where(Timer.status.in_([TimerStatus.RUNNING, TimerStatus.PAUSED]))
    ) if result.timers_shorter or result.timers_longer else 0
    return result


# ---------------------------------------------------------------------------------------
# Saving a version
# ---------------------------------------------------------------------------------------

@use_case
def create_version(actor: User, body: dict, effective_from: date, note: str | None, source: str | None = None) -> Policy:
    """Schedule a new version; it governs computations from ``effective_from`` on."""
    if effective_from < clock.today():
        raise InvalidInput(_l("A policy version cannot take effect in the past; choose today or a later day."))
    superseded = get_policy_in_force(effective_from)
    check_body(body, superseded.body)
    version = (db.session.scalar(select(func.max(Policy.version))) or 0) + 1
    policy = Policy(version=version, effective_from=effective_from, body=body, note=(note or "").strip() or None,
                    source=(source or "").strip() or None, created_by_id=actor.id)
    db.session.add(policy)
    db.session.flush()
    audit_admin_change(actor, "policy.create", "policy", policy.id,
                       {"version": superseded.version, "body": superseded.body},
                       {"version": version, "effective_from": effective_from.isoformat(), "body": body})
    db.session.commit()
    return policy


@use_case
def withdraw_version(actor: User, version: int) -> None:
    """Take back a version that has not taken effect; nothing can have been computed under it."""
    policy = get_version(version)
    if policy.effective_from <= clock.today():
        raise Conflict(_l("A version in force stays: add a new one instead."))
    audit_admin_change(actor, "policy.withdraw", "policy", policy.id,
                       {"version": policy.version, "effective_from": policy.effective_from.isoformat(),
                        "body": policy.body}, None)
    db.session.delete(policy)
    db.session.commit()
