"""Policy versions as admins manage them: draft, preview, schedule, withdraw (DESIGN section 9).

A version is never edited: an admin adds the next one with the day it takes effect (today or
later; never in the past). From that day, new records and new cases are computed under it.
Records and cases computed before keep their version until an admin explicitly recomputes
them (``admin.recompute``: an audited job that writes an event on every record and case it moves).
Before saving, the preview says what the draft would change if recomputed.
"""
from __future__ import annotations

import copy
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
from app.services.calendar.working import InvalidPeriod, parse_period
from app.services.policy.rules import clock_rule, compute_record_dates, get_policy_in_force
from workflows.record import IN_PUBLICITY

# The body's fields an admin edits in the form; the rest (legacy clause, sanctions that bar
# repair, working hours...) is carried over from the version the draft starts from.
CLASS_FIELDS = ("published", "shortest_publicity", "publicity", "repairable")
UNITS = ("wd", "cd")


def list_versions() -> list[Policy]:
    return list(db.session.scalars(select(Policy).order_by(Policy.effective_from.desc(), Policy.version.desc())))


def get_version(version: int) -> Policy:
    policy = db.session.scalar(select(Policy).where(Policy.version == version))
    if policy is None:
        raise NotFound()
    return policy


# ---------------------------------------------------------------------------------------
# Reading a draft from the form, and checking a body
# ---------------------------------------------------------------------------------------

def _months(spec: str) -> float:
    n, unit = parse_period(spec)
    return {"d": n / 30.4375, "m": n, "y": 12 * n}[unit]


def body_from_form(base: dict, form) -> tuple[dict, dict[str, str]]:
    """A new body: ``base`` with the edited fields of the form; errors by field name."""
    body = copy.deepcopy(base)
    errors: dict[str, str] = {}

    def period(name: str, current: str) -> str:
        value = (form.get(name) or "").strip().lower()
        try:
            parse_period(value)
        except InvalidPeriod:
            errors[name] = str(_l("Write a period as a number and d, m or y, e.g. 3m or 1y."))
            return current
        return value

    def count(name: str, current: int, minimum: int = 0) -> int:
        raw = (form.get(name) or "").strip()
        if not raw.isdigit() or not minimum <= int(raw) <= 3650:
            errors[name] = str(_l("Write a whole number from %(min)d to 3650.", min=minimum))
            return current
        return int(raw)

    for name, rule in body["record_classes"].items():
        prefix = f"class.{name}."
        rule["published"] = form.get(prefix + "published") == "on"
        rule["repairable"] = form.get(prefix + "repairable") == "on"
        rule["shortest_publicity"] = period(prefix + "shortest_publicity", rule["shortest_publicity"])
        rule["publicity"] = period(prefix + "publicity", rule["publicity"])
        if prefix + "publicity" not in errors and prefix + "shortest_publicity" not in errors \
                and _months(rule["shortest_publicity"]) > _months(rule["publicity"]):
            errors[prefix + "publicity"] = str(_l("The publicity period cannot be shorter than the shortest publicity."))

    for workflow, clocks in body["sla"].items():
        for clock_name, spec in clocks.items():
            prefix = f"sla.{workflow}.{clock_name}."
            unit = form.get(prefix + "unit")
            if unit not in UNITS:
                errors[prefix + "unit"] = str(_l("Choose working days or calendar days."))
                unit = "wd" if "wd" in spec else "cd"
            current = int(spec.get("wd", spec.get("cd", 1)))
            new_spec = {unit: count(prefix + "length", current, minimum=1)}
            if "extension" in spec:
                new_spec["extension"] = count(prefix + "extension", int(spec["extension"]))
            if "on_resume" in spec:
                new_spec["on_resume"] = spec["on_resume"]
            clocks[clock_name] = new_spec

    reminders = body.setdefault("reminders", {})
    reminders["due_soon_before"] = {"wd": count("due_soon_wd", int(reminders.get("due_soon_before", {}).get("wd", 1)))}
    body["publication_deadline"] = {"wd": count("publication_wd", int(body.get("publication_deadline", {}).get("wd", 7)), 1)}
    body["retention_after_retirement"] = period("retention", body.get("retention_after_retirement", "5y"))
    return body, errors


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
    return f"{spec[unit]}{unit}" + (f"+{spec['extension']}" if spec.get("extension") else "")


def preview(body: dict, effective_from: date) -> Preview:
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
