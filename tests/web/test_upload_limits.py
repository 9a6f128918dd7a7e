"""Upload limits (issue 15, item 4): a request over MAX_CONTENT_LENGTH is a page that says the
limit, that nothing was saved and the way back to the form, in the reader's language (never a
bare error page, never a 500); every upload form states the limits the server applies, in data
attributes for static/js/upload.js and in a hint; a refused file re-renders its form at 4xx with
the message and what was typed."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.models import Attachment, Case
from app.models.enums import CaseKind, Role
from app.services.calendar import MAX_SCHEDULE_BYTES
from app.services.uploads import MAX_FILE_BYTES
from tests.factories import PDF, make_record, make_subject, make_user, submit
from tests.web.helpers import csrf_token, sign_in, text

MB = 1024 * 1024
STATEMENT = "该处罚决定已于行政复议中被撤销，请撤销公示。"


class _Forms(HTMLParser):
    """Each form of a page: its attributes, and the attributes of its file inputs."""

    def __init__(self, page: str):
        super().__init__()
        self.forms, self.loose_files, self.scripts, self._open = [], [], [], None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._open = {"attrs": attrs, "files": []}
            self.forms.append(self._open)
        elif tag == "input" and attrs.get("type") == "file":
            (self._open["files"] if self._open else self.loose_files).append(attrs)
        elif tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._open = None

    def upload_form(self) -> dict:
        forms = [f for f in self.forms if f["files"]]
        assert len(forms) == 1 and not self.loose_files
        return forms[0]


def _objection(db, locale="zh_CN"):
    subject = make_subject()
    applicant = make_user(Role.APPLICANT, subject=subject, locale=locale)
    record = make_record(subject=subject)
    return applicant, f"/portal/records/{record.id}/objection"


def _stored(db, upload_dir: Path) -> tuple[int, int, int]:
    return (db.session.scalar(select(func.count()).select_from(Case)),
            db.session.scalar(select(func.count()).select_from(Attachment)),
            sum(1 for p in upload_dir.rglob("*") if p.is_file()))


def _post(client, path, values: dict, referrer=None):
    """A multipart POST encoded in memory (the test client's own encoder spills a large body to a
    temporary file that it leaves open when the application refuses to read it)."""
    boundary, body = encode_multipart({k: FileStorage(*v) if isinstance(v, tuple) else v for k, v in values.items()})
    headers = {"Referer": f"http://casedesk.test{referrer}"} if referrer else {}
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}", headers=headers)


def _post_objection(client, path, files, referrer=None, **fields):
    return _post(client, path, {"csrf_token": csrf_token(client, path), "title": "处罚已撤销",
                                "statement": STATEMENT, "evidence": files, **fields}, referrer)


def test_a_30_mb_upload_is_a_page_that_says_the_limit_and_leads_back(client, db, app):
    applicant, path = _objection(db)
    sign_in(client, applicant.username)
    before = _stored(db, Path(app.config["UPLOAD_DIR"]))
    answer = _post_objection(client, path, (BytesIO(PDF + b"0" * (30 * MB)), "扫描件.pdf"), referrer=path)
    page = text(answer)
    assert answer.status_code == 413 and answer.mimetype == "text/html"
    assert "上传文件过大" in page and "20 MB" in page and "30.0 MB" in page and "未保存任何内容" in page
    assert "每个不超过10 MB" in page  # the rules of the form, as its hint says them
    forms = _Forms(page)
    assert f'href="{path}"' in page and "返回表单" in page and not any(f["files"] for f in forms.forms)
    assert _stored(db, Path(app.config["UPLOAD_DIR"])) == before


def test_the_413_page_in_english_says_the_configured_limit(client, db, app, monkeypatch):
    applicant, path = _objection(db, locale="en")
    sign_in(client, applicant.username)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 256 * 1024)
    before = _stored(db, Path(app.config["UPLOAD_DIR"]))
    answer = _post_objection(client, path, (BytesIO(PDF + b"0" * (300 * 1024)), "scan.pdf"))
    page = text(answer)
    assert answer.status_code == 413
    assert "The upload is too large" in page and "at most 256 KB can be sent at once" in page
    assert "Nothing was saved" in page and "Back to the form" in page
    assert f'href="{path}"' in page  # no referrer: the form's own address, which answers GET
    assert _stored(db, Path(app.config["UPLOAD_DIR"])) == before


def test_a_413_on_an_address_that_only_takes_posts_leads_to_the_page_it_came_from(client, db, app, monkeypatch):
    applicant, _path = _objection(db)
    case = submit(applicant, CaseKind.OBJECTION, make_record(subject=applicant.subject))
    sign_in(client, applicant.username)
    token = csrf_token(client, f"/cases/{case.id}")
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 64 * 1024)
    def data():
        return {"csrf_token": token, "trigger": "withdraw", "version": str(case.version), "reason": "撤回",
                "files": (BytesIO(PDF + b"0" * (100 * 1024)), "a.pdf")}

    answer = _post(client, f"/cases/{case.id}/act", data(), referrer=f"/cases/{case.id}")
    assert answer.status_code == 413 and f'href="/cases/{case.id}"' in text(answer)
    boundary, body = encode_multipart({k: FileStorage(*v) if isinstance(v, tuple) else v for k, v in data().items()})
    stranger = client.post(f"/cases/{case.id}/act", data=body, content_type=f"multipart/form-data; boundary={boundary}",
                           headers={"Referer": "http://elsewhere.example/cases/1"})
    assert stranger.status_code == 413 and 'href="/cases/' not in text(stranger)  # another site: home
    db.session.refresh(case)
    assert case.state == "submitted"


def test_a_413_on_an_import_states_the_import_s_rules(client, db, app, monkeypatch):
    sign_in(client, make_user(Role.DEPARTMENT).username)
    token = csrf_token(client, "/dept/records/import")
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 64 * 1024)
    answer = _post(client, "/dept/records/import", {"csrf_token": token, "file": (BytesIO(b"a,b\n" * 40000), "r.csv")})
    page = text(answer)
    assert answer.status_code == 413 and "CSV或XLSX格式，不超过64 KB" in page and "PDF" not in page


def test_the_api_answers_413_as_problem_details(client, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    answer = client.post("/api/v1/records", data=b"{" + b" " * 4096 + b"}", content_type="application/json")
    assert answer.status_code == 413 and answer.mimetype == "application/problem+json"
    assert "1 KB" in answer.get_json()["detail"]


def _pages(db, client):
    """Every page with an upload form, signed in as who sees it: (path, sign-in, kind)."""
    subject = make_subject()
    applicant = make_user(Role.APPLICANT, subject=subject)
    record = make_record(subject=subject)
    case = submit(applicant, CaseKind.OBJECTION, make_record(subject=subject))
    unverified = make_user(Role.APPLICANT, verified=False)
    return [
        (f"/portal/records/{record.id}/objection", applicant, "documents"),
        (f"/portal/records/{record.id}/repair", applicant, "documents"),
        ("/portal/complaints/new", applicant, "documents"),
        (f"/cases/{case.id}", applicant, "documents"),
        ("/portal/binding", unverified, "documents"),
        ("/dept/records/import", make_user(Role.DEPARTMENT), "records"),
        ("/admin/calendar", make_user(Role.ADMIN), "schedule"),
    ]


def _form_on(client, user, path) -> tuple[dict, str]:
    sign_in(client, user.username)
    answer = client.get(path)
    assert answer.status_code == 200, path
    page = text(answer)
    client.post("/auth/sign-out", data={"csrf_token": csrf_token(client, path)})
    return _Forms(page).upload_form(), page


@pytest.mark.parametrize("total", [20 * MB, 5 * MB, 100 * 1024])
def test_every_upload_form_carries_the_limits_the_server_applies(client, db, app, monkeypatch, frozen, total):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", total)
    own = {"documents": MAX_FILE_BYTES, "records": app.config["IMPORT_MAX_BYTES"], "schedule": MAX_SCHEDULE_BYTES}
    accept = {"documents": ".pdf,.jpg,.jpeg,.png", "records": ".csv,.xlsx", "schedule": ".csv"}
    for path, user, kind in _pages(db, client):
        form, page = _form_on(client, user, path)
        attrs = form["attrs"]
        assert "data-upload" in attrs, path
        assert attrs["data-max-total"] == str(total), path
        assert attrs["data-max-file"] == str(min(own[kind], total)), path
        assert attrs["data-accept"] == ("" if kind == "schedule" else accept[kind]), path
        assert all(f.get("accept") == accept[kind] for f in form["files"]), path
        assert "/static/js/upload.js" in " ".join(_Forms(page).scripts), path
        # The texts the script shows, translated here: the page's language, the real limits.
        limit = {20 * MB: "20 MB", 5 * MB: "5 MB", 100 * 1024: "100 KB"}[total]
        assert "每个文件不得超过" in attrs["data-msg-file"] and "{name}" in attrs["data-msg-file"], path
        assert f"一次最多可发送{limit}" in attrs["data-msg-total"], path
        assert attrs["data-msg-progress"] == "上传进度" and "仍保留在表单中" in attrs["data-msg-kept"], path
        for file in form["files"]:
            hint = f'id="{file["id"]}-hint"'
            assert hint in page, path
        if kind == "documents":
            assert f"合计不超过{limit}" in page, path


def test_the_hint_and_the_messages_are_english_for_an_english_reader(client, db, app):
    applicant, path = _objection(db, locale="en")
    sign_in(client, applicant.username)
    page = text(client.get(path))
    attrs = _Forms(page).upload_form()["attrs"]
    assert "PDF, JPG or PNG, at most 10 MB each and 20 MB in all" in page
    assert attrs["data-msg-file"] == "{name} is {size}: a file may be at most 10 MB."
    assert attrs["data-msg-type"] == "{name} is not a PDF, JPG or PNG file."
    assert attrs["data-msg-sending"] == "Sending: {percent} %"


# --- the other refusals: the form again, at 4xx, with the message and what was typed -----------

def test_a_refused_file_re_renders_the_application_with_the_statement(client, db, app):
    applicant, path = _objection(db)
    sign_in(client, applicant.username)
    before = _stored(db, Path(app.config["UPLOAD_DIR"]))
    for files, said in [((BytesIO(b"MZ\x90\x00 no pdf"), "a.pdf"), "不是PDF、JPG或PNG格式"),
                        ((BytesIO(PDF + b"0" * (11 * MB)), "big.pdf"), "big.pdf"),
                        ((BytesIO(b""), "empty.pdf"), "为空")]:
        answer = _post_objection(client, path, files)
        page = text(answer)
        assert answer.status_code == 422 and said in page and STATEMENT in page
        assert _Forms(page).upload_form()["attrs"]["data-max-total"] == str(app.config["MAX_CONTENT_LENGTH"])
    answer = _post_objection(client, path, (BytesIO(PDF), "a.pdf"), statement="")
    assert answer.status_code == 422 and "处罚已撤销" in text(answer)  # the title kept, the statement asked for
    assert _stored(db, Path(app.config["UPLOAD_DIR"])) == before


def test_a_refused_file_on_a_case_keeps_the_reason(client, db):
    applicant, _path = _objection(db)
    case = submit(applicant, CaseKind.OBJECTION, make_record(subject=applicant.subject))
    sign_in(client, applicant.username)
    answer = client.post(f"/cases/{case.id}/act", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, f"/cases/{case.id}"), "trigger": "withdraw", "version": case.version,
        "reason": "不再需要处理，撤回。", "files": (BytesIO(b"GIF89a"), "x.gif")})
    page = text(answer)
    assert answer.status_code == 422 and "x.gif" in page and "不再需要处理，撤回。" in page
    assert _Forms(page).upload_form()["attrs"]["data-upload"] == ""


def test_a_refused_binding_document_re_renders_the_form(client, db):
    user = make_user(Role.APPLICANT, verified=False)
    sign_in(client, user.username)
    answer = client.post("/portal/binding", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, "/portal/binding"), "capacity": "legal_representative",
        "business_licence": (BytesIO(b"not a pdf"), "licence.pdf"), "identity_card": (BytesIO(PDF), "id.pdf")})
    page = text(answer)
    assert answer.status_code == 422 and "licence.pdf" in page
    assert re.search(r'<input checked[^>]* value="legal_representative"', page)  # the choice kept
    assert _Forms(page).upload_form()["attrs"]["data-max-file"] == str(MAX_FILE_BYTES)


def test_the_imports_refuse_on_their_page(client, db, frozen):
    sign_in(client, make_user(Role.DEPARTMENT).username)
    page = "/dept/records/import"
    for data, said in [({}, "请选择CSV或XLSX文件"), ({"file": (BytesIO(b"x"), "records.pdf")}, ".csv")]:
        answer = client.post(page, content_type="multipart/form-data",
                             data={"csrf_token": csrf_token(client, page), **data})
        assert answer.status_code == 422 and said in text(answer)
        assert _Forms(text(answer)).upload_form()
    client.post("/auth/sign-out", data={"csrf_token": csrf_token(client, page)})
    sign_in(client, make_user(Role.ADMIN).username)
    page = "/admin/calendar"
    for data, said in [({}, "请选择 CSV 文件"), ({"file": (BytesIO(b"2027-01-01,holiday\n" * 20000), "a.csv")}, "256")]:
        answer = client.post(f"{page}/import", content_type="multipart/form-data",
                             data={"csrf_token": csrf_token(client, page), **data})
        assert answer.status_code == 422 and said in text(answer)
        assert _Forms(text(answer)).upload_form()
