"""Every notice an outcome sends (DESIGN sections 5, 6, 7 and 9), written with the change.

Each row of the table drives a case to just before one step, takes the step, and asserts the
exact set of in-app notices that step wrote (template, recipient, key): no more, no fewer.
``one_commit`` fails unless the step committed once and the notices are still there after a
rollback, i.e. they went in the transaction of the change (the outbox rule of section 7).
"""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from app import clock
from app.models import Timer, WebhookSubscription
from app.models.enums import CaseKind, Channel, Role
from app.services.cases import close_cases_on_retired_records
from app.services.records import get_retired_page, retire_expired_records
from app.services.sla import sweep_sla
from tests.factories import act, make_department, make_subject, make_user, repair_uploads, submit
from tests.rulekit import Notice, last_notice_id, notice_rows, one_commit, record_like

TUESDAY = datetime(2026, 11, 10, 10, 0)  # November 2026 has no holidays


class World:
    pass


@pytest.fixture
def w(db, frozen):
    frozen.set(TUESDAY)
    world = World()
    world.frozen = frozen
    world.department = make_department()
    world.subject = make_subject()
    world.applicant = make_user(Role.APPLICANT, subject=world.subject)
    world.officer = make_user(Role.OFFICER)
    world.officer2 = make_user(Role.OFFICER)
    world.supervisor = make_user(Role.SUPERVISOR)
    world.dept_user = make_user(Role.DEPARTMENT, department=world.department)
    world.system = None
    world.record = record_like(subject=world.subject, department=world.department, decision_date=date(2026, 5, 1))
    return world


def _file(w, kind):
    if kind == CaseKind.COMPLAINT:
        return submit(w.applicant, kind, None, department_id=w.department.id)
    return submit(w.applicant, kind, w.record, repair_uploads() if kind == CaseKind.REPAIR else [])


# What each step needs besides a reason.
EXTRA = {
    "reply": lambda w: {"verification": "correct"},
    "reassign": lambda w: {"assignee_id": w.officer2.id},
    "assign": lambda w: {"department_id": w.department.id},
    "decide_correct": lambda w: {"corrections": {"sanction": "罚款人民币五千元"}},
}


def _do(w, case, trigger, who):
    extra = EXTRA[trigger](w) if trigger in EXTRA else {}
    return act(case, trigger, getattr(w, who), "理由", **extra)


def changed(w, c, trigger):
    """The applicant is told whenever someone else moved the case."""
    return Notice("case_changed", w.applicant.id, None, f"case:{c.id}:v{c.version}:{trigger}")


def referred(w, c, template="case_referred"):
    """An objection is referred for checking; a repair asks for the department's opinion (same key)."""
    return Notice(template, None, w.department.id, f"referral:{c.id}:{c.version}")


def told_department(w, c, template):
    return Notice(template, None, w.department.id, f"{template}:{w.record.id}:{c.number}")


OBJ, REP, COM = CaseKind.OBJECTION, CaseKind.REPAIR, CaseKind.COMPLAINT
TO_REPLIED = [("accept", "officer"), ("refer", "officer"), ("reply", "dept_user")]
TO_UNDER_REVIEW = [("accept", "officer")]
TO_ASSIGNED = [("accept", "officer"), ("assign", "officer")]

