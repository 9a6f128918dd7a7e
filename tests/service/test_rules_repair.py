"""Repair eligibility (DESIGN sections 5 and 9): one test per rule, each goes red without it.

Every refused record differs from an eligible one in exactly one property, and the test
asserts the one reason code that property gives; the eligible twin passes. Then the same
rules through the workflow: the ``accept`` and ``approve`` guards refuse with that reason.
"""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from app import clock
from app.errors import Conflict
from app.models import CaseEvent
from app.models.enums import AttachmentPurpose, CaseKind, RecordClass, RecordState, Role
from app.services.cases import reason_text, repair_eligibility
from app.services.cases import submission as submission_module
from app.services.cases.files import Upload
from tests.factories import PDF, act, make_department, make_subject, make_user, repair_uploads, submit
from tests.rulekit import policy_like, record_like

TODAY = datetime(2026, 11, 10, 10, 0)  # a Tuesday
DECIDED = date(2026, 5, 1)  # general class: shortest publicity ends 2026-08-01, publicity 2027-05-01
BOTH = {AttachmentPurpose.OBLIGATION_PROOF, AttachmentPurpose.CREDIT_COMMITMENT}


@pytest.fixture
def w(db, frozen):
    frozen.set(TODAY)
    department = make_department()
    subject = make_subject()

    class World:
        pass

    world = World()
    world.frozen = frozen
    world.department, world.subject = department, subject
    world.applicant = make_user(Role.APPLICANT, subject=subject)
    world.officer = make_user(Role.OFFICER)
    world.dept_user = make_user(Role.DEPARTMENT, department=department)

    def eligible(**kw):
        """The eligible record; each keyword is the one property a twin changes."""
        base = {"severity": RecordClass.GENERAL, "decision_date": DECIDED, "sanction_kinds": ["fine"]}
        return record_like(subject=subject, department=department, **{**base, **kw})

    world.eligible = eligible
    return world


def _repair(w, record, uploads=None, *, unchecked=False, monkeypatch=None):
    """File a repair; ``unchecked`` lets it past the submission check (an application the
    check let through: filed at the same moment as another, or under an earlier rule), so the
    workflow's own guard is what decides."""
    uploads = repair_uploads() if uploads is None else uploads
    if not unchecked:
        return submit(w.applicant, CaseKind.REPAIR, record, uploads)
    with monkeypatch.context() as patch:
        patch.setattr(submission_module, "repair_eligibility", lambda *a, **k: [])
        return submit(w.applicant, CaseKind.REPAIR, record, uploads)


def _revoked_for_fraud(w, record):
    case = _repair(w, record)
    act(case, "accept", w.officer)
    act(case, "approve", w.officer, "符合修复条件")
    act(case, "revoke_for_fraud", w.officer, "履行证明系伪造")
    assert record.state == RecordState.PUBLISHED
    return case


def _only(upload_purpose):
    return [Upload(upload_purpose, f"{upload_purpose}.pdf", PDF)]


# -- the eligible record --------------------------------------------------------------------

def test_an_eligible_record_has_no_reason_against_repair(w):
    assert repair_eligibility(w.eligible(), BOTH) == []


def test_a_corrected_record_is_still_in_publicity_and_eligible(w):
    assert repair_eligibility(w.eligible(state=RecordState.CORRECTED), BOTH) == []


# -- one rule each ----------------------------------------------------------------------------

@pytest.mark.parametrize("state", [RecordState.REPAIRED, RecordState.REVOKED, RecordState.RETIRED])
def test_rule_the_record_must_be_in_publicity(w, state):
    extra = {"retired_at": clock.now()} if state == RecordState.RETIRED else {}
    assert repair_eligibility(w.eligible(state=state, **extra), BOTH) == ["record_not_in_publicity"]


def test_rule_the_shortest_publicity_must_be_over(w):
    last_day = w.eligible(decision_date=date(2026, 8, 10))
    assert last_day.shortest_publicity_end == date(2026, 11, 10)  # today is its last day
    assert repair_eligibility(last_day, BOTH) == ["shortest_publicity_not_over"]
    day_after = w.eligible(decision_date=date(2026, 8, 9))
    assert day_after.shortest_publicity_end == date(2026, 11, 9)
    assert repair_eligibility(day_after, BOTH) == []


