"""Evidence served by every host (issue 17, item 2): a second application instance, with an
UPLOAD_DIR of its own and the same database (and S3 bucket), serves through the web the file
the first stored, and imports the upload the first queued; on the local backend it cannot
(the failure this item mends). Downloads keep their headers on every backend."""
from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from app import create_app
from app.extensions import db as _db
from app.models import Attachment, BindingDocument, CreditRecord, ImportRun, StoredBlob
from app.models.enums import BindingCapacity, BindingDocumentKind, CaseKind, Role
from app.services import uploads
from app.services.admin import run_queued_import
from app.services.binding import Upload, send_documents
from app.services.records import submit_import
from tests.factories import PDF, make_department, make_record, make_user, submit
from tests.service.test_imports import HEADER, _row
from tests.service.test_storage import PNG, s3_endpoint, storage_settings  # noqa: F401  (the fixture)
from tests.web.helpers import sign_in

SHARED = ("database", "s3")


def _second_host(first: Flask, tmp_path: Path) -> Flask:
    other = create_app({"SQLALCHEMY_DATABASE_URI": first.config["SQLALCHEMY_DATABASE_URI"],
                        "UPLOAD_DIR": str(tmp_path / "host-2" / "uploads")})
    for key in [k for k in first.config if k.startswith("STORAGE_")]:
        other.config[key] = first.config[key]
    return other


@pytest.fixture(params=("local", *SHARED))
def hosts(request, committed_app: Flask, tmp_path):
    committed_app.config.update(storage_settings(request.param, request))
    second = _second_host(committed_app, tmp_path)
    try:
        yield committed_app, second, request.param
    finally:
        with second.app_context():
            _db.engine.dispose()


def _download(client, case_id: int, attachment_id: int):
    return client.get(f"/cases/{case_id}/files/{attachment_id}")


def test_a_second_host_serves_the_file_the_first_stored(hosts):
    first, second, kind = hosts
    with first.app_context():
        applicant = make_user(Role.APPLICANT)
        record = make_record(subject=applicant.subject)
        case = submit(applicant, CaseKind.OBJECTION, record, uploads=[uploads.Upload("evidence", "证据.pdf", PDF)])
        attachment = _db.session.scalar(select(Attachment).where(Attachment.case_id == case.id))
        case_id, attachment_id, username = case.id, attachment.id, applicant.username
    client = second.test_client()
    sign_in(client, username)
    answer = _download(client, case_id, attachment_id)
    if kind == "local":
        assert answer.status_code == 404  # host 2's disk has no such file: what shared storage mends
        return
    try:
        assert answer.status_code == 200 and answer.data == PDF
        assert answer.headers["Content-Type"] == "application/pdf"
        assert answer.headers["Content-Disposition"].startswith("attachment;") and "filename*=UTF-8''" in \
            answer.headers["Content-Disposition"]
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Content-Length"] == str(len(PDF))
        assert answer.headers["ETag"] == f'"{hashlib.sha256(PDF).hexdigest()}"'  # the same on every host
    finally:
        answer.close()
    assert not any(Path(second.config["UPLOAD_DIR"]).rglob("*.*"))  # served without a copy on its disk
    assert _download(client, case_id, attachment_id + 1000).status_code == 404


@pytest.mark.parametrize("hosts", SHARED, indirect=True)
def test_a_second_host_serves_an_identity_document_the_first_stored(hosts):
    first, second, _kind = hosts
    with first.app_context():
        waiting = make_user(Role.APPLICANT, verified=False)
        binding = send_documents(waiting, BindingCapacity.LEGAL_REPRESENTATIVE, [
            Upload(BindingDocumentKind.BUSINESS_LICENCE, "营业执照.pdf", PDF),
            Upload(BindingDocumentKind.IDENTITY_CARD, "id.png", PNG)])
        document = _db.session.scalar(select(BindingDocument).where(
            BindingDocument.binding_id == binding.id, BindingDocument.filename == "id.png"))
        officer = make_user(Role.OFFICER)
        _db.session.commit()
        path, officer_name = f"/desk/bindings/{binding.id}/documents/{document.id}", officer.username
    client = second.test_client()
    sign_in(client, officer_name)
    answer = client.get(path)
    try:
        assert answer.status_code == 200 and answer.data == PNG
        assert answer.headers["Content-Type"] == "image/png" and "attachment" in answer.headers["Content-Disposition"]
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    finally:
        answer.close()


def _csv(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


@pytest.mark.parametrize("hosts", SHARED, indirect=True)
def test_a_scheduler_on_another_host_imports_the_upload_the_web_host_queued(hosts):
    first, second, kind = hosts
    first.config["IMPORT_INLINE_MAX_BYTES"] = second.config["IMPORT_INLINE_MAX_BYTES"] = 2_000
    data = _csv([_row(n) for n in range(30)])
    with first.app_context():
        department = make_department()
        user = make_user(Role.DEPARTMENT, department=department)
        _db.session.commit()
        submission = submit_import(io.BytesIO(data), "records.csv", department, user, "zh_CN")
        assert submission.run is not None and submission.run.state == "queued"
        stored_name = submission.run.stored_name
        assert not any(Path(first.config["UPLOAD_DIR"]).rglob("*.csv"))  # on the shared storage only
        assert uploads.read(f"imports/{stored_name}") == data
    with second.app_context():
        run = run_queued_import()
        assert (run.state, run.imported, run.stored_name) == ("done", 30, None)
        assert _db.session.scalar(select(func.count()).select_from(CreditRecord)) == 30
        assert uploads.read(f"imports/{stored_name}") is None  # deleted once the run ended
        assert not any(Path(second.config["UPLOAD_DIR"]).rglob("*.csv"))  # and the scheduler host's copy
        if kind == "database":
            assert _db.session.scalar(select(func.count()).select_from(StoredBlob)) == 0
        assert _db.session.scalar(select(func.count()).select_from(ImportRun)) == 1
