"""The policy recompute, set-based and off the web request (issue 16, item 2).

Each result is checked against values computed here, per record and per timer, from the rules
themselves (``compute_record_dates``, ``deadline``), not against the code under test.
"""
from __future__ import annotations

import copy
from datetime import date, datetime, timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import event, func, insert, select

from app import clock
from app.errors import Conflict
from app.extensions import db as _db
from app.jobs import add_recompute_poll
from app.models import AdminAudit, Case, CaseEvent, CreditRecord, RecomputeRun, RecordEvent, Timer
from app.models.enums import CaseKind, RecordClass, RecordState, Role, TimerStatus
from app.services.admin import latest_recompute, recompute, request_recompute, run_recompute
from app.services.policy import clock_rule, compute_record_dates, get_policy_in_force
from app.services.policy import versions as policies
from app.services.sla import deadline
from tests.factories import act, make_department, make_record, make_subject, make_user, submit

TODAY = datetime(2026, 11, 25, 10, 0)  # a Wednesday
LATER = datetime(2026, 11, 26, 10, 0)


def _v2_body() -> dict:
    body = copy.deepcopy(get_policy_in_force().body)
    body["record_classes"]["general"]["publicity"] = "6m"
    body["record_classes"]["serious"].update(shortest_publicity="6m", publicity="2y")
    body["legacy"]["publicity"] = "2y"
    objection = body["sla"]["objection"]
    objection["accept"] = {"wd": 4}  # 2 -> 4 working days
    objection["supplement"] = {"wd": 12}  # 10 -> 12
    objection["refer"] = {"cd": 3}  # a new unit: the running "refer" keeps its deadline and version
    return body  # "overall" keeps its length: its timers move onto v2 unchanged