# (kind, steps before, the step, who takes it, what it must write)
STEPS = [
    (OBJ, [], "accept", "officer", lambda w, c: {changed(w, c, "accept")}),
    (OBJ, [], "not_accept", "officer", lambda w, c: {changed(w, c, "not_accept")}),
    (OBJ, [], "request_supplement", "officer", lambda w, c: {changed(w, c, "request_supplement")}),
    (OBJ, [("request_supplement", "officer")], "supplement", "applicant", lambda w, c: set()),
    (OBJ, [("request_supplement", "officer")], "lapse", "system", lambda w, c: {changed(w, c, "lapse")}),
    (OBJ, [("accept", "officer")], "refer", "officer", lambda w, c: {changed(w, c, "refer"), referred(w, c)}),
    (OBJ, TO_REPLIED[:2], "reply", "dept_user", lambda w, c: {changed(w, c, "reply")}),
    (OBJ, TO_REPLIED, "decide_correct", "officer",
     lambda w, c: {changed(w, c, "decide_correct"), told_department(w, c, "record_corrected")}),
    (OBJ, TO_REPLIED, "decide_revoke", "officer",
     lambda w, c: {changed(w, c, "decide_revoke"), told_department(w, c, "record_revoked")}),
    (OBJ, TO_REPLIED, "decide_maintain", "officer", lambda w, c: {changed(w, c, "decide_maintain")}),
    (OBJ, TO_REPLIED, "decide_unresolved", "officer", lambda w, c: {changed(w, c, "decide_unresolved")}),
    (OBJ, [*TO_REPLIED, ("decide_maintain", "officer")], "close", "officer", lambda w, c: {changed(w, c, "close")}),
    (OBJ, [*TO_REPLIED, ("decide_maintain", "officer")], "close", "system", lambda w, c: {changed(w, c, "close")}),
    (OBJ, [("accept", "officer")], "withdraw", "applicant", lambda w, c: set()),
    (OBJ, [], "claim", "officer", lambda w, c: set()),
    (OBJ, [], "reassign", "supervisor",
     lambda w, c: {Notice("case_assigned", w.officer2.id, None, f"assigned:{c.id}:v{c.version}")}),
    (REP, [], "accept", "officer", lambda w, c: {changed(w, c, "accept")}),
    (REP, [], "not_accept", "officer", lambda w, c: {changed(w, c, "not_accept")}),
    (REP, TO_UNDER_REVIEW, "ask_department", "officer",
     lambda w, c: {changed(w, c, "ask_department"), referred(w, c, "opinion_requested")}),
    (REP, [*TO_UNDER_REVIEW, ("ask_department", "officer")], "give_opinion", "dept_user",
     lambda w, c: {changed(w, c, "give_opinion")}),
    (REP, TO_UNDER_REVIEW, "extend", "officer", lambda w, c: {changed(w, c, "extend")}),
    (REP, TO_UNDER_REVIEW, "approve", "officer",
     lambda w, c: {changed(w, c, "approve"), told_department(w, c, "record_repaired")}),
    (REP, TO_UNDER_REVIEW, "deny", "officer", lambda w, c: {changed(w, c, "deny")}),
    (REP, [*TO_UNDER_REVIEW, ("approve", "officer")], "revoke_for_fraud", "officer",
     lambda w, c: {changed(w, c, "revoke_for_fraud"), told_department(w, c, "record_republished")}),
    (REP, TO_UNDER_REVIEW, "withdraw", "applicant", lambda w, c: set()),
    (COM, [], "accept", "officer", lambda w, c: {changed(w, c, "accept")}),
    (COM, [("accept", "officer")], "assign", "officer", lambda w, c: {changed(w, c, "assign")}),
    (COM, TO_ASSIGNED, "respond", "dept_user", lambda w, c: {changed(w, c, "respond")}),
    (COM, [*TO_ASSIGNED, ("respond", "dept_user")], "reopen", "applicant", lambda w, c: set()),
    (COM, [*TO_ASSIGNED, ("respond", "dept_user")], "close", "applicant", lambda w, c: set()),
    (COM, [*TO_ASSIGNED, ("respond", "dept_user")], "close", "system", lambda w, c: {changed(w, c, "close")}),
]


@pytest.mark.parametrize(("kind", "before", "trigger", "who", "expected"), STEPS,
                         ids=[f"{s[0]}-{s[2]}-by-{s[3]}" for s in STEPS])
def test_a_step_writes_exactly_its_notices_with_the_change(w, kind, before, trigger, who, expected):
    case = _file(w, kind)
    for t, by in before:
        _do(w, case, t, by)
    since = last_notice_id()
    with one_commit():
        _do(w, case, trigger, who)
    assert notice_rows(since) == expected(w, case)


def test_submission_tells_the_applicant(w):
    since = last_notice_id()
    with one_commit():
        case = _file(w, CaseKind.OBJECTION)
    assert notice_rows(since) == {Notice("case_submitted", w.applicant.id, None, f"case-submitted:{case.id}")}


