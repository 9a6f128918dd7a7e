"""Letters on the web (issue 15, item 1): the case page lists them, whoever may see the case
downloads the PDF as it was issued (never rendered again), and anyone holding a letter checks it
on the public verification page, which shows its number, date, kind and result and nothing else."""
from __future__ import annotations

import base64
import hashlib
import io
import re
from datetime import datetime

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app import clock
from app.extensions import db, limiter
from app.models import Letter
from app.models.enums import CaseKind, Role, SubjectKind
from tests.factories import act, id_number, make_department, make_record, make_subject, make_user, submit
from tests.web.helpers import csrf_token, sign_in, text

NOW = datetime(2026, 11, 10, 10, 0)


@pytest.fixture
def w(db):
    with clock.frozen_clock(NOW):
        department = make_department(name="上海市网页文书测试局")
        number = id_number(birth="19790505")
        subject = make_subject(SubjectKind.NATURAL, identifier=number, name="李文书")
        applicant = make_user(Role.APPLICANT, subject=subject)
        record = make_record(subject=subject, department=department, decision_number="沪网测罚〔2026〕00077号")
        case = submit(applicant, CaseKind.OBJECTION, record, title="处罚金额有误")
        officer = make_user(Role.OFFICER)
        act(case, "accept", officer, "材料齐全，予以受理")
        letter = db.session.scalars(select(Letter).where(Letter.case_id == case.id)).one()
        yield type("World", (), {"department": department, "subject": subject, "applicant": applicant,
                                 "record": record, "case": case, "officer": officer, "letter": letter,
                                 "identifier": number})


def _pdf_text(data: bytes) -> str:
    return "".join("".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def _code(letter: Letter) -> str:
    return re.search(r"并输入核验码([A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4})", _pdf_text(letter.pdf)).group(1)


def _sign_out(client):
    client.post("/auth/sign-out", data={"csrf_token": csrf_token(client, "/portal/")})


def test_the_case_page_lists_its_letters_with_a_download_link(client, w):
    sign_in(client, w.applicant.username)
    page = text(client.get(f"/cases/{w.case.id}"))
    link = f'/cases/{w.case.id}/letters/{w.letter.id}.pdf'
    assert f'href="{link}"' in page and "信受〔2026〕第000001号" in page and "受理通知书" in page
    assert "2026-11-10 10:00" in page


def test_the_download_is_the_stored_letter_and_stays_it(client, w):
    sign_in(client, w.applicant.username)
    first = client.get(f"/cases/{w.case.id}/letters/{w.letter.id}.pdf")
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    assert "attachment" in first.headers["Content-Disposition"]
    assert hashlib.sha256(first.data).hexdigest() == w.letter.sha256
    assert first.headers["Repr-Digest"] == "sha-256=:" + base64.b64encode(hashlib.sha256(first.data).digest()).decode() + ":"
    # The subject's name changes afterwards: the letter as issued is what is served, not a new one.
    w.subject.name = "李新名"
    db.session.commit()
    second = client.get(f"/cases/{w.case.id}/letters/{w.letter.id}.pdf")
    assert second.data == first.data
    assert "李文书" in _pdf_text(second.data) and "李新名" not in _pdf_text(second.data)


def test_only_those_who_may_see_the_case_download_its_letters(client, w):
    path = f"/cases/{w.case.id}/letters/{w.letter.id}.pdf"
    assert client.get(path).status_code in (302, 401)  # signed out: to the sign-in page
    stranger = make_user(Role.APPLICANT, subject=make_subject())
    sign_in(client, stranger.username)
    assert client.get(path).status_code == 404
    _sign_out(client)
    dept_user = make_user(Role.DEPARTMENT, department=w.department)  # the record's own, not referred yet
    sign_in(client, dept_user.username)
    assert client.get(path).status_code == 404
    _sign_out(client)
    act(w.case, "refer", w.officer)
    sign_in(client, dept_user.username)
    assert client.get(path).status_code == 200  # referred: the department sees the case and its letters
    _sign_out(client)
    sign_in(client, w.officer.username)
    assert client.get(path).status_code == 200
    other = submit(w.applicant, CaseKind.COMPLAINT, None, department_id=w.department.id)
    assert client.get(f"/cases/{other.id}/letters/{w.letter.id}.pdf").status_code == 404  # not that case's
    assert client.get(f"/cases/{w.case.id}/letters/999999.pdf").status_code == 404


def test_the_verification_page_confirms_the_letter_and_nothing_personal(client, w):
    code = _code(w.letter)
    page = client.get(f"/letters/verify?code={code.replace('-', '')}")
    assert page.status_code == 200
    html = text(page)
    for shown in ("信受〔2026〕第000001号", "2026-11-10", "受理通知书", "已受理"):
        assert shown in html, shown
    for personal in ("李文书", w.identifier, w.identifier[:6], w.identifier[-4:], w.case.number, "处罚金额有误",
                     "沪网测罚〔2026〕00077号", "上海市网页文书测试局", "材料齐全"):
        assert personal not in html, personal
    assert client.get(f"/letters/verify?code={code.lower()}").status_code == 200  # however typed


def test_a_tampered_or_unknown_code_is_a_clear_404(client, w):
    code = _code(w.letter)
    tampered = code[:-1] + ("A" if code[-1] != "A" else "B")
    for wrong in (tampered, "ABCD", "<script>", "x" * 200):
        page = client.get("/letters/verify", query_string={"code": wrong})
        assert page.status_code == 404, wrong
        html = text(page)
        assert "没有与此核验码对应的文书" in html and "信受〔2026〕" not in html
    form = client.get("/letters/verify")
    assert form.status_code == 200 and "文书核验码" in text(form) and "没有与此核验码对应的文书" not in text(form)


def test_the_verification_page_is_throttled_per_address(client, w, app, monkeypatch):
    monkeypatch.setitem(app.config, "LETTER_VERIFY_LIMIT_PER_ADDRESS", "3 per minute")
    limiter.reset()
    try:
        code = _code(w.letter)
        for _ in range(3):
            assert client.get(f"/letters/verify?code={code}").status_code == 200
        assert client.get("/letters/verify").status_code == 200  # the empty form is not counted
        refused = client.get("/letters/verify?code=WXYZ")
        assert refused.status_code == 429 and "Retry-After" in refused.headers
        client.environ_base["REMOTE_ADDR"] = "203.0.113.7"  # another address has its own count
        assert client.get(f"/letters/verify?code={code}").status_code == 200
    finally:
        limiter.reset()


def test_the_english_case_page_names_the_kind_in_english(client, w):
    w.applicant.locale = "en"
    db.session.commit()
    sign_in(client, w.applicant.username)
    page = text(client.get(f"/cases/{w.case.id}", headers={"Accept-Language": "en"}))
    assert "Notice of acceptance" in page
    # The letter itself is an official document: in Chinese whoever reads the page.
    assert "受理通知书" in _pdf_text(client.get(f"/cases/{w.case.id}/letters/{w.letter.id}.pdf").data)

