"""Every (state, trigger, actor) of each case workflow, through the real services and guards.

For each workflow state a real case is driven there through ``transition_case`` along a path
computed from the workflow table (breadth first over its transitions). Then every trigger of
the workflow is fired as every role (and as an applicant and a department that have nothing
to do with the case): it must succeed exactly when the table lets that role fire it from that
state and its guards hold for the natural actor (the case's applicant, the department it was
referred to, the officer handling it), and otherwise be refused with Conflict, Forbidden or
NotFound and change nothing: state, version, events, timers, notices, the record. Allowed steps
run inside a SAVEPOINT of the test's own that is rolled back after them, so one case per state
serves every combination.

What makes each guard hold is written out below (``GUARD_HOLDS``), not asked of the product.
"""
from __future__ import annotations

from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, or_, select

from app.errors import Conflict, Forbidden, NotFound
from app.extensions import db
from app.models import Case, CaseEvent, CreditRecord, Notification, Timer
from app.models.enums import CaseKind, RecordCategory, Role
from app.services.cases import Action, transition_case
from app.services.records import retire_expired_records
from tests.factories import make_department, make_subject, make_user, repair_uploads, submit
from tests.rulekit import record_like
from workflows import CASE_WORKFLOWS, SYSTEM

NOW = datetime(2026, 11, 10, 10, 0)  # a Tuesday; the records below are eligible for repair
DECIDED = date(2026, 5, 1)  # general: public to 2027-05-01, repairable from 2026-08-02
AFTER_PUBLICITY = datetime(2027, 5, 2, 10, 0)
ROLES = (Role.APPLICANT, Role.OFFICER, Role.SUPERVISOR, Role.DEPARTMENT, Role.ADMIN, SYSTEM)
STRANGERS = ("another_applicant", "another_department")


def _history(case) -> list[str]:
    return list(db.session.scalars(select(CaseEvent.trigger).where(CaseEvent.case_id == case.id)))


# Whether a guard holds for the natural actor of ``role`` on a case driven along our paths.
# The records are eligible for repair but for their state; the clock stands where the case got
# to its state unless the variant moved it on (``Variant.later``).
GUARD_HOLDS = {
    "is_applicant": lambda role, case, w: role == Role.APPLICANT,
    "is_case_department": lambda role, case, w: role == Role.DEPARTMENT,
    "is_handler": lambda role, case, w: (
        role == Role.SUPERVISOR
        or (role == Role.OFFICER and case.assignee_id == w.officer.id)
        or (role == Role.DEPARTMENT and case.assignee_id is None)
    ),
    "unassigned": lambda role, case, w: case.assignee_id is None,
    # the walk's complaints name no case whose handling they are about (tests/service/test_rules_complaints.py)
    "not_complained_of": lambda role, case, w: case.about_case_id is None,
    "not_reopened_before": lambda role, case, w: "reopen" not in _history(case),
    "not_extended_before": lambda role, case, w: "extend" not in _history(case),
    "supplement_window_open": lambda role, case, w: not w.variant.later,
    "reopen_window_open": lambda role, case, w: not w.variant.later,
    "record_in_publicity": lambda role, case, w: case.record.state in ("published", "corrected"),
    "repair_eligible": lambda role, case, w: case.record.state in ("published", "corrected"),
    # DESIGN section 9 default: a serious-dishonesty listing needs the department's opinion
    "department_opinion_if_required": lambda role, case, w: (
        case.record.category != RecordCategory.SERIOUS_DISHONESTY_LIST or "give_opinion" in _history(case)
    ),
}


def _holds(t, role, case, w) -> bool:
    for guard in t.guards:
        assert guard in GUARD_HOLDS, f"guard {guard!r} is new: say in GUARD_HOLDS when it holds"
        if not GUARD_HOLDS[guard](role, case, w):
            return False
    return True


def expected_allowed(workflow, state, trigger, role, case, w) -> bool:
    rows = [t for t in workflow.transitions if t.trigger == trigger and state in t.source]
    assert len(rows) <= 1, f"{workflow.name}: two rows for {trigger} from {state}"
    return bool(rows) and role in rows[0].actors and _holds(rows[0], role, case, w)


