"""Issue 14, item 3 through the web client: a double POST makes one case, the page points to the
open case, a repeat complaint asks for confirmation, the case page says why an action is missing."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from app import clock
from app.models import Case
from app.models.enums import RecordState, Role
from app.services.cases import reason_text
from tests.factories import make_record, make_subject, make_user, submit
from tests.web.helpers import csrf_token, sign_in, text

_TOKEN = re.compile(r'name="form_token" type="hidden" value="([^"]+)"|name="form_token" value="([^"]+)"')


def _applicant(db):
    subject = make_subject()
    return make_user(Role.APPLICANT, subject=subject), subject


def _form(client, path) -> dict:
    page = text(client.get(path))
    token = _TOKEN.search(page)
    assert token, f"no form token on {path}"
    return {"csrf_token": csrf_token(client, path), "form_token": token.group(1) or token.group(2)}


def _count(db, **where) -> int:
    return db.session.scalar(select(func.count()).select_from(Case).filter_by(**where))


def test_a_double_post_of_the_objection_form_makes_one_case_and_shows_it(client, db):
    user, subject = _applicant(db)
    record = make_record(subject=subject)
    sign_in(client, user.username)
    path = f"/portal/records/{record.id}/objection"
    data = {**_form(client, path), "title": "事实有误", "statement": "并非本公司所为。"}
    first = client.post(path, data=data, content_type="multipart/form-data")
    again = client.post(path, data=data, content_type="multipart/form-data")  # a double click, or Back and submit
    case = db.session.scalar(select(Case).where(Case.record_id == record.id))
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"] and again.headers["Location"].endswith(
        f"/cases/{case.id}")
    assert _count(db, record_id=record.id) == 1
    # two forms drawn apart carry two tokens
    assert _form(client, "/portal/complaints/new")["form_token"] != data["form_token"]


def test_the_objection_page_points_to_the_open_objection(client, db):
    user, subject = _applicant(db)
    record = make_record(subject=subject)
    case = submit(user, "objection", record)
    sign_in(client, user.username)
    path = f"/portal/records/{record.id}/objection"
    page = text(client.get(path))
    assert f'href="/cases/{case.id}"' in page and case.number in page
    assert 'name="title"' not in page  # no form to file a second one
    # a form drawn before the first was filed (another tab) is refused with the link
    response = client.post(path, data={"csrf_token": csrf_token(client, path), "title": "t", "statement": "s"},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and f'href="/cases/{case.id}"' in text(response)
    assert _count(db, record_id=record.id) == 1


def test_a_repeat_complaint_asks_for_confirmation_then_files(client, db):
    user, subject = _applicant(db)
    record = make_record(subject=subject)
    first = submit(user, "complaint", record)
    sign_in(client, user.username)
    path = "/portal/complaints/new"
    data = {**_form(client, path), "record_id": str(record.id), "department_id": "0", "title": "再次投诉",
            "statement": "未获答复。"}
    asked = client.post(path, data=data, content_type="multipart/form-data")
    page = text(asked)
    assert asked.status_code == 422 and 'name="submit_anyway"' in page and f'href="/cases/{first.id}"' in page
    assert _count(db, record_id=record.id) == 1
    filed = client.post(path, data={**data, "submit_anyway": "y"}, content_type="multipart/form-data")
    assert filed.status_code == 302
    assert _count(db, record_id=record.id) == 2


def test_the_case_page_says_why_accept_is_not_offered(client, db):
    user, subject = _applicant(db)
    record = make_record(subject=subject)
    case = submit(user, "objection", record)
    record.state, record.retired_at = RecordState.RETIRED, clock.now()
    db.session.commit()
    officer = make_user(Role.OFFICER)
    sign_in(client, officer.username)
    page = text(client.get(f"/cases/{case.id}"))
    assert 'value="accept"' not in page
    assert str(reason_text("record_not_in_publicity")) in page
