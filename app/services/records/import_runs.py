"""Imports off the web request: the upload stored, an ``ImportRun`` queued, the page following it.

A small file (at most IMPORT_INLINE_MAX_BYTES once inflated: a megabyte, some 7,000 CSV rows,
checked and imported in about a second) is still imported in the request: the user has the
answer at once, and imports work where no scheduler runs. A larger one is written under
``UPLOAD_DIR/imports`` (a random name, readable by the service only), stored where every host
reads it (``uploads.put_import``: the same folder on the local backend) and queued; the scheduler
process imports it (``admin.import_runs.run_queued_import``, one run at a time across hosts, so
two files of a department never race for the same decision numbers), through the same
``FileImport`` steps, with the same outcome: the whole file, or nothing and the report. A
department sees only its own runs; the stored file is deleted when the run ends.

``submit_import`` is the use case; the queries serve the pages; the other functions are the
background run's steps (no commit).
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from app import clock
from app.errors import NotFound, TooManyAttempts
from app.extensions import db
from app.models import Department, ImportRun, ImportState, User
from app.services import uploads
from app.services.records.import_files import ImportLimits, UnreadableFile, file_too_large, inspect_file
from app.services.records.imports import ImportReport, errors_csv, import_records
from app.services.transaction import use_case
from app.services.uploads import safe_filename

IMPORTS_DIR = "imports"
COPY_CHUNK = 1024 * 1024
MAX_ATTEMPTS = 3  # a run whose process died is started again, but a file that kills it is not retried forever
WAITING = (ImportState.QUEUED, ImportState.RUNNING)
TOO_MANY_WAITING = _l("Your department already has %(n)d imports waiting; try again when one has finished.")


@dataclass
class Submission:
    """What became of an upload: checked (and imported if it was whole) in the request, or queued."""

    report: ImportReport | None = None
    run: ImportRun | None = None


@use_case
def submit_import(stream: BinaryIO, file_name: str, department: Department, actor: User | None,
                  locale: str) -> Submission:
    """Store the upload and import it here if it is small, or queue it for the scheduler.

    A file over a limit is refused before it is read (a ``report`` with the reason). Raises
    TooManyAttempts (429) while the department has IMPORT_MAX_QUEUED runs waiting.
    """
    limits = ImportLimits.from_config()
    suffix = Path(file_name or "").suffix.lower()
    try:
        path = _store_upload(stream, suffix, limits)
    except UnreadableFile as error:
        return Submission(report=ImportReport(errors=[(0, "", str(error))]))
    queued = False
    try:
        inflated = inspect_file(path, limits)
        if inflated <= limits.inline_max_bytes:
            return Submission(report=import_records(path, department, actor.id if actor else None, limits))
        waiting = db.session.scalar(select(func.count()).select_from(ImportRun).where(
            ImportRun.department_id == department.id, ImportRun.state.in_(WAITING)))
        if waiting >= limits.max_queued:
            raise TooManyAttempts(TOO_MANY_WAITING % {"n": waiting}, retry_after=60)
        run = ImportRun(department_id=department.id, requested_by_id=actor.id if actor else None,
                        file_name=safe_filename(file_name), stored_name=path.name, size_bytes=path.stat().st_size,
                        locale=locale if locale in current_app.config["LANGUAGES"] else
                        current_app.config["BABEL_DEFAULT_LOCALE"],
                        state=ImportState.QUEUED, requested_at=clock.now())
        db.session.add(run)
        uploads.put_import(path.name, path)  # where the scheduler hosts read it, before the commit
        db.session.commit()
        queued = True
        return Submission(run=run)
    except UnreadableFile as error:
        return Submission(report=ImportReport(errors=[(0, "", str(error))]))
    finally:
        if not queued or uploads.releases_local_copy():
            path.unlink(missing_ok=True)


def imports_folder() -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / IMPORTS_DIR


def _store_upload(stream: BinaryIO, suffix: str, limits: ImportLimits) -> Path:
    """Copy the upload to the imports folder, no more than IMPORT_MAX_BYTES of it."""
    folder = imports_folder()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{secrets.token_hex(16)}{suffix}"
    written = 0
    try:
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            while chunk := stream.read(COPY_CHUNK):
                written += len(chunk)
                if written > limits.max_bytes:
                    raise file_too_large(limits)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


# --- queries -------------------------------------------------------------------------------

def get_import_run(department_id: int, run_id: int) -> ImportRun:
    """The department's own run; NotFound for another department's, as for one that does not exist."""
    run = db.session.get(ImportRun, run_id)
    if run is None or run.department_id != department_id:
        raise NotFound()
    return run


def list_import_runs(department_id: int, limit: int = 10) -> list[ImportRun]:
    return list(db.session.scalars(select(ImportRun).where(ImportRun.department_id == department_id)
                                   .order_by(ImportRun.id.desc()).limit(limit)))


def import_run_errors_csv(department_id: int, run_id: int) -> str:
    """The run's report as CSV; NotFound when it has none (or is not the department's)."""
    run = get_import_run(department_id, run_id)
    if not run.errors:
        raise NotFound()
    return errors_csv(run.errors)


# --- the background run's steps (no commit) -----------------------------------------------

def has_import_work() -> bool:
    """A run waits, or a finished one's file is still to be deleted (its process died in between)."""
    return db.session.scalar(select(ImportRun.id).where(or_(
        ImportRun.state.in_(WAITING), ImportRun.stored_name.is_not(None))).limit(1)) is not None


