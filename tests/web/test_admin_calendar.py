"""The admin console's working-day calendar: months, overrides with a preview, the official schedule."""
from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import func, select

from app.models import AdminAudit, CalendarOverride
from app.models.enums import CaseKind, Role
from app.services.calendar import get_working_calendar
from app.services.calendar import overrides as calendar_admin
from app.services.calendar import working as calendar_service
from tests.factories import make_department, make_subject, make_user, submit
from tests.web.helpers import csrf_token, sign_in, text

PAGE = "/admin/calendar"


@pytest.fixture(autouse=True)
def fresh_calendar(monkeypatch):
    """See tests/service/test_calendar_admin.py: no calendar cached by an earlier test."""
    monkeypatch.setattr(calendar_service, "_cached", None)


@pytest.fixture
def admin(client, db, frozen):
    user = make_user(Role.ADMIN)
    sign_in(client, user.username)
    return user


def _overrides(db) -> int:
    return db.session.scalar(select(func.count()).select_from(CalendarOverride))


def _audit(db, action: str) -> AdminAudit | None:
    return db.session.scalars(select(AdminAudit).where(AdminAudit.action == action)).one_or_none()


def _upload(client, data: bytes, name: str = "schedule.csv"):
    return client.post(f"{PAGE}/import", content_type="multipart/form-data",
                       data={"csrf_token": csrf_token(client, PAGE), "file": (io.BytesIO(data), name)})


def test_the_month_shows_each_day_and_where_it_comes_from(client, admin):
    calendar_admin.add_override(admin, date(2026, 10, 9), "holiday", "临时停工")
    page = text(client.get(f"{PAGE}?year=2026&month=10"))
    assert "2026-10" in page and "国庆节" in page and "临时停工" in page
    assert 'class="cal-day cal-makeup"' in page  # Saturday Oct 10, 调休上班
    assert 'class="cal-day cal-holiday cal-override"' in page
    assert 'href="/admin/calendar?year=2026&amp;month=9"' in page and 'href="/admin/calendar?year=2026&amp;month=11"' in page
    assert '<option value="2031">' in page  # the year selector spans the calendar
    today = text(client.get(PAGE))
    assert "2026-11" in today and "cal-preview" not in today


def test_a_year_without_holiday_data_is_flagged(client, admin):
    page = text(client.get(f"{PAGE}?year=2027&month=1"))
    assert 'class="errors" role="alert"' in page and "2027" in page
    assert 'class="errors" role="alert"' not in text(client.get(f"{PAGE}?year=2026&month=1"))


@pytest.mark.parametrize(("query", "message"), [
    ("year=2050", "2016"), ("year=2015&month=1", "2031"), ("month=13", "12"), ("month=0", "12"),
    ("year=abc", None), ("year=99999999999999999999", None), ("month=1.5", None),
])
def test_bad_months_are_refused_with_a_message(client, admin, query, message):
    response = client.get(f"{PAGE}?{query}")
    assert response.status_code == 422
    detail = text(response).split('<p class="status-code">422</p>')[1].split("</h1>")[1].split("</p>")[0]
    assert detail.strip().startswith("<p>") and (message is None or message in detail), detail


def test_an_override_is_previewed_then_saved_and_audited(client, db, admin):
    applicant = make_user(Role.APPLICANT, subject=make_subject())
    case = submit(applicant, CaseKind.COMPLAINT, None, department_id=make_department().id)  # due Fri Dec 4
    token = csrf_token(client, PAGE)
    form = {"csrf_token": token, "day": "2026-12-01", "kind": "holiday", "note": "停电"}
    preview = client.post(f"{PAGE}/overrides", data=form)
    assert preview.status_code == 200
    page = text(preview)
    assert "cal-preview" in page and case.number in page and "2026-12-07" in page
    assert "1 个未到期期限" in page and "1 个推后，0 个提前" in page
    assert _overrides(db) == 0 and _audit(db, "calendar.add") is None  # a preview saves nothing

    saved = client.post(f"{PAGE}/overrides", data={**form, "confirm": "1"})
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/admin/calendar?year=2026&month=12")
    entry = _audit(db, "calendar.add")
    assert entry.actor_id == admin.id and entry.before is None
    assert entry.after == {"day": "2026-12-01", "kind": "holiday", "note": "停电"}
    assert get_working_calendar().add_working_days(date(2026, 11, 30), 1) == date(2026, 12, 2)
    assert "停电" in text(client.get(f"{PAGE}?year=2026&month=12"))


