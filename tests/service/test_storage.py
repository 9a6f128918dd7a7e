"""Evidence storage shared by every host (issue 17, item 2; docs/storage.md).

Each backend round trip: the local directory, the database (SQLite, or PostgreSQL with
TEST_DATABASE_URL), and S3 against a real HTTP server on 127.0.0.1: moto's ``moto_server``
(an S3 emulator from PyPI, moto[server]; no MinIO package is in Debian), started as its own
process, spoken to by boto3 over the network as a real store would be. Then the unit of work: a
rolled-back submission leaves no row pointing to a file, and its orphan goes with the purge
after the grace period, not before; a file a case points to never goes.
"""
from __future__ import annotations

import hashlib
import io
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db as _db
from app.models import Attachment, Case, StoredBlob
from app.models.enums import CaseKind, Role
from app.services import uploads
from app.services.records import purge_expired_personal_data
from app.services.uploads.backends import wall_clock
from config import ConfigError, load_config
from tests.factories import PDF, make_record, make_user, submit

BACKENDS = ("local", "database", "s3")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's S3 server on 127.0.0.1, a process of its own for the whole session."""
    port = _free_port()
    server = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise RuntimeError("moto_server did not start") from None
            time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def s3_settings(endpoint: str) -> dict:
    """A fresh bucket on the server, and the settings that point to it."""
    bucket = f"evidence-{uuid.uuid4().hex[:12]}"
    settings = {"STORAGE_BACKEND": "s3", "STORAGE_S3_BUCKET": bucket, "STORAGE_S3_ENDPOINT_URL": endpoint,
                "STORAGE_S3_REGION": "us-east-1", "STORAGE_S3_ACCESS_KEY_ID": "testing",
                "STORAGE_S3_SECRET_ACCESS_KEY": "testing", "STORAGE_S3_PREFIX": "casedesk/"}
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(Bucket=bucket)
    return settings


def storage_settings(kind: str, request) -> dict:
    if kind == "s3":
        return s3_settings(request.getfixturevalue("s3_endpoint"))
    return {"STORAGE_BACKEND": kind}


@pytest.fixture(params=BACKENDS)
def backend_kind(request, app, monkeypatch, tmp_path) -> str:
    """The session's app on each backend, with a folder of its own."""
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
    for key, value in storage_settings(request.param, request).items():
        monkeypatch.setitem(app.config, key, value)
    return request.param


def _age(kind: str, key: str, by: timedelta) -> None:
    """Make a stored file older by ``by``, as the storage sees it (S3's Last-Modified cannot be
    set: there the purge is given a later ``now`` instead)."""
    if kind == "local":
        path = uploads.backend().path(key)
        then = path.stat().st_mtime - by.total_seconds()
        os.utime(path, (then, then))
    elif kind == "database":
        row = _db.session.get(StoredBlob, key)
        row.created_at -= by
        _db.session.flush()


def _purge_now(kind: str, later: timedelta):
    """The purge's ``now``: the wall clock, or later by ``later`` where files cannot be aged."""
    return wall_clock() + later if kind == "s3" else None


# --- each backend ------------------------------------------------------------------------

def test_round_trip(app, db, backend_kind):
    digest = uploads.store(PDF)
    assert digest == uploads.store(PDF)  # content-addressed: the same file once
    assert uploads.exists(digest) and uploads.read(digest) == PDF
    source = uploads.download_source(digest)
    if backend_kind == "local":
        assert source == Path(app.config["UPLOAD_DIR"]) / digest[:2] / digest and source.read_bytes() == PDF
    else:
        assert isinstance(source, io.BytesIO) and source.getvalue() == PDF
        assert not Path(app.config["UPLOAD_DIR"], digest[:2]).exists()  # nothing on this host's disk
    other = uploads.store(PNG)
    assert uploads.discard(digest) is True
    assert (uploads.exists(digest), uploads.read(digest), uploads.download_source(digest)) == (False, None, None)
    assert uploads.discard(digest) is False and uploads.read(other) == PNG


def test_the_purges_delete_spares_a_file_written_after_its_cutoff(app, db, backend_kind):
    """Checked on the file or row itself at the delete: a submission may store it again
    between the purge's listing and its delete."""
    digest = uploads.store(PDF)
    storage = uploads.backend()
    assert storage.delete(digest, written_before=wall_clock() - timedelta(hours=1)) is False
    assert uploads.exists(digest)
    assert storage.delete(digest, written_before=wall_clock() + timedelta(hours=1)) is True
    assert not uploads.exists(digest)


def test_the_database_backend_writes_in_the_callers_transaction(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "STORAGE_BACKEND", "database")
    savepoint = db.session.begin_nested()
    digest = uploads.store(PDF)
    assert uploads.read(digest) == PDF
    savepoint.rollback()
    assert uploads.read(digest) is None  # rolled back with the rows around it


