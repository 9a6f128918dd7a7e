"""Letters go with their case at the end of retention (DESIGN section 9): a letter's PDF names
the applicant and states the facts, so the purge that erases the case deletes its bytes; its
number, kind, date and outcome stay, and the public verification page still confirms them."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from app import clock
from app.errors import Gone
from app.extensions import db as _db
from app.models import Case, Letter, Notification
from app.models.enums import CaseKind, Role, SubjectKind
from app.services import letters
from app.services.letters.mail import letter_attachment
from app.services.records.retention import purge_expired_personal_data
from tests.factories import act, make_department, make_subject, make_user, submit
from tests.service.test_letters import pdf_text
from tests.web.helpers import sign_in, text

NAME = "欧阳文书"
START = datetime(2026, 5, 11, 10, 0)  # a Monday
AFTER_RETENTION = datetime(2031, 5, 13, 3, 0)  # five years and a day after the first case closed
VERIFY = "http://casedesk.test/letters/verify并输入核验码"


@pytest.fixture
def closed_then_open(db):
    """A complaint not accepted (closed, with its letter) in 2026, and one filed in 2031 (open)."""
    with clock.frozen_clock(START):
        department = make_department()
        subject = make_subject(SubjectKind.NATURAL, name=NAME)
        applicant = make_user(Role.APPLICANT, subject=subject, username="letter-erasure")
        officer = make_user(Role.OFFICER)
        old = submit(applicant, CaseKind.COMPLAINT, None, department_id=department.id)
        act(old, "not_accept", officer, "超出受理范围")
    with clock.frozen_clock(datetime(2031, 5, 12, 10, 0)):
        new = submit(applicant, CaseKind.COMPLAINT, None, department_id=department.id, confirmed=True)
        act(new, "not_accept", officer, "重复投诉")
    return old, new


def _letter(case) -> Letter:
    return _db.session.scalars(select(Letter).where(Letter.case_id == case.id)).one()


def test_the_purge_deletes_the_letter_s_bytes_and_keeps_its_number(closed_then_open):
    old, new = closed_then_open
    before = _letter(old)
    assert NAME in pdf_text(before.pdf)
    code = pdf_text(before.pdf).split(VERIFY)[1][:19]
    number, issued_at = before.number, before.issued_at
    with clock.frozen_clock(AFTER_RETENTION):
        result = purge_expired_personal_data()
        purged_at = clock.now()
    assert result.cases_erased == 1
    _db.session.expire_all()
    erased = _db.session.scalars(select(Letter).where(Letter.case_id == old.id)).one()
    assert erased.pdf is None and erased.erased_at == purged_at
    assert (erased.number, erased.issued_at, erased.sha256) == (number, issued_at, before.sha256)
    verified = letters.verify_code(code)  # the register still answers for the number
    assert (verified.number, verified.issued_at) == (number, issued_at)
    with pytest.raises(Gone):
        letters.get_letter_of(_db.session.get(Case, old.id), erased.id)
    kept = _letter(new)  # a case within retention keeps its letter
    assert kept.erased_at is None and NAME in pdf_text(kept.pdf)


def test_an_erased_letter_is_gone_from_the_case_page_and_the_mail(closed_then_open, client):
    old, _ = closed_then_open
    letter_id = _letter(old).id
    with clock.frozen_clock(AFTER_RETENTION):
        purge_expired_personal_data()
    sign_in(client, "letter-erasure")
    answer = client.get(f"/cases/{old.id}/letters/{letter_id}.pdf")
    assert answer.status_code == 410 and "保存期限届满时随案件一并删除" in text(answer)
    page = text(client.get(f"/cases/{old.id}"))
    assert "保存期限届满，已随案件删除" in page and f"/letters/{letter_id}.pdf" not in page
    waiting = Notification(template="case_changed", payload={"letter": letter_id})  # the step's e-mail, unsent
    assert letter_attachment(waiting) is None
