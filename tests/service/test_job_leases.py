"""The scheduler recovers by itself (issue 17, item 4): a lease that ends soon after its holder
dies, skips that show, a failed run counted, ``--now`` later than now writing nothing without
``--commit``, and an admin's "run now" handed to the scheduler's poll."""
from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models import JobRun, Notification, RecordEvent, Timer
from app.models.enums import CaseKind, RecordState, Role
from app.services.admin import jobs, request_job_run, scheduler_alive, scheduler_last_seen
from app.services.admin.jobs import job_lock, run_job
from tests.factories import make_department, make_record, make_subject, make_user, submit

ROOT = Path(__file__).resolve().parents[2]
LEASE = 2  # seconds: renewed every half second

STUCK = """
import time
from datetime import timedelta
from app import create_app
from app.services.admin import jobs

def stuck():
    print("RUNNING", flush=True)
    time.sleep(300)

jobs.JOBS["expire"] = jobs.Job("expire", stuck, timedelta(hours=1), "a job that never ends")
app = create_app()
with app.app_context():
    jobs.run_job("expire")
"""


def _env(app) -> dict:
    return {**os.environ, "CASEDESK_ENV": "development", "SECRET_KEY": "x" * 40,
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "JOB_LEASE_SECONDS": str(LEASE),
            "CASEDESK_INSTANCE": str(Path(app.config["UPLOAD_DIR"]).parent)}


def _quick(app):
    """The job the survivor runs: it only has to show that it got the lock."""
    jobs.JOBS["expire"] = jobs.Job("expire", lambda: {"ok": True}, timedelta(hours=1), "quick")