def paths(workflow) -> dict[str, list]:
    """Shortest path (by transitions that change the state) from the initial state to each state."""
    found = {workflow.initial: []}
    queue = deque([workflow.initial])
    while queue:
        state = queue.popleft()
        for t in workflow.transitions_from(state):
            if t.dest not in found and t.dest != state:
                found[t.dest] = [*found[state], t]
                queue.append(t.dest)
    return found


@dataclass(frozen=True)
class Variant:
    """How a case got to its state, where that decides a guard: each differs in one thing."""

    name: str = ""
    assign: str = "department"  # a complaint is handed to its department, or to an officer
    then: tuple[str, ...] = ()  # triggers fired after the shortest path (back to the same state)
    category: str = RecordCategory.ADMINISTRATIVE_PENALTY
    later: timedelta | None = None  # the clock moves on once the case is there: windows pass
    retire_record: bool = False  # the record's publicity ends (the expiry job runs)


PLAIN = Variant()
PASSED = {"awaiting_supplement": timedelta(days=15), "responded": timedelta(days=16)}
VARIANTS = {
    (CaseKind.OBJECTION, "submitted"): [PLAIN, Variant("claimed", then=("claim",)),
                                        Variant("record-retired", retire_record=True)],
    (CaseKind.OBJECTION, "awaiting_supplement"): [PLAIN, Variant("window-passed", later=PASSED["awaiting_supplement"])],
    (CaseKind.REPAIR, "submitted"): [PLAIN, Variant("record-retired", retire_record=True)],
    (CaseKind.REPAIR, "awaiting_supplement"): [PLAIN, Variant("window-passed", later=PASSED["awaiting_supplement"])],
    (CaseKind.REPAIR, "under_review"): [
        PLAIN, Variant("extended-once", then=("extend",)), Variant("record-retired", retire_record=True),
        Variant("opinion-needed", category=RecordCategory.SERIOUS_DISHONESTY_LIST),
        Variant("opinion-given", category=RecordCategory.SERIOUS_DISHONESTY_LIST,
                then=("ask_department", "give_opinion")),
    ],
    (CaseKind.COMPLAINT, "assigned"): [PLAIN, Variant("handled-by-officer", assign="officer")],
    (CaseKind.COMPLAINT, "responded"): [
        PLAIN, Variant("handled-by-officer", assign="officer"), Variant("reopened-once", then=("reopen", "respond")),
        Variant("window-passed", later=PASSED["responded"]),
    ],
}


def _walk_params():
    for kind, workflow in CASE_WORKFLOWS.items():
        reachable = paths(workflow)
        for state in workflow.state_names:
            assert state in reachable, f"{kind}: state {state} cannot be reached from {workflow.initial}"
            for variant in VARIANTS.get((kind, state), [PLAIN]):
                suffix = f"-{variant.name}" if variant.name else ""
                yield pytest.param(kind, state, variant, id=f"{kind}-{state}{suffix}")


