"""Subjects apply online: objections with evidence, repairs with the eligibility check, complaints."""
from __future__ import annotations

from datetime import date
from io import BytesIO

from sqlalchemy import select

from app.models import Attachment, Case
from app.models.enums import Role
from tests.factories import PDF, make_department, make_record, make_subject, make_user
from tests.web.helpers import csrf_token, sign_in, text


def _applicant(db):
    subject = make_subject()
    return make_user(Role.APPLICANT, subject=subject), subject


def _post(client, path, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, path), **data}, content_type="multipart/form-data")


def test_an_objection_with_a_pdf_is_filed_and_its_page_shown(client, db):
    user, subject = _applicant(db)
    record = make_record(subject=subject)
    sign_in(client, user.username)
    assert "异议" in text(client.get("/portal/"))
    response = _post(client, f"/portal/records/{record.id}/objection", title="事实认定有误",
                     statement="处罚所依据的事实并非本公司所为。", evidence=(BytesIO(PDF), "证据.pdf"))
    assert response.status_code == 302
    case = db.session.scalar(select(Case).where(Case.record_id == record.id))
    assert case.kind == "objection" and case.state == "submitted"
    assert response.headers["Location"].endswith(f"/cases/{case.id}")
    attachment = db.session.scalar(select(Attachment).where(Attachment.case_id == case.id))
    assert attachment.filename == "证据.pdf" and attachment.content_type == "application/pdf"


def test_a_renamed_executable_is_refused_and_nothing_is_filed(client, db):
    user, subject = _applicant(db)
    record = make_record(subject=subject)
    sign_in(client, user.username)
    response = _post(client, f"/portal/records/{record.id}/objection", title="t", statement="s",
                     evidence=(BytesIO(b"MZ\x90\x00\x03"), "evidence.pdf"))
    assert response.status_code == 422 and "PDF" in text(response)
    assert db.session.scalar(select(Case)) is None


def test_another_subjects_record_is_404(client, db):
    user, _ = _applicant(db)
    record = make_record()
    sign_in(client, user.username)
    assert client.get(f"/portal/records/{record.id}/objection").status_code == 404
    assert client.get(f"/portal/records/{record.id}/repair").status_code == 404


def test_the_repair_form_shows_why_a_record_cannot_be_repaired(client, db, frozen):
    user, subject = _applicant(db)
    fresh = make_record(subject=subject, decision_date=date(2026, 10, 1))
    sign_in(client, user.username)
    page = client.get(f"/portal/records/{fresh.id}/repair")
    assert page.status_code == 200
    assert "最短公示期" in text(page) and 'type="file"' not in text(page)


def test_a_repair_with_proof_and_commitment_is_filed(client, db, frozen):
    user, subject = _applicant(db)
    record = make_record(subject=subject, decision_date=date(2025, 1, 1))
    sign_in(client, user.username)
    response = _post(client, f"/portal/records/{record.id}/repair", title="申请信用修复", statement="已缴清罚款。",
                     obligation_proof=(BytesIO(PDF), "缴款凭证.pdf"), commitment=(BytesIO(PDF), "承诺书.pdf"))
    assert response.status_code == 302
    case = db.session.scalar(select(Case).where(Case.kind == "repair"))
    purposes = sorted(db.session.scalars(select(Attachment.purpose).where(Attachment.case_id == case.id)))
    assert purposes == ["credit_commitment", "obligation_proof"]


def test_a_repair_without_the_commitment_is_refused(client, db, frozen):
    user, subject = _applicant(db)
    record = make_record(subject=subject, decision_date=date(2025, 1, 1))
    sign_in(client, user.username)
    response = _post(client, f"/portal/records/{record.id}/repair", title="t", statement="s",
                     obligation_proof=(BytesIO(PDF), "p.pdf"))
    assert response.status_code == 422 and "承诺书" in text(response)


def test_a_complaint_about_a_department(client, db):
    user, _ = _applicant(db)
    department = make_department()
    sign_in(client, user.username)
    response = _post(client, "/portal/complaints/new", title="答复超期", statement="认定单位未按期答复。",
                     record_id="0", department_id=str(department.id))
    assert response.status_code == 302
    case = db.session.scalar(select(Case).where(Case.kind == "complaint"))
    assert case.department_id == department.id and case.record_id is None
    missing = _post(client, "/portal/complaints/new", title="t", statement="s", record_id="0", department_id="0")
    assert missing.status_code == 422


def test_a_title_or_statement_of_spaces_only_is_refused_on_the_form(client, db):
    user, _ = _applicant(db)
    department = make_department()
    sign_in(client, user.username)
    for blank in ({"title": "   ", "statement": "认定单位未按期答复。"}, {"title": "答复超期", "statement": "\u3000 \n"}):
        response = _post(client, "/portal/complaints/new", record_id="0", department_id=str(department.id), **blank)
        assert response.status_code == 422 and "不能只填空格" in text(response), blank
    assert db.session.scalar(select(Case)) is None


def test_a_complaint_about_the_handling_of_own_case(client, db):
    from tests.factories import submit

    user, subject = _applicant(db)
    objection = submit(user, "objection", make_record(subject=subject))
    sign_in(client, user.username)
    response = _post(client, "/portal/complaints/new", title="办理不当", statement="办理人员未说明理由。",
                     record_id="0", department_id="0", about_case_id=str(objection.id))
    assert response.status_code == 302
    complaint = db.session.scalar(select(Case).where(Case.kind == "complaint"))
    assert complaint.about_case_id == objection.id
    assert objection.number in text(client.get(f"/cases/{complaint.id}"))


def test_the_record_pages_show_the_sanction_kinds_and_the_shortest_publicity_end_day(client, db):
    user, subject = _applicant(db)
    record = make_record(subject=subject, decision_date=date(2025, 1, 31), sanction_kinds=["fine", "licence_revoked"])
    sign_in(client, user.username)
    home = text(client.get("/portal/"))
    assert "吊销许可证照" in home and "最短公示期届满日" in home
    assert record.shortest_publicity_end.isoformat() in home  # the end day itself, as `calendar period` gives it
    repair = text(client.get(f"/portal/records/{record.id}/repair"))
    assert "吊销许可证照" in repair and "自次日起可申请信用修复" in repair
