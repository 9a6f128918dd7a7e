"""Queue counts kept by delta (``queue_count``) always equal a recount of the cases: after random
work, after a rollback, after a killed connection, under concurrent writers (PostgreSQL)."""
from __future__ import annotations

import random
import threading
from datetime import datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app import clock
from app.errors import DomainError
from app.extensions import db
from app.models import Case, CreditRecord, QueueCount, User
from app.models.enums import CaseKind, Role
from app.services.cases import (
    Action,
    available_actions,
    count_open_cases,
    open_queue_counts,
    queue_count_drift,
    queue_counts,
    recount_queues,
    transition_case,
)
from app.services.cases.queue_counts import counted_from_cases
from tests.factories import make_department, make_people, make_record, make_subject, make_user, submit


def _random_work(rng: random.Random, people: dict, officers: list[User], steps: int) -> None:
    cases: list[Case] = []
    for _ in range(steps):
        roll = rng.random()
        if roll < 0.3 or not cases:
            if rng.random() < 0.5:
                cases.append(submit(people["applicant"], CaseKind.OBJECTION, make_record(subject=people["subject"])))
            else:
                cases.append(submit(people["applicant"], CaseKind.COMPLAINT, department_id=people["department"].id,
                                    confirmed=True))
            continue
        case = rng.choice(cases)
        actor = rng.choice([*officers, people["supervisor"], people["applicant"], people["dept_user"]])
        steps_now = available_actions(case, actor)
        if not steps_now:
            continue
        step = rng.choice(steps_now)
        action = Action(step.trigger, case.version, "理由", assignee_id=rng.choice(officers).id,
                        department_id=people["department"].id, verification=(step.finding_names or (None,))[0])
        try:
            transition_case(case.id, action, actor)
        except DomainError:
            pass  # refused (a guard, a missing field): rolled back, nothing counted


def test_counts_equal_a_recount_after_random_submissions_transitions_claims_and_reassignments(db):
    people = make_people()
    officers = [people["officer"], make_user(Role.OFFICER), make_user(Role.OFFICER)]
    _random_work(random.Random(16), people, officers, 120)
    assert db.session.scalar(select(func.count()).select_from(Case)) > 20
    assert db.session.scalar(select(func.count()).select_from(Case).where(Case.assignee_id.is_not(None))) > 0
    assert queue_count_drift() == {}
    moved = {state for (_, state, _) in counted_from_cases()}
    assert len(moved) > 3  # the work moved cases through several states, not just filed them
    opened = count_open_cases()
    assert opened == {(k, s): n for k, s, n in db.session.execute(
        select(Case.kind, Case.state, func.count()).where(Case.closed_at.is_(None)).group_by(Case.kind, Case.state))}


def test_the_queue_of_a_claim_moves_from_nobody_to_the_officer(db):
    people = make_people()
    case = submit(people["applicant"], CaseKind.OBJECTION, make_record(subject=people["subject"]))
    before = open_queue_counts(people["officer"].id)[("objection", case.state)]
    transition_case(case.id, Action("claim", case.version, "理由"), people["officer"])
    after = open_queue_counts(people["officer"].id)[("objection", case.state)]
    assert (after["nobody"], after["mine"]) == (before["nobody"] - 1, before["mine"] + 1)
    assert queue_count_drift() == {}


def test_a_change_rolled_back_after_its_flush_counts_nothing(db):
    people = make_people()
    case = submit(people["applicant"], CaseKind.OBJECTION, make_record(subject=people["subject"]))
    case.state, case.assignee_id = "accepted", people["officer"].id
    db.session.flush()  # the delta is taken here ...
    db.session.rollback()  # ... and forgotten here
    submit(people["applicant"], CaseKind.OBJECTION, make_record(subject=people["subject"]))  # a later commit
    assert queue_count_drift() == {}


def test_a_savepoint_rolled_back_drops_only_its_own_deltas(db):
    people = make_people()
    record = make_record(subject=people["subject"])
    case = submit(people["applicant"], CaseKind.OBJECTION, record)
    case = db.session.get(Case, case.id)
    case.assignee_id = people["officer"].id
    db.session.flush()  # kept: outside the savepoint
    savepoint = db.session.begin_nested()
    case.state = "accepted"
    db.session.flush()
    savepoint.rollback()
    db.session.commit()
    assert queue_count_drift() == {}


def test_recount_repairs_a_table_that_drifted(db):
    people = make_people()
    submit(people["applicant"], CaseKind.OBJECTION, make_record(subject=people["subject"]))
    db.session.execute(text("UPDATE queue_count SET n = n + 5"))
    db.session.add(QueueCount(kind="complaint", state="submitted", assignee_id=999, shard=99, n=2))
    db.session.commit()
    drift = recount_queues()
    assert drift and all(kept != counted for kept, counted in drift.values())
    assert queue_count_drift() == {}
    assert recount_queues() == {}