class Population:
    """Records of each class, legacy and not, with and without a sector and a listing; records not in
    publicity; open objections in three states (two clocks running; a paused clock)."""

    def __init__(self):
        self.admin = make_user(Role.ADMIN)
        department, subject = make_department(), make_subject()
        self.records = []
        for severity in (RecordClass.MINOR, RecordClass.GENERAL, RecordClass.SERIOUS):
            for decided in (date(2026, 1, 10), date(2026, 9, 1)):  # the first under the legacy clause
                for sector in (None, "fire"):
                    for kinds in ([], ["listing"]):
                        self.records.append(make_record(subject=subject, department=department, severity=severity,
                                                        decision_date=decided, sector=sector, sanction_kinds=kinds))
        self.retired = make_record(subject=subject, department=department, decision_date=date(2026, 9, 2))
        self.retired.state, self.retired.retired_at = RecordState.RETIRED, clock.now()
        self.revoked = make_record(subject=subject, department=department, decision_date=date(2026, 9, 3))
        self.revoked.state = RecordState.REVOKED
        applicant, officer = make_user(Role.APPLICANT, subject=subject), make_user(Role.OFFICER)
        general = [r for r in self.records if r.severity == RecordClass.GENERAL]
        self.submitted = submit(applicant, CaseKind.OBJECTION, general[0])
        self.paused = submit(applicant, CaseKind.OBJECTION, general[1])
        act(self.paused, "request_supplement", officer)
        self.accepted = submit(applicant, CaseKind.OBJECTION, general[2])
        act(self.accepted, "accept", officer)
        for timer in _db.session.scalars(select(Timer).where(Timer.case_id == self.submitted.id)):
            timer.due_soon_at = clock.now()  # reminded: "accept" moves (a new reminder), "overall" does not
        self.v2 = policies.create_version(self.admin, _v2_body(), clock.today(), "v2")
        self.on_v2 = make_record(subject=subject, department=department, decision_date=date(2026, 9, 4))
        assert self.on_v2.policy_version == self.v2.version
        _db.session.commit()
        self.events_before = dict(_db.session.execute(
            select(RecordEvent.record_id, func.count()).group_by(RecordEvent.record_id)).all())
        self.timers_before = {t.id: (t.status, t.started_at, t.length, t.remaining, t.clock, t.unit, t.due_at,
                                     t.due_soon_at) for t in _db.session.scalars(select(Timer))}

    @property
    def cases(self):
        return (self.submitted, self.paused, self.accepted)

    def check(self):
        """Everything is where the rules put it; each moved record and case has one recompute event."""
        _db.session.expire_all()
        body, version = self.v2.body, self.v2.version
        for record in self.records:
            expected = compute_record_dates(body, record.severity, record.decision_date, sector=record.sector,
                                            sanction_kinds=tuple(record.sanction_kinds))
            assert (record.publicity_end, record.shortest_publicity_end, record.policy_version) == (
                expected.publicity_end, expected.shortest_publicity_end, version), record.id
        moved_ids = {r.id for r in self.records}
        for record in (self.retired, self.revoked, self.on_v2):
            assert record.policy_version == (version if record is self.on_v2 else 1)
        events = _db.session.scalars(select(RecordEvent).where(RecordEvent.trigger == "recompute")).all()
        assert sorted(e.record_id for e in events) == sorted(moved_ids)  # one each, none for the others
        counts = dict(_db.session.execute(
            select(RecordEvent.record_id, func.count()).group_by(RecordEvent.record_id)).all())
        for e in events:
            record = _db.session.get(CreditRecord, e.record_id)
            assert e.seq == self.events_before.get(e.record_id, 0) + 1 == counts[e.record_id]
            assert (e.from_state, e.to_state, e.actor_id) == (record.state, record.state, None)
            assert e.data["after"] == {"policy_version": version, "publicity_end": record.publicity_end.isoformat(),
                                       "shortest_publicity_end": record.shortest_publicity_end.isoformat()}
            assert e.data["before"]["policy_version"] == 1
        self._check_cases(body, version)

    def _check_cases(self, body, version):
        for case in self.cases:
            timers = _db.session.scalars(select(Timer).where(Timer.case_id == case.id)).all()
            running = []
            for timer in timers:
                status, started, length, remaining, clock_name, unit, due_at, reminded = self.timers_before[timer.id]
                rule = clock_rule(body, case.kind, clock_name)
                if status == TimerStatus.STOPPED or rule.unit != unit:  # left as they were
                    assert (timer.policy_version, timer.length, timer.due_at) == (1, length, due_at), clock_name
                    running += [timer.due_at] if timer.status == TimerStatus.RUNNING else []
                    continue
                assert (timer.length, timer.policy_version) == (rule.length, version), clock_name
                if status == TimerStatus.RUNNING:
                    assert timer.due_at == deadline(unit, clock.local(started).date(), rule.length,
                                                    to_working_day=rule.shift_to_working_day), clock_name
                    assert timer.due_soon_at == (reminded if rule.length == length else None), clock_name
                    running.append(timer.due_at)
                else:
                    assert timer.remaining == max(0, remaining + rule.length - length), clock_name
            assert case.policy_version == version and case.due_at == (min(running) if running else None)
            events = _db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                                CaseEvent.trigger == "recompute")).all()
            assert [(e.from_state, e.to_state, e.reason) for e in events] == [(case.state, case.state,
                                                                               f"policy v1 → v{version}")]


@pytest.fixture
def population(db):
    with clock.frozen_clock(TODAY):
        return Population()


