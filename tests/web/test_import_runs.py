"""Large imports off the web request (issue 13, item 6), through the department's pages: the upload
stored and queued, the scheduler's poll running it (the job the scheduler process runs), the page
following its progress without script (a meta refresh), the outcome and the report as CSV; a
department sees only its own runs; a file over a limit is refused with a 4xx, in the request,
in bounded time."""
from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func, select

from app.jobs import add_import_poll
from app.models import CreditRecord, ImportRun
from app.models.enums import Role
from app.services.admin import import_runs as admin_import_runs
from app.services.records import imports
from app.services.records.imports import FileImport
from tests.factories import make_department, make_user
from tests.service.test_import_limits import HEADER_ROW, _billion_laughs, _member, _package, bomb_xlsx, write_zip
from tests.service.test_imports import HEADER, _row
from tests.web.helpers import csrf_token, sign_in, text

INLINE = 2_000  # bytes: the tests' files above it go to the background


@pytest.fixture(autouse=True)
def own_upload_dir(app, tmp_path, monkeypatch):
    """Each test its own upload folder: what a test leaves queued stays out of the next one's."""
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))


@pytest.fixture
def small_inline(app, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_INLINE_MAX_BYTES", INLINE)


def _csv_bytes(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _upload(client, data: bytes, name: str = "records.csv", **extra):
    return client.post("/dept/records/import", data={
        "csrf_token": csrf_token(client, "/dept/records/import"), "file": (io.BytesIO(data), name), **extra},
        content_type="multipart/form-data")


def _poll(app):
    """The scheduler's import job, as the scheduler process has it (``add_import_poll``)."""
    scheduler = BackgroundScheduler()
    add_import_poll(app, scheduler)
    scheduler.start(paused=True)
    try:
        job = scheduler.get_job("import")
        assert job.trigger.interval.total_seconds() == 5 and job.max_instances == 1
        return job.func
    finally:
        scheduler.shutdown(wait=False)


def _stored(app) -> list[Path]:
    folder = Path(app.config["UPLOAD_DIR"]) / "imports"
    return sorted(folder.iterdir()) if folder.exists() else []


def _records(db) -> int:
    return db.session.scalar(select(func.count()).select_from(CreditRecord))


def test_a_large_file_is_queued_and_the_scheduler_imports_it_while_the_page_follows(
        app, client, db, frozen, small_inline, monkeypatch):
    user = make_user(Role.DEPARTMENT)
    sign_in(client, user.username)
    assert _upload(client, _csv_bytes([_row(900)])).status_code == 302  # a small file: imported at once
    assert _records(db) == 1 and db.session.scalar(select(func.count()).select_from(ImportRun)) == 0

    data = _csv_bytes([_row(n) for n in range(30)])
    assert len(data) > INLINE
    response = _upload(client, data)
    assert response.status_code == 303 and response.location.startswith("/dept/imports/")
    run = db.session.scalar(select(ImportRun))
    assert (run.state, run.department_id, run.file_name, run.requested_by_id) == (
        "queued", user.department_id, "records.csv", user.id)
    assert _stored(app) == [Path(app.config["UPLOAD_DIR"]) / "imports" / run.stored_name]
    assert _stored(app)[0].read_bytes() == data and _records(db) == 1  # nothing imported in the request
    page = text(client.get(response.location))
    assert "排队中" in page and '<meta http-equiv="refresh" content="3">' in page
    assert "records.csv" in text(client.get("/dept/records/import"))

    seen = []
    note_progress = admin_import_runs.note_progress

    def watch(run, report):  # the page, each time the run commits its progress
        note_progress(run, report)
        seen.append(text(client.get(response.location)))

    monkeypatch.setattr(admin_import_runs, "note_progress", watch)
    monkeypatch.setattr(imports, "PROGRESS_EVERY", 10)
    _poll(app)()
    # The progress was committed while the run checked rows: the page showed it running.
    assert len(seen) == 3 and all("运行中" in p and 'http-equiv="refresh"' in p for p in seen)
    assert "<dd>10</dd>" in seen[0] and "<dd>20</dd>" in seen[1]
    page = text(client.get(response.location))
    assert "已导入30条失信信息。" in page and "<dd>30</dd>" in page and 'http-equiv="refresh"' not in page
    db.session.refresh(run)
    assert (run.state, run.rows_read, run.imported, run.stored_name) == ("done", 30, 30, None)
    assert _records(db) == 31 and _stored(app) == []  # the upload is deleted after the run
    assert _poll(app)() is None  # nothing left to do


def test_a_refused_run_imports_nothing_and_gives_its_report_in_the_uploaders_language(
        app, client, db, frozen, small_inline):
    department = make_department()
    sign_in(client, make_user(Role.DEPARTMENT, department=department, locale="en").username)
    rows = [_row(n) for n in range(30)] + [_row(31, severity="灾难"), _row(32, decision_date="2026-02-30")]
    location = _upload(client, _csv_bytes(rows)).location
    _poll(app)()
    run = db.session.scalar(select(ImportRun))
    assert (run.state, run.rows_read, run.error_count, run.imported, run.stored_name) == ("refused", 32, 2, 0, None)
    assert _records(db) == 0 and _stored(app) == []
    page = text(client.get(location))
    assert "Nothing was imported: 2 problem(s) in 32 row(s)" in page and "Not a date; use YYYY-MM-DD." in page
    report = client.get(f"{location}/errors.csv")
    assert report.status_code == 200 and report.mimetype == "text/csv"
    assert list(csv.reader(io.StringIO(report.get_data(as_text=True).lstrip("\ufeff")))) == [
        ["Row", "Column", "Problem"], ["32", "severity", "The class must be minor, general or serious (轻微, 一般, 严重)."],
        ["33", "decision_date", "Not a date; use YYYY-MM-DD."]]


def test_another_department_sees_none_of_a_departments_runs(app, client, db, frozen, small_inline):
    sign_in(client, make_user(Role.DEPARTMENT).username)
    location = _upload(client, _csv_bytes([_row(n, severity="x") for n in range(30)])).location
    _poll(app)()
    assert client.get(f"{location}/errors.csv").status_code == 200
    other = app.test_client()
    sign_in(other, make_user(Role.DEPARTMENT).username)
    assert other.get(location).status_code == 404 and other.get(f"{location}/errors.csv").status_code == 404
    assert "records.csv" not in text(other.get("/dept/records/import"))
    officer = app.test_client()
    sign_in(officer, make_user(Role.OFFICER).username)
    assert officer.get(location).status_code == 403


def test_a_department_has_a_few_runs_waiting_at_most(app, client, db, frozen, small_inline):
    sign_in(client, make_user(Role.DEPARTMENT).username)
    for n in range(3):
        assert _upload(client, _csv_bytes([_row(100 * n + i) for i in range(30)])).status_code == 303
    refused = _upload(client, _csv_bytes([_row(400 + i) for i in range(30)]))
    assert refused.status_code == 429 and "本部门已有3个导入在等待" in text(refused)
    assert len(_stored(app)) == 3  # the refused upload was not kept
    job = _poll(app)
    job()
    assert _upload(client, _csv_bytes([_row(400 + i) for i in range(30)])).status_code == 303  # one has finished


def test_a_run_that_fails_keeps_nothing_and_says_so(app, client, db, frozen, small_inline, monkeypatch):
    sign_in(client, make_user(Role.DEPARTMENT).username)
    location = _upload(client, _csv_bytes([_row(n) for n in range(30)])).location
    store = FileImport.store

    def store_then_fail(self, actor_id):
        store(self, actor_id)  # every row inserted, then the failure: the transaction goes whole
        raise RuntimeError("disk full")

    monkeypatch.setattr(FileImport, "store", store_then_fail)
    _poll(app)()  # the scheduler logs the failure and goes on
    run = db.session.scalar(select(ImportRun))
    assert (run.state, run.error, run.stored_name) == ("failed", "RuntimeError: disk full", None)
    assert _records(db) == 0 and _stored(app) == []
    page = text(client.get(location))
    assert "导入因系统原因失败，未导入任何数据" in page and "disk full" not in page


def test_a_run_left_running_by_a_dead_process_is_started_again_a_few_times(app, client, db, frozen, small_inline):
    from app.services.records.import_runs import begin_run

    sign_in(client, make_user(Role.DEPARTMENT).username)
    _upload(client, _csv_bytes([_row(n) for n in range(30)]))
    run = db.session.scalar(select(ImportRun))
    begin_run(run, "dead-host:1")  # a process took it, then died before the end
    db.session.commit()
    _poll(app)()
    db.session.refresh(run)
    assert (run.state, run.attempts, run.imported) == ("done", 2, 30)
    _upload(client, _csv_bytes([_row(100 + n) for n in range(30)]))
    again = db.session.scalar(select(ImportRun).where(ImportRun.id != run.id))
    again.attempts = 3  # started three times, each time killing its process
    db.session.commit()
    _poll(app)()
    db.session.refresh(again)
    assert (again.state, again.stored_name, again.imported) == ("failed", None, 0) and _records(db) == 30


def _timed_upload(client, data: bytes, name: str):
    t0 = time.perf_counter()
    response = _upload(client, data, name)
    return response, time.perf_counter() - t0


def test_bombs_and_oversized_files_are_refused_in_the_request_quickly(app, client, db, tmp_path, monkeypatch):
    sign_in(client, make_user(Role.DEPARTMENT).username)
    laughs = write_zip(tmp_path / "laughs.xlsx", _package(_member("xl/worksheets/sheet1.xml", _billion_laughs())))
    for path, message in (
        (bomb_xlsx(tmp_path / "bomb.xlsx"), "该工作簿解压后超过128 MB"),
        (bomb_xlsx(tmp_path / "bomb60.xlsx", megabytes=60), "压缩比远超正常电子表格"),
        (bomb_xlsx(tmp_path / "liar.xlsx", declared=60_000), "无法读取该XLSX工作簿"),
        (laughs, "无法读取该XLSX工作簿"),
    ):
        response, seconds = _timed_upload(client, path.read_bytes(), path.name)
        assert response.status_code == 422 and message in text(response), path.name
        assert seconds < 3, (path.name, seconds)
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 3_000)
    response = _upload(client, _csv_bytes([_row(n) for n in range(40)]))
    assert response.status_code == 422 and "文件大于" in text(response)
    header_only = write_zip(tmp_path / "ok.xlsx", _package(_member(
        "xl/worksheets/sheet1.xml", b"<worksheet><sheetData>%s</sheetData></worksheet>" % HEADER_ROW)))
    response = _upload(client, header_only.read_bytes(), "ok.xlsx")
    assert response.status_code == 422 and "文件中没有数据行" in text(response)
    assert _stored(app) == [] and _records(db) == 0


def test_the_progress_is_committed_while_the_run_goes_on(committed_app, monkeypatch):
    """Another connection (the page's, in another process) sees the rows read grow during the
    check: each progress report is committed, while the rows themselves wait for the end."""
    from app import clock
    from app.extensions import db
    from app.models import Department, ImportState
    from app.services.admin import run_queued_import

    with committed_app.app_context(), clock.frozen_clock(clock.now().replace(year=2026, month=11, day=25)):
        department = Department(code="IMP-BG", name="后台导入部门")
        db.session.add(department)
        db.session.commit()
        folder = Path(committed_app.config["UPLOAD_DIR"]) / "imports"
        folder.mkdir(parents=True)
        (folder / "waiting.csv").write_bytes(_csv_bytes([_row(n) for n in range(30)]))
        db.session.add(ImportRun(department_id=department.id, file_name="big.csv", stored_name="waiting.csv",
                                 state=ImportState.QUEUED, requested_at=clock.now()))
        db.session.commit()
        seen = []
        note_progress = admin_import_runs.note_progress

        def watch(run, report):
            other = db.engine.raw_connection()  # what another process reads now (no write lock on SQLite)
            try:
                cursor = other.cursor()
                cursor.execute("SELECT rows_read, state, (SELECT count(*) FROM credit_record) FROM import_run")
                seen.append(tuple(cursor.fetchone()))
                other.rollback()
            finally:
                other.close()
            note_progress(run, report)

        monkeypatch.setattr(admin_import_runs, "note_progress", watch)
        run = run_queued_import(every=10)
        assert seen == [(0, "running", 0), (10, "running", 0), (20, "running", 0)]  # at rows 10, 20, 30
        assert (run.state, run.imported) == ("done", 30) and not list(folder.iterdir())