def test_the_operator_checks_and_recounts_from_the_command_line(app, db):
    people = make_people()
    submit(people["applicant"], CaseKind.OBJECTION, make_record(subject=people["subject"]))
    db.session.commit()
    runner = app.test_cli_runner()
    agree = runner.invoke(args=["queues", "check"])
    assert agree.exit_code == 0 and "agree" in agree.output
    db.session.execute(text("UPDATE queue_count SET n = n + 5"))
    db.session.commit()
    off = runner.invoke(args=["queues", "check"])
    assert off.exit_code == 1 and "objection\tsubmitted\t-\tkept 6, counted 1" in off.output
    fixed = runner.invoke(args=["queues", "recount"])
    assert fixed.exit_code == 0 and "1 queue count(s) off" in fixed.output
    assert runner.invoke(args=["queues", "check"]).exit_code == 0


def test_the_dashboard_counts_come_from_the_table(db):
    """All open cases per queue: the kept figures, not a scan (a planted figure shows through)."""
    people = make_people()
    submit(people["applicant"], CaseKind.OBJECTION, make_record(subject=people["subject"]))
    db.session.add(QueueCount(kind="objection", state="submitted", assignee_id=0, shard=99, n=4241))  # a shard no writer uses
    db.session.commit()
    assert count_open_cases()[("objection", "submitted")] == 4242


# -- PostgreSQL: concurrent writers, each in its own connection ---------------------------------


@pytest.fixture
def pg_app(committed_app, is_postgres):
    if not is_postgres:
        pytest.skip("concurrent writers need PostgreSQL (SQLite has one writer at a time)")
    return committed_app


def test_concurrent_submissions_and_transitions_get_unique_numbers_and_right_counts(pg_app):
    with pg_app.app_context():
        department = make_department()
        applicants, records = [], []
        for _ in range(4):
            subject = make_subject()
            applicants.append(make_user(Role.APPLICANT, subject=subject).id)
            records.append([make_record(subject=subject, department=department).id for _ in range(12)])
        officers = [make_user(Role.OFFICER).id for _ in range(2)]
        db.session.commit()
        db.session.remove()

    barrier = threading.Barrier(4)
    failures: list[BaseException] = []

    def worker(index: int):
        rng = random.Random(index)
        try:
            with pg_app.app_context():
                applicant = db.session.get(User, applicants[index])
                officer = db.session.get(User, officers[index % 2])
                db.session.commit()
                barrier.wait(timeout=20)
                filed = []
                for record_id in records[index]:
                    case = submit(applicant, CaseKind.OBJECTION, db.session.get(CreditRecord, record_id))
                    filed.append(case.id)
                    if rng.random() < 0.7:  # claim or accept a case filed by this or another thread
                        target = db.session.get(Case, rng.choice(filed))
                        try:
                            transition_case(target.id, Action(rng.choice(["claim", "accept"]), None, "理由"), officer)
                        except DomainError:
                            db.session.rollback()
                db.session.remove()
        except BaseException as error:  # reported after the join
            failures.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failures, failures
    with pg_app.app_context():
        numbers = db.session.scalars(select(Case.number)).all()
        assert len(numbers) == 48 and len(set(numbers)) == 48
        assert queue_count_drift() == {}
        assert db.session.scalar(select(func.count()).select_from(QueueCount)) > 1  # spread over shards


def test_a_connection_killed_before_its_commit_leaves_the_counts_right(pg_app):
    """A crash mid-transaction: the case and its delta go together (neither is committed)."""
    with pg_app.app_context():
        people = make_people()
        record = make_record(subject=people["subject"])
        submit(people["applicant"], CaseKind.OBJECTION, make_record(subject=people["subject"]))
        ids = (people["applicant"].id, record.id)
        db.session.commit()
        db.session.remove()
        # The victim files a case and writes its delta (what its commit would do), then dies
        # before COMMIT reaches the server.
        victim = db.engine.connect()
        pid = victim.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        session = Session(bind=victim)
        applicant = session.get(User, ids[0])
        session.add(Case(number="YY-2026-999999", kind="objection", state="submitted", subject_id=applicant.subject_id,
                         record_id=ids[1], applicant_id=applicant.id, policy_version=1, title="t", statement="s"))
        session.flush()
        queue_counts._write(session)
        assert session.scalar(select(func.sum(QueueCount.n))) == 2  # seen inside the victim's transaction
        with db.engine.connect() as killer:
            killer.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
        victim.invalidate()
        assert db.session.scalar(select(func.count()).select_from(Case)) == 1
        assert queue_count_drift() == {}
        submit(db.session.get(User, ids[0]), CaseKind.OBJECTION, db.session.get(CreditRecord, ids[1]))
        assert queue_count_drift() == {}


def test_case_numbers_run_from_000001_each_year_per_kind(db):
    """PostgreSQL: the year's sequence is made by its first case; SQLite: the counter row."""
    people = make_people()
    with clock.frozen_clock(datetime(2031, 3, 2, 10, 0)):
        first = submit(people["applicant"], CaseKind.OBJECTION, make_record(subject=people["subject"]))
        second = submit(people["applicant"], CaseKind.OBJECTION, make_record(subject=people["subject"]))
        complaint = submit(people["applicant"], CaseKind.COMPLAINT, department_id=people["department"].id)
    assert (first.number, second.number) == ("YY-2031-000001", "YY-2031-000002")
    assert complaint.number.endswith("-2031-000001") and not complaint.number.startswith("YY")
