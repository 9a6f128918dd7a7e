"""Scheduled jobs: one run at a time across processes, a heartbeat, retention, the scheduler."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import CreditRecord, JobRun, RecordEvent
from app.models.enums import RecordClass, RecordState
from app.services.admin.jobs import JOBS, job_health, job_lock, run_job
from app.services.records.retention import PURGED_TEXT, purge_expired_personal_data
from tests.factories import make_record


def test_a_job_lock_is_held_by_one_process_at_a_time(committed_app):
    """Two lock attempts from two connections (as two hosts would): the second is refused."""
    import threading

    held, second_try = threading.Event(), {}

    def other_host():
        with committed_app.app_context():
            held.wait(10)
            with job_lock("expire", timedelta(minutes=5)) as acquired:
                second_try["acquired"] = acquired
            db.session.remove()

    thread = threading.Thread(target=other_host)
    thread.start()
    with committed_app.app_context():
        with job_lock("expire", timedelta(minutes=5)) as acquired:
            assert acquired
            held.set()
            thread.join(20)
        assert second_try == {"acquired": False}
        with job_lock("expire", timedelta(minutes=5)) as again:
            assert again  # released at the end of the first run
        db.session.remove()


def test_a_run_writes_its_heartbeat(db):
    outcome = run_job("sla")
    assert outcome.ran
    row = db.session.get(JobRun, "sla")
    assert row.runs == 1 and row.failures == 0 and row.last_error is None
    assert row.last_finished_at >= row.last_started_at and '"breached": 0' in row.last_result
    health = {h.name: h for h in job_health()}
    assert health["sla"].behind == timedelta(0) and not health["sla"].late
    assert health["dispatch"].behind is None and health["dispatch"].late


def test_a_failing_run_is_recorded_and_the_error_raised(db, monkeypatch):
    from app.services.admin import jobs

    def broken():
        raise RuntimeError("database unreachable")

    monkeypatch.setitem(jobs.JOBS, "sla", jobs.Job("sla", broken, timedelta(minutes=5), "x"))
    with pytest.raises(RuntimeError):
        run_job("sla")
    row = db.session.get(JobRun, "sla")
    assert row.failures == 1 and "database unreachable" in row.last_error
    with job_lock("sla", timedelta(minutes=5)) as acquired:
        assert acquired  # a failed run releases its lock


def test_a_late_job_shows_how_far_behind_it_is(db):
    with clock.frozen_clock(datetime(2026, 11, 25, 10, 0)) as frozen:
        run_job("dispatch")
        frozen.advance(timedelta(minutes=10))
        health = {h.name: h for h in job_health()}
    assert health["dispatch"].behind == timedelta(minutes=9, seconds=30)
    assert health["dispatch"].late


def test_retention_purges_personal_data_and_keeps_the_trail(db):
    old = make_record(decision_date=date(2026, 4, 10), severity=RecordClass.GENERAL)  # ends 2027-04-10
    recent = make_record(decision_date=date(2026, 9, 1), severity=RecordClass.GENERAL)
    from app.services.records.expiry import retire_expired_records

    with clock.frozen_clock(datetime(2027, 4, 11, 3, 0)):
        retire_expired_records()
    with clock.frozen_clock(datetime(2027, 9, 2, 3, 0)):
        retire_expired_records()
    with clock.frozen_clock(datetime(2032, 4, 11, 23, 0)):  # the five years end today: kept
        assert purge_expired_personal_data().purged == 0
    with clock.frozen_clock(datetime(2032, 4, 12, 3, 0)):
        assert purge_expired_personal_data().purged == 1
        assert purge_expired_personal_data().purged == 0
    db.session.expire_all()
    assert old.state == RecordState.PURGED and old.facts == PURGED_TEXT and old.sanction == PURGED_TEXT
    assert recent.state == RecordState.RETIRED and recent.facts != PURGED_TEXT
    trail = db.session.scalars(
        select(RecordEvent.trigger).where(RecordEvent.record_id == old.id).order_by(RecordEvent.seq)
    ).all()
    assert trail == ["expire", "purge"]
    assert db.session.scalar(select(CreditRecord.decision_number).where(CreditRecord.id == old.id))


def test_the_scheduler_runs_every_job_once_at_a_time(app):
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger

    from app.jobs import build_scheduler

    scheduler = build_scheduler(app, BackgroundScheduler)
    scheduler.start(paused=True)  # jobs get their settings when the scheduler starts
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=False)
    assert set(jobs) == set(JOBS)
    assert all(job.coalesce and job.max_instances == 1 for job in jobs.values())
    assert isinstance(jobs["purge"].trigger, CronTrigger)
    assert jobs["dispatch"].trigger.interval == timedelta(seconds=30)
    assert jobs["sla"].trigger.interval == timedelta(minutes=5)
    assert jobs["expire"].trigger.interval == timedelta(hours=1)