class World:
    def __init__(self, frozen, variant):
        self.frozen, self.variant = frozen, variant
        self.department = make_department()
        self.subject = make_subject()
        self.applicant = make_user(Role.APPLICANT, subject=self.subject)
        self.officer = make_user(Role.OFFICER)
        self.officer2 = make_user(Role.OFFICER)
        self.supervisor = make_user(Role.SUPERVISOR)
        self.dept_user = make_user(Role.DEPARTMENT, department=self.department)
        self.admin = make_user(Role.ADMIN)
        self.another_applicant = make_user(Role.APPLICANT)
        self.another_department = make_user(Role.DEPARTMENT)

    def actor(self, role, case):
        """The natural user of a role for this case (None: the system)."""
        return {
            Role.APPLICANT: self.applicant,
            Role.OFFICER: self.officer,  # the one a complaint is handed to, in the officer variant
            Role.SUPERVISOR: self.supervisor,
            Role.DEPARTMENT: self.dept_user,
            Role.ADMIN: self.admin,
            SYSTEM: None,
            "another_applicant": self.another_applicant,
            "another_department": self.another_department,
        }[role]

    def action(self, case, trigger) -> Action:
        extra = {}
        if trigger == "reply":
            extra["verification"] = "correct"
        if trigger == "decide_correct":  # a "correct" decision must change the record
            extra["corrections"] = {"sanction": "更正后的处罚内容"}
        if trigger == "reassign":
            extra["assignee_id"] = self.officer2.id
        if trigger == "assign":
            extra = ({"assignee_id": self.officer.id} if self.variant.assign == "officer"
                     else {"department_id": self.department.id})
        return Action(trigger, case.version, "理由", **extra)

    def new_case(self, workflow, path):
        """A new case (on a new record) driven along ``path`` and the variant's extra steps."""
        kind, variant = workflow.name, self.variant
        self.frozen.set(NOW)
        if kind == CaseKind.COMPLAINT:
            case = submit(self.applicant, kind, None, department_id=self.department.id)
        else:
            record = record_like(subject=self.subject, department=self.department, decision_date=DECIDED,
                                 category=variant.category)
            case = submit(self.applicant, kind, record, repair_uploads() if kind == CaseKind.REPAIR else [])
        steps = list(path)
        for trigger in variant.then:
            state = steps[-1].dest if steps else workflow.initial
            steps.append(workflow.find(state, trigger))
        for t in steps:
            role = next((r for r in (Role.OFFICER, Role.DEPARTMENT, Role.APPLICANT, SYSTEM, Role.SUPERVISOR)
                         if r in t.actors and _holds(t, r, case, self)), None)
            assert role is not None, f"nobody can fire {t.trigger} from {case.state}"
            transition_case(case.id, self.action(case, t.trigger), self.actor(role, case))
            assert case.state == t.dest, (t.trigger, case.state)
        if variant.later:
            self.frozen.set(NOW + variant.later)
        if variant.retire_record:
            self.frozen.set(AFTER_PUBLICITY)
            retire_expired_records()
            db.session.refresh(case.record)
            assert case.record.state == "retired"
        return case


def _snapshot(db, case):
    """What a refused trigger must leave as it was, read from the database (pending changes
    are flushed first, so a half-made change shows)."""
    row = db.session.execute(
        select(Case.state, Case.version, Case.assignee_id, Case.department_id, Case.record_id).where(Case.id == case.id)
    ).one()
    events = db.session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case.id))
    timers = db.session.execute(
        select(Timer.clock, Timer.status, Timer.due_at).where(Timer.case_id == case.id).order_by(Timer.id)
    ).all()
    notices = db.session.scalar(select(func.count()).select_from(Notification).where(or_(
        *(Notification.key.like(f"{prefix}:{case.id}:%") for prefix in ("case", "referral", "assigned")),
        Notification.key.like(f"%:{case.number}%"),
    )))
    record = db.session.execute(
        select(CreditRecord.state, CreditRecord.version, CreditRecord.under_objection)
        .where(CreditRecord.id == row.record_id)
    ).one_or_none()
    return tuple(row), events, tuple(timers), notices, tuple(record) if record else None


@contextmanager
def undone(db):
    """Run the block in a SAVEPOINT of our own and roll it back: the case is as it was before.

    The session's own transaction is closed first, so the one the service opens (and commits)
    lies inside ours. Cheaper than driving a new case to the state for every allowed step.
    """
    db.session.commit()
    savepoint = db.session.get_bind().begin_nested()
    try:
        yield
    finally:
        db.session.rollback()
        savepoint.rollback()
        db.session.expire_all()


def _fire_allowed(db, w, workflow, case, state, trigger, role) -> list[str]:
    t = workflow.find(state, trigger)
    actor = w.actor(role, case)
    version, events = case.version, len(_history(case))
    try:
        transition_case(case.id, w.action(case, trigger), actor)
    except Exception as error:
        return [f"{trigger} by {role}: refused ({type(error).__name__}: {error}), the workflow says yes"]
    wrong = []
    last = db.session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq.desc()).limit(1)
    ).one()
    if (case.state, case.version, len(_history(case))) != (t.dest, version + 1, events + 1):
        wrong.append(f"{trigger} by {role}: now {case.state} v{case.version}, expected {t.dest} v{version + 1}")
    if (last.trigger, last.from_state, last.to_state, last.actor_id) != (trigger, state, t.dest, actor and actor.id):
        wrong.append(f"{trigger} by {role}: event {last.trigger} {last.from_state}->{last.to_state} by {last.actor_id}")
    return wrong


