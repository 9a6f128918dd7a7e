"""Record imports in the background: the scheduler's poll runs the queued ones, one at a time.

The department's page stores a large upload and queues an ``ImportRun``
(``records.import_runs.submit_import``); the scheduler process polls every few seconds
(``run_queued_import``) and runs the oldest, under the job lock, so one import runs at a time
across hosts: two files of one department never race for the same decision numbers, and the
database is not asked for several bulk loads at once. A run is the request's import, the same
steps (``records.imports.FileImport``) in the uploader's language: the check of every row, its
progress committed every few thousand rows (the page shows rows read and errors), then every
row stored and the outcome set in one transaction, so it is whole or nothing. A run whose
process died is started again from the start by the next poll (nothing of it was stored), a few
times at most. The stored file is deleted once the run has ended, whatever the outcome.
"""
from __future__ import annotations

from datetime import timedelta

from flask_babel import force_locale

from app.extensions import db
from app.models import Department, ImportRun
from app.services.admin.jobs import HOLDER, job_lock
from app.services.records import imports
from app.services.records.import_files import ImportLimits, UnreadableFile, inspect_file
from app.services.records.import_runs import (
    begin_run,
    discard_finished_uploads,
    discard_upload,
    end_run,
    fail_run,
    has_import_work,
    next_import_run,
    note_progress,
    upload_path,
)
from app.services.records.imports import FileImport, ImportReport
from app.services.transaction import use_case

IMPORT_JOB = "import"  # the lock that keeps two processes from running imports, the scheduler's job id
IMPORT_POLL_EVERY = timedelta(seconds=5)  # how often the scheduler looks for a queued import
LEASE = timedelta(hours=2)  # the lock's lease on SQLite (PostgreSQL's advisory lock ends with the process)


@use_case
def run_queued_import(every: int | None = None) -> ImportRun | None:
    """Run the next queued import (or the one a dead process left running); None when there is
    none or another process runs imports. Commits its progress, then its outcome with the rows;
    on an error the run is marked failed (with the error), nothing of it kept, and the error
    raised. ``every``: rows checked between two progress commits (``imports.PROGRESS_EVERY``)."""
    if not has_import_work():  # the scheduler's poll: one query when nothing waits
        return None
    with job_lock(IMPORT_JOB, lease=LEASE) as acquired:
        if not acquired:
            return None
        if discard_finished_uploads():
            db.session.commit()
        run = next_import_run()
        if run is None:
            return None
        started = begin_run(run, HOLDER)
        db.session.commit()
        if not started:
            discard_upload(run)
            db.session.commit()
            return run
        try:
            with force_locale(run.locale):
                _import(run, every or imports.PROGRESS_EVERY)
        except Exception as error:
            db.session.rollback()
            fail_run(run, f"{type(error).__name__}: {error}")
            discard_upload(run)
            db.session.commit()
            raise
        discard_upload(run)
        db.session.commit()
        return run


def _import(run: ImportRun, every: int) -> ImportReport:
    """The run's file checked (progress committed as it goes), then stored with its outcome."""
    limits = ImportLimits.from_config()
    department = db.session.get(Department, run.department_id)
    try:
        budget = inspect_file(upload_path(run), limits)
    except UnreadableFile as error:  # the limits may have changed since the upload
        report = ImportReport(errors=[(0, "", str(error))])
    else:
        job = FileImport(upload_path(run), department, limits, budget)

        def progress(report: ImportReport) -> None:
            note_progress(run, report)
            db.session.commit()

        report = job.check(progress, every)
        if report.ok:
            job.store(run.requested_by_id)
    end_run(run, report)
    db.session.commit()
    return report
