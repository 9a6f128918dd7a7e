"""The working calendar as the platform uses it: holiday data, overrides from the database, CLI."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from app import clock
from app.models import AdminAudit, CalendarOverride
from app.models.enums import CaseKind, Role
from app.services.calendar import get_working_calendar, import_schedule
from tests.factories import make_department, make_subject, make_user, submit


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("add-working-days", "2026-09-30", "5"), "2026-10-13"),
        (("add-working-days", "2026-02-13", "1"), "2026-02-14"),  # make-up Saturday
        (("add-working-days", "2025-12-31", "1"), "2026-01-04"),  # New Year, make-up Sunday
        (("period", "2025-01-31", "1m"), "2025-02-28"),
        (("period", "2024-02-29", "1y"), "2025-02-28"),
        (("period", "2026-03-10", "20d"), "2026-03-30"),
    ],
)
def test_calendar_cli_prints_one_date(app, db, args, expected):
    result = _cli(app, "calendar", *args)
    assert result.exit_code == 0, result.output
    assert result.output == expected + "\n"


@pytest.mark.parametrize(
    "args",
    [
        ("add-working-days", "2026-02-30", "1"),
        ("add-working-days", "2026-02-01", "many"),
        ("period", "2025-01-31", "1w"),
        ("period", "yesterday", "1m"),
    ],
)
def test_calendar_cli_refuses_bad_input_clearly(app, db, args):
    result = _cli(app, "calendar", *args)
    assert result.exit_code == 2
    assert "Invalid value" in result.output


def test_import_adds_changes_and_reports(app, db, tmp_path):
    path = tmp_path / "schedule.csv"
    path.write_text("date,kind,note\n2026-10-09,holiday,临时调整\n2026-10-11,班,调休上班\n", encoding="utf-8")
    first = _cli(app, "calendar", "import", str(path))
    assert first.exit_code == 0, first.output
    assert "added 2026-10-09" in first.output and "2 added, 0 changed, 0 unchanged" in first.output
    path.write_text("2026-10-09,workday\n2026-10-11,workday\n", encoding="utf-8")
    second = _cli(app, "calendar", "import", str(path))
    assert "changed 2026-10-09" in second.output and "1 added" not in second.output
    assert "0 added, 1 changed, 1 unchanged" in second.output


def test_a_bad_line_imports_nothing_and_says_which(app, db, tmp_path):
    path = tmp_path / "schedule.csv"
    path.write_text("2026-10-09,holiday\n2026-10-32,holiday\n2026-10-12,maybe\n2026-10-09,workday\n", encoding="utf-8")
    result = _cli(app, "calendar", "import", str(path))
    assert result.exit_code == 1
    assert "2" in result.output and "3" in result.output and "4" in result.output
    assert db.session.scalar(select(CalendarOverride)) is None


def test_the_cli_import_is_the_admin_import_audited_as_the_admin_it_names(app, db, tmp_path):
    admin, officer = make_user(Role.ADMIN), make_user(Role.OFFICER)
    path = tmp_path / "schedule.csv"
    path.write_bytes("2026-10-09,holiday,临时调整\n".encode("gb18030"))  # the admin console's encodings too
    for name in ("nobody", officer.username):
        refused = _cli(app, "calendar", "import", str(path), "--by", name)
        assert refused.exit_code == 1 and "no active admin" in refused.output
    assert db.session.scalar(select(CalendarOverride)) is None
    done = _cli(app, "calendar", "import", str(path), "--by", admin.username)
    assert done.exit_code == 0, done.output
    override = db.session.scalar(select(CalendarOverride))
    assert (override.day, override.note, override.created_by_id) == (date(2026, 10, 9), "临时调整", admin.id)
    [entry] = db.session.scalars(select(AdminAudit)).all()
    assert (entry.actor_id, entry.action, entry.after) == (
        admin.id, "calendar.import", {"2026-10-09": {"kind": "holiday", "note": "临时调整"}})


def test_a_cli_import_without_an_admin_is_audited_as_the_system(app, db, tmp_path):
    path = tmp_path / "schedule.csv"
    path.write_text("2026-10-09,holiday\n", encoding="utf-8")
    assert _cli(app, "calendar", "import", str(path)).exit_code == 0
    assert db.session.scalar(select(CalendarOverride)).created_by_id is None
    [entry] = db.session.scalars(select(AdminAudit)).all()
    assert (entry.actor_id, entry.action, entry.after) == (
        None, "calendar.import", {"2026-10-09": {"kind": "holiday", "note": None}})


def test_a_cli_import_outside_the_calendar_years_or_unreadable_imports_nothing(app, db, tmp_path):
    path = tmp_path / "schedule.csv"
    for content in (b"1990-10-09,holiday\n", b"", b"\xff\xfe\x00\x00"):
        path.write_bytes(content)
        result = _cli(app, "calendar", "import", str(path))
        assert result.exit_code == 1, content
    assert db.session.scalar(select(CalendarOverride)) is None


def test_overrides_change_deadlines_computed_after_them(db):
    department, subject = make_department(), make_subject()
    applicant = make_user(Role.APPLICANT, subject=subject)
    before = get_working_calendar().add_working_days(date(2026, 11, 2), 2)
    assert before == date(2026, 11, 4)
    report = import_schedule(None, "2026-11-03,holiday,突发停工\n".encode())
    assert report.added == [date(2026, 11, 3)]
    assert get_working_calendar().add_working_days(date(2026, 11, 2), 2) == date(2026, 11, 5)
    with clock.frozen_clock(datetime(2026, 11, 2, 10, 0)):
        case = submit(applicant, CaseKind.COMPLAINT, None, department_id=department.id)
    # 7 working days from Nov 2 with Nov 3 off: Nov 4, 5, 6, 9, 10, 11, 12
    assert clock.local(case.due_at).date() == date(2026, 11, 12)


def test_an_override_can_make_a_weekend_a_working_day(db):
    import_schedule(None, b"2026-11-07,workday\n")
    calendar = get_working_calendar()
    assert calendar.is_working_day(date(2026, 11, 7))
    assert calendar.describe(date(2026, 11, 7)).source == "override"
    assert calendar.add_working_days(date(2026, 11, 6), 1) == date(2026, 11, 7)


def test_an_import_that_changes_a_day_in_place_refreshes_the_calendar(db):
    day = date(2031, 3, 3)  # a Monday, in a year without holiday data
    with clock.frozen_clock(datetime(2026, 11, 25, 10, 0)):
        import_schedule(None, f"{day},holiday,first".encode())
        assert not get_working_calendar().is_working_day(day)
        import_schedule(None, f"{day},workday,second".encode())  # same row, same count, same id, same clock
        assert get_working_calendar().is_working_day(day)
