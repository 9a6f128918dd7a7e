"""The policy in force and what it says about records (DESIGN section 9).

Policies are data in the ``policy`` table. Version 1, the defaults with their legal sources,
is installed by migration 0002; admins add later versions with an effective date.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import Policy
from app.models.enums import RecordClass
from app.services.calendar import end_of_period, fingerprint_columns, keep_fingerprint
from app.services.memo import keep, once_per_transaction


class NoPolicy(RuntimeError):
    """No policy version is in force on the given day: the database was not migrated."""


def get_policy_in_force(on: date | None = None) -> Policy:
    """The version in force on the day (today): read once per transaction, like ``get_policy``,
    which then knows it too (a submission asks for the version in force, then for the case's).
    The calendar's fingerprint comes along in the same statement: what asks for the policy in
    force mostly computes a deadline next (a submission, a binding, a sweep), one round trip less."""
    on = on or clock.today()
    policy = once_per_transaction(("policy_in_force", on), (Policy,), lambda: _read_in_force(on))
    if policy is None:
        raise NoPolicy(f"no policy in force on {on.isoformat()}; run the migrations")
    keep(("policy", policy.version), (Policy,), policy)
    return policy


def _read_in_force(on: date) -> Policy | None:
    row = db.session.execute(
        select(Policy, *fingerprint_columns())
        .where(Policy.effective_from <= on)
        .order_by(Policy.effective_from.desc(), Policy.version.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    keep_fingerprint(row[1:])
    return row[0]


# The class a sanction kind implies at least, where the policy does not say (policy v1 predates
# it; a version may give its own "sanction_classes"): a listing is a serious measure (DESIGN
# section 9, "serious (incl. serious-dishonesty list)"); a revoked licence or a restriction is
# never a minor offence. A warning or a fine implies nothing: the department's class decides.
DEFAULT_SANCTION_CLASSES = {
    "listing": RecordClass.SERIOUS.value,
    "licence_revoked": RecordClass.GENERAL.value,
    "business_restricted": RecordClass.GENERAL.value,
    "employment_restricted": RecordClass.GENERAL.value,
}


def period_class(body: dict, severity: str, sanction_kinds=(), decision_date: date | None = None) -> str:
    """The class whose periods a decision takes: the longest of its own class and those its sanctions imply.

    One decision with several sanctions takes the longest period (DESIGN section 9). Longest is
    the later publicity end, then the later shortest publicity end, from the decision date.
    """
    classes = body["record_classes"]
    implied = body.get("sanction_classes", DEFAULT_SANCTION_CLASSES)
    candidates = {severity} | {implied[k] for k in sanction_kinds or () if implied.get(k) in classes}
    start = decision_date or date(2000, 1, 1)

    def length(name: str) -> tuple[date, date]:
        rule = classes[name]
        return end_of_period(start, rule["publicity"]), end_of_period(start, rule["shortest_publicity"])

    return max(sorted(candidates), key=length)


@dataclass(frozen=True)
class RecordDates:
    publicity_start: date
    shortest_publicity_end: date
    publicity_end: date
    is_public: bool
    withheld_reason: str | None


def compute_record_dates(
    body: dict,
    severity: str,
    decision_date: date,
    *,
    sector: str | None = None,
    publish_minor: bool = False,
    subject_is_minor: bool = False,
    sanction_kinds=(),
) -> RecordDates:
    """The three dates of a record, and whether it may be public, under one policy version.

    Periods start on the decision date (认定之日). Records decided before the policy's
    legacy cut-off keep the legacy periods (3 years; 3 months before repair, 1 year in the
    listed sectors). A decision with several sanctions takes the longest period of the classes
    they imply (``period_class``); publication follows the record's own class.
    """
    classes = body["record_classes"]
    rule = classes[period_class(body, severity, sanction_kinds, decision_date)]
    legacy = body.get("legacy")
    if legacy and decision_date < date.fromisoformat(legacy["decided_before"]):
        shortest = legacy["shortest_publicity_by_sector"].get(sector or "", legacy["shortest_publicity"])
        longest = legacy["publicity"]
    else:
        shortest, longest = rule["shortest_publicity"], rule["publicity"]

    withheld_reason = None
    if subject_is_minor:
        withheld_reason = "minor_subject"
    elif severity == RecordClass.MINOR and not classes[severity]["published"] and not publish_minor:
        withheld_reason = "minor_offence"
    return RecordDates(
        publicity_start=decision_date,
        shortest_publicity_end=end_of_period(decision_date, shortest),
        publicity_end=end_of_period(decision_date, longest),
        is_public=withheld_reason is None,
        withheld_reason=withheld_reason,
    )


def get_policy(version: int) -> Policy:
    policy = once_per_transaction(("policy", version), (Policy,),
                                  lambda: db.session.scalar(select(Policy).where(Policy.version == version)))
    if policy is None:
        raise NoPolicy(f"policy version {version} does not exist")
    return policy


@dataclass(frozen=True)
class ClockRule:
    unit: str  # "wd" (working days) or "cd" (calendar days)
    length: int
    extension: int = 0  # the one documented extension, in the same unit
    restart_on_resume: bool = False
    # A calendar-day period ending on a rest day ends on the next working day (民法典 art. 203).
    shift_to_working_day: bool = True


def clock_rule(body: dict, workflow: str, clock_name: str) -> ClockRule:
    """The length of one SLA clock under a policy version."""
    spec = body["sla"][workflow][clock_name]
    unit = "wd" if "wd" in spec else "cd"
    return ClockRule(
        unit=unit,
        length=int(spec[unit]),
        extension=int(spec.get("extension", 0)),
        restart_on_resume=spec.get("on_resume") == "restart",
        # Absent means on: policy v1 predates the switch, and the Civil Code rule is the default.
        shift_to_working_day=unit == "cd" and bool(spec.get("shift_to_working_day", True)),
    )