def test_the_set_based_recompute_moves_what_the_rules_say_with_one_event_each(population):
    clocks = {(t.clock, t.status) for t in _db.session.scalars(select(Timer))}
    assert {("accept", "paused"), ("overall", "running"), ("refer", "running"), ("supplement", "running")} <= clocks
    assert _db.session.scalars(select(Timer).where(Timer.due_soon_at.is_not(None))).all()
    with clock.frozen_clock(LATER):
        result = recompute(population.admin, population.v2.version, chunk_size=7)
    population.check()
    assert (result.records, result.cases) == (len(population.records), 3)
    moved = sum(1 for e in _db.session.scalars(select(RecordEvent).where(RecordEvent.trigger == "recompute"))
                if e.data["before"]["publicity_end"] != e.data["after"]["publicity_end"]
                or e.data["before"]["shortest_publicity_end"] != e.data["after"]["shortest_publicity_end"])
    assert result.records_moved == moved > 0
    assert 0 < result.timers_moved
    audit = _db.session.scalars(select(AdminAudit).where(AdminAudit.action == "policy.recompute")).one()
    assert audit.actor_id == population.admin.id and audit.after["records"] == len(population.records)
    with clock.frozen_clock(LATER):  # nothing left behind: a second run moves nothing and writes no event
        assert recompute(population.admin, population.v2.version).records == 0
    population.check()


class Killed(BaseException):
    """The process dies: nothing the run does on an error happens."""


def test_a_run_killed_after_a_chunk_resumes_after_it_with_no_event_twice(population):
    with clock.frozen_clock(LATER):
        request_recompute(population.admin, population.v2.version)

        def kill(run):
            raise Killed

        with pytest.raises(Killed):
            run_recompute(chunk_size=7, after_chunk=kill)
        run = latest_recompute()
        assert (run.state, run.active) == ("running", True) and 0 < run.records_done < len(population.records)
        done_before = run.records_done
        with pytest.raises(Conflict):  # still the one active run: no second start
            request_recompute(population.admin, population.v2.version)
        result = run_recompute(chunk_size=7)  # the scheduler's next poll
    assert result.run_id == run.id and result.records == len(population.records) > done_before
    assert _db.session.scalar(select(func.count()).select_from(RecomputeRun)) == 1
    population.check()


def test_a_failed_run_says_why_and_a_new_one_moves_the_rest(population):
    with clock.frozen_clock(LATER):
        request_recompute(population.admin, population.v2.version)

        def fail(run):
            raise RuntimeError("disk full")

        with pytest.raises(RuntimeError):
            run_recompute(chunk_size=7, after_chunk=fail)
        failed = latest_recompute()
        assert (failed.state, failed.active, failed.error) == ("failed", None, "RuntimeError: disk full")
        assert failed.finished_at is not None and failed.records_done > 0
        result = recompute(population.admin, population.v2.version, chunk_size=7)
    assert result.run_id != failed.id and result.records == len(population.records) - failed.records_done
    population.check()


def test_one_run_at_a_time_and_only_onto_the_version_in_force(db):
    admin = make_user(Role.ADMIN)
    with clock.frozen_clock(TODAY):
        make_record()
        scheduled = policies.create_version(admin, _v2_body(), date(2026, 12, 1), None)
        with pytest.raises(Conflict):
            request_recompute(admin, scheduled.version)
        in_force = policies.create_version(admin, _v2_body(), clock.today(), None)
        first = request_recompute(admin, in_force.version)
        with pytest.raises(Conflict) as refused:
            request_recompute(admin, in_force.version)
        assert "已在排队或运行（记录 0 / 1）" in str(refused.value)
        assert db.session.scalar(select(func.count()).select_from(RecomputeRun)) == 1
        actions = db.session.scalars(select(AdminAudit.action).where(AdminAudit.action.like("policy.recompute%"))).all()
        assert actions == ["policy.recompute_requested"]
        assert run_recompute().run_id == first.id
        assert request_recompute(admin, in_force.version).id != first.id  # the first one ended


def test_a_run_whose_version_is_no_longer_in_force_fails_and_changes_nothing(db):
    admin = make_user(Role.ADMIN)
    with clock.frozen_clock(TODAY):
        record = make_record(decision_date=date(2026, 9, 1))
        v2 = policies.create_version(admin, _v2_body(), clock.today(), None)
        request_recompute(admin, v2.version)
        policies.create_version(admin, _v2_body(), clock.today(), None)  # v3 from today too
        with pytest.raises(Conflict):
            run_recompute()
    run = latest_recompute()
    assert run.state == "failed" and run.error.startswith("Conflict: ")
    db.session.refresh(record)
    assert record.policy_version == 1


