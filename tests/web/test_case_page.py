"""The case page: who sees it, the actions the workflow allows, stale pages, evidence files."""
from __future__ import annotations

import re
from io import BytesIO

from app.models.enums import CaseKind, Role
from tests.factories import PDF, act, make_department, make_record, make_subject, make_user, repair_uploads, submit
from tests.web.helpers import csrf_token, sign_in, text


def _setup(db):
    department = make_department()
    subject = make_subject()
    applicant = make_user(Role.APPLICANT, subject=subject)
    record = make_record(subject=subject, department=department)
    case = submit(applicant, CaseKind.OBJECTION, record)
    return {"applicant": applicant, "case": case, "department": department,
            "officer": make_user(Role.OFFICER), "dept_user": make_user(Role.DEPARTMENT, department=department)}


def _act(client, case, trigger, version, **extra):
    token = csrf_token(client, f"/cases/{case.id}")
    return client.post(f"/cases/{case.id}/act",
                       data={"csrf_token": token, "trigger": trigger, "version": version, **extra},
                       content_type="multipart/form-data")


def test_the_applicant_sees_the_case_and_may_withdraw(client, db):
    s = _setup(db)
    sign_in(client, s["applicant"].username)
    page = text(client.get(f"/cases/{s['case'].id}"))
    assert s["case"].number in page
    assert 'value="withdraw"' in page and 'value="accept"' not in page
    assert "工作日" in page  # the deadline in working days


def test_a_stranger_gets_404_for_the_case_and_its_files(client, db):
    s = _setup(db)
    stranger = make_user(Role.APPLICANT)
    sign_in(client, stranger.username)
    assert client.get(f"/cases/{s['case'].id}").status_code == 404
    assert client.get(f"/cases/{s['case'].id}/files/1").status_code == 404
    other_dept = make_user(Role.DEPARTMENT)
    client.post("/auth/sign-out", data={"csrf_token": csrf_token(client, "/portal/")})
    sign_in(client, other_dept.username)
    assert client.get(f"/cases/{s['case'].id}").status_code == 404


def test_an_officer_accepts_refers_and_the_department_replies_with_a_file(client, db):
    s = _setup(db)
    case = s["case"]
    sign_in(client, s["officer"].username)
    assert _act(client, case, "accept", case.version).status_code == 302
    db.session.refresh(case)
    assert case.state == "accepted"
    assert _act(client, case, "refer", case.version).status_code == 302
    client.post("/auth/sign-out", data={"csrf_token": csrf_token(client, "/desk/")})
    sign_in(client, s["dept_user"].username)
    db.session.refresh(case)
    page = text(client.get(f"/cases/{case.id}"))
    assert 'value="reply"' in page
    reply = _act(client, case, "reply", case.version, reason="经核查，原决定已撤销", verification="revoke",
                 files=(BytesIO(PDF), "复议决定书.pdf"))
    assert reply.status_code == 302
    page = text(client.get(f"/cases/{case.id}"))
    link = re.search(r'href="(/cases/\d+/files/\d+)"', page).group(1)
    download = client.get(link)
    try:
        assert download.status_code == 200 and download.data == PDF
        assert download.headers["Content-Type"] == "application/pdf"
        assert "attachment" in download.headers["Content-Disposition"]
    finally:
        download.close()


def test_a_stale_page_gets_the_conflict_message_and_nothing_changes(client, db):
    s = _setup(db)
    case = s["case"]
    seen = case.version
    act(case, "accept", s["officer"])
    sign_in(client, s["applicant"].username)
    response = _act(client, case, "withdraw", seen)
    assert response.status_code == 409
    assert "刷新" in text(response)
    db.session.refresh(case)
    assert case.state == "accepted"


def test_a_missing_reason_is_refused_with_422_and_the_page_again(client, db):
    s = _setup(db)
    sign_in(client, s["officer"].username)
    response = _act(client, s["case"], "not_accept", s["case"].version, reason=" ")
    assert response.status_code == 422 and "理由" in text(response)


def test_a_file_that_is_not_a_pdf_or_image_is_refused(client, db):
    s = _setup(db)
    case = s["case"]
    act(case, "accept", s["officer"])
    act(case, "refer", s["officer"])
    sign_in(client, s["dept_user"].username)
    response = _act(client, case, "reply", case.version, reason="答复", verification="correct",
                    files=(BytesIO(b"MZ\x90\x00 not really a pdf"), "reply.pdf"))
    assert response.status_code == 422
    db.session.refresh(case)
    assert case.state == "referred"


def test_repair_case_shows_its_files_to_staff(client, db):
    from datetime import date

    subject = make_subject()
    applicant = make_user(Role.APPLICANT, subject=subject)
    record = make_record(subject=subject, decision_date=date(2025, 1, 1))
    case = submit(applicant, CaseKind.REPAIR, record, repair_uploads())
    sign_in(client, make_user(Role.SUPERVISOR).username)
    page = text(client.get(f"/cases/{case.id}"))
    assert "proof.pdf" in page and "commitment.pdf" in page and "<svg" in page