def test_a_refused_step_writes_no_notice(w):
    from app.errors import Conflict

    case = _file(w, CaseKind.REPAIR)
    since = last_notice_id()
    with pytest.raises(Conflict):
        act(case, "approve", w.officer, "尚未受理")
    assert notice_rows(since) == set()


@pytest.mark.parametrize("template", ["record_repaired", "record_revoked"])
def test_the_departments_subscribers_are_told_of_a_repair_or_a_revocation(db, w, template):
    """DESIGN section 5: the department *and subscribers* are told (a webhook row per subscription)."""
    own = WebhookSubscription(department_id=w.department.id, name="dept", url="https://dept.example/hook",
                              secret="s", events=[template])
    platform = WebhookSubscription(department_id=None, name="joint sanctions", url="https://js.example/hook",
                                   secret="s", events=["*"])
    elsewhere = WebhookSubscription(department_id=make_department().id, name="other dept",
                                    url="https://other.example/hook", secret="s", events=["*"])
    db.session.add_all([own, platform, elsewhere])
    db.session.flush()
    if template == "record_repaired":
        case = _file(w, CaseKind.REPAIR)
        path = [("accept", "officer"), ("approve", "officer")]
    else:
        case = _file(w, CaseKind.OBJECTION)
        path = [*TO_REPLIED, ("decide_revoke", "officer")]
    for t, by in path[:-1]:
        _do(w, case, t, by)
    since = last_notice_id()
    with one_commit():
        _do(w, case, *path[-1])
    key = f"{template}:{w.record.id}:{case.number}"
    assert notice_rows(since, channel=Channel.WEBHOOK) == {
        Notice(template, None, w.department.id, f"{key}:webhook:{own.id}", Channel.WEBHOOK),
        Notice(template, None, w.department.id, f"{key}:webhook:{platform.id}", Channel.WEBHOOK),
    }


# -- jobs: expiry digest, cases closed on retirement, SLA reminders and escalations ----------------

def test_expiry_sends_one_digest_per_department_and_tells_the_subjects_accounts(db, w):
    other = make_department()
    decided = date(2025, 11, 1)  # the one property that matters here is the publicity end, set below
    ends = date(2026, 11, 9)
    mine = [record_like(subject=w.subject, department=w.department, decision_date=decided, publicity_end=ends)
            for _ in range(2)]
    record_like(department=other, decision_date=decided, publicity_end=ends)
    record_like(department=w.department, decision_date=decided, publicity_end=date(2026, 11, 10))  # last day
    gone = make_user(Role.APPLICANT, subject=w.subject, is_active=False)
    since = last_notice_id()
    with one_commit():
        result = retire_expired_records()
    assert result.retired == 3
    run = result.run_id
    assert notice_rows(since) == {
        Notice("records_retired", None, w.department.id, f"records-retired:{w.department.id}:run{run}"),
        Notice("records_retired", None, other.id, f"records-retired:{other.id}:run{run}"),
        *(Notice("record_retired", w.applicant.id, None, f"record-retired:{r.id}:user{w.applicant.id}") for r in mine),
    }
    assert gone.id not in {n.user_id for n in notice_rows(since)}
    digest = next(n for n in notice_rows(since) if n.department_id == w.department.id)
    from app.models import Notification

    payload = db.session.scalar(select(Notification.payload).where(Notification.key == digest.key))
    assert payload["count"] == 2 and payload["run"] == run
    listed = get_retired_page(w.department.id, run).records  # the digest's link: the run's page
    assert sorted(r.decision_number for r in listed) == sorted(r.decision_number for r in mine)


def test_an_open_case_on_a_retired_record_is_closed_and_its_applicant_told(db, w):
    w.record.publicity_end = date(2026, 11, 9)
    case = _file(w, CaseKind.OBJECTION)
    _do(w, case, "accept", "officer")
    retire_expired_records()
    since = last_notice_id()
    with one_commit():
        assert close_cases_on_retired_records() == 1
    assert case.state == "closed"
    assert notice_rows(since) == {changed(w, case, "close_on_retirement")}


