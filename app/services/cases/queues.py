"""Open cases for officers: counts, filters, keyset pages, bulk actions.

Keyset pagination, no OFFSET: page 1,000 costs what page 1 does.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, false, func, literal, or_, select, true, tuple_, union_all
from sqlalchemy.orm import joinedload

from app import clock
from app.errors import DomainError
from app.extensions import db
from app.models import Case, Department, Subject, User
from app.models.enums import Role
from app.services.calendar import get_working_calendar
from app.services.cases.guards import OPEN_DONE
from app.services.cases.queue_counts import open_queue_counts
from app.services.cases.transitions import Action, transition_case
from app.services.policy import get_policy_in_force
from workflows import CASE_WORKFLOWS, DEPARTMENT, HANDLER, case_transitions


def open_filter():
    """Cases still being worked: not in a state its workflow marks done."""
    return or_(*[and_(Case.kind == kind, Case.state.not_in(done)) for kind, done in OPEN_DONE.items()])


def list_open_cases(limit: int = 50, department_id: int | None = None, state: str | None = None) -> list[Case]:
    """Open cases, earliest deadline first (cases without a deadline last)."""
    stmt = (
        select(Case)
        .where(open_filter())
        .options(joinedload(Case.subject), joinedload(Case.assignee))
        .order_by(Case.due_at.is_(None), Case.due_at, Case.id)
        .limit(limit)
    )
    if department_id is not None:
        stmt = stmt.where(Case.department_id == department_id)
    if state is not None:
        stmt = stmt.where(Case.state == state)
    return list(db.session.scalars(stmt))


def waiting_for_department():
    """Cases waiting for their department's answer: in a state that waits for the department,
    or for the handler of a complaint handed to the department rather than to an officer."""
    clauses = []
    for kind, workflow in CASE_WORKFLOWS.items():
        for party, handed_over in ((DEPARTMENT, true()), (HANDLER, Case.assignee_id.is_(None))):
            states = workflow.states_where(lambda s, party=party: s.waits_for == party)
            if states:
                clauses.append(and_(Case.kind == kind, Case.state.in_(states), handed_over))
    return or_(false(), *clauses)


def list_cases_waiting_for_department(department_id: int, limit: int = 500) -> list[Case]:
    """What a department is asked to answer (verifications, opinions, complaints), earliest
    deadline first (cases without a deadline last)."""
    stmt = (
        select(Case)
        .where(open_filter(), waiting_for_department(), Case.department_id == department_id)
        .options(joinedload(Case.subject), joinedload(Case.assignee))
        .order_by(Case.due_at.is_(None), Case.due_at, Case.id)
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def count_open_cases(overdue_before=None, due_between=None) -> dict[tuple[str, str], int]:
    """Open cases per (kind, state); with ``overdue_before``, only those past their deadline;
    with ``due_between`` (start, end), only those due in that span.

    All open cases: from the counter table (``queue_counts``), whatever the number of cases.
    By deadline: a range on the index of open cases' deadlines (``ix_case_open_due_at``), so
    the cost follows the cases in the range, not every case.
    """
    if overdue_before is None and due_between is None:
        return {key: entry["open"] for key, entry in open_queue_counts().items() if entry["open"]}
    stmt = _OPEN_COUNTS
    if overdue_before is not None:
        stmt = stmt.where(Case.due_at < overdue_before)
    if due_between is not None:
        stmt = stmt.where(Case.due_at >= due_between[0], Case.due_at <= due_between[1])
    stmt = stmt.group_by(Case.kind, Case.state)
    return {(kind, state): n for kind, state, n in db.session.execute(stmt)}


# Built once: the statement is the same on every page (only the values bound to it differ), and
# building the open filter's clauses cost more than running it. ``closed_at IS NULL`` is "open"
# (set exactly in a done state): the predicate of the partial index ``ix_case_open_due_at``.
_OPEN_COUNTS = select(Case.kind, Case.state, func.count()).where(Case.closed_at.is_(None), open_filter())


def due_soon_horizon():
    """Deadlines up to the end of the next working day count as due soon (policy: 1 wd)."""
    lead = int(get_policy_in_force().body.get("reminders", {}).get("due_soon_before", {}).get("wd", 1))
    return clock.end_of_day(get_working_calendar().add_working_days(clock.today(), lead))


# ---------------------------------------------------------------------------------------
# Officer queues: filters and keyset pagination (no OFFSET: page 1,000 costs what page 1 does).
# ---------------------------------------------------------------------------------------


@dataclass
class QueueFilter:
    kind: str | None = None
    state: str | None = None
    department_id: int | None = None
    assignee: str | None = None  # "me", "none" or a user id
    overdue: bool = False
    submitted_from: date | None = None
    submitted_to: date | None = None


@dataclass(frozen=True)
class QueueCursor:
    """The last row of a page: (has no deadline, deadline, id), the queue's sort key."""

    no_deadline: bool
    due_at: datetime | None
    case_id: int

    def encode(self) -> str:
        due = self.due_at.isoformat() if self.due_at else "-"
        return f"{int(self.no_deadline)}~{due}~{self.case_id}"

    @classmethod
    def decode(cls, text: str) -> QueueCursor:
        """Raises ValueError on anything that is not a cursor this code wrote."""
        flag, due, case_id = text.split("~")
        if flag not in ("0", "1"):
            raise ValueError("bad cursor")
        return cls(flag == "1", None if due == "-" else datetime.fromisoformat(due), int(case_id))