def test_rule_the_class_must_be_repairable_under_the_records_policy(w):
    def general_not_repairable(body):
        body["record_classes"]["general"]["repairable"] = False

    same = policy_like(lambda body: None)
    assert repair_eligibility(w.eligible(policy=same), BOTH) == []
    refused = w.eligible(policy=policy_like(general_not_repairable))
    assert repair_eligibility(refused, BOTH) == ["class_not_repairable"]


@pytest.mark.parametrize("kind", ["licence_revoked", "business_restricted", "employment_restricted"])
def test_rule_a_sanction_never_repairable_early_is_refused(w, kind):
    assert repair_eligibility(w.eligible(sanction_kinds=["fine", kind]), BOTH) == ["sanction_not_repairable"]


def test_rule_the_never_repairable_sanctions_are_the_policys_list(w):
    def none_listed(body):
        body["never_repairable_sanctions"] = []

    record = w.eligible(sanction_kinds=["fine", "licence_revoked"], policy=policy_like(none_listed))
    assert repair_eligibility(record, BOTH) == []


def test_rule_the_obligation_proof_must_be_attached(w):
    record = w.eligible()
    assert repair_eligibility(record, {AttachmentPurpose.CREDIT_COMMITMENT}) == ["obligation_proof_missing"]
    evidence = {AttachmentPurpose.EVIDENCE, AttachmentPurpose.CREDIT_COMMITMENT}
    assert repair_eligibility(record, evidence) == ["obligation_proof_missing"]


def test_rule_the_credit_commitment_must_be_attached(w):
    assert repair_eligibility(w.eligible(), {AttachmentPurpose.OBLIGATION_PROOF}) == ["commitment_missing"]


def test_rule_a_repair_revoked_for_fraud_bars_a_new_one(w):
    barred = w.eligible()
    _revoked_for_fraud(w, barred)
    assert repair_eligibility(barred, BOTH) == ["barred_after_fraud"]
    # the twin's earlier repair was denied, not revoked for fraud: no bar
    denied = w.eligible()
    case = _repair(w, denied)
    act(case, "accept", w.officer)
    act(case, "deny", w.officer, "材料不足")
    assert repair_eligibility(denied, BOTH) == []


def test_rule_the_bar_after_fraud_lasts_the_policys_period(w):
    # Serious, decided under the legacy rule: public until 2028-06-01, so it is still in
    # publicity when the bar ends.
    record = w.eligible(severity=RecordClass.SERIOUS, decision_date=date(2025, 6, 1))
    _revoked_for_fraud(w, record)  # approved and revoked today, 2026-11-10
    w.frozen.set(datetime(2027, 11, 10, 23, 0))  # last day of the one-year bar
    assert repair_eligibility(record, BOTH) == ["barred_after_fraud"]
    w.frozen.set(datetime(2027, 11, 11, 0, 30))
    assert repair_eligibility(record, BOTH) == []


def test_rule_the_bar_period_is_read_from_the_records_policy(w):
    def six_months(body):
        body["repair"]["bar_after_fraud"] = "6m"

    short = w.eligible(severity=RecordClass.SERIOUS, decision_date=date(2025, 6, 1), policy=policy_like(six_months))
    default = w.eligible(severity=RecordClass.SERIOUS, decision_date=date(2025, 6, 1))
    _revoked_for_fraud(w, short)
    _revoked_for_fraud(w, default)
    w.frozen.set(datetime(2027, 5, 11, 10, 0))
    assert repair_eligibility(short, BOTH) == []
    assert repair_eligibility(default, BOTH) == ["barred_after_fraud"]


def test_rule_the_bar_after_fraud_runs_from_the_revocation_not_the_approval(w):
    record = w.eligible(severity=RecordClass.SERIOUS, decision_date=date(2025, 6, 1))
    case = _repair(w, record)
    act(case, "accept", w.officer)
    act(case, "approve", w.officer, "符合修复条件")  # approved 2026-11-10
    w.frozen.set(datetime(2027, 1, 11, 10, 0))
    act(case, "revoke_for_fraud", w.officer, "履行证明系伪造")  # revoked 2027-01-11: barred to 2028-01-11
    w.frozen.set(datetime(2027, 12, 1, 10, 0))
    assert repair_eligibility(record, BOTH) == ["barred_after_fraud"]