@pytest.mark.slow
def test_a_lease_held_by_a_killed_process_is_taken_over_within_the_lease(committed_app, monkeypatch):
    """Killed with SIGKILL mid-job: the next run gets the job seconds later, not after 2 x the
    interval (two hours for ``expire``), and the dead run counts as a failure. While its holder
    lives, the lease is renewed: the job is not taken over however long it runs."""
    committed_app.config["JOB_LEASE_SECONDS"] = LEASE
    monkeypatch.setitem(jobs.JOBS, "expire", jobs.JOBS["expire"])
    holder = subprocess.Popen([sys.executable, "-c", STUCK], cwd=ROOT, env=_env(committed_app),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = holder.stdout.readline()
        assert line.strip() == "RUNNING", (line, holder.stderr.read() if holder.poll() is not None else "")
        _quick(committed_app)
        time.sleep(3 * LEASE)  # three leases: renewed meanwhile
        with committed_app.app_context():
            alive = run_job("expire")
            db.session.remove()
        assert not alive.ran and alive.held_by.startswith(jobs.HOLDER.split(":")[0]), alive
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        killed = time.monotonic()
        outcome = None
        while time.monotonic() - killed < 60:
            with committed_app.app_context():
                outcome = run_job("expire")
                row = db.session.get(JobRun, "expire")
                failures, error, locked_by = row.failures, row.last_error, row.locked_by
                db.session.remove()
            if outcome.ran:
                break
            time.sleep(0.2)
        waited = time.monotonic() - killed
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        holder.stdout.close()
        holder.stderr.close()
    assert outcome.ran and waited < 6 * LEASE, (outcome, waited)
    assert failures == 1 and locked_by is None  # the dead run; the survivor's own run then succeeded
    assert error is None


def test_a_skipped_run_says_who_holds_the_job_in_the_log_status_and_run_once(app, db, caplog):
    runner = app.test_cli_runner()
    with job_lock("sla") as acquired:
        assert acquired
        holder = db.session.get(JobRun, "sla").locked_by
        with caplog.at_level(logging.INFO, logger="app.services.admin.jobs"):
            outcome = run_job("sla")
        assert not outcome.ran and outcome.held_by == holder and outcome.held_until > datetime.now(UTC)
        assert any(f"job sla skipped: {holder} holds it" in r.getMessage() for r in caplog.records), caplog.text
        once = runner.invoke(args=["scheduler", "run-once", "sla"])
        assert f"sla: skipped, {holder} runs it (lease until" in once.output, once.output
        status = runner.invoke(args=["scheduler", "status"])
        [line] = [li for li in status.output.splitlines() if li.startswith("sla ")]
        assert f"held by {holder} until" in line and "skips 2, last" in line, status.output
    row = db.session.get(JobRun, "sla")
    assert row.skips == 2 and row.last_skipped_at is not None and row.runs == 0
    line = next(li for li in runner.invoke(args=["scheduler", "status"]).output.splitlines() if li.startswith("sla "))
    assert "held by" not in line and "skips 2" in line  # released: nobody holds it now


def test_a_failed_run_from_the_scheduler_counts_as_a_failure(app, db, monkeypatch):
    from app.jobs import _runner

    def broken():
        raise RuntimeError("receiver down")

    monkeypatch.setitem(jobs.JOBS, "sla", jobs.Job("sla", broken, timedelta(minutes=5), "x"))
    _runner(app, "sla")()  # what APScheduler calls: logged, not raised
    row = db.session.get(JobRun, "sla")
    assert (row.runs, row.failures, row.locked_by) == (1, 1, None) and "receiver down" in row.last_error


def test_a_sweep_as_of_a_later_instant_writes_nothing_without_commit_and_says_what_it_would_do(app, db):
    department, subject = make_department(), make_subject()
    long_over = [make_record(subject=subject, department=department, decision_date=datetime(2025, 1, 5).date())]
    later = [make_record(subject=subject, department=department, decision_date=datetime(2026, 6, 1).date())
             for _ in range(3)]  # general: public until 2027-06-01
    applicant = make_user(Role.APPLICANT, subject=subject)
    make_user(Role.SUPERVISOR)
    submit(applicant, CaseKind.OBJECTION, later[0])  # its acceptance deadline is a few working days away
    db.session.commit()
    runner = app.test_cli_runner()
    future = (datetime.now(UTC) + timedelta(days=400)).strftime("%Y-%m-%dT%H:%M")

    refused = runner.invoke(args=["sweep", "expire", "--now", future])
    assert refused.exit_code == 2 and "would retire 4 record(s); nothing written" in refused.output, refused.output
    assert "--commit" in refused.output
    refused = runner.invoke(args=["sweep", "sla", "--now", future])
    assert refused.exit_code == 2 and "nothing written" in refused.output, refused.output
    breached = int(re.search(r"would mark due soon \d+, breached (\d+)", refused.output).group(1))
    assert breached >= 1  # the objection's deadlines
    db.session.expire_all()
    assert all(r.state != RecordState.RETIRED for r in long_over + later)
    assert db.session.scalars(select(Timer).where(Timer.breached_at.is_not(None))).all() == []
    assert db.session.scalars(select(Notification).where(Notification.template == "sla_breached")).all() == []
    assert db.session.scalars(select(RecordEvent).where(RecordEvent.trigger == "expire")).all() == []

    dry = runner.invoke(args=["sweep", "sla", "--now", future, "--dry-run"])
    assert dry.exit_code == 0 and f"would mark due soon 0, breached {breached}," in dry.output, dry.output
    done = runner.invoke(args=["sweep", "sla", "--now", future, "--commit"])
    assert done.exit_code == 0 and f"due soon 0, breached {breached}," in done.output, done.output
    assert len(db.session.scalars(select(Timer).where(Timer.breached_at.is_not(None))).all()) == breached
    done = runner.invoke(args=["sweep", "expire", "--now", future, "--commit"])
    assert done.exit_code == 0 and done.output.strip().splitlines()[-1] == "retired 4", done.output
    now = runner.invoke(args=["sweep", "expire"])  # as of now: runs, nothing asked
    assert now.exit_code == 0, now.output


@pytest.mark.slow
def test_run_now_is_queued_and_run_by_the_scheduler_poll(committed_app):
    from apscheduler.schedulers.background import BackgroundScheduler

    from app.jobs import add_job_request_poll, build_scheduler

    committed_app.config["JOB_POLL_SECONDS"] = 1
    with committed_app.app_context():
        admin = make_user(Role.ADMIN)
        db.session.commit()
        db.session.remove()
    scheduler = build_scheduler(committed_app, BackgroundScheduler)
    add_job_request_poll(committed_app, scheduler, datetime.now(UTC))

    def sla_row():
        with committed_app.app_context():
            row = db.session.get(JobRun, "sla")
            values = (row.runs, row.requested_at) if row else (0, None)
            seen = scheduler_last_seen()
            db.session.remove()
            return values, seen

    def wait_for(check, seconds=30):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if check(*sla_row()):
                return True
            time.sleep(0.2)
        return False

    scheduler.start()
    try:
        assert wait_for(lambda values, seen: values[0] == 1 and seen is not None)  # the runs at start
        with committed_app.app_context():
            admin = db.session.merge(admin)
            queued = request_job_run(admin, "sla")
            assert not queued.already and scheduler_alive(scheduler_last_seen())
            db.session.remove()
        # sla runs every five minutes: a second run within seconds is the poll's
        assert wait_for(lambda values, seen: values == (2, None)), sla_row()
    finally:
        scheduler.shutdown(wait=True)


def test_a_job_whose_last_run_died_is_started_again_once_its_lease_is_free(app, db):
    """A scheduler killed mid-expiry left its run started and never finished: the surviving
    scheduler's poll starts it again as soon as the dead holder's lease lapses, not at the
    job's next turn (an hour for the expiry)."""
    now = jobs.wall_now()
    jobs.ensure_job_row("expire")
    jobs.ensure_job_row("sla")
    db.session.execute(update(JobRun).where(JobRun.name == "expire").values(
        last_started_at=now - timedelta(minutes=3), last_finished_at=now - timedelta(hours=1),
        locked_by="dead-host:1", locked_until=now + timedelta(seconds=30)))
    db.session.execute(update(JobRun).where(JobRun.name == "sla").values(
        last_started_at=now - timedelta(minutes=3), last_finished_at=now - timedelta(minutes=2)))
    db.session.commit()
    assert jobs.requested_jobs() == []  # still held: its holder may be alive
    db.session.execute(update(JobRun).where(JobRun.name == "expire").values(
        locked_until=now - timedelta(seconds=1)))
    db.session.commit()
    assert jobs.requested_jobs() == ["expire"]  # finished runs (sla) are not started again