def _statements(version: int) -> int:
    seen = []

    def count(*args):
        seen.append(1)

    event.listen(_db.engine, "before_cursor_execute", count)
    try:
        recompute(None, version)
    finally:
        event.remove(_db.engine, "before_cursor_execute", count)
    return len(seen)


def test_the_statements_do_not_grow_with_the_records(db):
    """100 records of four groups and an open case onto v2, then 2,000 of the same groups back onto
    v1's rules (v3): the same statements."""
    admin = make_user(Role.ADMIN)
    with clock.frozen_clock(TODAY):
        subject = make_subject()
        templates = [make_record(subject=subject, severity=s, decision_date=d)
                     for s in (RecordClass.GENERAL, RecordClass.SERIOUS) for d in (date(2026, 1, 10), date(2026, 9, 1))]
        submit(make_user(Role.APPLICANT, subject=subject), CaseKind.OBJECTION, templates[0])
        columns = [c.key for c in CreditRecord.__table__.columns if c.key not in ("id", "decision_number")]

        def more(n: int, start: int) -> None:
            if n:
                db.session.execute(insert(CreditRecord), [
                    {**{c: getattr(templates[i % 4], c) for c in columns}, "decision_number": f"批量{start + i}号"}
                    for i in range(n)])

        more(96, 0)
        counts, v1 = {}, get_policy_in_force().body
        for n, extra, body in ((100, 0, _v2_body()), (2_000, 1_900, v1)):
            more(extra, 1_000)
            version = policies.create_version(admin, body, clock.today(), None).version
            counts[n] = _statements(version)
            assert db.session.scalar(select(func.count()).select_from(CreditRecord)
                                     .where(CreditRecord.policy_version == version)) == n
            assert db.session.scalar(select(Case.policy_version)) == version
    assert counts[100] == counts[2_000], counts
    assert db.session.scalar(select(func.count()).select_from(RecordEvent).where(RecordEvent.trigger == "recompute")) \
        == 2_100


def test_the_scheduler_polls_for_a_queued_recompute_and_runs_it(app, db):
    admin = make_user(Role.ADMIN)
    scheduler = BackgroundScheduler()
    add_recompute_poll(app, scheduler)
    scheduler.start(paused=True)
    try:
        job = scheduler.get_job("recompute")
        assert job.trigger.interval == timedelta(seconds=5) and job.max_instances == 1
        with clock.frozen_clock(TODAY):
            record = make_record(decision_date=date(2026, 9, 1))
            version = policies.create_version(admin, _v2_body(), clock.today(), None).version
            job.func()  # nothing queued: nothing happens
            assert latest_recompute() is None
            request_recompute(admin, version)
            job.func()
    finally:
        scheduler.shutdown(wait=False)
    db.session.refresh(record)
    assert record.policy_version == version and latest_recompute().state == "done"


def test_the_cli_recomputes_in_the_foreground(app, db):
    admin = make_user(Role.ADMIN)
    runner = app.test_cli_runner()
    with clock.frozen_clock(TODAY):
        make_record(decision_date=date(2026, 9, 1))
        version = policies.create_version(admin, _v2_body(), clock.today(), None).version
        refused = runner.invoke(args=["policy", "recompute", "1"])
        assert refused.exit_code != 0 and "该版本今天未生效" in refused.output  # v1 is no longer in force
        nobody = runner.invoke(args=["policy", "recompute", str(version), "--by", "nobody"])
        assert nobody.exit_code != 0 and "no active admin" in nobody.output
        done = runner.invoke(args=["policy", "recompute", str(version), "--by", admin.username])
    assert done.exit_code == 0, done.output
    assert f"version {version}: 1 records (1 with new dates), 0 cases" in done.output
    audit = db.session.scalars(select(AdminAudit).where(AdminAudit.action == "policy.recompute")).one()
    assert audit.actor_id == admin.id