@pytest.mark.parametrize(("fields", "message"), [
    ({"day": "2026-02-30"}, 'id="day-errors"'),
    ({"day": ""}, "YYYY-MM-DD"),
    ({"kind": "maybe"}, 'id="kind-errors"'),
    ({"note": "长" * 201}, 'id="note-errors"'),
    ({"day": "2040-01-02"}, "2016–2031"),
    ({"day": "2040-01-02", "confirm": "1"}, "2016–2031"),
])
def test_bad_overrides_are_refused_clearly_and_change_nothing(client, db, admin, fields, message):
    data = {"csrf_token": csrf_token(client, PAGE), "day": "2026-12-01", "kind": "holiday", **fields}
    response = client.post(f"{PAGE}/overrides", data=data)
    assert response.status_code == 422
    assert message in text(response)
    assert _overrides(db) == 0 and db.session.scalar(select(func.count()).select_from(AdminAudit)) == 0


def test_saving_the_same_override_twice_is_refused(client, db, admin):
    calendar_admin.add_override(admin, date(2026, 12, 1), "holiday", "停电")
    data = {"csrf_token": csrf_token(client, PAGE), "day": "2026-12-01", "kind": "holiday", "note": "停电", "confirm": "1"}
    response = client.post(f"{PAGE}/overrides", data=data)
    assert response.status_code == 422 and "2026-12-01" in text(response)


def test_an_override_is_removed_and_audited(client, db, admin):
    override = calendar_admin.add_override(admin, date(2026, 12, 1), "holiday", "停电")
    assert not get_working_calendar().is_working_day(date(2026, 12, 1))
    token = csrf_token(client, PAGE)
    assert client.post(f"{PAGE}/overrides/{override.id}/remove").status_code == 400  # no CSRF token
    response = client.post(f"{PAGE}/overrides/{override.id}/remove", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("year=2026&month=12")
    entry = _audit(db, "calendar.remove")
    assert entry.before == {"day": "2026-12-01", "kind": "holiday", "note": "停电"} and entry.after is None
    assert _overrides(db) == 0 and get_working_calendar().is_working_day(date(2026, 12, 1))
    again = client.post(f"{PAGE}/overrides/{override.id}/remove", data={"csrf_token": token})
    assert again.status_code == 404


def test_the_official_schedule_is_imported_and_audited(client, db, admin):
    schedule = "date,kind,note\n2027-02-06,班,调休上班\n2027-02-11,休,春节\n".encode("gb18030")
    response = _upload(client, schedule)
    assert response.status_code == 302 and response.headers["Location"].endswith("year=2027&month=2")
    entry = _audit(db, "calendar.import")
    assert entry.actor_id == admin.id and entry.before is None
    assert entry.after == {"2027-02-06": {"kind": "workday", "note": "调休上班"}, "2027-02-11": {"kind": "holiday", "note": "春节"}}
    calendar = get_working_calendar()
    assert calendar.is_working_day(date(2027, 2, 6)) and not calendar.is_working_day(date(2027, 2, 11))
    assert "春节" in text(client.get(f"{PAGE}?year=2027&month=2"))


def test_a_bad_schedule_imports_nothing_and_lists_every_bad_line(client, db, admin):
    response = _upload(client, b"2027-02-06,workday\n2027-02-30,holiday\n2027-02-12,maybe\n")
    assert response.status_code == 422
    page = text(response)
    assert "2027-02-30" in page and "maybe" in page
    assert _overrides(db) == 0 and _audit(db, "calendar.import") is None


@pytest.mark.parametrize("data", [
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"", b"2027-02-06,workday\n" * 20000,
])
def test_unreadable_uploads_are_refused_with_a_message(client, db, admin, data):
    response = _upload(client, data)
    assert response.status_code == 422 and 'class="errors" role="alert"' in text(response)
    assert _overrides(db) == 0


def test_an_upload_without_a_file_is_refused(client, db, admin):
    response = client.post(f"{PAGE}/import", data={"csrf_token": csrf_token(client, PAGE)})
    assert response.status_code == 422 and "CSV" in text(response)


def test_only_admins_may_change_the_calendar(client, db, frozen):
    officer = make_user(Role.OFFICER)
    override = calendar_admin.add_override(make_user(Role.ADMIN), date(2026, 12, 1), "holiday")
    sign_in(client, officer.username)
    token = csrf_token(client, "/desk/queues")
    for path, data in ((f"{PAGE}/overrides", {"day": "2026-12-02", "kind": "holiday", "confirm": "1"}),
                       (f"{PAGE}/overrides/{override.id}/remove", {}),
                       (f"{PAGE}/import", {})):
        assert client.post(path, data={"csrf_token": token, **data}).status_code == 403
    assert _overrides(db) == 1
