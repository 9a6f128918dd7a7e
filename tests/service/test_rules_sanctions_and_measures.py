"""Two rules of DESIGN section 9: a decision with several sanctions takes the longest period, and
repair is refused while a blocking measure the decision imposes still runs."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from app.models.enums import AttachmentPurpose, RecordClass, Role
from app.services.cases import reason_text, repair_eligibility
from app.services.policy import compute_record_dates, get_policy
from tests.factories import make_department, make_subject, make_user
from tests.rulekit import policy_like, record_like

TODAY = datetime(2026, 11, 10, 10, 0)
DECIDED = date(2026, 5, 1)
BOTH = {AttachmentPurpose.OBLIGATION_PROOF, AttachmentPurpose.CREDIT_COMMITMENT}


def _dates(body, severity, kinds):
    d = compute_record_dates(body, severity, DECIDED, sanction_kinds=kinds)
    return d.shortest_publicity_end, d.publicity_end


def test_a_listing_among_the_sanctions_takes_the_serious_periods(db):
    body = get_policy(1).body
    assert _dates(body, RecordClass.GENERAL, ["fine"]) == (date(2026, 8, 1), date(2027, 5, 1))
    assert _dates(body, RecordClass.GENERAL, ["fine", "listing"]) == (date(2027, 5, 1), date(2029, 5, 1))


def test_a_minor_class_with_a_revoked_licence_takes_the_general_periods_but_stays_unpublished(db):
    body = get_policy(1).body
    assert _dates(body, RecordClass.MINOR, ["warning"]) == (DECIDED, date(2026, 8, 1))
    both = compute_record_dates(body, RecordClass.MINOR, DECIDED, sanction_kinds=["warning", "licence_revoked"])
    assert (both.shortest_publicity_end, both.publicity_end) == (date(2026, 8, 1), date(2027, 5, 1))
    assert not both.is_public and both.withheld_reason == "minor_offence"  # publication: the record's own class


def test_a_sanction_never_lowers_the_period(db):
    body = get_policy(1).body
    assert _dates(body, RecordClass.SERIOUS, ["licence_revoked"]) == (date(2027, 5, 1), date(2029, 5, 1))


def test_the_policy_may_give_its_own_map_of_sanction_classes(db):
    def fines_are_serious(body):
        body["sanction_classes"] = {"fine": "serious"}

    policy = policy_like(fines_are_serious)
    assert _dates(policy.body, RecordClass.GENERAL, ["fine"]) == (date(2027, 5, 1), date(2029, 5, 1))
    assert _dates(policy.body, RecordClass.GENERAL, ["listing"]) == (date(2026, 8, 1), date(2027, 5, 1))


def test_an_entered_record_gets_the_longest_period(db):
    record = record_like(severity=RecordClass.GENERAL, decision_date=DECIDED, sanction_kinds=["fine", "listing"])
    assert record.publicity_end == date(2029, 5, 1)


@pytest.fixture
def w(db, frozen):
    frozen.set(TODAY)
    department, subject = make_department(), make_subject()
    make_user(Role.APPLICANT, subject=subject)

    def eligible(**kw):
        base = {"severity": RecordClass.GENERAL, "decision_date": DECIDED, "sanction_kinds": ["fine"]}
        return record_like(subject=subject, department=department, **{**base, **kw})

    return eligible


def test_a_blocking_measure_still_running_refuses_repair_with_its_reason(w):
    assert repair_eligibility(w(measure_until=date(2026, 11, 9)), BOTH) == []  # ended yesterday
    assert repair_eligibility(w(measure_until=None), BOTH) == []
    assert repair_eligibility(w(measure_until=date(2026, 11, 10)), BOTH) == ["measure_still_running"]  # its last day
    assert reason_text("measure_still_running") != "measure_still_running"  # a sentence, not the code