# A row of the queue page: what it shows of a case, read as plain columns (no ORM objects, no
# joined entities): id, number, version, kind, state, due_at, subject_name, assignee_name.
_QUEUE_ROWS = (
    select(Case.id, Case.number, Case.version, Case.kind, Case.state, Case.due_at,
           Subject.name.label("subject_name"), User.display_name.label("assignee_name"))
    .select_from(Case)
    .outerjoin(Subject, Subject.id == Case.subject_id)
    .outerjoin(User, User.id == Case.assignee_id)
    .where(open_filter())
)


def list_queue(user: User, filters: QueueFilter, after: QueueCursor | None = None, limit: int = 50):
    """Open cases, earliest deadline first (those without one last), filtered; returns
    (rows, cursor of the next page). A row has ``id``, ``number``, ``version``, ``kind``,
    ``state``, ``due_at``, ``subject_name`` and ``assignee_name`` (None when nobody handles it).

    Keyset pages on the index (due_at, id): a row comparison walks the index from the
    cursor, so a page deep in a million cases costs what the first one does. Rows without a
    deadline come after all the others, read by a second query when the first runs out.
    """
    base = _QUEUE_ROWS
    if filters.kind:
        base = base.where(Case.kind == filters.kind)
    if filters.state:
        base = base.where(Case.state == filters.state)
    if filters.department_id:
        base = base.where(Case.department_id == filters.department_id)
    if filters.assignee == "me":
        base = base.where(Case.assignee_id == user.id)
    elif filters.assignee == "none":
        base = base.where(Case.assignee_id.is_(None))
    elif filters.assignee and filters.assignee.isdigit():
        base = base.where(Case.assignee_id == int(filters.assignee))
    if filters.overdue:
        base = base.where(Case.due_at < clock.now())
    if filters.submitted_from:
        base = base.where(Case.submitted_at >= clock.start_of_day(filters.submitted_from))
    if filters.submitted_to:
        base = base.where(Case.submitted_at < clock.start_of_day(filters.submitted_to + timedelta(days=1)))

    rows: list = []
    if after is None or not after.no_deadline:
        with_deadline = base.where(Case.due_at.is_not(None))
        if after is not None:
            with_deadline = with_deadline.where(tuple_(Case.due_at, Case.id) > tuple_(after.due_at, after.case_id))
        rows = db.session.execute(with_deadline.order_by(Case.due_at, Case.id).limit(limit + 1)).all()
    if len(rows) <= limit:
        without = base.where(Case.due_at.is_(None))
        if after is not None and after.no_deadline:
            without = without.where(Case.id > after.case_id)
        rows += db.session.execute(without.order_by(Case.id).limit(limit + 1 - len(rows))).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = QueueCursor(last.due_at is None, last.due_at, last.id)
    return rows, next_cursor


def queue_choices() -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The queue page's choices in one statement: (officers, departments), each (id, name).

    Officers are those ``accounts.list_officers`` gives (active officers and supervisors, by
    name), departments those of ``accounts.list_departments`` (active ones, by name); a test
    holds them equal.
    """
    officers = select(literal(0).label("part"), User.id, User.display_name.label("name")).where(
        User.role.in_((Role.OFFICER, Role.SUPERVISOR)), User.is_active.is_(True))
    departments = select(literal(1), Department.id, Department.name).where(Department.is_active.is_(True))
    both = union_all(officers, departments)
    rows = db.session.execute(both.order_by(both.selected_columns.part, both.selected_columns.name)).all()
    return [(i, name) for part, i, name in rows if part == 0], [(i, name) for part, i, name in rows if part == 1]


# The steps offered on many cases at once, the handling steps (claim, reassign) first: the
# choice a form preselects never decides a case.
BULK_TRIGGERS = tuple(sorted(
    dict.fromkeys(t.trigger for w in CASE_WORKFLOWS.values() for t in w.transitions if t.bulk),
    key=lambda trigger: not all(t.bookkeeping for t in case_transitions(trigger)),
))


@dataclass
class BulkResult:
    done: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (case number, why)


def apply_to_many(user: User, trigger: str, versions: dict[int, int], assignee_id: int | None = None,
                  reason: str | None = None) -> BulkResult:
    """The same action on many cases, each through its workflow, each its own transaction."""
    result = BulkResult()
    for case_id, version in versions.items():
        number = db.session.scalar(select(Case.number).where(Case.id == case_id)) or f"#{case_id}"
        try:
            transition_case(case_id, Action(trigger, version, reason, assignee_id=assignee_id), user)
        except DomainError as error:
            db.session.rollback()
            result.refused.append((number, str(error)))
        else:
            result.done.append(number)
    return result