def _other_repair_in(w, record, state):
    case = _repair(w, record)
    steps = {
        "submitted": [],
        "awaiting_supplement": [("request_supplement", w.officer, "请补充")],
        "under_review": [("accept", w.officer, None)],
        "awaiting_department": [("accept", w.officer, None), ("ask_department", w.officer, None)],
        "withdrawn": [("withdraw", w.applicant, None)],
        "not_accepted": [("not_accept", w.officer, "不予受理")],
        "denied": [("accept", w.officer, None), ("deny", w.officer, "不予修复")],
        "lapsed": [("request_supplement", w.officer, "请补充"), ("lapse", None, None)],
    }[state]
    for trigger, actor, reason in steps:
        act(case, trigger, actor, reason)
    assert case.state == state
    return case


@pytest.mark.parametrize("state", ["submitted", "awaiting_supplement", "under_review", "awaiting_department"])
def test_rule_one_repair_of_a_record_at_a_time(w, state):
    record = w.eligible()
    other = _other_repair_in(w, record, state)
    assert repair_eligibility(record, BOTH) == ["repair_already_open"]
    # the open repair itself is not in its own way
    assert repair_eligibility(record, BOTH, ignore_case_id=other.id) == []


@pytest.mark.parametrize("state", ["withdrawn", "not_accepted", "denied", "lapsed"])
def test_rule_a_finished_repair_is_not_in_the_way(w, state):
    record = w.eligible()
    _other_repair_in(w, record, state)
    assert repair_eligibility(record, BOTH) == []


# -- through the workflow: the accept guard --------------------------------------------------

def _twin(w, rule):
    """The eligible record with the one property that breaks ``rule``; and the uploads."""
    uploads = repair_uploads()
    if rule == "record_not_in_publicity":
        return w.eligible(state=RecordState.REVOKED), uploads
    if rule == "shortest_publicity_not_over":
        return w.eligible(decision_date=date(2026, 8, 10)), uploads
    if rule == "class_not_repairable":
        return w.eligible(policy=policy_like(lambda b: b["record_classes"]["general"].update(repairable=False))), uploads
    if rule == "sanction_not_repairable":
        return w.eligible(sanction_kinds=["fine", "licence_revoked"]), uploads
    if rule == "obligation_proof_missing":
        return w.eligible(), _only(AttachmentPurpose.CREDIT_COMMITMENT)
    if rule == "commitment_missing":
        return w.eligible(), _only(AttachmentPurpose.OBLIGATION_PROOF)
    if rule == "barred_after_fraud":
        record = w.eligible()
        _revoked_for_fraud(w, record)
        return record, uploads
    if rule == "repair_already_open":
        record = w.eligible()
        _other_repair_in(w, record, "submitted")
        return record, uploads
    raise AssertionError(rule)


RULES = ["record_not_in_publicity", "shortest_publicity_not_over", "class_not_repairable", "sanction_not_repairable",
         "obligation_proof_missing", "commitment_missing", "barred_after_fraud", "repair_already_open"]
# A second open repair of a record can no longer be filed (issue 14: the submission refuses it
# and names the open one, a partial unique index holds it): the workflow never meets that rule.
FILED_RULES = [rule for rule in RULES if rule != "repair_already_open"]


def _events(db, case):
    return db.session.scalars(select(CaseEvent.trigger).where(CaseEvent.case_id == case.id)).all()


def test_accept_guard_lets_the_eligible_twin_through(db, w, monkeypatch):
    case = _repair(w, w.eligible(), unchecked=True, monkeypatch=monkeypatch)
    act(case, "accept", w.officer)
    assert case.state == "under_review"


@pytest.mark.parametrize("rule", FILED_RULES)
def test_accept_guard_refuses_with_the_rules_reason(db, w, monkeypatch, rule):
    record, uploads = _twin(w, rule)
    case = _repair(w, record, uploads, unchecked=True, monkeypatch=monkeypatch)
    version = case.version
    with pytest.raises(Conflict) as refused:
        act(case, "accept", w.officer)
    assert str(refused.value) == reason_text(rule)
    db.session.expire_all()
    assert (case.state, case.version, _events(db, case)) == ("submitted", version, ["submit"])