def next_import_run() -> ImportRun | None:
    """A run left running (its process died: only the lock's holder runs one) before the oldest queued."""
    return db.session.scalar(select(ImportRun).where(ImportRun.state.in_(WAITING))
                             .order_by(ImportRun.state == ImportState.QUEUED, ImportRun.id).limit(1)
                             .execution_options(populate_existing=True))


def upload_path(run: ImportRun) -> Path:
    """The run's upload on this host, copied from the shared storage first if another host received it."""
    path = imports_folder() / run.stored_name
    uploads.fetch_import(run.stored_name, path)
    return path


def begin_run(run: ImportRun, host: str) -> bool:
    """Mark the run started (again, after a dead process: from the start, since nothing of it
    was stored); False, and the run failed, after MAX_ATTEMPTS starts."""
    if run.attempts >= MAX_ATTEMPTS:
        fail_run(run, f"started {run.attempts} times without finishing")
        return False
    now = clock.now()
    run.state, run.host, run.heartbeat_at, run.attempts = ImportState.RUNNING, host, now, run.attempts + 1
    run.started_at = run.started_at or now
    run.rows_read = run.error_count = run.imported = run.corrected = 0
    return True


def note_progress(run: ImportRun, report: ImportReport) -> None:
    run.rows_read, run.error_count, run.heartbeat_at = report.rows, len(report.errors), clock.now()


def end_run(run: ImportRun, report: ImportReport) -> None:
    """The outcome, in the transaction that stored the rows (if it did)."""
    note_progress(run, report)
    run.state = ImportState.DONE if report.ok else ImportState.REFUSED
    run.imported, run.corrected = report.imported, report.corrected
    run.errors = [list(error) for error in report.errors] or None
    run.finished_at = clock.now()


def fail_run(run: ImportRun, error: str) -> None:
    run.state, run.finished_at, run.error = ImportState.FAILED, clock.now(), error[:2000]


def discard_upload(run: ImportRun) -> None:
    """Delete the run's stored file (once it has ended)."""
    if run.stored_name:
        uploads.discard_import(run.stored_name, imports_folder() / run.stored_name)
        run.stored_name = None


def discard_finished_uploads() -> int:
    """The files of runs that ended but whose process died before deleting them."""
    runs = list(db.session.scalars(select(ImportRun).where(
        ImportRun.state.not_in(WAITING), ImportRun.stored_name.is_not(None))))
    for run in runs:
        discard_upload(run)
    return len(runs)