def _timer(db, case, name) -> Timer:
    return db.session.scalar(select(Timer).where(Timer.case_id == case.id, Timer.clock == name))


def _due_soon(timer, recipient):
    user_id, department_id = recipient
    who = user_id if user_id else f"d{department_id}"
    return Notice("sla_due_soon", user_id, department_id, f"due-soon:{timer.id}:{timer.due_at.isoformat()}:{who}")


def test_due_soon_goes_to_every_active_supervisor_of_an_unassigned_case(db, w):
    make_user(Role.SUPERVISOR, is_active=False)
    second = make_user(Role.SUPERVISOR)
    case = _file(w, CaseKind.OBJECTION)  # accept due Thursday 2026-11-12
    w.frozen.set(datetime(2026, 11, 11, 10, 0))
    since = last_notice_id()
    with one_commit():
        sweep_sla()
    accept = _timer(db, case, "accept")
    assert notice_rows(since) == {_due_soon(accept, (w.supervisor.id, None)), _due_soon(accept, (second.id, None))}


def test_due_soon_goes_to_the_officer_who_claimed_the_case(db, w):
    case = _file(w, CaseKind.OBJECTION)
    _do(w, case, "claim", "officer")
    w.frozen.set(datetime(2026, 11, 11, 10, 0))
    since = last_notice_id()
    with one_commit():
        sweep_sla()
    assert notice_rows(since) == {_due_soon(_timer(db, case, "accept"), (w.officer.id, None))}


@pytest.mark.parametrize(("kind", "path", "clock_name", "day"), [
    (CaseKind.OBJECTION, [("accept", "officer"), ("refer", "officer")], "verify", datetime(2026, 11, 16, 10, 0)),
    (CaseKind.REPAIR, [("accept", "officer"), ("ask_department", "officer")], "department_opinion",
     datetime(2026, 11, 16, 10, 0)),
], ids=["objection-verify", "repair-department_opinion"])
def test_due_soon_of_a_department_deadline_goes_to_the_department(db, w, kind, path, clock_name, day):
    case = _file(w, kind)
    for t, by in path:
        _do(w, case, t, by)
    w.frozen.set(day)  # the deadline is Tuesday 2026-11-17, 5 wd after Tuesday 2026-11-10
    since = last_notice_id()
    with one_commit():
        sweep_sla()
    timer = _timer(db, case, clock_name)
    assert clock.local(timer.due_at).date() == date(2026, 11, 17)
    assert _due_soon(timer, (None, w.department.id)) in notice_rows(since)
    assert {n.department_id for n in notice_rows(since)} == {w.department.id}


def test_due_soon_of_the_supplement_deadline_goes_to_the_applicant(db, w):
    case = _file(w, CaseKind.OBJECTION)
    _do(w, case, "request_supplement", "officer")  # 10 wd: due Tuesday 2026-11-24
    w.frozen.set(datetime(2026, 11, 23, 10, 0))
    since = last_notice_id()
    with one_commit():
        sweep_sla()
    assert {(n.template, n.user_id, n.department_id) for n in notice_rows(since)} == {
        ("sla_due_soon", w.applicant.id, None)}
    assert _due_soon(_timer(db, case, "supplement"), (w.applicant.id, None)) in notice_rows(since)


def test_a_breach_is_escalated_to_every_active_supervisor(db, w):
    make_user(Role.SUPERVISOR, is_active=False)
    second = make_user(Role.SUPERVISOR)
    case = _file(w, CaseKind.OBJECTION)
    _do(w, case, "claim", "officer")  # assigned or not, escalations go to the supervisors
    w.frozen.set(datetime(2026, 11, 13, 10, 0))  # Friday: the accept deadline (Thursday) passed
    since = last_notice_id()
    with one_commit():
        sweep_sla()
    accept = _timer(db, case, "accept")
    key = f"breach:{accept.id}:{accept.due_at.isoformat()}"
    assert {n for n in notice_rows(since) if n.template == "sla_breached"} == {
        Notice("sla_breached", w.supervisor.id, None, f"{key}:{w.supervisor.id}"),
        Notice("sla_breached", second.id, None, f"{key}:{second.id}"),
    }
