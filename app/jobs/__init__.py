"""The scheduler process: APScheduler 3 runs each job on its interval, one instance at a time.

Each job body is ``app.services.admin.run_job``, which takes a database lock first, so several
scheduler processes on several hosts can run side by side: one does each run, the others skip.
Every ``JOB_POLL_SECONDS`` the process writes that it lives and starts the jobs an admin asked
to run now (the web request only queues them).
"""
from __future__ import annotations

import logging
import signal
from datetime import datetime

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from app import clock
from app.services.admin import (
    IMPORT_JOB,
    IMPORT_POLL_EVERY,
    JOBS,
    RECOMPUTE_JOB,
    RECOMPUTE_POLL_EVERY,
    requested_jobs,
    run_job,
    run_queued_import,
    run_recompute,
    scheduler_beat,
)

log = logging.getLogger(__name__)


def _runner(app: Flask, name: str):
    def run() -> None:
        with app.app_context():
            try:
                outcome = run_job(name)
            except Exception:  # logged with its traceback; the next run tries again
                log.exception("job %s failed", name)
                return
            if outcome.ran:
                log.info("job %s done in %.2fs: %s", name, outcome.seconds, outcome.result)
            # a skip is logged by the lock, with who holds the job and until when

    run.__name__ = f"{name}_job"
    return run


def _recompute_runner(app: Flask):
    def run() -> None:
        with app.app_context():
            try:
                result = run_recompute()
            except Exception:  # the run is marked failed, with its error, on the policy page
                log.exception("policy recompute failed")
                return
            if result is not None:
                log.info("policy recompute done: %s", result)

    run.__name__ = "recompute_poll"
    return run


def add_recompute_poll(app: Flask, scheduler) -> None:
    """Look for a queued policy recompute every few seconds (the admin page queues it in the
    database, the queue this process shares with the web servers) and run it, or resume one whose
    process died. One runs at a time across hosts (its job lock); a long run does not hold up the
    other jobs (a thread of its own)."""
    scheduler.add_job(_recompute_runner(app), IntervalTrigger(seconds=int(RECOMPUTE_POLL_EVERY.total_seconds()),
                                                               timezone=clock.PLATFORM_TZ),
                      id=RECOMPUTE_JOB, name=RECOMPUTE_JOB, next_run_time=clock.now())


def _import_runner(app: Flask):
    def run() -> None:
        with app.app_context():
            try:
                run = run_queued_import()
            except Exception:  # the run is marked failed, with its error, on the department's page
                log.exception("record import failed")
                return
            if run is not None:
                log.info("record import %s: %s, %d rows read, %d imported", run.id, run.state, run.rows_read,
                         run.imported)

    run.__name__ = "import_poll"
    return run


def add_import_poll(app: Flask, scheduler) -> None:
    """Look for a queued record import every few seconds (the department's page queues a large
    file in the database) and run it, or start again one whose process died. One import runs at
    a time across hosts (its job lock), in a thread of its own beside the other jobs."""
    scheduler.add_job(_import_runner(app), IntervalTrigger(seconds=int(IMPORT_POLL_EVERY.total_seconds()),
                                                            timezone=clock.PLATFORM_TZ),
                      id=IMPORT_JOB, name=IMPORT_JOB, next_run_time=clock.now())


JOB_REQUESTS = "job_requests"


def _request_runner(app: Flask, scheduler, started_at: datetime):
    def run() -> None:
        with app.app_context():
            try:
                scheduler_beat(started_at)
                asked = requested_jobs()
            except Exception:  # a database away for a moment: the next poll tries again
                log.exception("scheduler heartbeat or job requests failed")
                return
            for name in asked:
                if scheduler.get_job(name) is not None:
                    log.info("job %s: run now (an admin asked, or its last run did not finish)", name)
                    # The job's own slot (one instance at a time); its schedule goes on from this run.
                    scheduler.modify_job(name, next_run_time=datetime.now(clock.PLATFORM_TZ))

    run.__name__ = "job_requests_poll"
    return run


def add_job_request_poll(app: Flask, scheduler, started_at: datetime) -> None:
    """Every ``JOB_POLL_SECONDS``: write that this process lives (``scheduler_process``, which
    the readiness check reads), then start the jobs an admin asked to run now and that no
    process is running. The run itself takes the job's lock as any run does, and clears the request."""
    every = int(app.config.get("JOB_POLL_SECONDS") or 5)
    scheduler.add_job(_request_runner(app, scheduler, started_at),
                      IntervalTrigger(seconds=every, timezone=clock.PLATFORM_TZ),
                      id=JOB_REQUESTS, name=JOB_REQUESTS, next_run_time=datetime.now(clock.PLATFORM_TZ))


def build_scheduler(app: Flask, scheduler_class=BlockingScheduler):
    scheduler = scheduler_class(
        timezone=clock.PLATFORM_TZ,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
    )
    for name, job in JOBS.items():
        if name == "purge":
            trigger = CronTrigger(hour=2, minute=30, timezone=clock.PLATFORM_TZ)  # quiet hours
            scheduler.add_job(_runner(app, name), trigger, id=name, name=name, misfire_grace_time=6 * 3600)
        else:
            trigger = IntervalTrigger(seconds=int(job.every.total_seconds()), timezone=clock.PLATFORM_TZ)
            # Interval jobs also run at start: a host that was down catches up at once.
            scheduler.add_job(_runner(app, name), trigger, id=name, name=name, next_run_time=clock.now())
    return scheduler


def run_scheduler(app: Flask) -> None:
    scheduler = build_scheduler(app)
    add_recompute_poll(app, scheduler)
    add_import_poll(app, scheduler)
    add_job_request_poll(app, scheduler, datetime.now(clock.PLATFORM_TZ))

    def stop(signum, frame):
        log.info("scheduler stopping (signal %s)", signum)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("scheduler started: %s", ", ".join(f"{n} every {j.every}" for n, j in JOBS.items()))
    scheduler.start()