@pytest.mark.parametrize(("kind", "state", "variant"), list(_walk_params()))
def test_every_trigger_by_every_actor_from_this_state(db, frozen, kind, state, variant):
    w = World(frozen, variant)
    workflow = CASE_WORKFLOWS[kind]
    path = paths(workflow)[state]
    case = w.new_case(workflow, path)
    before = _snapshot(db, case)
    wrong = []
    for trigger in workflow.triggers:
        refused_by = []
        for role in (*ROLES, *STRANGERS):
            if role in STRANGERS or not expected_allowed(workflow, state, trigger, role, case, w):
                refused_by.append(role)
                try:
                    transition_case(case.id, w.action(case, trigger), w.actor(role, case))
                except (Conflict, Forbidden, NotFound) as error:
                    must = NotFound if role in STRANGERS else (Conflict, NotFound) if role == Role.DEPARTMENT else Conflict
                    if not isinstance(error, must):
                        wrong.append(f"{trigger} by {role}: refused with {type(error).__name__}, expected {must}")
                except Exception as error:
                    wrong.append(f"{trigger} by {role}: {type(error).__name__}: {error}")
                else:
                    wrong.append(f"{trigger} by {role}: allowed, the workflow says no")
                continue
            with undone(db):
                wrong.extend(_fire_allowed(db, w, workflow, case, state, trigger, role))
        # Checked once per trigger (after all its refusals and undone steps), to keep the walk fast.
        if _snapshot(db, case) != before:
            wrong.append(f"{trigger} refused to {', '.join(map(str, refused_by))} but something changed")
            case = w.new_case(workflow, path)  # start clean for the next triggers
            before = _snapshot(db, case)
    assert not wrong, f"{kind} in {state}:\n" + "\n".join(wrong)


def test_the_identity_guards_refuse_on_their_own_behind_the_view_check(db, frozen):
    """Through ``transition_case`` the view check stops a stranger before any guard (NotFound), so
    the walk cannot see ``is_applicant`` or ``is_case_department`` go. Asked directly, each refuses
    the user who differs from the natural one in one thing."""
    from app.services.cases.guards import GUARDS

    w = World(frozen, PLAIN)
    objection = w.new_case(CASE_WORKFLOWS[CaseKind.OBJECTION], paths(CASE_WORKFLOWS[CaseKind.OBJECTION])["referred"])
    assert GUARDS["is_applicant"](objection, w.applicant) is None
    assert GUARDS["is_applicant"](objection, w.another_applicant) == "not_applicant"
    assert GUARDS["is_applicant"](objection, w.officer) == "not_applicant"
    assert GUARDS["is_applicant"](objection, None) == "not_applicant"
    assert GUARDS["is_case_department"](objection, w.dept_user) is None
    assert GUARDS["is_case_department"](objection, w.another_department) == "not_case_department"
    assert GUARDS["is_case_department"](objection, w.officer) == "not_case_department"
    assert GUARDS["is_case_department"](objection, None) == "not_case_department"


@pytest.mark.parametrize("assign", ["department", "officer"])
def test_the_handler_guard_on_its_own(db, frozen, assign):
    from app.services.cases.guards import GUARDS

    w = World(frozen, Variant(assign=assign))
    complaint = w.new_case(CASE_WORKFLOWS[CaseKind.COMPLAINT], paths(CASE_WORKFLOWS[CaseKind.COMPLAINT])["assigned"])
    handler = GUARDS["is_handler"]
    assert handler(complaint, w.supervisor) is None
    assert handler(complaint, w.officer2) == "not_handler"
    assert handler(complaint, w.another_department) == "not_handler"
    assert handler(complaint, None) == "not_handler"
    if assign == "officer":
        assert (handler(complaint, w.officer), handler(complaint, w.dept_user)) == (None, "not_handler")
    else:
        assert (handler(complaint, w.officer), handler(complaint, w.dept_user)) == ("not_handler", None)