def test_submission_of_a_second_open_repair_names_the_open_one(w):
    from app.services.cases import OpenCaseExists

    record, uploads = _twin(w, "repair_already_open")
    with pytest.raises(OpenCaseExists) as refused:
        submit(w.applicant, CaseKind.REPAIR, record, uploads)
    assert refused.value.number in str(refused.value)


@pytest.mark.parametrize("rule", FILED_RULES)
def test_submission_refuses_with_the_rules_reason(w, rule):
    from app.errors import InvalidInput

    record, uploads = _twin(w, rule)
    with pytest.raises(InvalidInput) as refused:
        submit(w.applicant, CaseKind.REPAIR, record, uploads)
    assert str(refused.value) == reason_text(rule)


# -- through the workflow: the approve guard -------------------------------------------------
# Between acceptance and approval a record can become ineligible in three ways the services
# allow: an admin moves it onto a new policy version (recompute), an objection revokes it, or a
# second repair filed at the same moment is open too. (Attachments are never removed, and a
# bar needs a repair revoked for fraud, which cannot happen while this one is open.)

def _under_review(w, record, monkeypatch=None, unchecked=False):
    case = _repair(w, record, unchecked=unchecked, monkeypatch=monkeypatch)
    act(case, "accept", w.officer)
    assert case.state == "under_review"
    return case


def _recompute_under(w, change):
    """A new policy version in force from today, with ``change``; records and cases moved onto it."""
    from app.services.admin.recompute import recompute

    newest = policy_like(change)
    newest.effective_from = clock.today()
    admin = make_user(Role.ADMIN)
    recompute(admin, newest.version)
    return newest


def _assert_approve_refused(db, w, case, rule):
    version, events = case.version, _events(db, case)
    with pytest.raises(Conflict) as refused:
        act(case, "approve", w.officer, "符合修复条件")
    assert str(refused.value) == reason_text(rule)
    db.session.expire_all()
    assert (case.state, case.version, _events(db, case)) == ("under_review", version, events)
    assert case.record.state != RecordState.REPAIRED


def test_approve_guard_lets_the_eligible_case_through(db, w):
    case = _under_review(w, w.eligible())
    act(case, "approve", w.officer, "符合修复条件")
    assert case.state == "approved" and case.record.state == RecordState.REPAIRED


@pytest.mark.parametrize(
    ("rule", "change"),
    [
        ("class_not_repairable", lambda b: b["record_classes"]["general"].update(repairable=False)),
        ("sanction_not_repairable", lambda b: b["never_repairable_sanctions"].append("fine")),
        ("shortest_publicity_not_over", lambda b: b["record_classes"]["general"].update(shortest_publicity="9m")),
    ],
)
def test_approve_guard_refuses_after_the_record_moved_onto_a_stricter_policy(db, w, rule, change):
    case = _under_review(w, w.eligible())
    newest = _recompute_under(w, change)
    db.session.refresh(case.record)
    assert case.record.policy_version == newest.version
    _assert_approve_refused(db, w, case, rule)


def test_a_revocation_by_objection_ends_the_repair_under_review(db, w):
    """Issue 14: a record that leaves publicity ends what depended on it; the repair is not left
    for an approval that can no longer happen (it was refused by the guard before)."""
    record = w.eligible()
    case = _under_review(w, record)
    objection = submit(w.applicant, CaseKind.OBJECTION, record)
    act(objection, "accept", w.officer)
    act(objection, "refer", w.officer)
    act(objection, "reply", w.dept_user, "原决定已撤销", verification="revoke")
    act(objection, "decide_revoke", w.officer, "撤销")
    assert record.state == RecordState.REVOKED
    db.session.refresh(case)
    assert case.state == "closed"
    with pytest.raises(Conflict):
        act(case, "approve", w.officer, "符合修复条件")


def test_a_second_repair_filed_at_the_same_moment_is_refused(db, w, monkeypatch):
    from app.services.cases import OpenCaseExists

    record = w.eligible()
    _under_review(w, record)
    with pytest.raises(OpenCaseExists):  # past its eligibility check, the open-case rule still holds
        _repair(w, record, unchecked=True, monkeypatch=monkeypatch)