def test_import_uploads_round_trip(app, db, backend_kind, tmp_path):
    folder = Path(app.config["UPLOAD_DIR"]) / "imports"
    folder.mkdir(parents=True)
    (folder / "run.csv").write_bytes(b"a,b\n1,2\n")
    uploads.put_import("run.csv", folder / "run.csv")
    # On local storage the written file is the stored one; elsewhere it goes once stored.
    assert uploads.releases_local_copy() is (backend_kind != "local")
    if uploads.releases_local_copy():
        (folder / "run.csv").unlink()  # as the web host does once the run is queued
    copy = tmp_path / "scheduler-host" / "imports" / "run.csv"
    assert uploads.fetch_import("run.csv", copy) and copy.read_bytes() == b"a,b\n1,2\n"
    uploads.discard_import("run.csv", copy)
    uploads.discard_import("run.csv", folder / "run.csv")
    assert not copy.exists() and not uploads.fetch_import("run.csv", copy)


# --- the unit of work: orphans and the purge ----------------------------------------------

def _applicant_and_record():
    applicant = make_user(Role.APPLICANT)
    return applicant, make_record(subject=applicant.subject)


def _fail_notices(connection) -> None:
    """A real failure inside the submission's transaction, after its files are stored: the
    database refuses the notice the submission queues last (a trigger, on either database)."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("CREATE TRIGGER fail_notice BEFORE INSERT ON notification "
                                   "BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    else:
        connection.exec_driver_sql("CREATE FUNCTION fail_notice() RETURNS trigger LANGUAGE plpgsql AS "
                                   "$$ BEGIN RAISE EXCEPTION 'disk full'; END $$")
        connection.exec_driver_sql("CREATE TRIGGER fail_notice BEFORE INSERT ON notification "
                                   "FOR EACH ROW EXECUTE FUNCTION fail_notice()")


def _drop_failure(connection) -> None:
    connection.exec_driver_sql("DROP TRIGGER fail_notice" + (" ON notification" if connection.dialect.name !=
                                                            "sqlite" else ""))


@pytest.fixture(params=BACKENDS)
def committed(request, committed_app: Flask) -> tuple[Flask, str]:
    """A migrated app that really commits, on each backend."""
    committed_app.config.update(storage_settings(request.param, request))
    return committed_app, request.param


def test_a_rolled_back_submission_leaves_no_row_and_its_orphan_goes_after_the_grace_only(committed):
    app, kind = committed
    evidence = b"%PDF-1.4 a rolled-back objection's evidence"
    with app.app_context():
        applicant, record = _applicant_and_record()
        _db.session.commit()
        _fail_notices(_db.session.connection())
        _db.session.commit()
        with pytest.raises(sa.exc.DBAPIError, match="disk full"):
            submit(applicant, CaseKind.OBJECTION, record, uploads=[uploads.Upload("evidence", "a.pdf", evidence)])
        _drop_failure(_db.session.connection())
        _db.session.commit()
        assert _db.session.scalar(select(func.count()).select_from(Case)) == 0
        assert _db.session.scalar(select(func.count()).select_from(Attachment)) == 0  # no row points anywhere
        digest = hashlib.sha256(evidence).hexdigest()
        if kind == "database":
            assert not uploads.exists(digest)  # rolled back with the case: nothing to purge, ever
            return
        assert uploads.exists(digest)  # written ahead of the commit: the orphan
        before = _purge_now(kind, timedelta(hours=23))
        if kind == "local":
            _age(kind, digest, timedelta(hours=23))
        assert uploads.discard_orphans(before) == 0 and uploads.exists(digest)  # within the grace
        if kind == "local":
            _age(kind, digest, timedelta(hours=2))  # now 25 hours old: the daily purge job removes it
            result = purge_expired_personal_data()
            assert result.orphan_files_deleted == 1
        else:
            assert uploads.discard_orphans(_purge_now(kind, timedelta(hours=25))) == 1
        assert not uploads.exists(digest)


def test_a_file_a_case_points_to_is_never_purged(committed):
    app, kind = committed
    with app.app_context():
        applicant, record = _applicant_and_record()
        case = submit(applicant, CaseKind.OBJECTION, record, uploads=[uploads.Upload("evidence", "a.pdf", PDF)])
        used = _db.session.scalar(select(Attachment.sha256).where(Attachment.case_id == case.id))
        orphan = uploads.store(PNG)  # stored, and nothing committed points to it
        _db.session.commit()
        for key in (used, orphan):
            _age(kind, key, timedelta(days=400))
        _db.session.commit()
        assert uploads.discard_orphans(_purge_now(kind, timedelta(days=400))) == 1
        _db.session.commit()
        assert uploads.read(used) == PDF and not uploads.exists(orphan)


def test_a_file_stored_again_is_young_again(committed):
    """An old orphan that a submission in flight stores again (the same bytes) is spared."""
    app, kind = committed
    if kind == "s3":
        pytest.skip("S3's Last-Modified cannot be set back; its put always rewrites the object")
    with app.app_context():
        digest = uploads.store(PDF)
        _db.session.commit()
        _age(kind, digest, timedelta(days=3))
        _db.session.commit()
        uploads.store(PDF)  # the transaction in flight
        _db.session.commit()
        assert uploads.discard_orphans() == 0 and uploads.exists(digest)


def test_the_database_backend_refreshes_a_stored_file_only_once_it_has_aged_past_half_the_grace(committed_app):
    """A younger row is left as it is: no UPDATE, so no row lock held to the commit."""
    app = committed_app
    app.config["STORAGE_BACKEND"] = "database"
    half = app.config["STORAGE_ORPHAN_GRACE"] / 2
    with app.app_context():
        digest = uploads.store(PDF)
        _db.session.commit()
        _age("database", digest, half - timedelta(minutes=5))
        _db.session.commit()
        aged = _db.session.get(StoredBlob, digest).created_at
        uploads.store(PDF)
        _db.session.commit()
        _db.session.expire_all()
        assert _db.session.get(StoredBlob, digest).created_at == aged  # not written
        _age("database", digest, timedelta(minutes=10))  # now past half the grace
        _db.session.commit()
        uploads.store(PDF)
        _db.session.commit()
        _db.session.expire_all()
        assert wall_clock() - _db.session.get(StoredBlob, digest).created_at < timedelta(minutes=1)


def test_submissions_of_the_same_file_do_not_wait_for_each_other(committed_app):
    """Two transactions storing the same stored file at once: the second goes on while the
    first is still open (it used to wait for the first's commit on the row's lock)."""
    app = committed_app
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("SQLite serialises writers: two transactions cannot overlap")
    app.config["STORAGE_BACKEND"] = "database"
    with app.app_context():
        digest = uploads.store(PDF)
        _db.session.commit()
    outcome = {}

    def second() -> None:
        with app.app_context():
            _db.session.execute(sa.text("SET LOCAL lock_timeout = '3s'"))
            try:
                outcome["digest"] = uploads.store(PDF)
            except sa.exc.OperationalError as error:
                outcome["error"] = error
            _db.session.rollback()

    with app.app_context():
        assert uploads.store(PDF) == digest  # the first, left open
        thread = threading.Thread(target=second)
        thread.start()
        thread.join(timeout=30)
        _db.session.rollback()
    assert outcome == {"digest": digest}


@pytest.mark.parametrize("kind", ("database", "s3"))
def test_the_files_of_a_local_directory_are_copied_to_the_shared_backend(kind, committed_app, request):
    app = committed_app
    with app.app_context():
        digest = uploads.store(PDF)  # the demo's local storage
    app.config.update(storage_settings(kind, request))
    runner = app.test_cli_runner()
    answer = runner.invoke(args=["storage", "copy-local"])
    assert answer.exit_code == 0 and f"1 file(s) copied to {kind}, 0 already there" in answer.output
    with app.app_context():
        assert uploads.read(digest) == PDF
    assert "0 file(s) copied" in runner.invoke(args=["storage", "copy-local"]).output  # run again: nothing missing
    app.config["STORAGE_BACKEND"] = "local"
    refused = runner.invoke(args=["storage", "copy-local"])
    assert refused.exit_code == 1 and "nothing to copy to" in refused.output


# --- configuration ---------------------------------------------------------------------------

def _production_env(monkeypatch, **extra):
    for key in [k for k in os.environ if k.startswith("STORAGE_")]:
        monkeypatch.delenv(key)
    env = {"DATABASE_URL": "postgresql://db/casedesk", "SECRET_KEY": "s" * 40,
           "PUBLIC_BASE_URL": "https://credit.example.gov.cn", **extra}
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def test_production_stores_in_the_database_and_refuses_a_private_local_directory(monkeypatch):
    _production_env(monkeypatch)
    assert load_config("production")["STORAGE_BACKEND"] == "database"
    _production_env(monkeypatch, STORAGE_BACKEND="local")
    with pytest.raises(ConfigError, match="STORAGE_LOCAL_SHARED"):
        load_config("production")
    _production_env(monkeypatch, STORAGE_BACKEND="local", STORAGE_LOCAL_SHARED="1")
    assert load_config("production")["STORAGE_LOCAL_SHARED"] is True
    _production_env(monkeypatch, STORAGE_BACKEND="s3")
    with pytest.raises(ConfigError, match="STORAGE_S3_BUCKET"):
        load_config("production")
    _production_env(monkeypatch, STORAGE_BACKEND="s3", STORAGE_S3_BUCKET="evidence", STORAGE_ORPHAN_GRACE="6")
    settings = load_config("production")
    assert (settings["STORAGE_S3_BUCKET"], settings["STORAGE_ORPHAN_GRACE"]) == ("evidence", timedelta(hours=6))
    for bad in ({"STORAGE_BACKEND": "ftp"}, {"STORAGE_ORPHAN_GRACE": "0"},
                {"STORAGE_BACKEND": "s3", "STORAGE_S3_BUCKET": "b", "STORAGE_S3_ADDRESSING_STYLE": "dns"}):
        _production_env(monkeypatch, **bad)
        with pytest.raises(ConfigError):
            load_config("production")
    _production_env(monkeypatch)
    monkeypatch.delenv("DATABASE_URL")
    assert load_config("development")["STORAGE_BACKEND"] == "local"  # the one-machine demo, as before
